"""Sweeps: parsing ``--sweep``, the grid, one run directory per point, divergence, and the end-to-end CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from sciml_testing import TINY_SPEC, sciml
from sciml.pipelines import rundir, stages, sweep
from sciml.pipelines.errors import DivergedError, Interrupted, SpecError


def test_values_split_on_top_level_commas_only() -> None:
    assert sweep.split_values("1e-3,3e-4") == ["1e-3", "3e-4"]
    assert sweep.split_values("[val,test], [test] ,'a,b'") == ["[val,test]", "[test]", "'a,b'"]
    assert sweep.split_values("{kind: sgd, lr: 1},{kind: adam}") == ["{kind: sgd, lr: 1}", "{kind: adam}"]


def test_grid_is_the_product_last_axis_fastest() -> None:
    axes = sweep.parse_sweep(["train.optimizer.lr=1e-3,3e-4", "model.width=32,64,128"])
    assert axes == [("train.optimizer.lr", ["1e-3", "3e-4"]), ("model.width", ["32", "64", "128"])]
    points = sweep.grid(axes)
    assert len(points) == 2 * 3
    assert points[0] == ["train.optimizer.lr=1e-3", "model.width=32"]
    assert points[1] == ["train.optimizer.lr=1e-3", "model.width=64"]
    assert points[5] == ["train.optimizer.lr=3e-4", "model.width=128"]
    assert len({tuple(p) for p in points}) == 6
    assert sweep.point_name(3, points[3]) == "03-lr=3e-4-width=32"
    assert sweep.point_name(0, ["evaluate.0.splits=[val, test]"]) == "00-splits=_val__test_"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("train.optimizer.lr", "expected KEY=V1,V2"),
        ("train.optimizer.lr=1e-3,", "no empty value"),
        ("bad key=1,2", "expected KEY=VALUE with a dotted key"),
    ],
)
def test_bad_sweep_options(item: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        sweep.parse_sweep([item])


def test_a_key_swept_twice_is_refused() -> None:
    with pytest.raises(SpecError, match="model.width is swept twice"):
        sweep.parse_sweep(["model.width=8,16", "model.width=32"])


def test_every_point_is_validated_before_the_first_run(tiny_spec: Path, tmp_path: Path) -> None:
    result = sciml("run", tiny_spec, "--sweep", "model.width=8,-1", "--run-dir", tmp_path / "sw")
    assert result.returncode == 2 and "model.width: must be > 0, got -1" in result.stderr
    assert not (tmp_path / "sw").exists(), "nothing ran"


def test_sweep_needs_a_spec_and_no_resume(tiny_spec: Path, tmp_path: Path) -> None:
    result = sciml("run", "--resume", tmp_path / "old", "--sweep", "model.width=8,16")
    assert result.returncode == 2 and "--sweep: needs a SPEC and cannot be combined with --resume" in result.stderr


def test_a_diverged_point_does_not_stop_the_sweep(tiny_spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The grid's runs, with a stand-in for the stages: the sweep goes on after a divergence, then reports it."""
    calls: list[list[str]] = []

    def fake_run(source, overrides, run_dir=None, resume=None):
        spec, text = stages.load(source, overrides)
        rundir.create(Path(run_dir), spec, text, list(overrides))
        calls.append(list(overrides))
        if spec.train.optimizer.lr > 1:
            rundir.update_state(Path(run_dir), status="failed", error="DivergedError: training diverged at step 1")  # as stages records it
            raise DivergedError("training diverged at step 1")
        rundir.update_state(Path(run_dir), status="complete")

    monkeypatch.setattr(stages, "run", fake_run)
    with pytest.raises(DivergedError, match="1 of 3 sweep runs diverged: 01-lr=1.0e"):
        sweep.run_sweep(tiny_spec, ["model.width=4"], ["train.optimizer.lr=0.01,1.0e+12,0.02"], tmp_path / "sw")
    assert [c[1] for c in calls] == ["train.optimizer.lr=0.01", "train.optimizer.lr=1.0e+12", "train.optimizer.lr=0.02"]
    assert all(c[0] == "model.width=4" and c[2].startswith("tags=[sweep-") for c in calls)
    made = sorted(p for p in (tmp_path / "sw").iterdir() if p.is_dir())
    assert [p.name for p in made] == ["00-lr=0.01", "01-lr=1.0e+12", "02-lr=0.02"]
    assert [json.loads((p / "run.json").read_text())["sweep"]["index"] for p in made] == [0, 1, 2]


def test_an_interrupted_sweep_continues_where_it_stopped(tiny_spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a stand-in for the stages: a stop in the second run, then ``--resume`` of the sweep."""
    calls: list[tuple] = []

    def fake_run(source, overrides=(), run_dir=None, resume=None):
        calls.append((source, list(overrides), run_dir, resume))
        if resume is not None:
            rundir.update_state(Path(resume), status="complete")
            return
        spec, text = stages.load(source, overrides)
        rundir.create(Path(run_dir), spec, text, list(overrides))
        if spec.model.width == 6 and len(calls) == 2:  # the first attempt at the second point
            rundir.update_state(Path(run_dir), status="interrupted")
            raise KeyboardInterrupt
        rundir.update_state(Path(run_dir), status="complete")

    monkeypatch.setattr(stages, "run", fake_run)
    root = tmp_path / "sw"
    with pytest.raises(Interrupted, match=f"^interrupted in sweep run 01-width=6; continue the sweep with --resume {re.escape(str(root))}$"):
        sweep.run_sweep(tiny_spec, ["train.max_epochs=1"], ["model.width=4,6,8"], root)
    tiny_spec.write_text("a spec edited since the sweep started")  # the sweep runs its own copy
    calls.clear()
    done = sweep.continue_sweep(root)
    assert [p.name for p in done] == ["00-width=4", "01-width=6", "02-width=8"]
    assert [(c[2], c[3]) for c in calls] == [(None, root / "01-width=6"), (root / "02-width=8", None)], "resumed, then started"
    source, overrides = calls[1][:2]
    assert source == root / "spec.yaml" and overrides[:2] == ["train.max_epochs=1", "model.width=8"]
    assert overrides[2].startswith("tags=[sweep-")
    assert all(json.loads((p / "run.json").read_text())["status"] == "complete" for p in done)


def test_continuing_a_sweep_keeps_diverged_runs_and_retries_other_failures(tiny_spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []

    def fake_run(source, overrides=(), run_dir=None, resume=None):
        calls.append((run_dir, resume))
        if resume is None:
            spec, text = stages.load(source, overrides)
            rundir.create(Path(run_dir), spec, text, list(overrides))
        rundir.update_state(Path(resume or run_dir), status="complete")

    monkeypatch.setattr(stages, "run", fake_run)
    root = tmp_path / "sw"
    runs = sweep.run_sweep(tiny_spec, [], ["model.width=4,5,6,7"], root)
    rundir.update_state(runs[1], status="failed", error="DivergedError: training diverged: loss is nan at step 3")
    rundir.update_state(runs[2], status="failed", error="OutOfMemoryError: CUDA out of memory")
    (runs[3] / "run.json").unlink()  # stopped while its directory was being made
    calls.clear()
    with pytest.raises(DivergedError, match=r"^1 of 4 sweep runs diverged: 01-width=5: training diverged: loss is nan at step 3$"):
        sweep.continue_sweep(root)
    assert calls == [(None, runs[2]), (runs[3], None)], "the failure retried, the half-made run started again"
    assert [json.loads((p / "run.json").read_text())["status"] for p in runs] == ["complete", "failed", "complete", "complete"]


def test_resume_of_a_sweep_takes_no_spec(tiny_spec: Path, tmp_path: Path) -> None:
    root = tmp_path / "sw"
    root.mkdir()
    (root / "sweep.json").write_text('{"overrides": [], "tags": "tags=[x]", "points": []}')
    result = sciml("run", tiny_spec, "--resume", root)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: --resume {root}: a sweep continues with its own spec and grid; pass no SPEC, overrides or --run-dir"


@pytest.mark.slow
def test_sweep_end_to_end_then_compare(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC.replace("max_epochs: 2", "max_epochs: 1"))
    root = tmp_path / "sweep"
    result = sciml("run", spec, "--sweep", "train.optimizer.lr=0.005,0.02", "--run-dir", root, env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted(p for p in root.iterdir() if p.is_dir())
    assert [p.name for p in runs] == ["00-lr=0.005", "01-lr=0.02"]
    assert (root / "spec.yaml").read_text() == spec.read_text() and (root / "sweep.json").is_file()
    resolved = [yaml.safe_load((p / "spec.resolved.yaml").read_text()) for p in runs]
    assert [r["train"]["optimizer"]["lr"] for r in resolved] == [0.005, 0.02]
    # One W&B group: every run keeps the spec's name (the group) and carries the same sweep tag.
    assert {r["name"] for r in resolved} == {"tiny"}
    assert resolved[0]["tags"] == resolved[1]["tags"] and resolved[0]["tags"][0].startswith("sweep-")
    metrics = [json.loads((p / "metrics.json").read_text())["operator_metrics"]["test/rel_l2"] for p in runs]
    assert metrics[0] != metrics[1]
    compared = sciml("compare", f"{root}/*", env={"COLUMNS": "200"})
    assert compared.returncode == 0, compared.stderr
    lines = compared.stderr.splitlines()
    lr_row = next(line for line in lines if "train.optimizer.lr" in line)
    assert "0.005" in lr_row and "0.02" in lr_row
    rel_row = next(line for line in lines if "operator_metrics/test/rel_l2 " in line)
    assert f"{metrics[0]:.4g}" in rel_row and f"{metrics[1]:.4g}" in rel_row
    assert lr_row in result.stderr, "the sweep ends with the same comparison"
    again = sciml("run", "--resume", root, env={"COLUMNS": "200"})
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.count("complete before") == 2 and lr_row in again.stderr, "nothing is run again"
