"""Data kind ``burgers``: the 1D viscous Burgers family ``u0 -> u(T)`` of the FNO paper.

``u_t + (u^2/2)_x = nu u_xx`` on the periodic interval ``[0, 1)``, ``u0 ~ N(0, 625 (-Laplacian + 25 I)^-2)``
(``sigma = 25``, ``tau = 5``, ``alpha = 2``), ``nu = 0.1`` and ``T = 1`` by default. Fourier
pseudo-spectral ETDRK4 on the output grid ``x_j = j/n`` (:mod:`sciml.components.solvers.burgers`).
Arrays ``x`` (``u0``) and ``y`` (``u(T)``), shape (sample, 1, n); with ``snapshots > 0`` also
``trajectory`` (sample, snapshots + 1, n) at the times ``T k / snapshots``, ``k = 0..snapshots``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from sciml.components.data.pde_family import PDEFamilyData


class BurgersData(PDEFamilyData):
    """1D periodic viscous Burgers u0 -> u(T), u0 a Gaussian random field; pseudo-spectral ETDRK4."""

    kind: Literal["burgers"] = "burgers"
    resolution: int = Field(1024, ge=4, description="grid points on [0, 1)")
    nu: float = Field(0.1, gt=0, description="viscosity")
    t_final: float = Field(1.0, gt=0, description="final time T")
    sigma: float = Field(25.0, gt=0, description="amplitude of u0's covariance sigma^2 (-Lap + tau^2)^-alpha")
    tau: float = Field(5.0, gt=0, description="inverse length scale of u0's covariance")
    alpha: float = Field(2.0, gt=0, description="smoothness exponent of u0's covariance")
    dt: float = Field(5e-3, gt=0, description="largest time step of the solver")
    snapshots: int = Field(0, ge=0, description="if > 0, also store the trajectory at this many equal intervals")

    version = "1"
    batch_size = 64

    def sample(self, split: str, seeds: Sequence[np.random.SeedSequence], shared: dict) -> dict[str, np.ndarray]:
        from sciml.components.solvers.burgers import solve_burgers
        from sciml.components.solvers.grf import periodic_grf

        n = self.split_resolution(split)
        u0 = np.concatenate([periodic_grf(np.random.default_rng(s), n, 1, self.alpha, self.tau, self.sigma) for s in seeds])
        count = max(self.snapshots, 1)
        times = self.t_final * np.arange(1, count + 1) / count
        u = solve_burgers(u0, self.nu, times, self.dt)
        out = {"x": u0[:, None].astype(np.float32), "y": u[:, -1:].astype(np.float32)}
        if self.snapshots:
            out["trajectory"] = np.concatenate([u0[:, None], u], axis=1).astype(np.float32)
        return out

    def grid_dims(self) -> int:
        return 1

    def snapshot_arrays(self) -> tuple[str, ...]:
        return ("x", "y")  # u0 and u(T): a one-step rollout (trajectory repeats them, it is no continuation)

    def describe_arrays(self) -> dict[str, str]:
        arrays = {
            "x": f"initial condition u0, (sample, 1, n) at x_j = j/n, n = {self.resolution}",
            "y": f"solution u(T = {self.t_final}), (sample, 1, n)",
        }
        if self.snapshots:
            arrays["trajectory"] = f"u at t = T k / {self.snapshots}, k = 0..{self.snapshots}: (sample, time, n)"
        return arrays
