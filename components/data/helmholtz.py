"""Data kind ``helmholtz``: wave speed ``c -> u`` for ``-Laplacian u - (omega / c)^2 u = f`` in a closed cavity.

On the unit square with ``u = 0`` on the boundary (a sound-soft cavity), ``f`` a fixed Gaussian
source of unit mass at the centre (width ``source_width``) and a random wave speed
``c = 1 + contrast * tanh(g)``, ``g`` a Gaussian random field with zero normal derivative. The
parameters are checked so that ``k^2 = (omega/c)^2`` stays inside one gap of the Dirichlet spectrum for
every possible ``c``, which keeps every sample uniquely and stably solvable (no resonance).
Arrays ``x`` (``c``) and ``y`` (``u``), shape (sample, 1, n, n) on the vertex grid ``i/(n-1)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sciml.components.base import PointLayout
from sciml.components.data.pde_family import PDEFamilyData


class HelmholtzData(PDEFamilyData):
    """Helmholtz wave-speed-to-solution map in a Dirichlet cavity, kept clear of resonances."""

    kind: Literal["helmholtz"] = "helmholtz"
    omega: float = Field(5.5, gt=0, description="angular frequency (units 1/time, with c in length/time)")
    contrast: float = Field(0.15, gt=0, lt=1, description="c ranges over (1 - contrast, 1 + contrast)")
    alpha: float = Field(2.0, gt=0, description="smoothness exponent of g's covariance")
    tau: float = Field(3.0, gt=0, description="inverse length scale of g's covariance")
    modes: int = Field(64, ge=1, description="cosine modes per dimension of g")
    source_width: float = Field(0.05, gt=0, description="standard deviation of the Gaussian source")

    version = "1"
    batch_size = 32

    @model_validator(mode="after")
    def _check_no_resonance(self) -> HelmholtzData:
        from sciml.components.solvers.helmholtz import resonance_gap

        k2 = (self.omega**2 / (1 + self.contrast) ** 2, self.omega**2 / (1 - self.contrast) ** 2)
        for n in [self.resolution, *self.test_resolutions]:
            if resonance_gap(n, *k2) <= 0:
                raise ValueError(
                    f"data.omega / data.contrast: (omega/c)^2 ranges over [{k2[0]:.1f}, {k2[1]:.1f}], which contains a "
                    f"Dirichlet eigenvalue of the {n}x{n} grid (a resonance); choose omega and contrast so that the "
                    f"range lies between two eigenvalues pi^2 (m^2 + n^2), e.g. omega = 5.5, contrast = 0.15"
                )
        return self

    def sample(self, split: str, seeds: Sequence[np.random.SeedSequence], shared: dict) -> dict[str, np.ndarray]:
        from sciml.components.solvers.grf import neumann_grf
        from sciml.components.solvers.helmholtz import solve_helmholtz

        n = self.split_resolution(split)
        x = np.linspace(0.0, 1.0, n)
        r2 = (x[:, None] - 0.5) ** 2 + (x[None, :] - 0.5) ** 2
        source = np.exp(-r2 / (2 * self.source_width**2)) / (2 * np.pi * self.source_width**2)
        c = np.stack(
            [1 + self.contrast * np.tanh(neumann_grf(np.random.default_rng(s), n, self.alpha, self.tau, modes=self.modes)[0]) for s in seeds]
        )
        u = np.stack([solve_helmholtz((self.omega / speed) ** 2, source) for speed in c])
        return {"x": c[:, None].astype(np.float32), "y": u[:, None].astype(np.float32)}

    def grid_dims(self) -> int:
        return 2

    def snapshot_arrays(self) -> tuple[str, ...]:
        return ()  # x and y are different fields

    def dirichlet_arrays(self) -> dict[str, PointLayout]:
        return {"y": "vertex"}

    def describe_arrays(self) -> dict[str, str]:
        return {
            "x": f"wave speed c, (sample, 1, n, n) on the vertex grid i/(n-1), n = {self.resolution}",
            "y": f"u solving -Lap u - (omega/c)^2 u = f (omega = {self.omega}), u = 0 on the boundary, (sample, 1, n, n)",
        }
