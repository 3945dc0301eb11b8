"""Darcy flow ``-div(a grad u) = f`` on the unit square with ``u = 0`` on the boundary.

Discretization: vertex grid ``x_i = i h``, ``h = 1/(s-1)``, ``i = 0..s-1`` (the layout of the FNO
Darcy data: boundary vertices included, ``u = 0`` there). The coefficient ``a`` is given at the
vertices; the flux through the face between two neighbouring vertices uses a face coefficient, and the
standard conservative five-point scheme reads, for every interior vertex,

    (1/h^2) [ sum_faces a_face (u_P - u_neighbour) ] = f_P.

The face coefficient is the **harmonic mean** ``2 a_P a_Q / (a_P + a_Q)`` by default. The Darcy
coefficient is piecewise constant with jumps (12 / 3); across a jump the flux is continuous, and the
harmonic mean is the conductivity of the two half-cells in series, which is exact for a 1D layered
medium, while the arithmetic mean overstates the flux through a low-permeability layer. For smooth
``a`` both means are second-order accurate (they differ by ``O(h^2)``); ``mean="arithmetic"`` is
kept for comparison with data generated that way.

Solve: the matrix is symmetric positive definite with bandwidth ``s-2`` (lexicographic order), so it is
filled directly into LAPACK's symmetric band storage from the face coefficients and solved by banded
Cholesky (``dpbsv``): ``O(s^4)`` work with a small constant, no sparse-matrix assembly or fill-in
analysis. At 64x64 this is several hundred solves per second on one core (see
``benchmarks/operators.py``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.linalg import lapack

FaceMean = Literal["harmonic", "arithmetic"]


def face_coefficients(a: np.ndarray, mean: FaceMean = "harmonic") -> tuple[np.ndarray, np.ndarray]:
    """Coefficients on the faces between neighbouring vertices.

    ``a``: ``(..., s, s)`` vertex values (> 0). Returns ``(faces_0, faces_1)`` of shapes ``(..., s-1, s)``
    and ``(..., s, s-1)``: ``faces_0[..., i, j]`` joins vertices ``(i, j)`` and ``(i+1, j)``,
    ``faces_1[..., i, j]`` joins ``(i, j)`` and ``(i, j+1)``.
    """
    pairs = ((a[..., :-1, :], a[..., 1:, :]), (a[..., :-1], a[..., 1:]))
    if mean == "harmonic":
        return tuple(2 * p * q / (p + q) for p, q in pairs)
    if mean == "arithmetic":
        return tuple(0.5 * (p + q) for p, q in pairs)
    raise ValueError(f"mean must be 'harmonic' or 'arithmetic', got {mean!r}")


def stencil_band(a: np.ndarray, mean: FaceMean = "harmonic") -> np.ndarray:
    """The matrix ``h^2 * (-div(a grad .))`` on the interior vertices, in symmetric lower band storage.

    ``a``: ``(..., s, s)`` vertex values. Unknowns are the ``n = s-2`` by ``n`` interior vertices in
    row-major order (``p = i n + j``). Returns ``band`` of shape ``(..., n + 1, n^2)`` with
    ``band[..., k, p] = A[p + k, p]`` (LAPACK ``uplo = 'L'``; entries past the matrix are zero). Only the
    diagonal (``k = 0``), the neighbour along axis 1 (``k = 1``) and along axis 0 (``k = n``) are
    non-zero. Each matrix's band is Fortran-contiguous (LAPACK's layout), so ``dpbsv`` factors it in
    place without a copy.
    """
    n = a.shape[-1] - 2
    band = np.swapaxes(np.empty(a.shape[:-2] + (n * n, n + 1)), -1, -2)
    _fill_band(band, *face_coefficients(a, mean))
    return band


def _fill_band(band: np.ndarray, f0: np.ndarray, f1: np.ndarray) -> None:
    """Write the band of :func:`stencil_band` from face coefficients ``(..., s-1, s)``, ``(..., s, s-1)``
    into ``band`` ``(..., n + 1, n^2)`` (overwritten entirely, so a buffer can be reused)."""
    n = f1.shape[-2] - 2
    lead = f0.shape[:-2]
    band[...] = 0.0
    band[..., 0, :] = (f0[..., :-1, 1:-1] + f0[..., 1:, 1:-1] + f1[..., 1:-1, :-1] + f1[..., 1:-1, 1:]).reshape(lead + (n * n,))
    off1 = -f1[..., 1:-1, 1:]
    off1[..., -1] = 0.0  # the last vertex of a row has no interior neighbour along axis 1
    band[..., 1, :] = off1.reshape(lead + (n * n,))
    band[..., n, : n * (n - 1)] = -f0[..., 1:-1, 1:-1].reshape(lead + (n * (n - 1),))


def solve_darcy(a: np.ndarray, f: np.ndarray | float = 1.0, mean: FaceMean = "harmonic") -> np.ndarray:
    """Solve ``-div(a grad u) = f`` on ``[0, 1]^2`` with ``u = 0`` on the boundary, for one or many ``a``.

    ``a``: ``(..., s, s)`` coefficients at the vertices (> 0), ``f``: scalar or an array broadcastable
    to ``a`` (only interior values are used). The face coefficients of the whole batch are computed at
    once; each system is then written into one reused band buffer and factored and solved in place
    by one LAPACK ``dpbsv`` call. Returns ``u``: ``(..., s, s)``, zero on the boundary.
    """
    a = np.asarray(a, dtype=float)
    s = a.shape[-1]
    if a.ndim < 2 or a.shape[-2] != s or s < 3:
        raise ValueError(f"a must be square grids of at least 3x3 vertices, got shape {a.shape}")
    n = s - 2
    h = 1.0 / (s - 1)
    flat = a.reshape(-1, s, s)
    f0, f1 = face_coefficients(flat, mean)
    rhs = (np.broadcast_to(np.asarray(f, dtype=float), a.shape).reshape(-1, s, s)[:, 1:-1, 1:-1] * h**2).reshape(-1, n * n)
    band = np.empty((n * n, n + 1)).T
    u = np.zeros(flat.shape)
    for i, b in enumerate(rhs):
        _fill_band(band, f0[i], f1[i])
        _, x, info = lapack.dpbsv(band, b, lower=1, overwrite_ab=1, overwrite_b=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"banded Cholesky failed (info={info}): is a > 0 everywhere?")
        u[i, 1:-1, 1:-1] = x.reshape(n, n)
    return u.reshape(a.shape)


def darcy_coefficient(field: np.ndarray, high: float = 12.0, low: float = 3.0) -> np.ndarray:
    """The two-phase coefficient of the FNO benchmark: ``high`` where ``field >= 0``, ``low`` elsewhere."""
    return np.where(field >= 0, high, low)
