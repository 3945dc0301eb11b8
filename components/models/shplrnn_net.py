"""The shallow PLRNN (Hess et al., ICML 2023) and its observation models.

Latent map, ``z`` (batch, M), hidden width ``H``:

- standard: ``z_t = A z_{t-1} + W1 relu(W2 z_{t-1} + h2) + h1``
- clipped:  ``z_t = A z_{t-1} + W1 (relu(W2 z_{t-1} + h2) - relu(W2 z_{t-1})) + h1``; the clipped
  nonlinearity is bounded, so orbits stay bounded when ``|A| < 1``.

``A`` is diagonal (stored as a vector), ``W1`` (M, H), ``W2`` (H, M). Initialization as in the
paper's code: ``A`` the diagonal of a positive definite matrix ``(R^T R / M + I)`` scaled to
spectral radius 1 (Talathi & Vartak 2016), ``W1``, ``W2`` uniform in ``+-1/sqrt(fan_in)``,
``h1 = 0``, ``h2 = 0`` (standard) or uniform in ``+-1/sqrt(H)`` (clipped).

Observation models, ``x`` (batch, N):

- ``identity``: the first N latent units are the observations (``M >= N``); a free run starts from
  ``[x; L x]`` with a trained ``L`` (M - N, N); teacher forcing acts on the first N units.
- ``affine``: ``x = B z + b`` with ``B`` (N, M) Kaiming-normal; the data-inferred state is
  ``pinv(B) (x - b)`` and teacher forcing acts on all M units.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from sciml.components.models.dsr_net import LatentDynamics


def _uniform(shape: tuple[int, ...], fan_in: int, generator: torch.Generator | None) -> torch.Tensor:
    bound = 1.0 / fan_in**0.5
    return (torch.rand(shape, generator=generator) * 2.0 - 1.0) * bound


def _positive_definite_diagonal(m: int, generator: torch.Generator | None) -> torch.Tensor:
    """Diagonal of ``K / lambda_max(K)``, ``K = R^T R / m + I`` with ``R`` standard normal (m, m)."""
    r = torch.randn(m, m, generator=generator)
    k = r.T @ r / m + torch.eye(m)
    return torch.diagonal(k) / torch.linalg.eigvalsh(k).max()


class ShallowPLRNN(LatentDynamics):
    """Shallow PLRNN with an identity or affine observation model (see the module docstring)."""

    def __init__(
        self,
        obs_dim: int,
        latent_dim: int,
        hidden_dim: int,
        clipped: bool = True,
        observation: Literal["identity", "affine"] = "identity",
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if observation == "identity" and latent_dim < obs_dim:
            raise ValueError(f"identity observation needs latent_dim >= obs_dim, got {latent_dim} < {obs_dim}")
        self.obs_dim, self.latent_dim, self.hidden_dim = obs_dim, latent_dim, hidden_dim
        self.clipped, self.observation = clipped, observation
        m, h, n = latent_dim, hidden_dim, obs_dim
        self.A = nn.Parameter(_positive_definite_diagonal(m, generator))
        self.W1 = nn.Parameter(_uniform((m, h), h, generator))
        self.W2 = nn.Parameter(_uniform((h, m), m, generator))
        self.h1 = nn.Parameter(torch.zeros(m))
        self.h2 = nn.Parameter(_uniform((h,), h, generator) if clipped else torch.zeros(h))
        if observation == "affine":
            self.B = nn.Parameter(torch.randn(n, m, generator=generator) * (2.0 / m) ** 0.5)
            self.b = nn.Parameter(torch.zeros(n))
        elif m > n:
            bound = (6.0 / m) ** 0.5  # Glorot uniform for an (M - N, N) matrix: sqrt(6 / (fan_in + fan_out))
            self.L = nn.Parameter((torch.rand(m - n, n, generator=generator) * 2.0 - 1.0) * bound)
        else:
            self.L = None

    def step(self, z: torch.Tensor) -> torch.Tensor:
        """``(batch, M) -> (batch, M)``."""
        pre = z @ self.W2.T
        act = torch.relu(pre + self.h2)
        if self.clipped:
            act = act - torch.relu(pre)
        return self.A * z + act @ self.W1.T + self.h1

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        """``(batch, M) -> (batch, M, M)``: ``diag(A) + W1 diag(D(z)) W2``, ``D`` the ReLU slopes."""
        pre = z @ self.W2.T
        slopes = (pre + self.h2 > 0).to(z.dtype)
        if self.clipped:
            slopes = slopes - (pre > 0).to(z.dtype)
        return torch.diag_embed(self.A.expand_as(z)) + torch.einsum("mh,bh,hk->bmk", self.W1, slopes, self.W2)

    def norm_upper_bound(self) -> torch.Tensor:
        """``max|A| + ||W1||_2 ||W2||_2``, an upper bound of every Jacobian's spectral norm."""
        return self.A.abs().max() + torch.linalg.matrix_norm(self.W1, 2) * torch.linalg.matrix_norm(self.W2, 2)

    def observe(self, z: torch.Tensor) -> torch.Tensor:
        """``(batch, M) -> (batch, N)``."""
        if self.observation == "affine":
            return z @ self.B.T + self.b
        return z[:, : self.obs_dim]

    def _inverse(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.b) @ torch.linalg.pinv(self.B).T

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, N) -> (batch, M)``."""
        if self.observation == "affine":
            return self._inverse(x)
        return x if self.L is None else torch.cat((x, x @ self.L.T), dim=1)

    def forcing_target(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, N) -> (batch, N)`` (identity: partial forcing) or ``(batch, M)`` (affine)."""
        return self._inverse(x) if self.observation == "affine" else x
