"""Fluid masks on a cell grid: empty box, sphere, box obstacle, random blobs, or a mask from ``.npy``.

A grid has ``n`` cells per side in ``dim`` (2 or 3) dimensions; cell ``i`` has its centre at the
integer coordinate ``i`` (cell units, ``0 .. n-1`` along each axis). A mask is a boolean array of
shape ``(n,) * dim``: ``True`` marks a fluid cell (an unknown of the Poisson system), ``False`` a
solid cell. Obstacles are given in cell units so a geometry scales with ``n`` when its sizes are
given as fractions of ``n`` by the caller (``benchmark_ball`` does exactly that).

Pure numpy: data configs import this module without torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def cell_centres(n: int, dim: int) -> list[np.ndarray]:
    """Open mesh of cell-centre coordinates: ``dim`` arrays broadcastable to ``(n,) * dim`` (cell units)."""
    return list(np.ogrid[tuple(slice(0, n) for _ in range(dim))])


def empty(n: int, dim: int) -> np.ndarray:
    """All-fluid mask, shape ``(n,) * dim``."""
    return np.ones((n,) * dim, dtype=bool)


def sphere(n: int, dim: int, centre: tuple[float, ...], radius: float) -> np.ndarray:
    """Mask with a solid ball (disc in 2D): a cell is solid when its centre lies inside the ball.

    ``centre`` (dim,) and ``radius`` are in cell units; returns shape ``(n,) * dim``.
    """
    if len(centre) != dim:
        raise ValueError(f"sphere centre has {len(centre)} coordinates, the grid has dim={dim}")
    dist2 = sum((x - c) ** 2 for x, c in zip(cell_centres(n, dim), centre))
    return ~(dist2 < radius**2)


def box(n: int, dim: int, lower: tuple[float, ...], upper: tuple[float, ...]) -> np.ndarray:
    """Mask with a solid axis-aligned box: cells whose centre ``x`` has ``lower <= x <= upper`` are solid."""
    if len(lower) != dim or len(upper) != dim:
        raise ValueError(f"box corners need {dim} coordinates each, got {len(lower)} and {len(upper)}")
    inside = np.ones((n,) * dim, dtype=bool)
    for x, lo, hi in zip(cell_centres(n, dim), lower, upper):
        inside = inside & (x >= lo) & (x <= hi)
    return ~inside


def blobs(n: int, dim: int, count: int, radius: tuple[float, float], seed: int) -> np.ndarray:
    """Mask with ``count`` solid balls of radius uniform in ``radius`` (cell units), centres uniform in the grid.

    Deterministic in ``seed`` (``numpy.random.default_rng``); the balls may overlap or cut the walls.
    """
    rng = np.random.default_rng(seed)
    mask = empty(n, dim)
    for _ in range(count):
        centre = tuple(rng.uniform(0, n - 1, size=dim))
        mask &= sphere(n, dim, centre, rng.uniform(*radius))
    return mask


def from_file(path: str | Path, n: int, dim: int) -> np.ndarray:
    """Load a mask saved with ``numpy.save``: any array of shape ``(n,) * dim``, nonzero = fluid."""
    from sciml.pipelines.errors import SpecError, user_file

    with user_file("obstacle.path", path) as path:
        arr = np.load(path, allow_pickle=False)
    if arr.shape != (n,) * dim:
        raise SpecError(f"obstacle.path: mask file {str(path)!r} has shape {arr.shape}, expected {(n,) * dim}")
    return arr.astype(bool)


def benchmark_ball(n: int, dim: int = 3) -> np.ndarray:
    """The issue's reference geometry: a solid ball of radius ``0.2 n`` at ``(c, 0.8 c, c)``, ``c = (n-1)/2``."""
    c = (n - 1) / 2
    centre = (c, 0.8 * c, c)[:dim]
    return sphere(n, dim, centre, 0.2 * n)
