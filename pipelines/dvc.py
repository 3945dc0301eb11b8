"""``dvc.yaml`` from specs: stages generate -> train -> evaluate whose caching follows the spec sections they read.

For a spec ``specs/x.yaml`` (stage names and paths use the file's stem ``x``) and the output root
``results``::

    x-generate  sciml generate specs/x.yaml paths.cache=results/x/data
                params data, seed                               outs results/x/data
                deps: the files the data reads (``DataConfig.input_files``), if any
    x-train     sciml train specs/x.yaml paths.cache=... --run-dir results/x/train
                params model, task, train, trainer, seed        deps data, train.init_from if any;
                                                                outs results/x/train
    x-evaluate  sciml dvc evaluate specs/x.yaml paths.cache=... --trained results/x/train
                    --run-dir results/x/evaluate --metrics results/x/metrics.json
                params evaluate                                 deps data, train, files the evaluators read;
                                                                outs results/x/evaluate
                metrics results/x/metrics.json (cache: false)

A params list names only the sections the spec file writes (DVC refuses a key the file lacks; a
default is not a parameter of the file); adding one to the file changes what `sciml dvc check` expects.
Two specs with the same stem would share stage names and are refused.

The outputs live outside ``runs/`` (which git ignores) because ``metrics.json`` is committed to git
(``cache: false``), so that ``dvc metrics diff`` compares it with the last commit; DVC adds the cached
outputs to ``results/x/.gitignore`` itself.

DVC deletes a stage's outputs before it runs it again, so each stage gets a fresh directory, as the
run directories require. ``sciml evaluate`` writes into the run it evaluates; here that would change
the train stage's output, so the evaluate stage evaluates a copy (:func:`evaluate_trained`): a run
directory of its own holding the current spec, the train stage's state and its checkpoints (hard
links where the file system allows). The top-level ``plots`` name the CSVs the evaluators write
(each evaluator's ``plot_tables()``) and the training curve, each with its x and y columns.

``write`` merges into an existing ``dvc.yaml``: the stages and plots of the given specs are replaced,
everything else is kept, and the header lists every spec the file was written for, so
``sciml dvc write`` with no spec regenerates the file as it stands (:func:`check` tells whether it is
up to date). This module does not import torch.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sciml.pipelines.errors import SpecError
from sciml.pipelines.spec import SpecBase, load_spec, read_spec_file

DEFAULT_FILE = Path("dvc.yaml")
OUT = "results"
STAGE_PARAMS = {
    "generate": ["data", "seed"],
    "train": ["model", "task", "train", "trainer", "seed"],
    "evaluate": ["evaluate"],
}
"""The spec sections each stage reads: a change anywhere else re-runs nothing."""

_HEADER = "# Written by `sciml dvc write`; regenerate with: sciml dvc write{specs}\n"
_HEADER_LINE = re.compile(r"^# Written by `sciml dvc write`; regenerate with: sciml dvc write(?P<specs>.*)$", re.M)
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")



def stage_names(stem: str) -> dict[str, str]:
    """``{"generate": "<stem>-generate", ...}``."""
    return {stage: f"{stem}-{stage}" for stage in STAGE_PARAMS}


def spec_paths(stem: str) -> dict[str, str]:
    """The stable paths of one spec's pipeline: dataset cache, train run, evaluate run, metrics file."""
    root = f"{OUT}/{stem}"
    return {"data": f"{root}/data", "train": f"{root}/train", "evaluate": f"{root}/evaluate", "metrics": f"{root}/metrics.json"}


def _spec_path_text(path: str | Path) -> str:
    """The spec path as written into ``dvc.yaml``: relative, with forward slashes."""
    path = Path(path)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError as error:
            raise SpecError(f"{path}: a spec in dvc.yaml must lie under the repository (the working directory)") from error
    return path.as_posix()


def stages_for(spec_file: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The three stages and the top-level plots of one spec (validated first)."""
    spec_text = _spec_path_text(spec_file)
    spec = load_spec(spec_file)
    stem = Path(spec_text).stem
    if not _STEM.match(stem):
        raise SpecError(f"{spec_text}: the file name must be letters, digits, '_' or '-' (it names the DVC stages)")
    names, paths = stage_names(stem), spec_paths(stem)
    cache = f"paths.cache={paths['data']}"
    data_files = spec.data.input_files()
    written = read_spec_file(spec_file).keys()  # DVC refuses a params key the file does not have

    def params(stage: str) -> dict[str, list[dict[str, list[str]]]]:
        keys = [key for key in STAGE_PARAMS[stage] if key in written]
        return {"params": [{spec_text: keys}]} if keys else {}

    stages = {
        names["generate"]: {
            "cmd": f"sciml generate {spec_text} {cache}",
            **({"deps": data_files} if data_files else {}),
            **params("generate"),
            "outs": [paths["data"]],
        },
        names["train"]: {
            "cmd": f"sciml train {spec_text} {cache} --run-dir {paths['train']}",
            "deps": [paths["data"], *([spec.train.init_from] if spec.train.init_from is not None else [])],
            **params("train"),
            "outs": [paths["train"]],
        },
        names["evaluate"]: {
            "cmd": (
                f"sciml dvc evaluate {spec_text} {cache} --trained {paths['train']} "
                f"--run-dir {paths['evaluate']} --metrics {paths['metrics']}"
            ),
            "deps": [paths["data"], paths["train"], *(path for evaluator in spec.evaluate for path in evaluator.input_files())],
            **params("evaluate"),
            "outs": [paths["evaluate"]],
            "metrics": [{paths["metrics"]: {"cache": False}}],
        },
    }
    return stages, _plots(spec, paths)


def _plots(spec: SpecBase, paths: dict[str, str]) -> list[dict[str, Any]]:
    plots = [{f"{paths['train']}/logs/metrics.csv": {"x": "step", "y": "val/loss"}}]
    for evaluator in spec.evaluate:
        for name, x, y in evaluator.plot_tables():
            plots.append({f"{paths['evaluate']}/plots/{name}": {"x": x, "y": y}})
    return plots


def render(spec_files: Sequence[str | Path], existing: str | None = None) -> str:
    """The text of ``dvc.yaml`` with the stages of ``spec_files`` merged into ``existing`` (its text or None).

    With no ``spec_files``, the specs named in ``existing``'s header are rendered again.
    """
    document, written = _parse_existing(existing)
    specs = list(dict.fromkeys([*written, *(_spec_path_text(s) for s in spec_files)]))
    if not specs:
        raise SpecError("sciml dvc write: name at least one SPEC (no dvc.yaml written by sciml to regenerate)")
    stems: dict[str, str] = {}
    for spec_file in specs:
        other = stems.setdefault(Path(spec_file).stem, spec_file)
        if other != spec_file:
            raise SpecError(f"{spec_file}: its stages would take the names of {other}'s ({Path(spec_file).stem}-*); rename one file")
    stages: dict[str, Any] = dict(document.get("stages") or {})
    plots: list[Any] = list(document.get("plots") or [])
    for spec_file in specs:
        new_stages, new_plots = stages_for(spec_file)
        ours = f"{OUT}/{Path(spec_file).stem}/"
        plots = [entry for entry in plots if not _plot_path(entry).startswith(ours)]
        stages.update(new_stages)
        plots.extend(new_plots)
    document = {**document, "stages": stages, "plots": plots}
    header = _HEADER.format(specs="".join(f" {s}" for s in specs))
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=1000)


def _plot_path(entry: Any) -> str:
    return next(iter(entry)) if isinstance(entry, dict) else str(entry)


def _parse_existing(text: str | None) -> tuple[dict[str, Any], list[str]]:
    if not text:
        return {}, []
    document = yaml.safe_load(text) or {}
    if not isinstance(document, dict):
        raise SpecError("dvc.yaml: expected a mapping with stages:, got something else")
    match = _HEADER_LINE.search(text)
    return document, match.group("specs").split() if match else []


def write(spec_files: Sequence[str | Path], path: str | Path = DEFAULT_FILE) -> Path:
    """Write or update ``path`` (``dvc.yaml``) with the stages of ``spec_files``."""
    path = Path(path)
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    path.write_text(render(spec_files, existing), encoding="utf-8")
    return path


def check(path: str | Path = DEFAULT_FILE) -> bool:
    """Whether ``path`` is exactly what ``sciml dvc write`` (no SPEC: the specs in its header) would write."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: not found; write it with `sciml dvc write SPEC...`")
    text = path.read_text(encoding="utf-8")
    if not _parse_existing(text)[1]:
        raise SpecError(f"{path}: no `sciml dvc write` header; regenerate it with `sciml dvc write SPEC...`")
    return render([], text) == text


def evaluate_trained(
    spec: SpecBase,
    spec_text: str,
    overrides: Sequence[str],
    trained: str | Path,
    run_dir: str | Path,
    metrics_file: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluate the run in ``trained`` inside a new run directory ``run_dir``; ``trained`` is not touched.

    ``run_dir`` gets the current spec, ``trained``'s training state (stages, dataset, W&B id) and its
    checkpoints; ``metrics.json`` is also copied to ``metrics_file`` (the DVC metric) when given.
    """
    from sciml.pipelines import rundir, stages

    source = rundir.existing(trained)
    path = rundir.new_run_dir(spec, run_dir)
    path = rundir.create(path, spec, spec_text, list(overrides), renumber=run_dir is None)
    state = rundir.read_state(source)
    carried = {key: state[key] for key in ("wandb_id", "dataset") if key in state}
    rundir.update_state(path, status="trained", trained_in=str(source), stages=state.get("stages", {}), **carried)
    for checkpoint in sorted((source / "checkpoints").glob("*.ckpt")):
        _link_or_copy(checkpoint, path / "checkpoints" / checkpoint.name)
    metrics = stages.evaluate(spec, path)
    if metrics_file is not None:
        Path(metrics_file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path / "metrics.json", metrics_file)
    return metrics


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
