"""Compare run directories: the parameters that differ and the metrics, as a table, CSV or markdown.

The local counterpart of the W&B run comparison, read from the files every run directory holds:
``spec.resolved.yaml`` (parameters, flattened to dotted keys such as ``train.optimizer.lr``),
``metrics.json`` (flattened to ``operator_metrics/test/rel_l2``) and ``run.json`` (status). This
module does not import torch.
"""

from __future__ import annotations

import csv
import glob
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sciml.pipelines.console import flatten
from sciml.pipelines.errors import SpecError
from sciml.pipelines.rundir import existing, read_state


IGNORED_PARAMS = ("paths.", "logging.", "generate.", "description")
"""Spec keys that do not change a run's results (where files go, how it is logged, how many processes
generate the data): never shown as differing."""


@dataclass(frozen=True)
class RunRecord:
    """One run directory as the comparison sees it."""

    path: Path
    status: str
    params: dict[str, Any]
    metrics: dict[str, Any]


@dataclass(frozen=True)
class Comparison:
    """Runs (in display order), the parameter keys whose values differ, and every metric name."""

    runs: list[RunRecord]
    params: list[str]
    metrics: list[str]

    def rows(self) -> list[list[Any]]:
        """One row per run: path, status, the differing parameters, the metrics (None where absent)."""
        return [
            [str(run.path), run.status, *(run.params.get(k) for k in self.params), *(run.metrics.get(k) for k in self.metrics)]
            for run in self.runs
        ]

    @property
    def header(self) -> list[str]:
        return ["run", "status", *self.params, *self.metrics]

    def labels(self) -> list[str]:
        """Short names of the runs: the directory names where they are unique, else the paths."""
        names = [run.path.name for run in self.runs]
        return names if len(set(names)) == len(names) else [str(run.path) for run in self.runs]


def expand(patterns: Sequence[str | Path]) -> list[Path]:
    """Run directories from paths and glob patterns (``runs/quickstart-*``), in order, without repeats.

    A path named as is must be a run directory; a glob keeps only the run directories it matches.
    """
    found: list[Path] = []
    for pattern in map(str, patterns):
        if glob.has_magic(pattern):
            matches = [Path(p) for p in sorted(glob.glob(pattern)) if (Path(p) / "run.json").is_file()]
            if not matches:
                raise SpecError(f"{pattern}: matches no run directory (a directory with run.json)")
            found.extend(matches)
        else:
            found.append(existing(pattern))
    return list(dict.fromkeys(found))


def load_run(path: Path) -> RunRecord:
    """Read one run directory (a run that was never evaluated has training metrics only)."""
    path = existing(path)
    resolved_file = path / "spec.resolved.yaml"
    params = flatten(yaml.safe_load(resolved_file.read_text(encoding="utf-8")) or {}, sep=".") if resolved_file.is_file() else {}
    state = read_state(path)
    metrics_file = path / "metrics.json"
    if metrics_file.is_file():
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    else:
        metrics = {"train": state.get("stages", {}).get("train", {})}
    return RunRecord(path=path, status=str(state.get("status", "?")), params=params, metrics=flatten(metrics))


def compare(patterns: Sequence[str | Path], sort: str | None = None, descending: bool = False) -> Comparison:
    """The comparison of the runs in ``patterns``; ``sort`` names a metric (a unique suffix is enough)."""
    runs = [load_run(p) for p in expand(patterns)]
    if not runs:
        raise SpecError("sciml compare: name at least one run directory or glob")
    keys = [k for k in dict.fromkeys(k for run in runs for k in run.params) if not k.startswith(IGNORED_PARAMS)]
    differing = [k for k in keys if len({json.dumps(run.params.get(k), sort_keys=True) for run in runs}) > 1]
    metrics = list(dict.fromkeys(k for run in runs for k in run.metrics))
    if sort is not None:
        key = resolve_metric(sort, metrics)
        present = [r for r in runs if _number(r.metrics.get(key)) is not None]
        absent = [r for r in runs if _number(r.metrics.get(key)) is None]
        runs = sorted(present, key=lambda r: _number(r.metrics[key]), reverse=descending) + absent
    return Comparison(runs=runs, params=differing, metrics=metrics)


def resolve_metric(name: str, metrics: Sequence[str]) -> str:
    """``name`` itself, or the one metric that ends with ``/name``; else a :class:`SpecError` listing the choices."""
    if name in metrics:
        return name
    matches = [m for m in metrics if m.endswith(f"/{name}")]
    if len(matches) == 1:
        return matches[0]
    what = f"is ambiguous ({', '.join(matches)})" if matches else "is not a metric of these runs"
    raise SpecError(f"--sort {name}: {what}; choose one of: {', '.join(metrics)}")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def format_value(value: Any) -> str:
    """A cell: floats to 4 significant digits, absent values empty, lists and mappings as JSON."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def print_table(comparison: Comparison) -> None:
    """The rich table on stderr, one column per run (in sorted order), one row per parameter or metric."""
    from rich.table import Table

    from sciml.pipelines.console import console

    table = Table(title=f"{len(comparison.runs)} runs: the parameters that differ, then the metrics", title_justify="left")
    table.add_column("")
    for label, run in zip(comparison.labels(), comparison.runs):
        table.add_column(f"{label}\n({run.status})", justify="right", overflow="fold")
    for key in comparison.params:
        table.add_row(key, *(format_value(run.params.get(key)) for run in comparison.runs), style="cyan")
    if comparison.params and comparison.metrics:
        table.add_section()
    for key in comparison.metrics:
        table.add_row(key, *(format_value(run.metrics.get(key)) for run in comparison.runs))
    console.print(table)


def write_csv(comparison: Comparison, path: str | Path) -> Path:
    """The comparison as CSV: full paths, full precision."""
    def cell(value: Any) -> Any:
        return "" if value is None else json.dumps(value) if isinstance(value, (list, dict)) else value

    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(comparison.header)
        writer.writerows([list(map(cell, row)) for row in comparison.rows()])
    return path


def to_markdown(comparison: Comparison) -> str:
    """The comparison as a markdown (pipe) table, runs named as in :meth:`Comparison.labels`."""
    def cell(value: Any) -> str:
        return format_value(value).replace("|", "\\|")

    lines = [
        "| " + " | ".join(map(cell, comparison.header)) + " |",
        "|" + "|".join("---:" if i >= 2 + len(comparison.params) else "---" for i in range(len(comparison.header))) + "|",
    ]
    lines += ["| " + " | ".join(map(cell, [label, *row[1:]])) + " |" for label, row in zip(comparison.labels(), comparison.rows())]
    return "\n".join(lines) + "\n"
