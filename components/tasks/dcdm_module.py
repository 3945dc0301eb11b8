"""The LightningModule of the ``dcdm`` task: the network learns ``A^-1`` up to a scale, without labels.

For a right-hand side ``b`` and the direction ``q = f(b)`` (set to zero on solid cells), the loss is
the residual of the best multiple of ``q`` (the exact line search of a conjugate-direction step):

    L(b) = || b - A q (q^T b) / (q^T A q) ||^2,

averaged over the batch. It is invariant to the scale of ``q`` and is 0 exactly when ``q`` is parallel
to ``A^-1 b``. The step minimizes the ``A^-1``-norm of the residual, not its 2-norm, so for a
unit-norm ``b`` the loss is usually below 1 but can exceed it for a poor ``q``. ``A`` is applied matrix-free with the
stencil of the dataset's system, so the module runs on any device.
"""

from __future__ import annotations

import torch

from sciml.components.base import DatasetFiles, ModelConfig
from sciml.components.solvers.dcdm_iteration import network_output
from sciml.components.tasks.module import TaskModule
from sciml.components.tasks.samples import H5Samples
from sciml.pipelines.datasets import read_shared
from sciml.pipelines.spec import TrainConfig


def dcdm_loss(operator, q: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-sample ``||b - A q (q.b)/(q.Aq)||^2``: ``q``, ``b`` (batch, 1, *spatial) -> (batch,)."""
    aq = operator(q)
    dims = tuple(range(1, q.ndim))
    scale = (q * b).sum(dims, keepdim=True) / (q * aq).sum(dims, keepdim=True)
    return (b - scale * aq).square().sum(dims)


class DCDMModule(TaskModule):
    """Trains ``net``: (batch, 1, *spatial) unit-norm residuals -> directions of the same shape."""

    monitor = "val/loss"

    def __init__(self, data, model: ModelConfig, train: TrainConfig, dataset: DatasetFiles):
        super().__init__(train)
        self.files = dataset
        mask = read_shared(dataset.path("train"))["mask"].astype(bool)
        self.operator = data.operator(mask)
        self.net = model.build(in_channels=1, out_channels=1, ndim=mask.ndim)
        if (type(model).role == "preconditioner") != getattr(self.net, "takes_operator", False):
            raise TypeError(f"model kind {model.kind!r}: role 'preconditioner' and a network marked takes_operator go together")

    @property
    def mask(self) -> torch.Tensor:
        """The fluid mask on the module's device, bool ``(*spatial)``."""
        return self.operator.mask

    def dataset(self, split: str) -> H5Samples:
        return H5Samples(self.files.path(split), ["b"])

    def forward(self, b: torch.Tensor) -> torch.Tensor:
        """Directions ``q = net(b)`` (``net(b, operator)`` for a network that reads the system) zeroed on
        solid cells: (batch, 1, *spatial) -> same."""
        return network_output(self.net, b, self.operator) * self.mask

    def _loss(self, b: torch.Tensor) -> torch.Tensor:
        return dcdm_loss(self.operator, self(b), b)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        b = batch["b"]
        loss = self.check_finite(self._loss(b).mean())
        self.log("train/loss", loss, prog_bar=True, batch_size=b.shape[0])
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        b = batch["b"]
        loss = self._loss(b)
        size = b.shape[0]
        self.log("val/loss", loss.mean(), prog_bar=True, sync_dist=True, batch_size=size)
        # relative residual after one exact step along q (b has unit norm)
        self.log("val/rel_residual", loss.sqrt().mean(), sync_dist=True, batch_size=size)
