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
- ``jacobian(z)``: (batch, latent) -> (batch, latent, latent), ``d step / d z`` (by default from
  ``torch.func``; models with a closed form override it).
"""

from __future__ import annotations

import torch
from torch import nn


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
