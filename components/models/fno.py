"""Model kind ``fno``: the Fourier neural operator (Li et al., 2021) for fields in 1, 2 or 3 dimensions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sciml.components.base import ModelConfig


class FNOConfig(ModelConfig):
    """Fourier neural operator: lifting, spectral-convolution blocks with pointwise skips, projection."""

    kind: Literal["fno"] = "fno"
    width: int = Field(32, gt=0, description="channels of the hidden fields")
    modes: Annotated[int, Field(ge=1)] | Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1, max_length=3)] = Field(
        12, description="Fourier modes kept per dimension (one int for all, or one per grid axis)"
    )
    layers: int = Field(4, gt=0, description="Fourier blocks")
    projection_width: int = Field(128, gt=0, description="hidden channels of the projection")
    padding: float = Field(0.0, ge=0, le=1, description="domain padding as a fraction of each size (for non-periodic problems)")
    positional_embedding: bool = Field(True, description="append the grid coordinates in [0, 1] as input channels")
    grid: Literal["vertex", "cell"] = Field(
        "vertex",
        description="where the embedding puts point i of n: i/(n-1) (vertex grids that include both boundaries, "
        "e.g. darcy) or i/n (periodic grids such as burgers and navier_stokes, and neuraloperator's data)",
    )
    lifting_width: int = Field(
        0, ge=0, description="hidden channels of a two-layer lifting MLP (neuraloperator: 2 x width); 0: one linear map"
    )
    channel_mlp: bool = Field(
        False,
        description="after each spectral block a pointwise MLP (width -> width/2 -> width) with a per-channel gated "
        "skip, neuraloperator 2.0's default block",
    )

    role = "field"

    def check_grid(self, dims: int) -> None:
        if not 1 <= dims <= 3:
            raise ValueError(f"kind: 'fno' takes fields on 1D to 3D grids, the data's are {dims}D")
        if isinstance(self.modes, list) and len(self.modes) != dims:
            raise ValueError(f"modes: {len(self.modes)} values for fields on {dims}D grids; give one per axis or one int")

    def build(self, in_channels: int, out_channels: int, ndim: int, **_):
        from sciml.components.models.fno_net import FNO

        modes = [self.modes] * ndim if isinstance(self.modes, int) else list(self.modes)
        return FNO(
            in_channels=in_channels,
            out_channels=out_channels,
            modes=modes,
            width=self.width,
            layers=self.layers,
            projection_width=self.projection_width,
            padding=self.padding,
            positional_embedding=self.positional_embedding,
            grid=self.grid,
            lifting_width=self.lifting_width,
            channel_mlp=self.channel_mlp,
        )
