"""Lanczos basis orthogonality and Ritz values against scipy.sparse.linalg.eigsh."""

import numpy as np
import scipy.sparse.linalg as spla

from sciml.components.solvers import geometry
from sciml.components.solvers.lanczos import lanczos
from sciml.components.solvers.stencil import StencilOperator


# two fluid regions (a 2D null space) and no repeated eigenvalue: Lanczos from a generic start then
# spans the whole range, one Krylov vector per eigenvalue


def _matrix():
    mask = geometry.blobs(16, 2, count=3, radius=(1.5, 3.5), seed=3)
    return StencilOperator(mask, walls="neumann").to_scipy()


def _projection():
    mask = geometry.blobs(16, 2, count=3, radius=(1.5, 3.5), seed=3)
    return StencilOperator(mask, walls="neumann").projection("fluid").numpy


def test_basis_is_orthonormal_and_tridiagonalizes_a():
    a = _matrix()
    res = lanczos(lambda v: a @ v, a.shape[0], m=60, seed=0, project=_projection())
    k = res.basis.shape[0]
    assert k == 60
    # full reorthogonalization keeps Q Q^T = I to rounding (without it, ~1e-2 by m = 60)
    np.testing.assert_allclose(res.basis @ res.basis.T, np.eye(k), atol=1e-12)
    t = res.basis @ (a @ res.basis.T)
    expected = np.diag(res.alpha) + np.diag(res.beta, 1) + np.diag(res.beta, -1)
    np.testing.assert_allclose(t, expected, atol=1e-10)
    # started from A v and projected: the basis stays orthogonal to the Neumann null vector
    np.testing.assert_allclose(res.basis @ np.ones(a.shape[0]), 0.0, atol=1e-12)


def test_ritz_values_match_eigsh():
    a = _matrix()
    res = lanczos(lambda v: a @ v, a.shape[0], m=80, seed=1)
    top = spla.eigsh(a, k=4, which="LA", return_eigenvectors=False)
    # extreme Ritz values converge first; after 80 steps on n ~ 220 the top four agree to 1e-8
    np.testing.assert_allclose(np.sort(res.ritz_values)[-4:], np.sort(top), rtol=1e-8)
    # every Ritz pair satisfies ||A y - theta y|| = residual_norms (the Lanczos identity)
    for theta, y, rn in zip(res.ritz_values, res.ritz_vectors, res.residual_norms):
        assert abs(np.linalg.norm(a @ y - theta * y) - rn) < 1e-8
        assert abs(np.linalg.norm(y) - 1) < 1e-12


def test_full_space_gives_the_whole_nonzero_spectrum():
    a = _matrix()
    n = a.shape[0]
    res = lanczos(lambda v: a @ v, n, m=n, seed=3, project=_projection())
    # started in the range of A (two fluid regions: a 2D null space) the Krylov space becomes invariant
    # at dimension n - 2, and its Ritz values are then exactly the nonzero eigenvalues
    assert res.basis.shape[0] == n - 2
    eig = np.linalg.eigvalsh(a.toarray())
    np.testing.assert_allclose(np.sort(res.ritz_values), eig[2:], atol=1e-9)
    np.testing.assert_allclose(res.residual_norms, 0.0, atol=1e-12)
