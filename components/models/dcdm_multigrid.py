"""Model kind ``dcdm_multigrid``: a V-cycle with learned smoothers on the system's own multigrid hierarchy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sciml.components.models.dcdm import DirectionNetworkConfig


class DCDMMultigridConfig(DirectionNetworkConfig):
    """DCDM direction network that reads the system: one V-cycle, Galerkin coarse levels, learned CNN smoothers shared by all levels."""

    kind: Literal["dcdm_multigrid"] = "dcdm_multigrid"
    channels: int = Field(8, gt=0, description="hidden channels of each smoother CNN")
    layers: int = Field(3, ge=1, description="convolutions per smoother CNN (1: a learned linear stencil)")
    smoothing_steps: int = Field(2, ge=1, description="smoothing steps before and after each coarse correction")
    coarsest: int = Field(4, ge=1, description="coarsen while some side of the coarsest level has more cells than this")

    role = "preconditioner"

    def build(self, in_channels: int, out_channels: int, ndim: int, **_):
        """The :class:`~sciml.components.models.dcdm_multigrid_net.DCDMMultigridNet` for ``ndim``-dimensional systems."""
        from sciml.components.models.dcdm_multigrid_net import DCDMMultigridNet

        if (in_channels, out_channels) != (1, 1):
            raise ValueError(f"kind: 'dcdm_multigrid' maps one residual field to one direction, got {in_channels} -> {out_channels} channels")
        return DCDMMultigridNet(
            dim=ndim,
            channels=self.channels,
            layers=self.layers,
            kernel_size=self.kernel_size,
            smoothing_steps=self.smoothing_steps,
            coarsest=self.coarsest,
        )
