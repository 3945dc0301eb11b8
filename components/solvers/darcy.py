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

Solve: red-black Schur complement, then banded Cholesky. Colour the interior vertices like a
checkerboard; the five-point stencil couples each vertex only to the other colour, so the block of the
more numerous colour ("red") is diagonal and is eliminated exactly. What remains is the Schur
complement on the other colour ("black"), ``S = A_bb - A_br D_r^-1 A_rb``: symmetric positive definite,
a nine-point stencil on half the unknowns, with bandwidth ``s-2`` in row-major order. It is filled
directly into LAPACK's symmetric band storage from the face coefficients (no sparse assembly) and
solved by banded Cholesky (``dpbsv``); the red values follow from ``x_r = D_r^-1 (b_r - A_rb x_b)``.
Band Cholesky costs ``O(unknowns * bandwidth^2)``, so halving the unknowns at the same bandwidth halves
the factorization, which is ~90 % of a solve (``benchmarks/operators.py`` measures it against the full
five-point band and ``scipy.sparse.linalg.spsolve``). Written by hand because scipy has no banded or
red-black elimination of a stencil; sparse direct solvers (SuperLU) were measured slower at this size.
"""

from __future__ import annotations

import functools
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
    to ``a`` (only interior values are used). The couplings, the Schur complements and the right-hand
    sides of 8 systems at a time are computed by array operations; each Schur band is then written into
    one reused buffer and factored and solved in place by one LAPACK ``dpbsv`` call (module
    docstring). Returns ``u``: ``(..., s, s)``, zero on the boundary.
    """
    a = np.asarray(a, dtype=float)
    s = a.shape[-1]
    if a.ndim < 2 or a.shape[-2] != s or s < 3:
        raise ValueError(f"a must be square grids of at least 3x3 vertices, got shape {a.shape}")
    flat = a.reshape(-1, s, s)
    rhs = np.broadcast_to(np.asarray(f, dtype=float), a.shape).reshape(-1, s, s)[:, 1:-1, 1:-1] / (s - 1) ** 2
    u = np.zeros(flat.shape)
    for start in range(0, len(flat), _CHUNK):
        chunk = slice(start, start + _CHUNK)
        u[chunk, 1:-1, 1:-1] = _solve_interior(flat[chunk], rhs[chunk], mean)
    return u.reshape(a.shape)


_CHUNK = 8
"""Systems assembled together: their ``(8, s, s)`` arrays stay in cache (measured 1.12x over 64 at 64x64)."""


def _solve_interior(a: np.ndarray, rhs: np.ndarray, mean: FaceMean) -> np.ndarray:
    """Interior values ``(B, n, n)`` for coefficients ``a`` ``(B, s, s)`` and ``h^2 f`` ``(B, n, n)``."""
    f0, f1 = face_coefficients(a, mean)
    # interior couplings: south[i, j] joins (i, j)-(i+1, j), east[i, j] joins (i, j)-(i, j+1)
    south, east = np.ascontiguousarray(f0[:, 1:-1, 1:-1]), np.ascontiguousarray(f1[:, 1:-1, 1:-1])
    diag = f0[:, :-1, 1:-1] + f0[:, 1:, 1:-1] + f1[:, 1:-1, :-1] + f1[:, 1:-1, 1:]
    order = _red_black_order(a.shape[-1] - 2)
    inv_red = np.where(order.red, 1.0 / diag, 0.0)  # D_r^-1 on red vertices, 0 on black ones

    schur_rhs = (rhs + _neighbour_sum(rhs * inv_red, south, east))[:, order.rows, order.cols]
    values = _schur_band_values(diag, south, east, inv_red, order)
    buffer = np.empty((order.count, order.bandwidth + 1))  # C order: its transpose is LAPACK's layout
    black = np.empty((len(values), order.count))
    systems = zip(values, schur_rhs) if order.count else ()  # s = 3: one red vertex, no black system
    for i, (band_values, b) in enumerate(systems):
        buffer.fill(0.0)
        buffer.ravel()[order.band_index] = band_values
        _, black[i], info = lapack.dpbsv(buffer.T, b, lower=1, overwrite_ab=1, overwrite_b=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"banded Cholesky failed (info={info}): is a > 0 everywhere?")
    interior = np.zeros(rhs.shape)
    interior[:, order.rows, order.cols] = black
    interior += (rhs + _neighbour_sum(interior, south, east)) * inv_red
    return interior


def _neighbour_sum(v: np.ndarray, south: np.ndarray, east: np.ndarray) -> np.ndarray:
    """``sum_Q c_PQ v_Q`` over the four neighbours ``Q`` of each vertex ``P`` (``-`` the off-diagonal
    part of the matrix applied to ``v``). ``v``: ``(B, n, n)``; couplings ``(B, n-1, n)``, ``(B, n, n-1)``."""
    out = np.zeros(v.shape)
    out[:, :-1, :] += south * v[:, 1:, :]
    out[:, 1:, :] += south * v[:, :-1, :]
    out[:, :, :-1] += east * v[:, :, 1:]
    out[:, :, 1:] += east * v[:, :, :-1]
    return out


def _schur_band_values(
    diag: np.ndarray, south: np.ndarray, east: np.ndarray, inv_red: np.ndarray, order: _RedBlackOrder
) -> np.ndarray:
    """Entries of ``S = A_bb - A_br D_r^-1 A_rb`` in the order of ``order.band_index``: ``(B, entries)``.

    ``S_PP = d_P - sum_R c_PR^2 / d_R`` over the red neighbours ``R`` of ``P``; between black vertices
    ``P`` and ``Q`` two steps apart, ``S_PQ = -sum_R c_PR c_RQ / d_R`` over their common red neighbours
    (one for ``Q = P + (0, 2)`` or ``(2, 0)``, two for the diagonal ``Q = P + (1, +-1)``). Each array
    below is indexed by ``P``; inputs as in :func:`_solve_interior`, ``inv_red`` ``(B, n, n)``.
    """
    w = inv_red
    couplings = {
        "diag": diag - _neighbour_sum(w, south**2, east**2),
        "east2": east[:, :, :-1] * east[:, :, 1:] * w[:, :, 1:-1],
        "south2": south[:, :-1, :] * south[:, 1:, :] * w[:, 1:-1, :],
        "south_east": east[:, :-1, :] * south[:, :, 1:] * w[:, :-1, 1:] + south[:, :, :-1] * east[:, 1:, :] * w[:, 1:, :-1],
        "south_west": east[:, :-1, :] * south[:, :, :-1] * w[:, :-1, :-1] + south[:, :, 1:] * east[:, 1:, :] * w[:, 1:, 1:],
    }
    parts = [
        (1.0 if name == "diag" else -1.0) * couplings[name][:, rows, cols] for name, (rows, cols) in order.entries.items()
    ]
    return np.concatenate(parts, axis=1)


class _RedBlackOrder:
    """Index maps of the red-black elimination on an ``n x n`` interior grid.

    Black vertices are those with ``i + j`` odd (the smaller colour when ``n`` is odd), numbered in
    row-major order: ``rows``, ``cols`` (``count`` each). ``entries[name]`` gives, for each Schur
    coupling kind of :func:`_schur_band_values`, the ``(rows, cols)`` into that kind's array of the
    black vertices ``P`` that have such a neighbour; ``band_index`` the matching flat positions in a
    C-ordered ``(count, bandwidth + 1)`` buffer whose transpose is LAPACK's lower band storage
    (``buffer[p, k] = S[p + k, p]``).
    """

    def __init__(self, n: int):
        i, j = np.indices((n, n))
        self.red = (i + j) % 2 == 0
        self.rows, self.cols = np.nonzero(~self.red)
        self.count = len(self.rows)
        number = np.full((n, n), -1)
        number[self.rows, self.cols] = np.arange(self.count)
        # kind -> (offset of the neighbour Q from P, offset of P's index in the kind's array)
        kinds = {
            "diag": ((0, 0), (0, 0)),
            "east2": ((0, 2), (0, 0)),
            "south2": ((2, 0), (0, 0)),
            "south_east": ((1, 1), (0, 0)),
            "south_west": ((1, -1), (0, -1)),  # that array starts at column 1
        }
        self.entries, index, bandwidth = {}, [], 0
        for name, ((di, dj), (si, sj)) in kinds.items():
            qi, qj = self.rows + di, self.cols + dj
            has = (qi >= 0) & (qi < n) & (qj >= 0) & (qj < n)
            p, q = number[self.rows[has], self.cols[has]], number[qi[has], qj[has]]
            self.entries[name] = (self.rows[has] + si, self.cols[has] + sj)
            index.append((p, q - p))
            bandwidth = max(bandwidth, int((q - p).max(initial=0)))
        self.bandwidth = bandwidth
        self.band_index = np.concatenate([p * (bandwidth + 1) + k for p, k in index])


@functools.lru_cache(maxsize=8)
def _red_black_order(n: int) -> _RedBlackOrder:
    return _RedBlackOrder(n)


def darcy_coefficient(field: np.ndarray, high: float = 12.0, low: float = 3.0) -> np.ndarray:
    """The two-phase coefficient of the FNO benchmark: ``high`` where ``field >= 0``, ``low`` elsewhere."""
    return np.where(field >= 0, high, low)
