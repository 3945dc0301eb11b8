"""Weights & Biases: offline by default, grouped by spec name, one W&B run per stage.

The training run is created by Lightning's ``WandbLogger``; its id is kept in ``run.json`` so a
resumed run continues the same W&B run. Evaluation logs its metrics and plot images to a second
W&B run (``job_type="evaluate"``) in the same group. ``WANDB_MODE`` in the environment overrides
the spec's ``logging.wandb.mode``. Local files stay the source of truth: offline W&B files cannot be
read back, only synced (``wandb sync <run>/wandb/offline-run-*``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from sciml.pipelines import rundir
from sciml.pipelines.errors import SpecError
from sciml.pipelines.spec import SpecBase, resolved_dict


def wandb_mode(spec: SpecBase) -> str:
    """``offline``, ``online`` or ``disabled``: the environment's ``WANDB_MODE`` wins over the spec."""
    mode = os.environ.get("WANDB_MODE") or spec.logging.wandb.mode
    if mode not in ("offline", "online", "disabled", "dryrun"):
        raise SpecError(f"WANDB_MODE={mode} in the environment: must be offline, online or disabled (it overrides logging.wandb.mode)")
    return mode


def check_credentials(spec: SpecBase) -> None:
    """Online W&B needs an API key (``wandb login`` writes it to ``~/.netrc``; or ``WANDB_API_KEY``): a run
    without one is refused before any work, instead of failing inside W&B once the data is generated.
    W&B itself checks the key when its run starts."""
    if wandb_mode(spec) == "online" and not _has_api_key():
        raise SpecError(
            "logging.wandb.mode: online (or WANDB_MODE=online), but W&B has no API key (no WANDB_API_KEY, "
            "no entry in ~/.netrc); run `wandb login`, set WANDB_API_KEY, or log offline"
        )


def _has_api_key() -> bool:
    """Whether W&B would find credentials: in the environment, or in the netrc file ``wandb login``
    writes, for the server W&B is set to (read by W&B's own function; no network, no login)."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    try:
        import wandb
        from wandb.sdk.lib.wbauth import read_netrc_auth

        return read_netrc_auth(host=wandb.Settings().base_url) is not None
    except Exception:  # a W&B version without this function, a malformed key: W&B decides when the run starts
        return True


def _init_kwargs(spec: SpecBase, run_dir: Path, job_type: str, run_id: str) -> dict[str, Any]:
    settings = spec.logging.wandb
    return {
        "project": settings.project,
        "entity": settings.entity,
        "group": spec.name,
        "job_type": job_type,
        "name": f"{run_dir.name}-{job_type}",
        "id": run_id,
        "resume": "allow",
        "mode": wandb_mode(spec),
        "tags": list(spec.tags),
        "config": resolved_dict(spec),
    }


def training_logger(spec: SpecBase, run_dir: Path):
    """A ``WandbLogger`` for the train stage, or ``None`` when W&B is disabled."""
    if wandb_mode(spec) == "disabled":
        return None
    from lightning.pytorch.loggers import WandbLogger

    state = rundir.read_state(run_dir)
    run_id = state.get("wandb_id") or uuid.uuid4().hex[:8]
    rundir.update_state(run_dir, wandb_id=run_id)
    kwargs = _init_kwargs(spec, run_dir, "train", run_id)
    return WandbLogger(save_dir=str(run_dir), log_model=False, **kwargs)


def finish_training_run() -> None:
    """Close the train stage's W&B run, so the evaluate stage starts its own instead of reusing it."""
    import wandb

    wandb.finish()


def log_evaluation(spec: SpecBase, run_dir: Path, metrics: dict[str, float]) -> None:
    """Log evaluation metrics and the PNGs under ``plots/`` to an ``evaluate`` W&B run."""
    if wandb_mode(spec) == "disabled":
        return
    import wandb

    state = rundir.read_state(run_dir)
    run_id = f"{state.get('wandb_id') or uuid.uuid4().hex[:8]}-evaluate"
    run = wandb.init(dir=str(run_dir), **_init_kwargs(spec, run_dir, "evaluate", run_id))
    run.summary.update(metrics)
    images = {f"plots/{png.stem}": wandb.Image(str(png)) for png in sorted((run_dir / "plots").glob("*.png"))}
    run.log({**metrics, **images})
    run.finish()
