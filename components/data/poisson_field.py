"""Data kind ``poisson_field``: the family ``f -> u`` of Dirichlet Poisson problems on the unit cube.

``-Lap u = f`` in ``(0, 1)^dim``, ``u = 0`` on the boundary, ``f`` a Gaussian random field with
covariance ``(-Lap + tau^2)^(-alpha)``; ``u`` is the exact solution of the second-order
finite-difference system (discrete sine transform). Arrays ``x`` (f) and ``y`` (u), shape
(batch, 1, n, ..., n) at the ``n`` interior grid points per dimension. This is the quickstart's
family and the Poisson member of the PDE families.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from sciml.components.base import DataConfig, PointLayout


class PoissonFieldData(DataConfig):
    """Poisson -Lap u = f on the unit square/cube, u = 0 on the boundary, f a Gaussian random field; exact DST solves."""

    kind: Literal["poisson_field"] = "poisson_field"
    role = "fields"
    dim: int = Field(2, ge=1, le=3, description="spatial dimensions")
    resolution: int = Field(32, ge=4, description="interior grid points per dimension")
    alpha: float = Field(2.0, gt=0, description="smoothness exponent of f's covariance")
    tau: float = Field(3.0, gt=0, description="inverse length scale of f's covariance")
    train: int = Field(400, ge=1, description="training samples")
    val: int = Field(50, ge=1, description="validation samples")
    test: int = Field(50, ge=1, description="test samples")

    version = "1"

    def split_sizes(self) -> dict[str, int]:
        return {"train": self.train, "val": self.val, "test": self.test}

    def sample(self, split: str, seeds: Sequence[np.random.SeedSequence], shared: dict) -> dict[str, np.ndarray]:
        from sciml.components.solvers.dst_poisson import sine_series_field, solve_dirichlet

        shape = (self.resolution,) * self.dim
        f = np.stack([sine_series_field(np.random.default_rng(s), shape, self.alpha, self.tau) for s in seeds])
        u = solve_dirichlet(f, self.dim)
        return {"x": f[:, None].astype(np.float32), "y": u[:, None].astype(np.float32)}

    def grid_dims(self) -> int:
        return self.dim

    def snapshot_arrays(self) -> tuple[str, ...]:
        return ()  # x and y are different fields

    def dirichlet_arrays(self) -> dict[str, PointLayout]:
        return {"y": "interior"}

    def describe_arrays(self) -> dict[str, str]:
        grid = ", ".join(["n"] * self.dim)
        return {
            "x": f"source f at interior grid points, (sample, 1, {grid}), n = {self.resolution}, spacing 1/(n+1)",
            "y": f"solution u of -Lap_h u = f, u = 0 on the boundary, (sample, 1, {grid})",
        }
