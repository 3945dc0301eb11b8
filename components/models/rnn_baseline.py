"""Model kind ``lstm_dsr``: an LSTM baseline for dynamical-systems reconstruction, trained by the same ``gtf`` task."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sciml.components.base import ModelConfig


class LSTMDynamicsConfig(ModelConfig):
    """Autonomous LSTM (its own read-out fed back as input) with an affine read-out: the baseline for shplrnn."""

    kind: Literal["lstm_dsr"] = "lstm_dsr"
    hidden: int = Field(32, gt=0, description="LSTM hidden units H (latent state [h; c] has 2H units)")

    role = "dsr"

    def build(self, obs_dim: int, seed: int = 0, **_):
        import torch

        from sciml.components.models.rnn_baseline_net import LSTMDynamics

        return LSTMDynamics(obs_dim, self.hidden, torch.Generator().manual_seed(seed))
