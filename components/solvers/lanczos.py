"""Lanczos with full reorthogonalization, and the Ritz pairs of the resulting tridiagonal matrix.

Used to build the DCDM training set (Kaneda et al., ICML 2023, Sec. 3.3): the Krylov space is started
from ``A v`` with ``v`` random, so for a singular ``A`` it lies in the range of ``A`` and no Ritz vector
is a null vector. Each new basis vector is orthogonalized against *all* previous ones twice (classical
Gram-Schmidt applied twice, "CGS2"), which keeps ``Q^T Q = I`` to rounding: plain three-term Lanczos
loses orthogonality as Ritz values converge and produces spurious copies of them.

Memory: the basis is ``(m, n)`` float64, ``8 m n`` bytes (m = 400 at 32^3 is 100 MB).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg


@dataclass
class LanczosResult:
    """Lanczos basis and Ritz pairs.

    Attributes:
        basis: ``(k, n)`` orthonormal rows ``q_1 .. q_k`` spanning the Krylov space (k <= m: fewer when
            the space became invariant).
        alpha: ``(k,)`` diagonal and ``beta``: ``(k-1,)`` off-diagonal of ``T = Q A Q^T``.
        ritz_values: ``(k,)`` eigenvalues of ``T``, ascending.
        ritz_vectors: ``(k, n)`` rows ``y_j = Q^T s_j``, unit norm, in the order of ``ritz_values``.
        residual_norms: ``(k,)`` ``||A y_j - theta_j y_j|| = |beta_k s_{k,j}|`` (0 for an invariant space).
    """

    basis: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    ritz_values: np.ndarray
    ritz_vectors: np.ndarray
    residual_norms: np.ndarray


def lanczos(
    matvec: Callable[[np.ndarray], np.ndarray],
    n: int,
    m: int,
    seed: int,
    project: Callable[[np.ndarray], np.ndarray] | None = None,
    breakdown: float = 1e-10,
) -> LanczosResult:
    """``m`` steps of Lanczos on the symmetric operator ``matvec`` ((n,) -> (n,)), started from ``A v``.

    ``v`` is standard normal from ``numpy.random.default_rng(seed)``. ``project`` (for a singular
    ``A``: the projection onto its range) is applied to every new basis vector; without it, rounding
    in the orthogonalization slowly feeds the null space (~1e-10 after 60 steps). The iteration stops
    early when the next off-diagonal falls below ``breakdown`` times the norm of ``A q_j`` (invariant
    subspace).
    """
    if m < 1 or m > n:
        raise ValueError(f"lanczos: the number of steps m must be in [1, n={n}], got {m}")
    rng = np.random.default_rng(seed)
    start = matvec(rng.standard_normal(n))
    basis = np.zeros((m, n))
    basis[0] = start / np.linalg.norm(start)
    alpha = np.zeros(m)
    beta = np.zeros(m)  # beta[j] couples q_j and q_{j+1}; beta[k-1] is the residual coupling
    k = m
    for j in range(m):
        w = matvec(basis[j])
        scale = np.linalg.norm(w)
        alpha[j] = basis[j] @ w
        for _ in range(2):  # CGS2 against the whole basis
            w -= basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta[j] = np.linalg.norm(w)
        if beta[j] <= breakdown * scale:
            k = j + 1
            beta[j] = 0.0
            break
        if j + 1 < m:
            basis[j + 1] = (project(w) if project is not None else w) / beta[j]
    basis, alpha = basis[:k], alpha[:k]
    values, vectors = scipy.linalg.eigh_tridiagonal(alpha, beta[: k - 1])
    return LanczosResult(
        basis=basis,
        alpha=alpha,
        beta=beta[: k - 1],
        ritz_values=values,
        ritz_vectors=vectors.T @ basis,
        residual_norms=np.abs(beta[k - 1] * vectors[-1]),
    )
