"""`sciml compare`: the parameters that differ, the metrics, sorting, CSV and markdown, globs and bad input.

The run directories are made with the pipeline's own writer (``rundir.create``) and given metrics
chosen by hand, so every expected cell is known without training.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from sciml_testing import TINY_SPEC, sciml
from sciml.pipelines import compare, rundir
from sciml.pipelines.console import flatten
from sciml.pipelines.errors import SpecError
from sciml.pipelines.spec import load_spec


def _run(path: Path, overrides: list[str], rel_l2: float | None, status: str = "complete") -> Path:
    spec = load_spec(yaml.safe_load(TINY_SPEC), overrides)
    rundir.create(path, spec, TINY_SPEC, overrides)
    rundir.update_state(path, status=status, stages={"train": {"epochs": spec.train.max_epochs}})
    if rel_l2 is not None:
        rundir.write_json(path / "metrics.json", {"train": {"epochs": spec.train.max_epochs}, "operator_metrics": {"test/rel_l2": rel_l2}})
    return path


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    return [
        _run(tmp_path / "runs/a", ["train.optimizer.lr=0.01"], 0.30),
        _run(tmp_path / "runs/b", ["train.optimizer.lr=0.001", "paths.cache=elsewhere"], 0.10),
        _run(tmp_path / "runs/c", ["train.optimizer.lr=0.003"], None, status="trained"),
    ]


def test_only_differing_parameters_and_every_metric(runs: list[Path]) -> None:
    table = compare.compare(runs)
    # lr differs; paths.cache differs too but never changes results, so it is not shown.
    assert table.params == ["train.optimizer.lr"]
    assert table.metrics == ["train/epochs", "operator_metrics/test/rel_l2"]
    assert table.rows() == [
        [str(runs[0]), "complete", 0.01, 2, 0.30],
        [str(runs[1]), "complete", 0.001, 2, 0.10],
        [str(runs[2]), "trained", 0.003, 2, None],  # not evaluated: training summary from run.json only
    ]


def test_sort_by_metric_suffix_missing_last(runs: list[Path]) -> None:
    ascending = compare.compare(runs, sort="test/rel_l2")
    assert [r.path for r in ascending.runs] == [runs[1], runs[0], runs[2]]
    descending = compare.compare(runs, sort="operator_metrics/test/rel_l2", descending=True)
    assert [r.path for r in descending.runs] == [runs[0], runs[1], runs[2]]
    with pytest.raises(SpecError, match="--sort nope: is not a metric of these runs; choose one of: train/epochs"):
        compare.compare(runs, sort="nope")


def test_nested_lists_flatten_by_index() -> None:
    flat = flatten({"train": {"optimizer": {"lr": 1e-3}}, "evaluate": [{"kind": "x", "splits": ["a", "b"]}], "tags": ["t"]}, sep=".")
    assert flat == {"train.optimizer.lr": 1e-3, "evaluate.0.kind": "x", "evaluate.0.splits": ["a", "b"], "tags": ["t"]}


def test_console_script_table_csv_markdown_and_globs(runs: list[Path], tmp_path: Path) -> None:
    result = sciml("compare", str(tmp_path / "runs/*"), "--sort", "test/rel_l2", "--csv", "out.csv", "--markdown", "out.md",
                   env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "train.optimizer.lr" in result.stderr and "0.001" in result.stderr and "0.3" in result.stderr
    rows = list(csv.reader(Path("out.csv").open()))
    assert rows[0] == ["run", "status", "train.optimizer.lr", "train/epochs", "operator_metrics/test/rel_l2"]
    assert [row[0] for row in rows[1:]] == [str(runs[1]), str(runs[0]), str(runs[2])]  # sorted, missing last
    assert float(rows[1][4]) == 0.10 and rows[3][4] == ""
    markdown = Path("out.md").read_text().splitlines()
    assert markdown[0] == "| run | status | train.optimizer.lr | train/epochs | operator_metrics/test/rel_l2 |"
    assert markdown[1] == "|---|---|---|---:|---:|"
    assert markdown[2] == "| b | complete | 0.001 | 2 | 0.1 |"  # unique directory names stand for the paths
    assert len(markdown) == 2 + len(runs)


def test_bad_input_exits_2(runs: list[Path], tmp_path: Path) -> None:
    missing = sciml("compare", str(runs[0]), str(tmp_path / "nope"))
    assert missing.returncode == 2 and "nope: not a run directory (no run.json)" in missing.stderr
    empty = sciml("compare", str(tmp_path / "zzz-*"))
    assert empty.returncode == 2 and "matches no run directory" in empty.stderr
    bad_sort = sciml("compare", *map(str, runs), "--sort", "rel")
    assert bad_sort.returncode == 2 and "--sort rel:" in bad_sort.stderr


def test_runs_with_the_same_directory_name_are_labelled_by_path(tmp_path: Path) -> None:
    same = [_run(tmp_path / f"results/{name}/evaluate", [f"seed={i}"], 0.1 * (i + 1)) for i, name in enumerate(("x", "y"))]
    table = compare.compare(same)
    assert table.params == ["seed"]
    assert table.labels() == [str(p) for p in same]
    assert compare.to_markdown(table).splitlines()[2].startswith(f"| {same[0]} | complete | 0 |")


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path: Path) -> None:
    # both runs chose the same automatic name before either made it (the name is picked before the
    # data is generated): the second one is renumbered instead of failing or sharing the directory
    spec = load_spec(yaml.safe_load(TINY_SPEC), [f"paths.runs={tmp_path / 'runs'}"])
    name = rundir.new_run_dir(spec)
    first = rundir.create(name, spec, TINY_SPEC, [], renumber=True)
    second = rundir.create(name, spec, TINY_SPEC, [], renumber=True)
    assert first == name and second == name.with_name(f"{name.name}-2")
    assert rundir.read_state(first)["status"] == rundir.read_state(second)["status"] == "running"
    with pytest.raises(SpecError, match="--run-dir: .*File exists"):  # a --run-dir given by the user is never renumbered
        rundir.create(first, spec, TINY_SPEC, [])
