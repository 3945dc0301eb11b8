"""Model kind ``shplrnn``: the shallow piecewise-linear RNN of Hess et al. (ICML 2023) for dynamical-systems reconstruction."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sciml.components.base import ModelConfig


class ShallowPLRNNConfig(ModelConfig):
    """Shallow PLRNN z_t = A z_{t-1} + W1 ReLU(W2 z_{t-1} + h2) + h1 (A diagonal), optionally clipped; identity or affine read-out."""

    kind: Literal["shplrnn"] = "shplrnn"
    latent: int | None = Field(None, gt=0, description="latent units M; default: the observed dimension N")
    hidden: int = Field(50, gt=0, description="hidden units H of the one-layer ReLU network")
    clipped: bool = Field(True, description="use ReLU(W2 z + h2) - ReLU(W2 z): bounded orbits for |A| < 1")
    observation: Literal["identity", "affine"] = Field(
        "identity", description="identity: the first N latent units are the data; affine: x = B z + b"
    )

    role = "dsr"

    def build(self, obs_dim: int, seed: int = 0, **_):
        import torch

        from sciml.components.models.shplrnn_net import ShallowPLRNN

        return ShallowPLRNN(
            obs_dim, self.latent or obs_dim, self.hidden, self.clipped, self.observation, torch.Generator().manual_seed(seed)
        )

    def check_series(self, dim: int) -> None:
        if self.observation == "identity" and self.latent is not None and self.latent < dim:
            raise ValueError(f"latent: the identity observation needs latent >= the data dimension {dim}, got {self.latent}")
