"""Data kind ``poisson``: right-hand sides of one Poisson system ``A x = b`` on a masked grid, for DCDM.

The system is the 5-/7-point Laplacian of :mod:`sciml.components.solvers.stencil` on an ``n^dim``
grid with an obstacle (:class:`Obstacle`); walls and solid faces are Dirichlet or Neumann. Every sample
is a unit-norm ``b`` (zero on solid cells, zero mean on every all-Neumann fluid region) stored as a grid
array ``(sample, 1, n, ..., n)``.

- ``train`` / ``val``: the recipe of Kaneda et al. (ICML 2023, Sec. 3.3). ``lanczos_steps = m`` steps of
  Lanczos with full reorthogonalization, started from ``A v``, give Ritz vectors ``y_1..y_m`` (ascending
  Ritz values); a sample is ``b = sum_j c_j y_j / ||.||`` with ``c_j ~ N(0, 1)``, times
  ``low_mode_weight`` (9) for the lowest ``m/2 + theta`` modes, so training sees mostly the smooth
  modes that CG resolves slowest. The paper used m = 10,000 and 20,000 samples at 64^3; the defaults
  here (m = 200, theta = 10) fit a 2-core, 24 GiB machine (the basis takes ``8 m n_fluid`` bytes while
  it is built; 64^3 with m = 400 is 0.8 GB).
- ``test``: held-out right-hand sides of the kinds in ``test_rhs``, sample ``i`` of kind
  ``test_rhs[i % len(test_rhs)]``: ``random`` (white noise), ``smooth`` (noise under a Gaussian filter of
  width ``n/10`` cells), ``divergence`` (the discrete divergence of a random face-velocity field that is
  zero through walls and solid faces: the pressure-projection case the paper targets).

Shared arrays: ``mask`` (the fluid mask) and ``ritz_values``. The Ritz basis is kept in memory for the
generation only; it is too large to store once per split file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, PrivateAttr, model_validator

from sciml.components.base import Component, DataConfig
from sciml.components.solvers import geometry

RhsKind = Literal["random", "smooth", "divergence"]


class Obstacle(Component):
    """The solid part of the grid; sizes and positions are fractions of the grid, so one spec scales with n.

    ``sphere``: cells whose centre is within ``radius * n`` of ``centre * (n - 1)`` are solid (the
    benchmark ball: centre [0.5, 0.4, 0.5], radius 0.2). ``box``: centres between ``lower * (n-1)`` and
    ``upper * (n-1)``. ``blobs``: ``count`` balls with radii in ``radius_range * n`` at random centres
    (``seed``). ``file``: a boolean ``.npy`` of shape ``(n,) * dim``, nonzero = fluid.
    """

    kind: Literal["none", "sphere", "box", "blobs", "file"] = "none"
    centre: list[float] = Field([0.5, 0.4, 0.5], description="sphere: centre / (n - 1), one entry per dim")
    radius: float = Field(0.2, gt=0, description="sphere: radius / n")
    lower: list[float] = Field([0.3, 0.3, 0.3], description="box: lower corner / (n - 1)")
    upper: list[float] = Field([0.6, 0.6, 0.6], description="box: upper corner / (n - 1)")
    count: int = Field(4, ge=1, description="blobs: number of balls")
    radius_range: tuple[float, float] = Field((0.05, 0.15), description="blobs: radius range / n")
    seed: int = Field(0, description="blobs: seed of the centres and radii")
    path: str | None = Field(None, description="file: path of the .npy mask")

    @model_validator(mode="after")
    def _file_needs_path(self) -> Obstacle:
        if self.kind == "file" and not self.path:
            raise ValueError("obstacle kind 'file' needs path: the .npy file of the fluid mask")
        return self

    def mask(self, n: int, dim: int) -> np.ndarray:
        """The fluid mask, bool ``(n,) * dim``."""
        def cells(point: list[float]) -> tuple[float, ...]:
            return tuple(c * (n - 1) for c in point[:dim])

        if self.kind == "none":
            return geometry.empty(n, dim)
        if self.kind == "sphere":
            return geometry.sphere(n, dim, cells(self.centre), self.radius * n)
        if self.kind == "box":
            return geometry.box(n, dim, cells(self.lower), cells(self.upper))
        if self.kind == "blobs":
            lo, hi = self.radius_range
            return geometry.blobs(n, dim, self.count, (lo * n, hi * n), self.seed)
        return geometry.from_file(Path(self.path), n, dim)


class PoissonData(DataConfig):
    """Poisson systems on a masked 2D/3D grid: Lanczos-Ritz training right-hand sides, held-out test kinds."""

    kind: Literal["poisson"] = "poisson"
    role = "linear_system"
    grid: int = Field(32, ge=4, description="cells per side, n")
    dim: Literal[2, 3] = Field(3, description="spatial dimensions")
    walls: Literal["neumann", "dirichlet"] = Field("neumann", description="condition on the box faces")
    solid: Literal["neumann", "dirichlet"] = Field("neumann", description="condition on fluid-solid faces")
    obstacle: Obstacle = Obstacle()
    lanczos_steps: int = Field(200, ge=2, description="m: Lanczos steps / Ritz vectors (paper: 10,000)")
    theta: int = Field(10, ge=0, description="the lowest m/2 + theta Ritz modes get low_mode_weight (paper: 500)")
    low_mode_weight: float = Field(9.0, gt=0, description="coefficient scale of the low modes (paper: 9)")
    train: int = Field(1000, ge=1, description="training samples (paper: 20,000)")
    val: int = Field(100, ge=1, description="validation samples")
    test: int = Field(12, ge=1, description="test samples")
    test_rhs: list[RhsKind] = Field(["random", "smooth", "divergence"], min_length=1)

    version = "1"
    batch_size = 32

    _ritz: dict = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _fits(self) -> PoissonData:
        if self.lanczos_steps > self.grid**self.dim:
            raise ValueError(f"lanczos_steps ({self.lanczos_steps}) exceeds the number of cells ({self.grid**self.dim})")
        for name in {"sphere": ["centre"], "box": ["lower", "upper"]}.get(self.obstacle.kind, []):
            if len(getattr(self.obstacle, name)) < self.dim:
                raise ValueError(f"obstacle.{name} needs {self.dim} coordinates (dim={self.dim}), got {getattr(self.obstacle, name)}")
        if self.lanczos_steps // 2 + self.theta > self.lanczos_steps:
            raise ValueError(f"theta ({self.theta}) exceeds lanczos_steps / 2 ({self.lanczos_steps // 2})")
        return self

    def split_sizes(self) -> dict[str, int]:
        return {"train": self.train, "val": self.val, "test": self.test}

    def input_files(self) -> list[str]:
        return [self.obstacle.path] if self.obstacle.kind == "file" else []

    def fluid_mask(self) -> np.ndarray:
        """The fluid mask of the system, bool ``(grid,) * dim``."""
        return self.obstacle.mask(self.grid, self.dim)

    def operator(self, mask: np.ndarray | None = None):
        """The matrix-free :class:`~sciml.components.solvers.stencil.StencilOperator` of the system."""
        from sciml.components.solvers.stencil import StencilOperator

        return StencilOperator(self.fluid_mask() if mask is None else mask, walls=self.walls, solid=self.solid)

    def setup(self, seed: int) -> dict[str, np.ndarray]:
        mask = self.fluid_mask()
        if not mask.any():
            raise ValueError(f"data.obstacle: the obstacle covers the whole {self.grid}^{self.dim} grid")
        return {"mask": mask, "ritz_values": self._ritz_pairs(mask, seed)[0], "lanczos_seed": np.asarray(seed)}

    def _ritz_pairs(self, mask: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Ritz values ``(k,)`` and vectors ``(k, n_fluid)`` float32, computed once per seed."""
        if seed not in self._ritz:
            from sciml.components.solvers.lanczos import lanczos

            op = self.operator(mask)
            a = op.to_scipy()
            result = lanczos(lambda v: a @ v, a.shape[0], self.lanczos_steps, seed, project=op.projection("fluid").numpy)
            self._ritz = {seed: (result.ritz_values, result.ritz_vectors.astype(np.float32))}
        return self._ritz[seed]

    def sample(self, split: str, seeds: Sequence[np.random.SeedSequence], shared: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        mask = shared["mask"].astype(bool)
        out = np.zeros((len(seeds), 1, *mask.shape), dtype=np.float32)
        if split == "test":
            kinds = np.zeros(len(seeds), dtype=np.int8)
            for i, s in enumerate(seeds):
                # the sample's index in its split (the pipeline's spawn key), so kinds cycle over samples
                kinds[i] = (s.spawn_key[-1] if s.spawn_key else i) % len(self.test_rhs)
                out[i, 0] = held_out_rhs(self.test_rhs[kinds[i]], mask, self.walls, self.solid, np.random.default_rng(s))
            return {"b": out, "rhs_kind": kinds}
        values, vectors = self._ritz_pairs(mask, int(shared["lanczos_seed"]))
        cut = len(values) // 2 + self.theta
        for i, s in enumerate(seeds):
            coef = np.random.default_rng(s).standard_normal(len(values))
            coef[:cut] *= self.low_mode_weight
            b = coef.astype(np.float32) @ vectors
            out[i, 0][mask] = b / np.linalg.norm(b)
        return {"b": out}

    def describe_arrays(self) -> dict[str, str]:
        grid = ", ".join(["n"] * self.dim)
        return {
            "b": f"unit-norm right-hand side on the grid, zero on solid cells, (sample, 1, {grid}), n = {self.grid}; "
            f"test sample i is of kind test_rhs[i % {len(self.test_rhs)}] = {self.test_rhs}",
            "rhs_kind": f"test split only: index of the sample's kind in test_rhs = {self.test_rhs}, (sample,)",
        }


def held_out_rhs(kind: RhsKind, mask: np.ndarray, walls: str, solid: str, rng: np.random.Generator) -> np.ndarray:
    """A unit-norm held-out right-hand side on the grid: float32 ``mask.shape``, zero on solid cells.

    ``random`` and ``smooth`` are projected to zero mean on every singular region; ``divergence`` has
    zero mean there by construction (the fluxes through a region's boundary are zero).
    """
    import scipy.ndimage

    from sciml.components.solvers.stencil import StencilOperator, face_weights

    n = mask.shape[0]
    if kind == "divergence":
        # face velocities, smoothed over ~2 cells, zero on faces that are not between two fluid cells
        weights = face_weights(mask)
        b = np.zeros(mask.shape)
        for axis in range(mask.ndim):
            u = scipy.ndimage.gaussian_filter(rng.standard_normal(mask.shape), sigma=2.0) * weights[axis]
            b += u - np.roll(u, -1, axis=axis)  # -(u[i+1] - u[i]): b = -div u
    else:
        b = rng.standard_normal(mask.shape)
        if kind == "smooth":
            b = scipy.ndimage.gaussian_filter(b, sigma=n / 10)
        b = StencilOperator(mask, walls=walls, solid=solid).projection("grid").numpy(b * mask)
    b = b * mask
    return (b / np.linalg.norm(b)).astype(np.float32)
