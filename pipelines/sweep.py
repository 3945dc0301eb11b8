"""Sweeps: ``--sweep key=v1,v2`` options -> the grid of their values, run one after another.

Each point of the grid is a full run (generate, train, evaluate) in its own directory under the
sweep's directory, ``<paths.runs>/<name>-sweep-<time>/<index>-<key>=<value>...``; every run keeps the
spec's name, so W&B files them all in the spec's group, and carries the tag ``sweep-<time>`` that
tells this sweep's runs apart there. The sweep ends with :mod:`~sciml.pipelines.compare` over its runs.
``sciml run --resume <sweep directory>`` continues an interrupted sweep.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sciml.pipelines.errors import DivergedError, Interrupted, SpecError
from sciml.pipelines.spec import parse_override, parse_yaml

SWEEP_FILE = "sweep.json"
"""In a sweep's directory: the overrides every run takes, its tags override and the grid's points, as JSON."""
DIVERGED = f"{DivergedError.__name__}: "
"""How ``run.json`` records a divergence (status ``failed``); a run that failed otherwise is tried again."""


def split_values(text: str) -> list[str]:
    """``"1e-3,[a,b],3"`` -> ``["1e-3", "[a,b]", "3"]``: commas split only outside brackets and quotes."""
    parts, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return [part.strip() for part in parts]


def parse_sweep(items: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["train.optimizer.lr=1e-3,3e-4"]`` -> ``[("train.optimizer.lr", ["1e-3", "3e-4"])]`` (values as text)."""
    axes: list[tuple[str, list[str]]] = []
    for item in items:
        key, sep, text = item.partition("=")
        values = split_values(text)
        if not sep or any(not v for v in values):
            raise SpecError(f"--sweep {item!r}: expected KEY=V1,V2,... with no empty value, e.g. train.optimizer.lr=1e-3,3e-4")
        key = parse_override(f"{key}={values[0]}")[0]  # the key's form is checked like an override's
        if key in (k for k, _ in axes):
            raise SpecError(f"--sweep {item!r}: {key} is swept twice; give all its values in one --sweep")
        axes.append((key, values))
    return axes


def grid(axes: Sequence[tuple[str, list[str]]]) -> list[list[str]]:
    """Every combination as a list of ``key=value`` overrides, the last axis varying fastest."""
    keys = [key for key, _ in axes]
    return [[f"{k}={v}" for k, v in zip(keys, point)] for point in itertools.product(*(values for _, values in axes))]


def point_name(index: int, point: Sequence[str]) -> str:
    """A directory name for one grid point: ``03-lr=0.001-width=32`` (last key part, unsafe characters -> ``_``)."""
    parts = [f"{key.rsplit('.', 1)[-1]}={value}" for key, _, value in (p.partition("=") for p in point)]
    return re.sub(r"[^A-Za-z0-9_.=+-]", "_", f"{index:02d}-" + "-".join(parts))


def run_sweep(
    source: str | Path,
    overrides: Sequence[str],
    sweep: Sequence[str],
    run_dir: str | Path | None = None,
) -> list[Path]:
    """Run the grid sequentially; returns the run directories (a diverged run is recorded, the rest go on).

    The sweep's directory keeps the spec as given (``spec.yaml``) and the grid (``sweep.json``), so an
    interrupted sweep continues with :func:`continue_sweep`. Raises :class:`DivergedError` at the end if
    any run diverged, after the comparison is printed.
    """
    from sciml.pipelines import rundir
    from sciml.pipelines.console import say
    from sciml.pipelines.errors import user_path
    from sciml.pipelines.spec import load_spec
    from sciml.pipelines.stages import check_environment

    axes = parse_sweep(sweep)
    points = grid(axes)
    base_spec = load_spec(source, overrides)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    tag = f"sweep-{stamp}"
    root = Path(run_dir) if run_dir is not None else Path(base_spec.paths.runs) / f"{base_spec.name}-{tag}"
    if root.exists():
        raise SpecError(f"--run-dir {root}: already exists and is never overwritten; choose a new directory")
    tags = f"tags={_flow_list([*base_spec.tags, tag])}"
    for point in points:  # every point is validated before the first run starts
        point_spec = load_spec(source, [*overrides, *point])
        if point_spec.train.init_from is not None:
            rundir.initial_checkpoint(point_spec.train.init_from)
    check_environment(base_spec)  # a GPU or W&B key that is missing, before the sweep's directory is made
    with user_path("--run-dir" if run_dir is not None else "paths.runs"):
        root.mkdir(parents=True)
    shutil.copyfile(source, root / "spec.yaml")
    rundir.write_json(root / SWEEP_FILE, {"overrides": list(overrides), "tags": tags, "points": points})
    say(f"sweep of {len(points)} runs in {root} (W&B group {base_spec.name}, tag {tag})")
    return _run_points(root)


def continue_sweep(root: str | Path) -> list[Path]:
    """Finish the sweep in ``root``: runs not started are started, interrupted ones resumed, and complete
    or diverged ones kept; then the comparison over all of them, as :func:`run_sweep` ends."""
    from sciml.pipelines.console import say

    root = Path(root)
    say(f"continuing the sweep in {root}")
    return _run_points(root)


def is_sweep(path: str | Path) -> bool:
    """Whether ``path`` is a sweep's directory (made by :func:`run_sweep`)."""
    return (Path(path) / SWEEP_FILE).is_file()


def _run_points(root: Path) -> list[Path]:
    """Run every point of the sweep in ``root`` that has not finished; returns the run directories."""
    from sciml.pipelines import compare, rundir
    from sciml.pipelines.console import say
    from sciml.pipelines.stages import run

    record = _read_record(root)
    source, overrides, tags, points = root / "spec.yaml", record["overrides"], record["tags"], record["points"]
    done, diverged = [], []
    for index, point in enumerate(points):
        path = root / point_name(index, point)
        if path.is_dir() and not (path / "run.json").is_file():
            shutil.rmtree(path)  # stopped as it was being made: it holds nothing yet
        state = rundir.read_state(path) if path.is_dir() else None
        finished = _finished(state)
        if finished:
            say(f"[{index + 1}/{len(points)}] {' '.join(point)}: {finished} before")
        else:
            say(f"[{index + 1}/{len(points)}] {' '.join(point)}" + " (resumed)" * (state is not None))
            try:
                if state is None:
                    run(source, [*overrides, *point, tags], run_dir=path)
                else:
                    run(None, resume=path)
            except DivergedError:
                pass  # recorded in the run's run.json as failed; reported below
            except (Interrupted, KeyboardInterrupt) as error:
                raise Interrupted.after(error, f" in sweep run {path.name}; continue the sweep with --resume {root}") from error
        if (path / "run.json").is_file():
            done.append(path)
            state = rundir.update_state(path, sweep={"root": str(root), "index": index, "point": point})
            if _diverged(state):
                diverged.append(f"{path.name}: {state['error'].removeprefix(DIVERGED)}")
    if done:
        compare.print_table(compare.compare(done))
    if diverged:
        raise DivergedError(f"{len(diverged)} of {len(points)} sweep runs diverged: " + "; ".join(diverged))
    return done


def _finished(state: dict[str, Any] | None) -> str | None:
    """``"complete"`` or ``"diverged"`` for a run the sweep keeps as it is; ``None`` for one to (re)run."""
    if state is None:
        return None
    return "diverged" if _diverged(state) else "complete" if state["status"] == "complete" else None


def _diverged(state: dict[str, Any]) -> bool:
    return state["status"] == "failed" and str(state.get("error", "")).startswith(DIVERGED)


def _read_record(root: Path) -> dict[str, Any]:
    """``sweep.json`` of the sweep in ``root`` (see :data:`SWEEP_FILE`)."""
    try:
        record = json.loads((root / SWEEP_FILE).read_text(encoding="utf-8"))
        expected = {"overrides": list, "tags": str, "points": list}
        if not isinstance(record, dict) or not all(isinstance(record.get(key), kind) for key, kind in expected.items()):
            raise ValueError("not the record sciml writes")
    except (OSError, ValueError) as error:
        raise SpecError(f"{root / SWEEP_FILE}: cannot read the sweep's record ({error})") from error
    return record


def _flow_list(values: Sequence[Any]) -> str:
    """A YAML flow list for an override value; each item is checked to read back as itself."""
    text = "[" + ", ".join(map(str, values)) + "]"
    if parse_yaml(text, "tags") != list(values):
        raise SpecError(f"tags: {values!r} cannot be passed on as an override")
    return text
