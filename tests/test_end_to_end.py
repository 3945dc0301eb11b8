"""End to end through the console script: run directories, the dataset cache, resume, divergence."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
import yaml

from sciml_testing import sciml, start, stop, wait_until
from sciml.pipelines import rundir
from sciml.pipelines.errors import Interrupted, SpecError

pytestmark = pytest.mark.slow


def _state(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def _resolved_splits(run_dir: Path) -> list[str]:
    return yaml.safe_load((run_dir / "spec.resolved.yaml").read_text())["evaluate"][0]["splits"]


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
    assert (run / "plots/operator_metrics_val_errors.csv").is_file()
    # the run's resolved spec names the evaluation that wrote metrics.json, and a resume would repeat it
    assert _resolved_splits(run) == ["val", "test"]
    mismatched = sciml("evaluate", tiny_spec, "--run-dir", run, "model.width=9")
    assert mismatched.returncode == 2 and "model: differs from the run being evaluated" in mismatched.stderr
    # a run whose training was cut short can be evaluated, but never turns "complete"
    rundir.update_state(run, status="interrupted")
    unfinished = sciml("evaluate", tiny_spec, "--run-dir", run)
    assert unfinished.returncode == 0, unfinished.stderr[-3000:]
    assert _state(run)["status"] == "interrupted" and "training is interrupted" in unfinished.stderr
    assert _resolved_splits(run) == ["test"]
    # the new evaluation's plots replace the last one's (that evaluated the val split too)
    assert sorted(p.name for p in (run / "plots").iterdir()) == ["operator_metrics_test.png", "operator_metrics_test_errors.csv"]
    assert not (run / "plots.partial").exists()


def test_resume_continues_from_last_checkpoint(tiny_spec: Path, tmp_path: Path) -> None:
    import torch

    run = tmp_path / "r"
    assert sciml("train", tiny_spec, "--run-dir", run).returncode == 0
    # Pretend the run was cut after 2 of 3 epochs: its spec asks for 3, its last.ckpt holds 2.
    resolved = run / "spec.resolved.yaml"
    resolved.write_text(resolved.read_text().replace("max_epochs: 2", "max_epochs: 3"))
    # ... and an earlier resumed attempt was killed outright: epoch 0's rows still set aside, epoch 1's
    # in the file that attempt had started
    logs = run / "logs"
    header, *rows = (logs / "metrics.csv").read_text().splitlines()
    (logs / "metrics.before-resume.csv").write_text("\n".join([header, *(r for r in rows if r.startswith("0,"))]) + "\n")
    (logs / "metrics.csv").write_text("\n".join([header, *(r for r in rows if r.startswith("1,"))]) + "\n")
    # ... after 1000 s of training: the resumed run's seconds continue that count
    last = run / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, map_location="cpu", weights_only=False)
    (clock,) = [key for key in checkpoint["callbacks"] if "TrainingClock" in key]
    assert 0 < checkpoint["callbacks"][clock]["seconds"] <= _state(run)["stages"]["train"]["seconds"] + 0.01  # rounded there
    checkpoint["callbacks"][clock]["seconds"] = 1000.0
    torch.save(checkpoint, last)
    started = time.perf_counter()
    resumed = sciml("run", "--resume", run)
    took = time.perf_counter() - started
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    state = _state(run)
    assert state["status"] == "complete"
    assert state["stages"]["train"]["steps"] == 9, "3 epochs of 3 steps: training continued, not restarted"
    assert 1000 < state["stages"]["train"]["seconds"] < 1000 + took
    epochs = [line.split(",")[0] for line in (logs / "metrics.csv").read_text().splitlines()[1:]]
    assert epochs == sorted(epochs) and {"0", "1", "2"} <= set(epochs), "every attempt's rows, in order"
    assert not (logs / "metrics.before-resume.csv").exists()
    refused = sciml("run", tiny_spec, "--resume", run)
    assert refused.returncode == 2 and "own spec.resolved.yaml" in refused.stderr
    finished = json.loads((run / "metrics.json").read_text())["train"]
    again = sciml("run", "--resume", run)
    assert again.returncode == 0 and "training finished before; nothing to train" in " ".join(again.stderr.split()), again.stderr[-2000:]
    assert json.loads((run / "metrics.json").read_text())["train"] == finished, "the training's record is kept"


def test_last_checkpoint_follows_every_epoch_when_the_metric_stops_improving(tiny_spec: Path, tmp_path: Path) -> None:
    import torch

    run = tmp_path / "flat"
    # a learning rate below float32 resolution: the weights, so the validation error, never change
    result = sciml("train", tiny_spec, "train.max_epochs=3", "train.optimizer.lr=1e-30", "--run-dir", run)
    assert result.returncode == 0, result.stderr[-3000:]
    last, best = (torch.load(run / "checkpoints" / f"{name}.ckpt", map_location="cpu", weights_only=False) for name in ("last", "best"))
    assert (best["epoch"], best["global_step"]) == (0, 3), "the first epoch stays the best"
    assert (last["epoch"], last["global_step"]) == (2, 9), "a resume starts after the last epoch, not the best"


def _weights(checkpoint: Path) -> dict:
    import torch

    return torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]


def test_init_from_starts_with_another_runs_weights(tiny_spec: Path, tmp_path: Path) -> None:
    import torch

    pretrained = tmp_path / "pretrained"
    assert sciml("train", tiny_spec, "--run-dir", pretrained).returncode == 0
    # a learning rate below float32 resolution keeps the weights the run starts with
    frozen = ["train.max_epochs=1", "train.optimizer.lr=1e-30"]
    fresh = sciml("train", tiny_spec, *frozen, "--run-dir", tmp_path / "fresh")
    tuned = sciml("train", tiny_spec, *frozen, f"train.init_from={pretrained}", "--run-dir", tmp_path / "tuned")
    assert fresh.returncode == 0 and tuned.returncode == 0, tuned.stderr[-3000:]
    start, kept, untouched = (_weights(path) for path in (
        pretrained / "checkpoints/best.ckpt", tmp_path / "tuned/checkpoints/best.ckpt", tmp_path / "fresh/checkpoints/best.ckpt"))
    assert all(torch.equal(start[key], kept[key]) for key in start), "every weight and buffer of the pretrained run"
    assert not all(torch.equal(start[key], untouched[key]) for key in start)
    recorded = _state(tmp_path / "tuned")["init_from"]
    assert recorded["checkpoint"] == str((pretrained / "checkpoints/best.ckpt").resolve()) and len(recorded["sha256"]) == 64
    # a resume that must start afresh (stopped before its first checkpoint) takes the same file, unchanged
    (tmp_path / "tuned/checkpoints/last.ckpt").unlink()
    rundir.update_state(tmp_path / "tuned", status="interrupted")
    with open(pretrained / "checkpoints/best.ckpt", "ab") as handle:
        handle.write(b"\0")
    changed = sciml("run", "--resume", tmp_path / "tuned")
    assert changed.returncode == 2 and "has changed since this run started from it" in " ".join(changed.stderr.split())


def test_init_from_keeps_the_buffers_the_spec_sets(tmp_path: Path) -> None:
    import lightning as L
    import torch

    from sciml.pipelines.training import _start_from

    class Forced(L.LightningModule):
        settings_buffers = ("alpha",)

        def __init__(self, alpha: float) -> None:
            super().__init__()
            self.net = torch.nn.Linear(3, 2)
            self.register_buffer("alpha", torch.tensor(alpha))
            self.register_buffer("scale", torch.tensor(alpha))

    trained, fresh = Forced(alpha=0.1), Forced(alpha=0.9)
    torch.save({"state_dict": trained.state_dict()}, tmp_path / "trained.ckpt")
    _start_from(fresh, tmp_path / "trained.ckpt")
    assert torch.equal(fresh.net.weight, trained.net.weight) and fresh.scale.item() == pytest.approx(0.1)
    assert fresh.alpha.item() == pytest.approx(0.9), "the forcing's start comes from the new spec"
    torch.save(trained.state_dict(), tmp_path / "bare.pt")
    with pytest.raises(SpecError, match="no Lightning checkpoint"):
        _start_from(fresh, tmp_path / "bare.pt")


def test_init_from_that_cannot_start_the_run_is_refused(tiny_spec: Path, tmp_path: Path) -> None:
    missing = sciml("run", tiny_spec, "train.init_from=nowhere", "--run-dir", tmp_path / "a")
    assert missing.returncode == 2 and "train.init_from: no such checkpoint file or run directory 'nowhere'" in missing.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / ".sciml").exists(), "refused before any data or run directory"
    sweep = sciml("run", tiny_spec, "--sweep", f"train.init_from=nowhere,{tmp_path}", "--run-dir", tmp_path / "sweep")
    assert sweep.returncode == 2 and "'nowhere'" in sweep.stderr and not (tmp_path / "sweep").exists()
    (tmp_path / "empty").mkdir()
    empty = sciml("run", tiny_spec, f"train.init_from={tmp_path / 'empty'}")
    assert empty.returncode == 2 and "without checkpoints/best.ckpt or last.ckpt" in empty.stderr
    (tmp_path / "notes.ckpt").write_text("not a checkpoint")
    text = sciml("run", tiny_spec, "train.init_from=notes.ckpt", "--run-dir", tmp_path / "b")
    assert text.returncode == 2 and "train.init_from: 'notes.ckpt' is not a checkpoint" in text.stderr
    pretrained = tmp_path / "pretrained"
    assert sciml("train", tiny_spec, "--run-dir", pretrained).returncode == 0
    wider = sciml("train", tiny_spec, "model.width=9", f"train.init_from={pretrained}", "--run-dir", tmp_path / "c")
    assert wider.returncode == 2, wider.stderr[-3000:]
    (line,) = [line for line in wider.stderr.splitlines() if "train.init_from" in line]
    assert "do not fit this spec's model and task: size mismatch for net." in line and "more)" in line


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


@pytest.mark.parametrize(
    "signum, loader_workers, group",
    [(signal.SIGTERM, 0, False), (signal.SIGINT, 0, False), (signal.SIGTERM, 2, True)],
    ids=["SIGTERM", "SIGINT", "SIGTERM-to-the-group-2-loader-workers"],
)
def test_signal_stops_training_resumably_with_a_failing_exit_code(
    signum: int, loader_workers: int, group: bool, tiny_spec: Path, tmp_path: Path
) -> None:
    import torch

    run = tmp_path / "sig"
    process = start("train", tiny_spec, "train.max_epochs=100000", f"train.num_workers={loader_workers}", "--run-dir", run)
    last = run / "checkpoints" / "last.ckpt"
    wait_until(process, last.exists, timeout=300)
    stderr = stop(process, signum, group=group)
    state = _state(run)
    assert process.returncode == 128 + signum, (state, stderr[-2000:])
    assert stderr.strip().splitlines()[-1] == f"error: {state['error']}", stderr[-2000:]
    assert state["status"] == "interrupted" and f"--resume {run}" in state["error"], state
    assert not (run / "metrics.json").exists()
    # finish it: the resolved spec now asks for one epoch more than the checkpoint holds
    epoch = torch.load(last, map_location="cpu", weights_only=False)["epoch"]
    resolved = run / "spec.resolved.yaml"
    resolved.write_text(resolved.read_text().replace("max_epochs: 100000", f"max_epochs: {epoch + 2}"))
    resumed = sciml("run", "--resume", run)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _state(run)["status"] == "complete" and _state(run)["stages"]["train"]["epochs"] == epoch + 2


# a data section that takes about a minute to generate
SLOW_DATA = {"kind": "darcy", "resolution": 64, "train": 20000, "val": 8, "test": 8}


def _stop_while_generating(process, cache: Path, signum: int, group: bool = False) -> str:
    """Send ``signum`` (to the process, or its whole process group) once ``process`` writes a split of
    SLOW_DATA into ``cache``; returns its stderr."""
    generating = wait_until(process, lambda: bool(list(cache.glob("darcy-*/.*.tmp.h5"))), timeout=120)
    stderr = stop(process, signum, group=group)
    assert generating, ("the split was not being written when the signal was sent", stderr[-2000:])
    return stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_while_a_resumed_run_generates_marks_it_interrupted_and_leaves_no_partial_split(
    signum: int, tiny_spec: Path, tmp_path: Path
) -> None:
    import yaml

    run = tmp_path / "gen"
    first = sciml("train", tiny_spec, "train.max_epochs=1", "--run-dir", run)
    assert first.returncode == 0, first.stderr[-3000:]
    resolved = run / "spec.resolved.yaml"
    spec = yaml.safe_load(resolved.read_text())
    spec["data"] = SLOW_DATA
    spec["train"]["max_epochs"] = 2
    resolved.write_text(yaml.safe_dump(spec))
    cache = tmp_path / "cache"
    process = start("run", "--resume", run)
    stderr = _stop_while_generating(process, cache, signum)
    state = _state(run)
    assert process.returncode == 128 + signum, (state, stderr[-2000:])
    assert stderr.strip().splitlines()[-1] == f"error: {state['error']}", stderr[-2000:]
    assert state["status"] == "interrupted" and f"--resume {run}" in state["error"], (state, stderr[-2000:])
    assert not list(cache.glob("darcy-*/*.h5")) and not list(cache.glob("darcy-*/.*.h5"))  # no split, whole or partial
    assert (run / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.parametrize(
    "signum, workers, group",
    [(signal.SIGTERM, 1, False), (signal.SIGINT, 1, False), (signal.SIGTERM, 2, True), (signal.SIGINT, 2, True)],
    ids=["SIGTERM", "SIGINT", "SIGTERM-to-the-group-2-workers", "SIGINT-to-the-group-2-workers"],
)
def test_signal_while_generating_says_what_is_kept_and_leaves_no_partial_split(
    signum: int, workers: int, group: bool, tiny_spec: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    process = start("generate", tiny_spec, f"data={json.dumps(SLOW_DATA)}", f"generate.workers={workers}")
    stderr = _stop_while_generating(process, cache, signum, group)
    assert process.returncode == 128 + signum, stderr[-2000:]
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("error: terminated (SIGTERM)" if signum == signal.SIGTERM else "error: interrupted"), line
    assert "while generating the data" in line and "run the command again" in line, line
    assert not list(cache.glob("darcy-*/*.h5")) and not list(cache.glob("darcy-*/.*.h5"))


def test_an_evaluation_that_stops_halfway_replaces_no_plots(tiny_spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sciml.components.evaluation.operator_metrics import OperatorMetricsConfig
    from sciml.pipelines import stages

    run = stages.run(tiny_spec, run_dir=tmp_path / "half").run_dir
    before = {p.name: p.read_bytes() for p in (run / "plots").iterdir()}
    metrics = (run / "metrics.json").read_text()

    def fails_after_writing(self, context):
        (context.plots_dir / "operator_metrics_test_errors.csv").write_text("sample,rel_l2\n0,1e9\n")
        raise RuntimeError("evaluator failed")

    monkeypatch.setattr(OperatorMetricsConfig, "evaluate", fails_after_writing)
    with pytest.raises(RuntimeError, match="evaluator failed"):
        stages.evaluate(stages.load(tiny_spec)[0], run)
    assert {p.name: p.read_bytes() for p in (run / "plots").iterdir()} == before
    assert (run / "metrics.json").read_text() == metrics

    def stopped_by_ctrl_c(self, context):
        raise KeyboardInterrupt

    monkeypatch.setattr(OperatorMetricsConfig, "evaluate", stopped_by_ctrl_c)
    with pytest.raises(Interrupted, match=f"^interrupted while evaluating \\(the training is kept\\); continue with --resume {run}$"):
        stages.evaluate(stages.load(tiny_spec)[0], run)
    state = json.loads((run / "run.json").read_text())
    assert state["status"] == "complete" and state["error"].startswith("interrupted while evaluating")
    monkeypatch.undo()
    stages.run(None, resume=run)
    state = json.loads((run / "run.json").read_text())
    assert state["status"] == "complete" and "error" not in state, "a finished evaluation clears the stop's record"
