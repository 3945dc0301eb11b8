"""Baseline Krylov solvers for SPD (and singular, consistent) sparse systems: CG, IC(0)-PCG, AMG-PCG.

One stopping rule for every solver in sciml: start from ``x0 = 0`` and stop at the first iteration
with ``||r_k|| / ||b|| <= tol`` (2-norms of the unpreconditioned residual). Each solver returns a
:class:`SolveResult` with the iteration count, the relative-residual history, the number of products
with ``A``, and the setup and solve wall times.

What is library code and what is hand-written, and why:

- The preconditioners come from libraries: ``pyamg.smoothed_aggregation_solver`` and
  ``pyamg.ruge_stuben_solver`` (one V-cycle per application), and SuperLU's triangular solves
  (``scipy.sparse.linalg.splu`` on an already triangular factor, natural ordering, so it only solves).
- The IC(0) factor is computed here: scipy has no incomplete Cholesky (``spilu`` is a threshold ILU
  with fill, not IC(0), and is not symmetric). For 5/7-point stencils IC(0) in natural order keeps
  the pattern of ``A``: ``M = (D + L) D^-1 (D + L)^T`` with ``L`` the strict lower part of ``A`` and
  ``d_i = a_ii - sum_{j<i} a_ij^2 / d_j`` (the fill of ``L D^-1 L^T`` falls outside the pattern and
  is dropped). The recurrence runs in wavefronts ``i_1 + ... + i_dim = s`` on the grid, vectorized.
- The PCG loop is written here (about 20 lines) because ``scipy.sparse.linalg.cg`` exposes neither
  the residual norm per iteration (its callback gets only ``x_k``; recomputing ``b - A x_k`` there
  would double the matvecs and distort the timings) nor a matvec count, and pyamg's ``solve`` stops
  on a preconditioned norm. The loop records the recursive residual ``r_k`` it stops on and, after
  the last iteration, the true residual ``||b - A x||`` (one extra matvec, counted).

Singular systems (all-Neumann regions): ``b`` must lie in the range of ``A`` (zero mean per singular
region). ``project`` (a :class:`~sciml.components.solvers.stencil.MeanZeroProjection` on fluid
vectors) is applied to the preconditioned residual, which keeps ``P M^-1 P`` symmetric and
positive definite on the range, and to the returned solution.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

Vector = np.ndarray
Preconditioner = Callable[[Vector], Vector]


@dataclass
class SolveResult:
    """The record every sciml solver returns.

    Attributes:
        x: solution, shape of ``b`` (float64).
        iterations: iterations taken (0 when ``b = 0``).
        residuals: ``||r_k|| / ||b||`` for ``k = 0 .. iterations``, shape ``(iterations + 1,)``.
        matvecs: products with ``A`` (including the final true-residual check).
        setup_seconds: wall time of building the preconditioner (or loading nothing: 0).
        solve_seconds: wall time of the iteration.
        converged: whether ``residuals[-1] <= tol``.
        true_residual: ``||b - A x|| / ||b||`` of the returned ``x``.
        network_calls: evaluations of a learned direction (DCDM), 0 for classical solvers.
    """

    x: np.ndarray
    iterations: int
    residuals: np.ndarray
    matvecs: int
    setup_seconds: float
    solve_seconds: float
    converged: bool
    true_residual: float
    network_calls: int = 0

    def iterations_to(self, tol: float) -> int | None:
        """First iteration whose relative residual is ``<= tol``; None when never reached."""
        hit = np.flatnonzero(self.residuals <= tol)
        return int(hit[0]) if hit.size else None


def _identity(v: Vector) -> Vector:
    return v


def pcg(
    A: sp.spmatrix,
    b: Vector,
    tol: float,
    max_iters: int,
    precondition: Preconditioner | None = None,
    project: Callable[[Vector], Vector] | None = None,
    setup_seconds: float = 0.0,
) -> SolveResult:
    """Preconditioned CG from ``x0 = 0`` until ``||r|| / ||b|| <= tol`` or ``max_iters``.

    Shapes: ``A`` (n, n) SPD or consistent singular, ``b`` (n,). ``precondition`` applies ``M^-1``
    (identity when None); ``project`` maps onto the range of ``A`` (see the module docstring).
    """
    b = np.asarray(b, dtype=np.float64)
    start = time.perf_counter()
    norm_b = float(np.linalg.norm(b))
    x = np.zeros_like(b)
    if norm_b == 0.0:
        return SolveResult(x, 0, np.zeros(1), 0, setup_seconds, 0.0, True, 0.0)
    apply_m = precondition if precondition is not None else _identity
    proj = project if project is not None else _identity
    r = b.copy()
    z = proj(apply_m(r))
    p = z.copy()
    rz = float(r @ z)
    history = [1.0]
    matvecs = 0
    for _ in range(max_iters):
        if history[-1] <= tol:
            break
        ap = A @ p
        matvecs += 1
        alpha = rz / float(p @ ap)
        x += alpha * p
        r -= alpha * ap
        history.append(float(np.linalg.norm(r)) / norm_b)
        z = proj(apply_m(r))
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    x = proj(x)
    true_res = float(np.linalg.norm(b - A @ x)) / norm_b
    matvecs += 1
    solve = time.perf_counter() - start
    residuals = np.asarray(history)
    return SolveResult(
        x, len(history) - 1, residuals, matvecs, setup_seconds, solve, bool(residuals[-1] <= tol), true_res
    )


def ic0_preconditioner(A: sp.spmatrix, mask: np.ndarray) -> Preconditioner:
    """IC(0) of a 5/7-point matrix on the fluid unknowns of ``mask`` (C order), as ``r -> M^-1 r``.

    ``A`` must have the stencil's pattern (neighbours along grid axes only); see the module docstring.
    A pivot that the dropping drives to (nearly) zero, as in a 1D chain of Neumann cells, is reset to
    ``a_ii`` so that ``M`` stays positive definite.
    """
    A = sp.csr_matrix(A)
    n_fluid = A.shape[0]
    index = np.full(mask.shape, -1, dtype=np.int64)
    index[mask] = np.arange(n_fluid)
    lower = sp.tril(A, k=-1).tocsr()
    a_diag = A.diagonal()
    # lower neighbour of each unknown along each axis (grid index i-1) as an unknown index (-1: none),
    # and the matrix entry coupling them
    couplings = []
    for axis in range(mask.ndim):
        shifted = np.full(mask.shape, -1, dtype=np.int64)
        dst = [slice(None)] * mask.ndim
        src = [slice(None)] * mask.ndim
        dst[axis], src[axis] = slice(1, None), slice(0, -1)
        shifted[tuple(dst)] = index[tuple(src)]
        nb = shifted[mask]
        has = nb >= 0
        entry = np.zeros(n_fluid)
        entry[has] = sp.csr_array(A)[np.flatnonzero(has), nb[has]]
        couplings.append((nb, entry))
    coords = np.nonzero(mask)
    front = np.sum(coords, axis=0)  # wavefront number of each fluid unknown, C order
    order = np.argsort(front, kind="stable")
    bounds = np.searchsorted(front[order], np.arange(front.max() + 2))
    d = np.zeros(n_fluid)
    for s in range(front.max() + 1):
        rows = order[bounds[s] : bounds[s + 1]]
        pivot = a_diag[rows].copy()
        for nb, entry in couplings:
            j = nb[rows]
            has = j >= 0
            pivot[has] -= entry[rows[has]] ** 2 / d[j[has]]
        tiny = pivot <= 1e-12 * a_diag[rows]
        pivot[tiny] = a_diag[rows][tiny]
        d[rows] = pivot
    factor = (lower + sp.diags(d)).tocsc()
    lu = spla.splu(factor, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"SymmetricMode": True})

    def apply(r: Vector) -> Vector:
        y = lu.solve(r)  # (D + L) y = r
        return lu.solve(d * y, trans="T")  # (D + L)^T z = D y

    return apply


def amg_preconditioner(A: sp.spmatrix, method: str) -> Preconditioner:
    """One pyamg V-cycle as ``r -> M^-1 r``; ``method`` is ``"sa"`` (smoothed aggregation) or ``"rs"``."""
    import pyamg

    A = sp.csr_matrix(A)
    if method == "sa":
        ml = pyamg.smoothed_aggregation_solver(A, symmetry="symmetric")
    elif method == "rs":
        ml = pyamg.ruge_stuben_solver(A)
    else:
        raise ValueError(f"unknown AMG method {method!r}; use 'sa' or 'rs'")
    op = ml.aspreconditioner(cycle="V")
    return lambda r: op @ r


SOLVERS = ("cg", "ic0", "amg_sa", "amg_rs")


def solve(
    name: str,
    A: sp.spmatrix,
    b: Vector,
    tol: float,
    max_iters: int,
    mask: np.ndarray | None = None,
    project: Callable[[Vector], Vector] | None = None,
) -> SolveResult:
    """Run one of :data:`SOLVERS` on ``A x = b`` (fluid unknowns); setup time is measured here.

    ``mask`` (the grid's fluid mask) is needed by ``"ic0"`` only.
    """
    start = time.perf_counter()
    if name == "cg":
        precondition = None
    elif name == "ic0":
        if mask is None:
            raise ValueError("the ic0 solver needs the fluid mask of the grid")
        precondition = ic0_preconditioner(A, mask)
    elif name in ("amg_sa", "amg_rs"):
        precondition = amg_preconditioner(A, name.removeprefix("amg_"))
    else:
        raise ValueError(f"unknown solver {name!r}; choose one of {SOLVERS}")
    setup = time.perf_counter() - start
    return pcg(A, b, tol, max_iters, precondition, project, setup_seconds=setup)
