"""End to end through the console script: run directories, the dataset cache, resume, divergence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciml_testing import sciml
from sciml.pipelines import rundir

pytestmark = pytest.mark.slow


def _state(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def test_run_writes_a_complete_run_dir_and_reuses_the_dataset(tiny_spec: Path, tmp_path: Path) -> None:
    first = sciml("run", tiny_spec, "--run-dir", tmp_path / "a")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "generated in" in first.stderr
    run = tmp_path / "a"
    for name in ("spec.yaml", "spec.resolved.yaml", "env.json", "run.json", "metrics.json", "logs/metrics.csv",
                 "checkpoints/last.ckpt", "checkpoints/best.ckpt", "plots/operator_metrics_test.png",
                 "plots/operator_metrics_test_errors.csv"):
        assert (run / name).is_file(), name
    assert (run / "spec.yaml").read_text() == tiny_spec.read_text()
    assert _state(run)["status"] == "complete"
    metrics = json.loads((run / "metrics.json").read_text())
    errors = [float(line.split(",")[1]) for line in (run / "plots/operator_metrics_test_errors.csv").read_text().splitlines()[1:]]
    assert metrics["operator_metrics"]["test/rel_l2"] == pytest.approx(sum(errors) / len(errors), rel=1e-6)
    assert metrics["train"]["epochs"] == 2 and metrics["train"]["steps"] == 2 * 3  # 24 samples / batch 8

    second = sciml("run", tiny_spec)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "found in cache, nothing generated" in second.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and _state(runs[0])["status"] == "complete"
    assert _state(runs[0])["dataset"] == _state(run)["dataset"]


def test_stages_one_by_one(tiny_spec: Path, tmp_path: Path) -> None:
    assert sciml("generate", tiny_spec).returncode == 0
    run = tmp_path / "staged"
    trained = sciml("train", tiny_spec, "--run-dir", run)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "nothing generated" in trained.stderr
    assert _state(run)["status"] == "trained" and not (run / "metrics.json").exists()
    evaluated = sciml("evaluate", tiny_spec, "--run-dir", run, "evaluate.0.splits=[val,test]")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())["operator_metrics"]
    assert {"val/rel_l2", "test/rel_l2"} <= set(metrics)
    mismatched = sciml("evaluate", tiny_spec, "--run-dir", run, "model.width=9")
    assert mismatched.returncode == 2 and "model: differs from the run being evaluated" in mismatched.stderr
    # a run whose training was cut short can be evaluated, but never turns "complete"
    rundir.update_state(run, status="interrupted")
    unfinished = sciml("evaluate", tiny_spec, "--run-dir", run)
    assert unfinished.returncode == 0, unfinished.stderr[-3000:]
    assert _state(run)["status"] == "interrupted" and "training is interrupted" in unfinished.stderr


def test_resume_continues_from_last_checkpoint(tiny_spec: Path, tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert sciml("train", tiny_spec, "--run-dir", run).returncode == 0
    # Pretend the run was cut after 2 of 3 epochs: its spec asks for 3, its last.ckpt holds 2.
    resolved = run / "spec.resolved.yaml"
    resolved.write_text(resolved.read_text().replace("max_epochs: 2", "max_epochs: 3"))
    resumed = sciml("run", "--resume", run)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    state = _state(run)
    assert state["status"] == "complete"
    assert state["stages"]["train"]["steps"] == 9, "3 epochs of 3 steps: training continued, not restarted"
    epochs = [line.split(",")[0] for line in (run / "logs/metrics.csv").read_text().splitlines()[1:]]
    assert {"0", "1", "2"} <= set(epochs)
    refused = sciml("run", tiny_spec, "--resume", run)
    assert refused.returncode == 2 and "own spec.resolved.yaml" in refused.stderr


def test_divergence_exits_1_and_marks_the_run_failed(tiny_spec: Path, tmp_path: Path) -> None:
    run = tmp_path / "boom"
    result = sciml("run", tiny_spec, "train.optimizer={kind: sgd, lr: 1.0e+12}", "task.loss=mse", "--run-dir", run)
    assert result.returncode == 1, result.stderr[-3000:]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: training diverged") and "at step" in line
    assert "Traceback" not in result.stderr
    state = _state(run)
    assert state["status"] == "failed" and "diverged" in state["error"]
    assert (run / "spec.yaml").exists() and not (run / "metrics.json").exists()
