"""Run directories: chosen once (on rank 0), never overwritten, with a status that tells complete from not.

Layout::

    <run>/spec.yaml            the spec as given (the file's text)
    <run>/spec.resolved.yaml   every default filled in, overrides applied
    <run>/env.json             versions, git sha, host, devices, command line
    <run>/run.json             status (running | trained | complete | failed | interrupted), stages, ids
    <run>/checkpoints/         last.ckpt, best.ckpt
    <run>/logs/metrics.csv     metrics per step and epoch (CSV logger)
    <run>/wandb/               W&B files, when enabled (offline by default)
    <run>/metrics.json         written by the evaluate stage, atomically
    <run>/plots/               PNG + CSV
    <run>/.lock                held by the sciml process working in the run
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from sciml.pipelines import locking
from sciml.pipelines.errors import SpecError, user_path
from sciml.pipelines.spec import SpecBase, dump_yaml, resolved_dict

LOCK_FILE = ".lock"
"""Held by the process working in a run directory (:func:`exclusive`)."""
RUN_DIR_ENV = "SCIML_RUN_DIR"
"""Set by rank 0 before Lightning launches the other processes of a run, so they join its directory."""


def is_rank_zero() -> bool:
    """Whether this is the global rank-0 process, from the launcher's environment (True when not distributed)."""
    for name in ("RANK", "SLURM_PROCID"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name]) == 0
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def new_run_dir(spec: SpecBase, requested: str | Path | None = None) -> Path:
    """Where a new run goes: ``requested`` (refused if it exists), or ``<paths.runs>/<name>-<time>``.

    Nothing is made here; :func:`create` claims the directory, numbering the automatic name
    (``-2``, ``-3``, ...) when another run took it in the meantime.
    """
    if requested is not None:
        path = Path(requested)
        if path.exists():
            raise SpecError(
                f"--run-dir {path}: already exists and is never overwritten; choose a new directory "
                f"or continue it with --resume {path}"
            )
        _check_creatable(path, f"--run-dir {path}")
        return path
    path = Path(spec.paths.runs) / f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    _check_creatable(path, f"paths.runs {spec.paths.runs}")
    return path


def _check_creatable(path: Path, what: str) -> None:
    """Refuse, before any data is generated, a run directory that could not be made: its nearest existing
    ancestor is a file, or nothing can be created in it (permissions, a read-only mount, /proc, a full disk)."""
    ancestor = next(p for p in (path.absolute(), *path.absolute().parents) if p.exists())
    if not ancestor.is_dir():
        raise SpecError(f"{what}: cannot be made, {ancestor} is a file")
    try:  # permission bits do not tell (root, read-only mounts, /proc): make and remove a probe
        os.rmdir(tempfile.mkdtemp(prefix=".sciml-probe-", dir=ancestor))
    except OSError as error:
        raise SpecError(f"{what}: cannot be made, nothing can be created in {ancestor} ({error.strerror or error})") from None


def create(path: Path, spec: SpecBase, spec_text: str, overrides: list[str], renumber: bool = False) -> Path:
    """Make the run directory and write the spec files, ``env.json`` and ``run.json`` (status ``running``).

    ``path`` is made atomically, so two runs never share a directory; with ``renumber`` a taken
    ``path`` becomes the first free ``path-2``, ``path-3``, ... Returns the directory made.
    """
    with user_path("--run-dir" if not renumber else "paths.runs"):
        path = _claim(path, renumber)
    (path / "checkpoints").mkdir()
    (path / "plots").mkdir()
    (path / "spec.yaml").write_text(spec_text, encoding="utf-8")
    (path / "spec.resolved.yaml").write_text(dump_yaml(resolved_dict(spec)), encoding="utf-8")
    write_json(path / "env.json", environment())
    write_json(
        path / "run.json",
        {"name": spec.name, "status": "running", "created": _now(), "overrides": overrides, "stages": {}},
    )
    return path


def _claim(path: Path, renumber: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    stem, n = path, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            if not renumber:
                raise
            n += 1
            path = stem.with_name(f"{stem.name}-{n}")


def existing(path: str | Path) -> Path:
    """A run directory that must exist (for ``--resume`` and ``evaluate``)."""
    path = Path(path)
    if not (path / "run.json").is_file():
        raise SpecError(f"{path}: not a run directory (no run.json); pass a directory made by `sciml run` or `sciml train`")
    read_state(path)  # a damaged run.json is refused here, before any work
    return path


def trained_checkpoint(run_dir: Path) -> Path | None:
    """The run's ``best.ckpt``, else its ``last.ckpt``, else ``None``."""
    folder = run_dir / "checkpoints"
    return next((p for p in (folder / "best.ckpt", folder / "last.ckpt") if p.is_file()), None)


def initial_checkpoint(init_from: str) -> Path:
    """The checkpoint ``train.init_from`` names: a file as is, a run directory's :func:`trained_checkpoint`."""
    path = Path(init_from).expanduser()
    if path.is_dir():
        found = trained_checkpoint(path)
        if found is None:
            raise SpecError(f"train.init_from: {init_from!r} is a directory without checkpoints/best.ckpt or last.ckpt")
        return found
    if not path.is_file():
        raise SpecError(f"train.init_from: no such checkpoint file or run directory {init_from!r} (relative paths are from the working directory)")
    return path


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold the run directory for this process (its lock file ``.lock``, see
    :mod:`~sciml.pipelines.locking`); a second ``sciml`` process on it is refused."""

    def refuse() -> None:
        raise SpecError(f"{path}: another sciml process is using this run directory; wait for it or stop it")

    with locking.held(path / LOCK_FILE, busy=refuse, what="run directory"):
        yield


def read_state(path: Path) -> dict[str, Any]:
    """The contents of ``run.json`` (a :class:`SpecError` if it is not the mapping sciml writes)."""
    try:
        state = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise SpecError(f"{path / 'run.json'}: unreadable ({error}); the run directory is damaged") from error
    if not isinstance(state, dict) or not isinstance(state.get("stages", {}), dict):
        raise SpecError(f"{path / 'run.json'}: not a run record (expected a JSON object with 'stages'); the run directory is damaged")
    state.setdefault("stages", {})
    return state


def update_state(path: Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into ``run.json`` (``stages`` merged per stage) and write it atomically; a status
    that is no stop or failure drops the ``error`` of an earlier one."""
    state = read_state(path)
    stages = fields.pop("stages", {})
    if fields.get("status") in ("running", "trained", "complete"):
        state.pop("error", None)
    state.update(fields)
    state["stages"].update(stages)
    state["updated"] = _now()
    write_json(path / "run.json", state)
    return state


def record_evaluators(path: Path, spec: SpecBase) -> None:
    """Make ``spec.resolved.yaml`` name the evaluate section that wrote ``metrics.json`` (``sciml evaluate``
    may change it; the trained sections are checked to match), so the run's files agree and a resume
    evaluates the same way."""
    resolved_file = path / "spec.resolved.yaml"
    resolved = yaml.safe_load(resolved_file.read_text(encoding="utf-8"))
    evaluators = resolved_dict(spec)["evaluate"]
    if resolved.get("evaluate") != evaluators:
        _write_atomic(resolved_file, dump_yaml({**resolved, "evaluate": evaluators}))


def write_json(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and a rename, so a reader never sees half a file."""
    _write_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def environment() -> dict[str, Any]:
    """Versions, git sha, host and devices: what ``env.json`` records."""
    packages = {}
    for name in ("sciml", "torch", "lightning", "numpy", "scipy", "h5py", "pydantic", "wandb", "dvc"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "packages": packages,
        "git": _git_sha(),
        "command": sys.argv,
        "cwd": os.getcwd(),
        "devices": _devices(),
    }


def _git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _devices() -> dict[str, Any]:
    import torch

    cuda = torch.cuda.is_available()
    return {
        "cuda": cuda,
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
        "torch_threads": torch.get_num_threads(),
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
