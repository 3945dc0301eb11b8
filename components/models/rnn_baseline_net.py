"""An LSTM as a latent dynamical model, the baseline trained by the same teacher-forcing task.

Latent state ``z = [h; c]`` (batch, 2H). The map feeds the model's own observation back as input,
``x_t = B h_t + b``, ``(h, c) <- LSTMCell(x_t, (h, c))``, so the model is autonomous like a
PLRNN. Teacher forcing pulls ``h`` towards ``pinv(B) (x - b)`` (the memory cells ``c`` are not
forced), and a free run starts from ``h = pinv(B) (x - b)``, ``c = 0``.
"""

from __future__ import annotations

import torch
from torch import nn

from sciml.components.models.dsr_net import LatentDynamics


class LSTMDynamics(LatentDynamics):
    """Autonomous LSTM with an affine read-out; see the module docstring."""

    def __init__(self, obs_dim: int, hidden_dim: int, generator: torch.Generator | None = None):
        super().__init__()
        self.obs_dim, self.hidden_dim, self.latent_dim = obs_dim, hidden_dim, 2 * hidden_dim
        self.cell = nn.LSTMCell(obs_dim, hidden_dim)
        bound = 1.0 / hidden_dim**0.5
        with torch.no_grad():
            for p in self.cell.parameters():
                p.copy_((torch.rand(p.shape, generator=generator) * 2.0 - 1.0) * bound)
        self.B = nn.Parameter(torch.randn(obs_dim, hidden_dim, generator=generator) * (2.0 / hidden_dim) ** 0.5)
        self.b = nn.Parameter(torch.zeros(obs_dim))

    def observe(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, : self.hidden_dim] @ self.B.T + self.b

    def step(self, z: torch.Tensor) -> torch.Tensor:
        h, c = z[:, : self.hidden_dim], z[:, self.hidden_dim :]
        h, c = self.cell(self.observe(z), (h, c))
        return torch.cat((h, c), dim=1)

    def forcing_target(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, N) -> (batch, H)``: the hidden units that reproduce ``x`` with least norm."""
        return (x - self.b) @ torch.linalg.pinv(self.B).T

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = self.forcing_target(x)
        return torch.cat((h, torch.zeros_like(h)), dim=1)
