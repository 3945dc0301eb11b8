"""Model kind ``mgno``: the multigrid neural operator (He, Liu, Xu; ICLR 2024) for 1D and 2D fields."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sciml.components.base import ModelConfig

Boundary = Literal["dirichlet", "periodic", "neumann"]


class ConvOperatorConfig(ModelConfig):
    """Options shared by the convolutional models (MgNO, U-Net): padding and discretization-agnostic kernels."""

    boundary: Boundary = Field(
        "dirichlet", description="boundary condition of the problem; sets the convolution padding (zeros/circular/reflect)"
    )
    kernel_scaling: Literal["none", "interpolate"] = Field(
        "none",
        description="'interpolate': 3x3 kernels keep their physical size on finer grids (stencil interpolated, "
        "weights scaled by the cell volume; NNs-to-NOs), so zero-shot evaluation at a finer resolution applies "
        "the same operator; 'none': plain convolutions",
    )
    reference_resolution: int | None = Field(
        None, gt=0, description="grid points per axis at which the rescaled kernels are the plain ones (the training resolution)"
    )

    def check_grid(self, dims: int) -> None:
        if dims not in (1, 2):
            raise ValueError(f"kind: {self.kind!r} takes fields on 1D and 2D grids, the data's are {dims}D")

    @model_validator(mode="after")
    def _check_scaling(self) -> ConvOperatorConfig:
        if (self.kernel_scaling == "none") != (self.reference_resolution is None):
            raise ValueError(
                "kernel_scaling 'interpolate' needs reference_resolution (the training grid size), and "
                f"reference_resolution only applies with it; got {self.kernel_scaling!r}, {self.reference_resolution}"
            )
        return self


class MgNOConfig(ConvOperatorConfig):
    """Multigrid neural operator: stacked learned V-cycles (3x3 smoothers, stride-2 restriction, transposed-conv prolongation)."""

    kind: Literal["mgno"] = "mgno"
    width: int = Field(32, gt=0, description="channels of the solution fields u (and of f after the first block)")
    layers: int = Field(4, gt=0, description="V-cycle blocks, each h <- gelu(Vcycle(h) + W h)")
    pre_smoothing: list[int] = Field(
        [1, 1, 1, 2], min_length=1, description="smoothing steps before restriction, one per level (finest first), each >= 1"
    )
    post_smoothing: list[int] | None = Field(
        None, description="smoothing steps after prolongation, one per level (default: none)"
    )
    role = "field"

    @model_validator(mode="after")
    def _check_levels(self) -> MgNOConfig:
        if min(self.pre_smoothing) < 1:
            raise ValueError(f"pre_smoothing: every level needs at least one step, got {self.pre_smoothing}")
        if self.post_smoothing is not None and (
            len(self.post_smoothing) != len(self.pre_smoothing) or min(self.post_smoothing) < 0
        ):
            raise ValueError(
                f"post_smoothing: one count >= 0 per level ({len(self.pre_smoothing)} levels, as in "
                f"pre_smoothing), got {self.post_smoothing}"
            )
        return self

    def build(self, in_channels: int, out_channels: int, ndim: int, **_):
        from sciml.components.models.mgno_net import MgNO

        return MgNO(
            in_channels=in_channels,
            out_channels=out_channels,
            ndim=ndim,
            width=self.width,
            layers=self.layers,
            pre_smoothing=self.pre_smoothing,
            post_smoothing=self.post_smoothing or [0] * len(self.pre_smoothing),
            boundary=self.boundary,
            reference_resolution=self.reference_resolution,
        )
