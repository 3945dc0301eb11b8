"""Sweeps: ``--sweep key=v1,v2`` options -> the grid of their values, run one after another.

Each point of the grid is a full run (generate, train, evaluate) in its own directory under the
sweep's directory, ``<paths.runs>/<name>-sweep-<time>/<index>-<key>=<value>...``; every run keeps the
spec's name, so W&B files them all in the spec's group, and carries the tag ``sweep-<time>`` that
tells this sweep's runs apart there. The sweep ends with :mod:`~sciml.pipelines.compare` over its runs.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sciml.pipelines.errors import DivergedError, SpecError
from sciml.pipelines.spec import parse_override, parse_yaml


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

    Raises :class:`DivergedError` at the end if any run diverged, after the comparison is printed.
    """
    from sciml.pipelines import compare, rundir
    from sciml.pipelines.console import say
    from sciml.pipelines.spec import load_spec
    from sciml.pipelines.stages import run

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
        load_spec(source, [*overrides, *point])
    say(f"sweep of {len(points)} runs in {root} (W&B group {base_spec.name}, tag {tag})")
    done, diverged = [], []
    for index, point in enumerate(points):
        path = root / point_name(index, point)
        say(f"[{index + 1}/{len(points)}] {' '.join(point)}")
        try:
            run(source, [*overrides, *point, tags], run_dir=path)
        except DivergedError as error:
            diverged.append(f"{path.name}: {error}")
        if (path / "run.json").is_file():
            done.append(path)
            rundir.update_state(path, sweep={"root": str(root), "index": index, "point": point})
    if done:
        compare.print_table(compare.compare(done))
    if diverged:
        raise DivergedError(f"{len(diverged)} of {len(points)} sweep runs diverged: " + "; ".join(diverged))
    return done


def _flow_list(values: Sequence[Any]) -> str:
    """A YAML flow list for an override value; each item is checked to read back as itself."""
    text = "[" + ", ".join(map(str, values)) + "]"
    if parse_yaml(text, "tags") != list(values):
        raise SpecError(f"tags: {values!r} cannot be passed on as an override")
    return text
