"""Model kind ``dcdm``: the fully convolutional direction network of the Deep Conjugate Direction Method."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sciml.components.base import ModelConfig


class DirectionNetworkConfig(ModelConfig):
    """Options shared by the DCDM direction networks: an odd convolution width, systems on 2D and 3D grids."""

    kernel_size: int = Field(3, gt=0, description="convolution width, odd")

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"must be odd so that convolutions keep the grid size, got {value}")
        return value

    def check_grid(self, dims: int) -> None:
        if dims not in (2, 3):
            raise ValueError(f"kind: {self.kind!r} takes fields on 2D and 3D grids, the data's are {dims}D")


class DCDMConfig(DirectionNetworkConfig):
    """DCDM network (Kaneda et al. 2023): residual conv blocks, average-pool levels with skips, 1x1 head."""

    kind: Literal["dcdm"] = "dcdm"
    channels: int = Field(16, gt=0, description="feature channels at both levels (paper: 16)")
    fine_blocks: int = Field(1, ge=0, description="residual blocks before pooling")
    coarse_blocks: int = Field(3, ge=0, description="residual blocks on the pooled grid")
    up_blocks: int = Field(2, ge=0, description="residual blocks after the upsampled skip")
    levels: int = Field(1, ge=1, description="pooling levels (paper: 1); more widen the receptive field (a U-Net)")
    normalize_input: bool = Field(
        True, description="divide each input by its RMS (scale- and grid-size-invariant); false: the paper's raw r/||r||"
    )

    role = "field"

    def build(self, in_channels: int, out_channels: int, ndim: int, **_):
        """The :class:`~sciml.components.models.dcdm_net.DCDMNet` for ``ndim``-dimensional fields."""
        from sciml.components.models.dcdm_net import DCDMNet

        return DCDMNet(
            dim=ndim,
            in_channels=in_channels,
            out_channels=out_channels,
            channels=self.channels,
            fine_blocks=self.fine_blocks,
            coarse_blocks=self.coarse_blocks,
            up_blocks=self.up_blocks,
            kernel_size=self.kernel_size,
            normalize_input=self.normalize_input,
            levels=self.levels,
        )
