"""The train stage: the spec's task and model in a ``lightning.Trainer``.

Checkpoints go to ``<run>/checkpoints`` (``last.ckpt`` every epoch, ``best.ckpt`` on the task's
monitored validation metric), metrics to a CSV logger in ``<run>/logs`` and to W&B when enabled.
With ``strategy: ddp`` Lightning starts the other processes by running the same command again; they
find the run directory in ``SCIML_RUN_DIR`` and write nothing but what Lightning writes on rank 0.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import signal
import threading
import time
import warnings
import zipfile
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException

from sciml.components.base import DatasetFiles
from sciml.pipelines import rundir, tracking
from sciml.pipelines.errors import Interrupted, SpecError, user_path
from sciml.pipelines.rundir import RUN_DIR_ENV, is_rank_zero, trained_checkpoint
from sciml.pipelines.spec import SpecBase


def fit(spec: SpecBase, dataset: DatasetFiles, run_dir: Path, resume: bool, start: Path | None = None) -> dict[str, float]:
    """Train; returns a summary (best monitored value, epochs, steps, seconds) for ``metrics.json``;
    ``seconds`` sums the attempts of a resumed run (each up to the checkpoint the next resumed from).

    ``resume`` continues from ``checkpoints/last.ckpt`` (optimizer, schedule and epoch included); a run
    that starts afresh takes the weights of the checkpoint ``start`` (``train.init_from``, found by the
    caller; every rank loads it) and rank 0 records its path and SHA-256 in ``run.json``.
    Ctrl+C or SIGTERM during training raises :class:`Interrupted` after Lightning's clean stop.
    """
    L.seed_everything(spec.seed, workers=True, verbose=False)
    _quiet_lightning()
    task = spec.task.build(spec, dataset)
    checkpoints = ModelCheckpoint(
        dirpath=run_dir / "checkpoints", filename="best", monitor=task.monitor, mode="min", save_top_k=1, enable_version_counter=False
    )
    # last.ckpt after every validation, from a checkpoint of its own: Lightning 2.6 writes a monitoring
    # checkpoint's save_last file only when the monitored metric improved, so a resume went back to the best epoch
    latest = ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="last", save_top_k=1, enable_version_counter=False)
    loggers = [CSVLogger(save_dir=str(run_dir), name="logs", version="")]
    wandb_logger = tracking.training_logger(spec, run_dir) if is_rank_zero() else None
    if wandb_logger is not None:
        loggers.append(wandb_logger)
    clock = _TrainingClock()
    trainer = L.Trainer(
        **spec.trainer.lightning_kwargs(),
        max_epochs=spec.train.max_epochs,
        default_root_dir=str(run_dir),
        logger=loggers,
        callbacks=[checkpoints, latest, _ProgressBar(leave=True), _StopTogetherOnSigterm(), clock],
        enable_model_summary=False,
        use_distributed_sampler=False,  # TaskModule makes its own, honouring train.shuffle
    )
    last = run_dir / "checkpoints" / "last.ckpt"
    resume = resume and last.exists()
    if start is not None and not resume:
        digest = _start_from(task, start)
        if is_rank_zero():
            rundir.update_state(run_dir, init_from={"checkpoint": str(start.resolve()), "sha256": digest})
    csv_path = run_dir / "logs" / "metrics.csv"
    earlier = _set_aside(csv_path) if resume and is_rank_zero() else None
    os.environ[RUN_DIR_ENV] = str(run_dir.resolve())
    try:
        trainer.fit(task, ckpt_path=str(last) if resume else None, weights_only=True)
    except (KeyboardInterrupt, SystemExit) as error:  # Lightning stops cleanly after Ctrl+C or SIGTERM, then raises
        terminated = isinstance(error, SIGTERMException)
        raise Interrupted.of_run(signal.SIGTERM if terminated else signal.SIGINT, run_dir) from error
    finally:
        os.environ.pop(RUN_DIR_ENV, None)
        if earlier is not None:
            _prepend_rows(earlier, csv_path)
        if wandb_logger is not None:
            tracking.finish_training_run()
    best = checkpoints.best_model_score
    return {
        f"best_{task.monitor.replace('/', '_')}": float(best) if best is not None else float("nan"),
        "epochs": trainer.current_epoch,
        "steps": trainer.global_step,
        "seconds": round(clock.seconds(), 2),
        "world_size": trainer.world_size,
    }


class _TrainingClock(Callback):
    """Wall-clock seconds of training, summed over a run's attempts: every checkpoint stores the total so
    far (callback state), and a resume from it continues the count."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.earlier = 0.0

    def seconds(self) -> float:
        return self.earlier + time.perf_counter() - self.started

    def state_dict(self) -> dict[str, float]:
        return {"seconds": self.seconds()}

    def load_state_dict(self, state_dict: dict[str, float]) -> None:
        self.earlier = float(state_dict.get("seconds", 0.0))


class _StopTogetherOnSigterm(Callback):
    """SIGTERM stops every rank after the same training step, so none is left waiting in a collective.

    Lightning's own handling lets each rank stop when it sees the signal, which under DDP can leave the
    others in an all-reduce with a rank that has gone (a "failed" run instead of a resumable one). Here
    the handler only records the signal; after each step, and once more when training ends (a signal
    during the last validation), the ranks sum their records (one scalar all-reduce) and all raise
    ``SIGTERMException`` if any was signalled. The handler replaces Lightning's once the loops start;
    Lightning restores the one from before ``fit`` when it tears down.
    """

    def __init__(self) -> None:
        self.signalled = False

    def _listen(self) -> None:
        if threading.current_thread() is threading.main_thread():  # only the main thread sets handlers
            signal.signal(signal.SIGTERM, self._record)

    def _record(self, signal_number: int, frame: object) -> None:
        self.signalled = True

    def _stop_if_any_rank_was_signalled(self, trainer) -> None:
        signalled = self.signalled
        if trainer.world_size > 1:  # single process: no tensor, no device synchronization
            record = torch.tensor([float(signalled)], device=trainer.strategy.root_device)
            signalled = trainer.strategy.reduce(record, reduce_op="sum").item() > 0
        if signalled:
            raise SIGTERMException

    def on_sanity_check_start(self, trainer, pl_module) -> None:
        self._listen()

    def on_train_start(self, trainer, pl_module) -> None:
        self._listen()

    def on_train_batch_end(self, trainer, *args) -> None:
        self._stop_if_any_rank_was_signalled(trainer)

    def on_train_end(self, trainer, pl_module) -> None:
        self._stop_if_any_rank_was_signalled(trainer)


class _ProgressBar(RichProgressBar):
    """Lightning's rich bar without the logger's version number (meaningless to a user)."""

    def get_metrics(self, trainer, pl_module):
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        return metrics


def _quiet_lightning() -> None:
    """Keep Lightning's warnings, drop its start-up chatter (device banners, advertising tips)."""
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*is deprecated", category=Warning)


def _set_aside(csv_path: Path) -> Path | None:
    """Move the metrics of the interrupted attempts aside: Lightning's CSV logger starts a new file.

    An attempt killed outright (SIGKILL, out of memory) left its predecessors' rows set aside; they
    are joined first, so no attempt's rows are lost.
    """
    earlier = csv_path.with_name("metrics.before-resume.csv")
    if earlier.exists():
        _prepend_rows(earlier, csv_path)
    if not csv_path.exists():
        return None
    return csv_path.replace(earlier)


def _prepend_rows(earlier: Path, csv_path: Path) -> None:
    """One continuous ``metrics.csv``: the earlier attempt's rows, then the resumed ones (columns united)."""
    parts = [list(csv.DictReader(earlier.open()))]
    if csv_path.exists():
        parts.append(list(csv.DictReader(csv_path.open())))
    columns = list(dict.fromkeys(key for rows in parts for row in rows for key in row))
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        for rows in parts:
            writer.writerows(rows)
    earlier.unlink()


def load_trained(spec: SpecBase, dataset: DatasetFiles, run_dir: Path, device: torch.device):
    """The task with the weights of ``best.ckpt`` (``last.ckpt`` if no best), in eval mode on ``device``.

    Checkpoints are read with ``weights_only=True``: only tensors are loaded, never pickled code.
    """
    path = trained_checkpoint(run_dir)
    if path is None:
        raise SpecError(f"{run_dir}: no checkpoint in {run_dir / 'checkpoints'}; run the train stage first")
    task = spec.task.build(spec, dataset)
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    task.load_state_dict(state)
    return task.to(device).eval()


def _start_from(task: L.LightningModule, checkpoint: Path) -> str:
    """Load the weights and learned buffers (normalization statistics) of ``checkpoint`` into ``task``
    (``train.init_from``), keeping the task's ``settings_buffers`` at the spec's values; returns the
    SHA-256 of the bytes loaded. A file that is no checkpoint, or one of another network, is a :class:`SpecError`."""
    with user_path("train.init_from"):
        payload = checkpoint.read_bytes()
    if not zipfile.is_zipfile(io.BytesIO(payload)):  # what torch.save writes; unpickling anything else fails obscurely
        raise SpecError(f"train.init_from: {str(checkpoint)!r} is not a checkpoint (a file written by Lightning or torch.save)")
    try:
        loaded = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged archive: RuntimeError, UnpicklingError, EOFError, ... by the damage
        reason = " ".join(str(error).split())
        raise SpecError(f"train.init_from: cannot read {str(checkpoint)!r} as a checkpoint: {type(error).__name__}: {reason}") from error
    if not isinstance(loaded, dict) or "state_dict" not in loaded:
        raise SpecError(f"train.init_from: {str(checkpoint)!r} is no Lightning checkpoint (it has no 'state_dict'); use a run's checkpoints/*.ckpt")
    state = dict(loaded["state_dict"])
    own = task.state_dict()
    state.update({name: own[name] for name in getattr(task, "settings_buffers", ()) if name in own})
    try:
        task.load_state_dict(state)
    except RuntimeError as error:  # "Error(s) in loading state_dict ...:" then one tab-indented line per key
        problems = [line.strip() for line in str(error).splitlines()[1:] if line.strip()]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SpecError(
            f"train.init_from: the weights in {str(checkpoint)!r} do not fit this spec's model and task: {problems[0] if problems else error}{more}"
        ) from error
    return hashlib.sha256(payload).hexdigest()
