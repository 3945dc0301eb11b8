"""The LightningModule every task builds on: optimizer, schedule, loaders and divergence checks.

A task subclasses :class:`TaskModule`, holds its network as ``self.net`` (a plain ``nn.Module``) and
implements ``training_step`` / ``validation_step`` with metrics named by stage (``train/loss``,
``val/rel_l2``). ``train.batch_size`` in the spec is the *global* batch size: each of the
``world_size`` processes loads ``batch_size / world_size`` samples, so a run on two devices takes the
same optimizer steps as a run on one.
"""

from __future__ import annotations

import functools
import os
import signal

import lightning as L
import torch
from lightning.fabric.utilities.seed import pl_worker_init_function
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from sciml.pipelines.errors import DivergedError, SpecError
from sciml.pipelines.spec import TrainConfig


class TaskModule(L.LightningModule):
    """Base LightningModule: subclasses provide ``net``, the steps and :meth:`dataset`.

    ``settings_buffers``: buffers whose starting values come from the spec (not learned), which a run
    started from another run's weights (``train.init_from``) keeps at the spec's values.
    """

    settings_buffers: tuple[str, ...] = ()

    def __init__(self, train: TrainConfig):
        super().__init__()
        self.train_config = train

    def dataset(self, split: str) -> Dataset:
        """The torch dataset of ``split`` (``"train"``, ``"val"`` or ``"test"``)."""
        raise NotImplementedError

    def per_device_batch_size(self) -> int:
        """``train.batch_size`` divided over the processes of this run."""
        world = self.trainer.world_size if self._trainer is not None else 1
        size = self.train_config.batch_size
        if size % world:
            raise SpecError(
                f"train.batch_size: the global batch size {size} must be divisible by the "
                f"{world} processes of this run"
            )
        return size // world

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        """A loader of ``split``; over several processes each gets its share through a ``DistributedSampler``.

        The sampler is made here rather than by Lightning, which would always shuffle the training set
        and so ignore ``train.shuffle: false``.
        """
        dataset, workers = self.dataset(split), self.train_config.num_workers
        world = self.trainer.world_size if self._trainer is not None else 1
        sampler = None
        if world > 1:
            seed = int(os.environ.get("PL_GLOBAL_SEED", 0))  # set by seed_everything, equal on every rank
            sampler = DistributedSampler(dataset, num_replicas=world, rank=self.global_rank, shuffle=shuffle, seed=seed)
        return DataLoader(
            dataset,
            batch_size=self.per_device_batch_size(),
            shuffle=shuffle if sampler is None else None,
            sampler=sampler,
            num_workers=workers,
            persistent_workers=workers > 0,
            worker_init_fn=functools.partial(_start_loader_worker, rank=self.global_rank) if workers else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=self.train_config.shuffle)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def check_finite(self, loss: torch.Tensor) -> torch.Tensor:
        """Raise :class:`DivergedError` naming the step when ``loss`` is NaN or infinite."""
        if not torch.isfinite(loss.detach()).all():
            raise DivergedError(
                f"training diverged: loss is {loss.item()} at step {self.global_step} "
                f"(epoch {self.current_epoch}); lower train.optimizer.lr or clip gradients "
                f"(trainer.gradient_clip_val)"
            )
        return loss

    def configure_optimizers(self):
        opt_cfg = self.train_config.optimizer
        classes = {
            "adam": torch.optim.Adam,
            "adamw": torch.optim.AdamW,
            "radam": torch.optim.RAdam,
            "sgd": torch.optim.SGD,
        }
        kwargs = {"lr": opt_cfg.lr, "weight_decay": opt_cfg.weight_decay}
        if opt_cfg.kind == "sgd":
            kwargs["momentum"] = opt_cfg.momentum
        optimizer = classes[opt_cfg.kind](self.parameters(), **kwargs)
        sched = self.train_config.scheduler
        if sched.kind == "none":
            return optimizer
        if sched.kind == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
                optimizer, T_max=self.train_config.max_epochs, eta_min=opt_cfg.lr * sched.min_lr_ratio
            )
        elif sched.kind == "step":
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=sched.step_size, gamma=sched.gamma)
        else:  # "onecycle": per step, so the total is known only once the loader is
            steps = self.trainer.estimated_stepping_batches
            scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=opt_cfg.lr, total_steps=max(1, steps))
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


def relative_l2(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample relative L2 error ``||pred - target|| / ||target||``.

    Shapes: ``pred``, ``target`` (batch, ...) -> (batch,). A zero target gives the absolute error.
    """
    diff = (pred - target).flatten(1).norm(dim=1)
    norm = target.flatten(1).norm(dim=1)
    return diff / torch.where(norm > 0, norm, torch.ones_like(norm))


def _start_loader_worker(worker_id: int, rank: int) -> None:
    """A DataLoader worker's start: Lightning's per-worker seeding, and SIGTERM ignored. A stop is the
    training process's to handle (it ends its workers itself); a worker killed by a SIGTERM sent to the
    whole process group, as Slurm sends it, made the run fail instead of stopping resumably."""
    pl_worker_init_function(worker_id, rank)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
