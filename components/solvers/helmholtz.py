"""Helmholtz equation ``-Laplacian u - (omega / c(x))^2 u = f`` on the unit square, ``u = 0`` on the boundary.

The wave-speed field ``c`` (> 0) sets the local wavenumber ``k(x) = omega / c(x)``. The boundary is
sound-soft (homogeneous Dirichlet): a closed, reflecting cavity. Such a cavity has resonances, at the
Dirichlet eigenvalues ``lambda`` of ``-Laplacian``, where the problem is singular. If every value of
``k^2`` lies strictly inside one gap ``(lambda_j, lambda_{j+1})`` of the spectrum, the min-max principle
puts every eigenvalue of ``-Laplacian - k^2`` at distance at least
``min(k_min^2 - lambda_j, lambda_{j+1} - k_max^2)`` from zero, so the problem is uniquely and stably
solvable for every such ``c``; :func:`resonance_gap` computes that distance for the discrete operator
(the generator rejects parameters for which it is not positive).

Discretization: the same vertex grid and five-point stencil as :mod:`sciml.components.solvers.darcy`
(with coefficient 1), plus ``-k^2`` on the diagonal; the matrix is symmetric but indefinite, so it is
solved by banded LU with partial pivoting (``scipy.linalg.solve_banded``). Second-order accurate.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_banded

from sciml.components.solvers.darcy import stencil_band
from sciml.components.solvers.dst_poisson import laplacian_eigenvalues


def dirichlet_eigenvalues(s: int, count: int = 64) -> np.ndarray:
    """The ``count`` smallest eigenvalues of the five-point ``-Laplacian`` on an ``s x s`` vertex grid, sorted."""
    return np.sort(laplacian_eigenvalues((s - 2, s - 2)).ravel())[:count]


def resonance_gap(s: int, k2_min: float, k2_max: float) -> float:
    """Distance from zero of the spectrum of ``-Laplacian_h - k^2`` guaranteed for ``k^2`` in ``[k2_min, k2_max]``.

    Positive when the interval lies inside one gap of the discrete Dirichlet spectrum; otherwise the
    (non-positive) overlap with the nearest eigenvalue.
    """
    lam = np.concatenate([[-np.inf], dirichlet_eigenvalues(s, count=(s - 2) ** 2)])
    j = np.searchsorted(lam, k2_min) - 1  # lam[j] < k2_min <= lam[j+1]
    upper = lam[j + 1] if j + 1 < len(lam) else np.inf
    return float(min(k2_min - lam[j], upper - k2_max))


def solve_helmholtz(k2: np.ndarray, f: np.ndarray | float) -> np.ndarray:
    """Solve ``-Laplacian u - k2 u = f`` on ``[0, 1]^2`` with ``u = 0`` on the boundary.

    ``k2``: ``(s, s)`` squared wavenumber ``(omega/c)^2`` at the vertices (units 1/length^2);
    ``f``: scalar or ``(s, s)`` source. Returns ``u``: ``(s, s)``, zero on the boundary.
    """
    s = k2.shape[0]
    if k2.shape != (s, s) or s < 3:
        raise ValueError(f"k2 must be a square grid of at least 3x3 vertices, got shape {k2.shape}")
    n, h = s - 2, 1.0 / (s - 1)
    sym = stencil_band(np.ones((s, s)))
    sym[0] -= h**2 * k2[1:-1, 1:-1].ravel()
    full = np.zeros((2 * n + 1, n * n))  # LAPACK general band storage: full[n + i - j, j] = A[i, j]
    for k in range(n + 1):
        full[n + k, : n * n - k] = sym[k, : n * n - k]
        full[n - k, k:] = sym[k, : n * n - k]
    rhs = np.broadcast_to(np.asarray(f, dtype=float), (s, s))[1:-1, 1:-1].ravel() * h**2
    u = np.zeros((s, s))
    u[1:-1, 1:-1] = solve_banded((n, n), full, rhs, overwrite_ab=True, check_finite=False).reshape(n, n)
    return u
