"""Model kind ``unet``: a U-Net baseline for 1D and 2D field-to-field maps."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sciml.components.models.mgno import ConvOperatorConfig


class UNetConfig(ConvOperatorConfig):
    """U-Net baseline: conv encoder/decoder with skip connections, channels doubling per level."""

    kind: Literal["unet"] = "unet"
    width: int = Field(32, gt=0, description="channels at the finest level (doubled at each coarser level)")
    levels: int = Field(4, gt=0, description="number of resolutions (stride-2 downsamplings + 1)")

    role = "field"

    def build(self, in_channels: int, out_channels: int, ndim: int, **_):
        from sciml.components.models.unet_net import UNet

        return UNet(
            in_channels, out_channels, ndim, width=self.width, levels=self.levels, boundary=self.boundary,
            reference_resolution=self.reference_resolution,
        )
