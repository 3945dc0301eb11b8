"""The stages generate -> train -> evaluate, callable from Python exactly as the CLI calls them.

``run(spec)`` is ``sciml run SPEC``; ``generate``, ``train`` and ``evaluate`` are the single stages
(``sciml generate|train|evaluate``) that ``dvc.yaml`` calls. Bad input raises
:class:`~sciml.pipelines.errors.SpecError` before anything is written. A stop by Ctrl+C surfaces as
:class:`~sciml.pipelines.errors.Interrupted`; SIGTERM does so outside the training loops only after
:func:`~sciml.pipelines.errors.handle_stop_signals`, which the CLI calls (a Python caller may too).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sciml.components.base import DatasetFiles
from sciml.pipelines import rundir
from sciml.pipelines.console import flatten, metrics_table, progress_bar, say
from sciml.pipelines.datasets import ensure_dataset, file_digest
from sciml.pipelines.errors import Interrupted, SpecError
from sciml.pipelines.spec import SpecBase, dump_yaml, load_spec, resolved_dict

SpecSource = str | Path | Mapping[str, Any]


@dataclass
class RunResult:
    """What a run produced: its directory (None for generate only), dataset and metrics."""

    spec: SpecBase
    dataset: DatasetFiles
    run_dir: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def load(source: SpecSource, overrides: Sequence[str] = ()) -> tuple[SpecBase, str]:
    """The validated spec and the text to keep as ``spec.yaml`` (the file as given)."""
    spec = load_spec(source, overrides)
    text = Path(source).read_text(encoding="utf-8") if not isinstance(source, Mapping) else dump_yaml(source)
    return spec, text


def generate(spec: SpecBase, quiet: bool = False) -> DatasetFiles:
    """The spec's dataset, generated unless the cache holds it (and then says so).

    A signal stops it with :class:`Interrupted` (Ctrl+C too): the splits already written stay cached.
    """
    try:
        if quiet:
            files, made = ensure_dataset(spec.data, spec.seed, spec.paths.cache, workers=spec.generate.workers)
        else:
            with progress_bar(f"generating {spec.data.kind}") as update:
                files, made = ensure_dataset(spec.data, spec.seed, spec.paths.cache, update, spec.generate.workers)
    except (Interrupted, KeyboardInterrupt) as error:
        where = f" while generating the data; the splits already written stay in {spec.paths.cache}: run the command again"
        raise Interrupted.after(error, where) from error
    if not quiet:
        say(f"dataset {'generated in' if made else 'found in cache, nothing generated:'} {files.root}")
    return files


def train(
    spec: SpecBase,
    spec_text: str,
    overrides: Sequence[str] = (),
    run_dir: str | Path | None = None,
    resume: str | Path | None = None,
) -> RunResult:
    """Generate (or reuse) the data and train; returns the run directory and the training summary."""
    check_environment(spec)
    if not rundir.is_rank_zero():
        return _train_as_worker(spec, run_dir if run_dir is not None else resume)
    with contextlib.ExitStack() as held:
        if resume is not None:
            path = rundir.existing(resume)
            held.enter_context(rundir.exclusive(path))
            state = rundir.read_state(path)
            if _trained_to_the_end(spec, state):
                say(f"{path}: training finished before; nothing to train")
                return RunResult(spec=spec, dataset=generate(spec, quiet=True), run_dir=path, metrics={"train": state["stages"]["train"]})
            start = _start_of_resumed(spec, path, state)
            with _recording_status(path):
                rundir.update_state(path, status="running")
                dataset = generate(spec)
        else:
            path = rundir.new_run_dir(spec, run_dir)  # a taken --run-dir is refused before any work
            start = rundir.initial_checkpoint(spec.train.init_from) if spec.train.init_from is not None else None
            dataset = generate(spec)  # a stop here leaves no run directory; finished splits stay in the cache
            path = rundir.create(path, spec, spec_text, list(overrides), renumber=run_dir is None)
            held.enter_context(rundir.exclusive(path))
            say(f"run directory {path}")
        with _recording_status(path):
            from sciml.pipelines.training import fit

            rundir.update_state(path, dataset=str(dataset.root))
            summary = fit(spec, dataset, path, resume is not None, start)
        rundir.update_state(path, status="trained", stages={"train": summary})
    return RunResult(spec=spec, dataset=dataset, run_dir=path, metrics={"train": summary})


def _start_of_resumed(spec: SpecBase, path: Path, state: dict[str, Any]) -> Path | None:
    """The ``train.init_from`` checkpoint of an existing run that has no ``last.ckpt`` yet (a resumed run,
    or a DDP worker joining rank 0's), so starts afresh: the file recorded in ``run.json``, refused if
    changed since, or the spec's if none is recorded yet; else ``None``."""
    if spec.train.init_from is None or (path / "checkpoints" / "last.ckpt").exists():
        return None
    recorded = state.get("init_from")
    if recorded is None:  # stopped before the weights were loaded
        return rundir.initial_checkpoint(spec.train.init_from)
    start = Path(recorded["checkpoint"])
    if file_digest(start) != recorded["sha256"]:
        raise SpecError(
            f"train.init_from: {start} is gone or has changed since this run started from it (SHA-256 in "
            f"{path / 'run.json'}); start a new run"
        )
    return start


def _trained_to_the_end(spec: SpecBase, state: dict[str, Any]) -> bool:
    """Whether the run's training finished all of ``train.max_epochs`` (one stopped by
    ``trainer.max_time``, or whose spec asks for more epochs now, continues on resume)."""
    summary = state["stages"].get("train", {})
    return state["status"] in ("trained", "complete") and summary.get("epochs", -1) >= spec.train.max_epochs


def check_environment(spec: SpecBase) -> None:
    """A GPU run where torch sees no GPU, or a W&B mode that W&B does not know or cannot log in, is
    refused before any data is generated."""
    from sciml.pipelines.tracking import check_credentials

    check_credentials(spec)
    if spec.trainer.accelerator in ("gpu", "cuda"):
        import torch

        if not torch.cuda.is_available():
            raise SpecError(
                f"trainer.accelerator: {spec.trainer.accelerator!r}, but torch {torch.__version__} sees no CUDA device "
                "on this machine; use cpu or auto"
            )


def _train_as_worker(spec: SpecBase, requested: str | Path | None) -> RunResult:
    """A non-zero rank: join rank 0's run directory, train, write nothing of its own."""
    from sciml.pipelines.training import fit

    shared = os.environ.get(rundir.RUN_DIR_ENV) or requested
    if shared is None:
        raise SpecError("--run-dir: a multi-process launch needs --run-dir so that every process uses the same run directory")
    path = Path(shared)
    deadline = time.monotonic() + 600
    while not (path / "run.json").exists():
        if time.monotonic() > deadline:
            raise SpecError(f"--run-dir {path}: rank 0 did not create it within 10 minutes")
        time.sleep(1)
    dataset = generate(spec, quiet=True)
    state = rundir.read_state(path)
    if _trained_to_the_end(spec, state):  # as rank 0 decides
        return RunResult(spec=spec, dataset=dataset, run_dir=path, metrics={"train": state["stages"]["train"]})
    try:
        start = _start_of_resumed(spec, path, state)
        summary = fit(spec, dataset, path, (path / "checkpoints" / "last.ckpt").exists(), start)  # rank 0 records the state
    except BaseException:
        if os.environ.get(rundir.RUN_DIR_ENV):
            _outlive_parent(timeout=60)
        raise
    return RunResult(spec=spec, dataset=dataset, run_dir=path, metrics={"train": summary})


def _outlive_parent(timeout: float) -> None:
    """Wait until the parent process (rank 0, when Lightning's launcher started this rank) has exited,
    at most ``timeout`` seconds: the launcher SIGKILLs rank 0 within 5 s of a rank's failing exit code,
    which, when every rank stops together, would cut rank 0 short before it records the run's state."""
    parent, deadline = os.getppid(), time.monotonic() + timeout
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.1)


@contextlib.contextmanager
def _recording_status(path: Path) -> Iterator[None]:
    """Mark the run ``interrupted`` (Ctrl+C, SIGTERM: re-raised as :class:`Interrupted` with the
    command that continues it) or ``failed`` (any error: its files are kept) and re-raise."""
    try:
        yield
    except (Interrupted, KeyboardInterrupt) as error:
        stopped = Interrupted.of_run(error, path)
        rundir.update_state(path, status="interrupted", error=str(stopped))
        raise stopped from error
    except Exception as error:
        rundir.update_state(path, status="failed", error=f"{type(error).__name__}: {error}")
        raise


def evaluate(spec: SpecBase, run_dir: str | Path, dataset: DatasetFiles | None = None) -> dict[str, Any]:
    """Run every evaluator of the spec on the trained run; writes ``metrics.json`` and ``plots/``."""
    from sciml.pipelines.tracking import check_credentials

    path = rundir.existing(run_dir)
    _check_same_training(spec, path)
    check_credentials(spec)
    with rundir.exclusive(path):
        try:
            return _evaluate(spec, path, dataset or generate(spec, quiet=True))
        except (Interrupted, KeyboardInterrupt) as error:  # the training stays as it was; say how to finish
            stopped = Interrupted.after(error, f" while evaluating (the training is kept); continue with --resume {path}")
            rundir.update_state(path, error=str(stopped))
            raise stopped from error


def _evaluate(spec: SpecBase, path: Path, dataset: DatasetFiles) -> dict[str, Any]:
    """:func:`evaluate` on the run directory ``path``, held by this process."""
    import lightning as L
    import torch

    from sciml.components.base import EvaluationContext
    from sciml.pipelines import tracking
    from sciml.pipelines.training import load_trained

    device = torch.device("cuda" if torch.cuda.is_available() and spec.trainer.accelerator in ("auto", "gpu", "cuda") else "cpu")
    L.seed_everything(spec.seed, verbose=False)
    task = load_trained(spec, dataset, path, device)
    state = rundir.read_state(path)
    metrics: dict[str, Any] = {"train": state["stages"].get("train", {})}
    plots, partial = path / "plots", path / "plots.partial"  # an evaluation that stops halfway replaces nothing
    if plots.exists() and not plots.is_dir():
        raise SpecError(f"{plots}: not a directory; a run directory keeps its evaluation plots there")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    with torch.no_grad(), progress_bar("evaluating") as update:
        context = EvaluationContext(
            spec=spec, task=task, dataset=dataset, run_dir=path, device=device, progress=update, plots_dir=partial
        )
        for evaluator in spec.evaluate:
            metrics[evaluator.prefix] = evaluator.evaluate(context)
    if plots.exists():  # this evaluation's plots replace the last one's, as metrics.json does
        shutil.rmtree(plots)
    partial.rename(plots)
    rundir.write_json(path / "metrics.json", metrics)
    rundir.record_evaluators(path, spec)
    tracking.log_evaluation(spec, path, {k: v for k, v in flatten(metrics).items() if not k.startswith("train/")})
    # an unfinished training run (interrupted, failed) keeps its status: its metrics never look final
    finished = state["status"] in ("trained", "complete")
    if not finished:
        say(f"[yellow]{path} was evaluated but its training is {state['status']}: status left as is[/yellow]")
    rundir.update_state(
        path, status="complete" if finished else state["status"], stages={"evaluate": {"evaluators": [e.prefix for e in spec.evaluate]}}
    )
    metrics_table(metrics, title=f"{spec.name}: {path}")
    return metrics


TRAINED_SECTIONS = ("seed", "data", "model", "task")


def _check_same_training(spec: SpecBase, run_dir: Path) -> None:
    """Evaluation may change only what it reads itself: the trained sections must match the run's."""
    trained = resolved_dict(load_spec(run_dir / "spec.resolved.yaml"))
    current = resolved_dict(spec)
    for section in TRAINED_SECTIONS:
        if trained[section] != current[section]:
            raise SpecError(
                f"{section}: differs from the run being evaluated ({run_dir / 'spec.resolved.yaml'}); "
                f"only the evaluate section may change after training"
            )


def run(
    source: SpecSource | None,
    overrides: Sequence[str] = (),
    run_dir: str | Path | None = None,
    resume: str | Path | None = None,
) -> RunResult:
    """All stages: generate, train, evaluate. ``resume`` continues an earlier run from its ``last.ckpt``.

    On a non-zero rank of a multi-process run only training happens; rank 0 evaluates.
    """
    spec, text = spec_for_run(source, overrides, resume, run_dir)
    result = train(spec, text, overrides, run_dir=run_dir, resume=resume)
    if rundir.is_rank_zero():
        result.metrics = evaluate(spec, result.run_dir, result.dataset)
    return result


def spec_for_run(
    source: SpecSource | None, overrides: Sequence[str], resume: str | Path | None, run_dir: str | Path | None = None
) -> tuple[SpecBase, str]:
    """The spec of a new run (``source`` + overrides) or of the run being resumed (its own files); a
    ``run_dir`` besides ``resume`` must be that directory (multi-process launchers pass both)."""
    if resume is not None and run_dir is not None and Path(run_dir).absolute() != Path(resume).absolute():
        raise SpecError(f"--run-dir {run_dir}: a resumed run continues in its own directory {resume}; --run-dir names a new run's")
    if resume is None:
        if source is None:
            raise SpecError("SPEC: a spec file is required (or --resume RUN_DIR to continue a run)")
        return load(source, overrides)
    path = rundir.existing(resume)
    if source is not None or overrides:
        raise SpecError(f"--resume {path}: a resumed run continues with its own spec.resolved.yaml; pass no SPEC or overrides")
    spec, _ = load(path / "spec.resolved.yaml")
    return spec, (path / "spec.yaml").read_text(encoding="utf-8")
