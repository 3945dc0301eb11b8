"""The LightningModule of the ``operator`` task.

Inputs and outputs are normalized per channel with statistics of the training split (kept as
buffers, so a checkpoint carries them); the loss is computed on de-normalized predictions, in the
units of the data. With ``rollout`` the network is a one-step map applied autoregressively (see
:class:`~sciml.components.tasks.operator.OperatorTaskConfig`), normalized by scalar statistics. With a
``dirichlet_layout`` the de-normalized prediction is multiplied by the envelope that vanishes on the
boundary (``hard_dirichlet``); the statistics stay those of the output itself.
"""

from __future__ import annotations

import h5py
import numpy as np
import torch

from sciml.components.base import DatasetFiles, ModelConfig, PointLayout
from sciml.components.evaluation.field_errors import relative_h1
from sciml.components.grids import with_dirichlet_envelope
from sciml.components.tasks.module import TaskModule, relative_l2
from sciml.components.tasks.samples import H5Samples
from sciml.pipelines.errors import SpecError
from sciml.pipelines.spec import TrainConfig, check_model_grid


class OperatorModule(TaskModule):
    """Learns ``y = G(x)``; ``forward``: (batch, c_in, *s) -> (batch, c_out, *s)."""

    monitor = "val/rel_l2"

    def __init__(
        self, config, model: ModelConfig, train: TrainConfig, dataset: DatasetFiles, dirichlet_layout: PointLayout | None = None
    ):
        super().__init__(train)
        if config.hard_dirichlet != (dirichlet_layout is not None):
            raise ValueError("task.hard_dirichlet and the module's dirichlet_layout go together (OperatorTaskConfig.build passes it)")
        self.config, self.files, self.dirichlet_layout = config, dataset, dirichlet_layout
        path = dataset.path("train")
        x_shape, y_shape = _shape(path, config.input_key, "task.input_key"), _shape(path, config.output_key, "task.output_key")
        ndim = len(x_shape) - 2
        self.steps = y_shape[1]
        if config.transpose and (ndim != 2 or x_shape[-1] != x_shape[-2] or y_shape[-1] != y_shape[-2]):
            raise SpecError(f"task.transpose: needs fields on square 2D grids, the dataset has x {x_shape[1:]} and y {y_shape[1:]}")
        check_model_grid(model, ndim)
        self.net = model.build(in_channels=x_shape[1], out_channels=1 if config.rollout else y_shape[1], ndim=ndim)
        for name, key, shape in (("x", config.input_key, x_shape), ("y", config.output_key, y_shape)):
            if not config.normalize:
                mean, std = np.zeros(shape[1]), np.ones(shape[1])
            elif config.rollout:  # one field at every time: the scalar statistics of x for all snapshots
                mean, std = (np.full(shape[1], v) for v in scalar_stats(path, config.input_key))
            else:
                mean, std = channel_stats(path, key)
            view = (1, -1) + (1,) * ndim
            self.register_buffer(f"{name}_mean", torch.tensor(mean, dtype=torch.float32).view(view))
            self.register_buffer(f"{name}_std", torch.tensor(std, dtype=torch.float32).view(view))

    def dataset(self, split: str) -> H5Samples:
        return H5Samples(self.files.path(split), [self.config.input_key, self.config.output_key])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.config.rollout:
            y = self.net((x - self.x_mean) / self.x_std) * self.y_std + self.y_mean
            if self.dirichlet_layout is not None:
                y = with_dirichlet_envelope(y, self.dirichlet_layout)
            return y
        window, steps = (x - self.x_mean) / self.x_std, []
        for _ in range(self.steps):
            step = self.net(window)
            steps.append(step)
            window = torch.cat([window[:, 1:], step], dim=1)
        return torch.cat(steps, dim=1) * self.y_std + self.y_mean

    def _loss(self, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.config.loss == "rel_l2":
            return relative_l2(pred, y).mean()
        if self.config.loss == "h1":
            return relative_h1(pred, y).mean()
        return torch.mean(((pred - y) / self.y_std) ** 2)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch[self.config.input_key], batch[self.config.output_key]
        if self.config.transpose:
            x, y = random_transpose(x, y)
        loss = self.check_finite(self._loss(self(x), y))
        self.log("train/loss", loss, prog_bar=True, batch_size=x.shape[0])
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        x, y = batch[self.config.input_key], batch[self.config.output_key]
        pred = self(x)
        size = x.shape[0]
        self.log("val/loss", self._loss(pred, y), sync_dist=True, batch_size=size)
        self.log("val/rel_l2", relative_l2(pred, y).mean(), prog_bar=True, sync_dist=True, batch_size=size)


def random_transpose(
    x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs of fields ``(batch, c, n, n)``: each pair ``(x[i], y[i])`` swaps its two spatial axes with
    probability 1/2 (both fields together), drawn from ``generator`` (default: torch's global RNG)."""
    draw_on = generator.device if generator is not None else x.device
    swap = (torch.rand(x.shape[0], generator=generator, device=draw_on) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(swap, x.transpose(-1, -2), x), torch.where(swap, y.transpose(-1, -2), y)


def _shape(path, key: str, spec_path: str) -> tuple[int, ...]:
    with h5py.File(path, "r") as handle:
        if key not in handle:
            raise SpecError(f"{spec_path}: the dataset has no array {key!r} (it has {sorted(k for k in handle if k != 'shared')})")
        shape = handle[key].shape
    if len(shape) < 3:
        raise SpecError(f"{spec_path}: array {key!r} has shape {shape}; operator learning needs (sample, channel, *space)")
    return shape


def scalar_stats(path, key: str) -> tuple[float, float]:
    """Mean and standard deviation over all entries of array ``key`` (every channel has as many entries)."""
    mean, std = channel_stats(path, key)
    total_mean = float(mean.mean())
    total_std = float(np.sqrt(max(np.mean(std**2 + mean**2) - total_mean**2, 0.0)))
    return total_mean, total_std if total_std > 0 else 1.0


def channel_stats(path, key: str, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of array ``key`` (sample, channel, *space), read in chunks."""
    with h5py.File(path, "r") as handle:
        array = handle[key]
        axes = (0,) + tuple(range(2, array.ndim))
        total = np.zeros(array.shape[1])
        squares = np.zeros(array.shape[1])
        count = 0
        for start in range(0, array.shape[0], chunk):
            block = array[start : start + chunk].astype(np.float64)
            total += block.sum(axis=axes)
            squares += (block**2).sum(axis=axes)
            count += block.size // array.shape[1]
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    return mean, np.where(std > 0, std, 1.0)
