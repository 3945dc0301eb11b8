"""Generalized teacher forcing (Hess et al., ICML 2023) as a LightningModule.

Along a training window ``x_1 .. x_T`` (batch, T, N) the latent state is advanced by the model and
then pulled towards the data-inferred state,

    z_t = F(z~_{t-1}),        z~_t = (1 - alpha_t) z_t + alpha_t D(x_t)   (on the forced units),

starting from ``z~_1 = encode(x_1)``; the loss is the MSE between ``observe(z_t)`` (the unforced
one-step prediction) and ``x_t``. Gradients through the forced recursion are products of
``(1 - alpha) J_t``, so ``alpha >= 1 - 1 / max ||J_t||`` bounds them (Theorem of the paper).

- constant alpha: ``alpha_t = alpha``;
- adaptive alpha: every ``k`` optimizer steps, ``kappa`` = max over the batch of the geometric mean
  along each window of ``||J(encode(x_t))||_2``, ``alpha_est = max(0, 1 - 1/kappa)``; alpha jumps
  up to ``alpha_est`` when larger, else decays as ``alpha <- gamma alpha + (1 - gamma) alpha_est``;
- sparse teacher forcing (the special case): ``alpha_t = 1`` every ``interval`` steps, else 0.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

import h5py
import torch
from torch.utils.data import Dataset

from sciml.components.base import DatasetFiles, ModelConfig
from sciml.components.models.dsr_net import LatentDynamics
from sciml.components.tasks.module import TaskModule
from sciml.pipelines.errors import SpecError
from sciml.pipelines.spec import TrainConfig, check_model_series


@contextmanager
def single_cpu_thread(device: torch.device):
    """Run torch on one intra-op thread on CPU (no-op on accelerators), restoring the setting after.

    The recurrent ops here are tiny ((batch, latent) with latent ~ 3-250): extra threads only add
    synchronization, and on a loaded machine spinning threads made a training step 10x slower.
    """
    if device.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def forcing_strengths(steps: int, alpha: float | torch.Tensor, interval: int | None = None) -> torch.Tensor:
    """Alpha of each forcing step ``t = 1 .. steps`` (steps,): constant, or sparse (1 every ``interval``-th step, else 0)."""
    if interval is not None:
        return (torch.arange(1, steps + 1) % interval == 0).to(torch.get_default_dtype())
    return torch.full((steps,), float(alpha))


def gtf_predictions(
    net: LatentDynamics, x: torch.Tensor, alpha: float | torch.Tensor, interval: int | None = None
) -> torch.Tensor:
    """One-step predictions along forced windows.

    Args:
        net: the model; x: windows (batch, T, N).
        alpha: forcing strength in [0, 1] (GTF), ignored when ``interval`` is given.
        interval: sparse teacher forcing: full forcing (alpha = 1) at every ``interval``-th step.

    Returns:
        ``(batch, T - 1, N)``: ``observe(z_t)`` for ``t = 2 .. T``, each predicted from the forced
        state of the previous step.
    """
    batch, steps, n = x.shape
    targets = net.forcing_target(x[:, 1:].reshape(-1, n)).reshape(batch, steps - 1, -1)  # once, not per step
    alphas = forcing_strengths(steps - 1, alpha, interval).to(x.device, x.dtype)
    states = net.forced_rollout(net.encode(x[:, 0]), targets, alphas)
    return net.observe(states.reshape(batch * (steps - 1), -1)).reshape(batch, steps - 1, -1)


def jacobian_norm_kappa(net: LatentDynamics, x: torch.Tensor, max_states: int = 256) -> float:
    """Max over windows of the geometric mean over time of ``||J(encode(x_t))||_2``; x (batch, T, N).

    Each window's mean uses every ``stride``-th time point, the stride chosen so that at most
    ``max_states`` Jacobians are formed in all (they cost a spectral norm each).
    """
    batch, steps, n = x.shape
    stride = max(1, -(-batch * steps // max_states))
    x = x[:, ::stride]
    with torch.no_grad():
        z = net.encode(x.reshape(-1, n))
        norms = torch.linalg.matrix_norm(net.jacobian(z), ord=2).reshape(batch, -1)
        return float(norms.clamp_min(1e-12).log().mean(dim=1).exp().max())


def optimal_alpha(kappa: float) -> float:
    """``max(0, 1 - 1 / kappa)``: the smallest alpha that keeps ``(1 - alpha) kappa <= 1``."""
    return max(0.0, 1.0 - 1.0 / kappa)


def anneal_alpha(current: float, estimate: float, gamma: float) -> float:
    """Jump up to ``estimate`` when it is larger, else decay: ``gamma current + (1 - gamma) estimate``."""
    return estimate if estimate > current else gamma * current + (1.0 - gamma) * estimate


class Windows(Dataset):
    """Windows of ``length`` consecutive time points of the trajectories ``x`` (n, T, N) of a split file.

    Item ``i`` is one window (length, N); windows start every ``stride`` points of every trajectory.
    """

    def __init__(self, path, length: int, stride: int, key: str = "x"):
        with h5py.File(path, "r") as handle:
            self.x = torch.as_tensor(handle[key][...]).float()
        n, steps, _ = self.x.shape
        if steps < length:
            raise SpecError(f"task.seq_len: {length} is longer than the trajectories of {path} ({steps} time points)")
        per = (steps - length) // stride + 1
        self.length, self.stride, self.per = length, stride, per
        self.count = n * per

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> torch.Tensor:
        traj, start = divmod(index, self.per)
        start *= self.stride
        return self.x[traj, start : start + self.length]


class GTFModule(TaskModule):
    """Trains a :class:`LatentDynamics` model with generalized (or sparse) teacher forcing."""

    monitor = "val/pe"

    settings_buffers = ("alpha",)  # the forcing's start (task.alpha / alpha_init), not a learned weight

    def __init__(self, config, model: ModelConfig, train: TrainConfig, dataset: DatasetFiles, seed: int = 0):
        super().__init__(train)
        self.config, self.files = config, dataset
        with h5py.File(dataset.path("train"), "r") as handle:
            shape = handle["x"].shape
        check_model_series(model, shape[-1])  # done at validation where the data kind knows its dimension
        self.net = model.build(obs_dim=shape[-1], seed=seed)
        adaptive = config.alpha == "adaptive"
        start = config.alpha_init if adaptive else (config.alpha if config.forcing == "gtf" else 0.0)
        self.register_buffer("alpha", torch.tensor(float(start)))
        self._kappa: float | None = None  # adaptive: the latest estimate, logged with the loss

    def on_fit_start(self) -> None:
        self._threads = ExitStack()
        self._threads.enter_context(single_cpu_thread(self.device))

    def on_fit_end(self) -> None:
        self._threads.close()

    def dataset(self, split: str) -> Windows:
        stride = self.config.window_stride if split == "train" else self.config.seq_len
        return Windows(self.files.path(split), self.config.seq_len, stride)

    def _interval(self) -> int | None:
        return self.config.interval if self.config.forcing == "sparse" else None

    def _update_alpha(self, x: torch.Tensor) -> None:
        kappa = jacobian_norm_kappa(self.net, x[:, 1:])
        # kappa is a max over the batch: over several processes, the max over every rank's share, so all
        # ranks keep the same alpha.
        kappa = float(self.all_gather(torch.tensor(kappa, device=self.device)).max())
        self.alpha.fill_(anneal_alpha(float(self.alpha), optimal_alpha(kappa), self.config.alpha_decay))
        self._kappa = kappa

    def training_step(self, x: torch.Tensor, batch_idx: int) -> torch.Tensor:
        cfg = self.config
        if cfg.forcing == "gtf" and cfg.alpha == "adaptive" and self.global_step % cfg.alpha_interval == 0:
            self._update_alpha(x)
        pred = gtf_predictions(self.net, x, self.alpha, self._interval())
        loss = self.check_finite(torch.mean((pred - x[:, 1:]) ** 2))
        # Only on the steps the loggers write (Lightning's rule: every log_every_n_steps-th optimizer
        # step): a self.log call costs as much as the forward pass of a 50-step window here.
        if (self.global_step + 1) % self.trainer.log_every_n_steps == 0:
            self.log("train/loss", loss, prog_bar=True, batch_size=x.shape[0])
            self.log("train/alpha", self.alpha, batch_size=x.shape[0])
            if self._kappa is not None:
                self.log("train/kappa", self._kappa, batch_size=x.shape[0])
        return loss

    def validation_step(self, x: torch.Tensor, batch_idx: int) -> None:
        n = min(self.config.pe_steps, x.shape[1] - 1)
        size = x.shape[0]
        starts = x[:, :-n].reshape(-1, x.shape[2])
        pred = self.net.predict(starts, n).reshape(size, -1, x.shape[2])
        pe = torch.mean((pred - x[:, n:]) ** 2)
        loss = torch.mean((gtf_predictions(self.net, x, self.alpha, self._interval()) - x[:, 1:]) ** 2)
        self.log("val/pe", pe, prog_bar=True, sync_dist=True, batch_size=size)
        self.log("val/loss", loss, sync_dist=True, batch_size=size)
