"""Data kind ``darcy``: the Darcy-flow family ``a -> u`` of the FNO paper.

``-div(a grad u) = 1`` on the unit square, ``u = 0`` on the boundary, with the two-phase coefficient
``a = high`` (12) where a Gaussian random field with covariance ``(-Laplacian + tau^2 I)^(-alpha)``
(``tau = 3``, ``alpha = 2``, zero normal derivative) is non-negative and ``low`` (3) elsewhere.
Arrays ``x`` (``a``) and ``y`` (``u``), shape (sample, 1, n, n) on the vertex grid ``x_i = i/(n-1)``
(boundary included). Second-order finite differences with harmonic-mean face coefficients, solved
by banded Cholesky (:mod:`sciml.components.solvers.darcy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from sciml.components.base import PointLayout
from sciml.components.data.pde_family import PDEFamilyData


class DarcyData(PDEFamilyData):
    """Darcy flow -div(a grad u) = 1, u = 0 on the boundary, a two-phase (12/3) thresholded Gaussian field."""

    kind: Literal["darcy"] = "darcy"
    alpha: float = Field(2.0, gt=0, description="smoothness exponent of the field's covariance")
    tau: float = Field(3.0, gt=0, description="inverse length scale of the field's covariance")
    high: float = Field(12.0, gt=0, description="coefficient where the field is >= 0")
    low: float = Field(3.0, gt=0, description="coefficient where the field is < 0")
    modes: int = Field(64, ge=1, description="cosine modes per dimension of the field (fixed across resolutions)")
    face_mean: Literal["harmonic", "arithmetic"] = Field("harmonic", description="face coefficient of the FD scheme")

    version = "1"
    batch_size = 64

    def sample(self, split: str, seeds: Sequence[np.random.SeedSequence], shared: dict) -> dict[str, np.ndarray]:
        from sciml.components.solvers.darcy import darcy_coefficient, solve_darcy
        from sciml.components.solvers.grf import neumann_series

        n = self.split_resolution(split)
        # one draw per sample from its own seed (as neumann_grf would), then one batched series and solve
        xi = np.stack([np.random.default_rng(s).standard_normal((self.modes, self.modes)) for s in seeds])
        a = darcy_coefficient(neumann_series(xi, n, self.alpha, self.tau), self.high, self.low)
        u = solve_darcy(a, 1.0, self.face_mean)
        return {"x": a[:, None].astype(np.float32), "y": u[:, None].astype(np.float32)}

    def grid_dims(self) -> int:
        return 2

    def snapshot_arrays(self) -> tuple[str, ...]:
        return ()  # x and y are different fields

    def dirichlet_arrays(self) -> dict[str, PointLayout]:
        return {"y": "vertex"}

    def describe_arrays(self) -> dict[str, str]:
        return {
            "x": f"coefficient a ({self.high} / {self.low}), (sample, 1, n, n) on the vertex grid i/(n-1), n = {self.resolution}",
            "y": "pressure u solving -div(a grad u) = 1, u = 0 on the boundary, (sample, 1, n, n)",
        }
