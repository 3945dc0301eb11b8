"""Data kind ``navier_stokes``: 2D vorticity trajectories on the torus, the FNO benchmark family.

``w_t + u . grad w = nu Laplacian w + f`` on ``[0, 1)^2`` with ``f = 0.1 (sin 2 pi (x+y) + cos 2 pi (x+y))``
and ``w0`` a zero-mean periodic Gaussian random field with covariance
``tau^(2 alpha - 2) (-Laplacian + tau^2 I)^(-alpha)`` (``alpha = 2.5``, ``tau = 7``). Pseudo-spectral
Crank-Nicolson / Heun with 2/3 dealiasing (:mod:`sciml.components.solvers.navier_stokes`), batched in
torch, solved on ``solver_resolution`` points per side and subsampled to ``resolution``.

The trajectory is recorded every ``record_interval`` time units from ``t = 0`` and stored as a time
series split in two, with time as the channel axis: ``x`` the first ``input_steps`` snapshots
(sample, input_steps, n, n) and ``y`` the next ``output_steps`` (sample, output_steps, n, n).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sciml.components.data.pde_family import PDEFamilyData


class NavierStokesData(PDEFamilyData):
    """2D Navier-Stokes vorticity on the torus with the FNO forcing; trajectories split into input and output steps."""

    kind: Literal["navier_stokes"] = "navier_stokes"
    nu: float = Field(1e-3, gt=0, description="viscosity (the FNO benchmarks use 1e-3, 1e-4, 1e-5)")
    solver_resolution: int | None = Field(None, description="solver grid (a multiple of resolution; default resolution)")
    alpha: float = Field(2.5, gt=0, description="smoothness exponent of w0's covariance")
    tau: float = Field(7.0, gt=0, description="inverse length scale of w0's covariance")
    dt: float = Field(1e-3, gt=0, description="largest time step of the solver")
    record_interval: float = Field(1.0, gt=0, description="time between stored snapshots")
    input_steps: int = Field(10, ge=1, description="snapshots in x (from t = 0)")
    output_steps: int = Field(10, ge=1, description="following snapshots in y")

    version = "1"
    batch_size = 16

    @model_validator(mode="after")
    def _check_grids(self) -> NavierStokesData:
        for n in [self.resolution, *self.test_resolutions]:
            if n % 2:
                raise ValueError(f"resolution / test_resolutions: grid sizes must be even, got {n}")
        if self.solver_resolution is not None and self.solver_resolution % self.resolution:
            raise ValueError(
                f"solver_resolution: must be a multiple of resolution ({self.resolution}), got {self.solver_resolution}"
            )
        return self

    def sample(self, split: str, seeds: Sequence[np.random.SeedSequence], shared: dict) -> dict[str, np.ndarray]:
        import torch

        from sciml.components.solvers.grf import periodic_grf
        from sciml.components.solvers.navier_stokes import VorticitySolver, fno_forcing

        n = self.split_resolution(split)
        fine = n * (self.solver_resolution // self.resolution if self.solver_resolution else 1)
        stride = fine // n
        w0 = np.concatenate([periodic_grf(np.random.default_rng(s), fine, 2, self.alpha, self.tau, zero_mean=True) for s in seeds])
        w0 = torch.from_numpy(w0)
        steps = self.input_steps + self.output_steps
        times = self.record_interval * np.arange(1, steps)
        solver = VorticitySolver(fine, self.nu, fno_forcing(fine), torch.float64, "cpu")
        w = torch.cat([w0[:, None], solver.run(w0, times.tolist(), self.dt)], dim=1)[..., ::stride, ::stride].numpy()
        return {"x": w[:, : self.input_steps].astype(np.float32), "y": w[:, self.input_steps :].astype(np.float32)}

    def grid_dims(self) -> int:
        return 2

    def snapshot_arrays(self) -> tuple[str, ...]:
        return ("x", "y")

    def describe_arrays(self) -> dict[str, str]:
        dt = self.record_interval
        return {
            "x": f"vorticity at t = 0, {dt}, ..., {dt * (self.input_steps - 1)}: (sample, time, n, n), n = {self.resolution}, x_i = i/n",
            "y": f"vorticity at the next {self.output_steps} snapshots (every {dt}): (sample, time, n, n)",
        }
