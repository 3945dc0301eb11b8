"""The interface of a latent dynamical model for reconstruction: ``z_t = F(z_{t-1})``, ``x_t = G(z_t)``.

A :class:`LatentDynamics` is an autonomous map on a latent state ``z`` (batch, latent) plus an
observation model. Training with (generalized) teacher forcing and the DSR evaluation only use
this interface:

- ``encode(x)``: (batch, obs) -> (batch, latent), the latent state inferred from an observation
  (the initial state of a forced sequence or of a free run);
- ``forcing_target(x)``: (batch, obs) -> (batch, forced), the data-inferred values of the first
  ``forced`` latent units, which teacher forcing pulls the state towards;
- ``step(z)``: (batch, latent) -> (batch, latent), one step of the latent map;
- ``observe(z)``: (batch, latent) -> (batch, obs);
- ``forced_rollout(z, targets, alpha)``: the teacher-forced run that training differentiates (by
  default a loop over :meth:`step` and :func:`force`; a model may override it with a faster
  equivalent, as the shallow PLRNN does with a hand-written adjoint);
- ``jacobian(z)``: (batch, latent) -> (batch, latent, latent), ``d step / d z`` (by default from
  ``torch.func``; models with a closed form override it).
"""

from __future__ import annotations

import torch
from torch import nn


def force(z: torch.Tensor, target: torch.Tensor, alpha: float | torch.Tensor) -> torch.Tensor:
    """``(1 - alpha) z + alpha target`` on the first ``target.shape[1]`` units of ``z`` (batch, M)."""
    k = target.shape[1]
    mixed = torch.lerp(z[:, :k], target, alpha)
    return mixed if k == z.shape[1] else torch.cat((mixed, z[:, k:]), dim=1)


class LatentDynamics(nn.Module):
    """Base class: subclasses implement ``encode``, ``forcing_target``, ``step`` and ``observe``."""

    obs_dim: int
    latent_dim: int

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forcing_target(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def step(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def observe(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forced_rollout(self, z: torch.Tensor, targets: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """Teacher-forced run: ``z_s = step(z~_{s-1})``, ``z~_s = force(z_s, targets[:, s], alpha[s])``.

        Args:
            z: the initial (forced) state ``z~_{-1}`` (batch, latent).
            targets: data-inferred values of the forced units (batch, S, forced).
            alpha: forcing strength of each step (S,), in [0, 1]; not differentiated.

        Returns:
            ``(batch, S, latent)``: the unforced states ``z_0 .. z_{S-1}``.
        """
        out = []
        for target, a in zip(targets.unbind(1), alpha.tolist()):
            z = self.step(z)
            out.append(z)
            if a != 0.0:
                z = force(z, target, a)
        return torch.stack(out, dim=1)

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        """``(batch, latent) -> (batch, latent, latent)`` by forward-mode autodiff of :meth:`step`."""
        single = lambda v: self.step(v[None])[0]  # noqa: E731
        return torch.func.vmap(torch.func.jacfwd(single))(z)

    def generate(self, x0: torch.Tensor, steps: int) -> torch.Tensor:
        """Free run from observations ``x0`` (batch, obs): returns (batch, steps, obs), ``x0`` first."""
        z = self.encode(x0)
        out = [self.observe(z)]
        for _ in range(steps - 1):
            z = self.step(z)
            out.append(self.observe(z))
        return torch.stack(out, dim=1)

    def predict(self, x0: torch.Tensor, n: int) -> torch.Tensor:
        """``n``-step-ahead prediction from observations ``x0`` (batch, obs) -> (batch, obs)."""
        z = self.encode(x0)
        for _ in range(n):
            z = self.step(z)
        return self.observe(z)
