"""Every solver against a direct solve, with the one stopping rule ||r||/||b|| <= tol from x0 = 0."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from sciml.components.solvers import geometry, krylov
from sciml.components.solvers.dcdm_iteration import dcdm_solve
from sciml.components.solvers.stencil import StencilOperator

TOL = 1e-10


def _direct(a: sp.csr_matrix, b: np.ndarray, proj) -> np.ndarray:
    """Direct solution; for a singular A, the one in the range: pin one cell per region, then project."""
    labels = proj.labels.numpy()
    singular = proj.inv_count.numpy() > 0
    a = a.tolil()
    for region in np.flatnonzero(singular):
        pin = np.flatnonzero(labels == region)[0]
        a[pin, :] = 0
        a[:, pin] = 0
        a[pin, pin] = 1
        b = b.copy()
        b[pin] = 0
    return proj.numpy(spla.spsolve(a.tocsc(), b))


def _system(walls, mask):
    op = StencilOperator(mask, walls=walls, solid="neumann")
    proj = op.projection("fluid")
    b = proj.numpy(np.random.default_rng(4).standard_normal(int(mask.sum())))
    return op, proj, b


SYSTEMS = {
    "dirichlet-2d": ("dirichlet", geometry.blobs(14, 2, count=2, radius=(2, 3), seed=0)),
    "neumann-3d": ("neumann", geometry.benchmark_ball(8)),
}


@pytest.mark.parametrize("system", sorted(SYSTEMS))
@pytest.mark.parametrize("name", krylov.SOLVERS)
def test_krylov_solvers_match_direct_solve(system, name):
    walls, mask = SYSTEMS[system]
    op, proj, b = _system(walls, mask)
    a = op.to_scipy()
    result = krylov.solve(name, a, b, tol=TOL, max_iters=1000, mask=mask, project=proj.numpy)
    assert result.converged and result.residuals[-1] <= TOL
    assert result.residuals[0] == 1.0 and np.all(result.residuals[:-1] > TOL)  # stops at the first hit
    assert len(result.residuals) == result.iterations + 1
    # the recursive residual it stopped on is the true one up to rounding (cond(A) ~ 1e2 here)
    assert result.true_residual < 10 * TOL
    x_ref = _direct(a, b, proj)
    # ||x - x*|| <= cond(A) ||r|| / ||b|| * ||x*||: cond <= 1e3 on these grids, so 1e-6 relative is safe
    np.testing.assert_allclose(result.x, x_ref, atol=1e-6 * np.abs(x_ref).max())
    assert result.matvecs == result.iterations + 1


def test_preconditioners_cut_iterations():
    # on the reference ball at 16^3, CG needs far more iterations than IC(0), and IC(0) than AMG
    mask = geometry.benchmark_ball(16)
    op, proj, b = _system("neumann", mask)
    a = op.to_scipy()
    iters = {n: krylov.solve(n, a, b, 1e-6, 1000, mask=mask, project=proj.numpy).iterations for n in krylov.SOLVERS}
    assert iters["cg"] > 1.8 * iters["ic0"] > 1.8 * iters["amg_sa"]
    assert iters["amg_rs"] < iters["ic0"]


def test_pcg_without_preconditioner_matches_scipy_cg_count():
    mask = geometry.benchmark_ball(12)
    op, proj, b = _system("neumann", mask)
    a = op.to_scipy()
    count = []
    spla.cg(a, b, rtol=1e-8, atol=0.0, maxiter=1000, callback=lambda xk: count.append(1))
    ours = krylov.solve("cg", a, b, 1e-8, 1000)
    # same algorithm and stopping rule; rounding may move the crossing by one iteration
    assert abs(ours.iterations - len(count)) <= 1


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_dcdm_with_exact_inverse_converges_in_one_step(system):
    walls, mask = SYSTEMS[system]
    op, proj, b = _system(walls, mask)
    a = op.to_scipy()
    maskt = torch.as_tensor(mask)

    def exact(r: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(r)
        out[maskt] = torch.as_tensor(_direct(a, r[maskt].numpy(), proj))
        return out

    grid_b = torch.zeros(mask.shape, dtype=torch.float64)
    grid_b[maskt] = torch.as_tensor(b)
    result = dcdm_solve(op, grid_b, exact, tol=TOL, max_iters=5, project=op.projection("grid"))
    assert result.iterations == 1 and result.network_calls == 1 and result.matvecs == 3


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_dcdm_with_identity_direction_is_cg(system):
    # q = r, A-orthogonalized against the previous direction, with exact steps, is CG in exact
    # arithmetic; with k_prev = 2 rounding stays small, so both reach the direct solution and
    # their iteration counts differ by at most a few (loss of conjugacy in CG itself)
    walls, mask = SYSTEMS[system]
    op, proj, b = _system(walls, mask)
    a = op.to_scipy()
    maskt = torch.as_tensor(mask)
    grid_b = torch.zeros(mask.shape, dtype=torch.float64)
    grid_b[maskt] = torch.as_tensor(b)
    result = dcdm_solve(op, grid_b, lambda r: r, tol=TOL, max_iters=1000, k_prev=2, project=op.projection("grid"))
    cg = krylov.solve("cg", a, b, TOL, 1000)
    assert result.converged and result.true_residual <= TOL
    assert abs(result.iterations - cg.iterations) <= 3
    # the first residuals coincide with CG's (before rounding separates them)
    np.testing.assert_allclose(result.residuals[:10], cg.residuals[:10], rtol=1e-6)
    x_ref = _direct(a, b, proj)
    np.testing.assert_allclose(result.x[mask], x_ref, atol=1e-6 * np.abs(x_ref).max())
    assert result.matvecs == 2 * result.iterations + 1


def test_dcdm_rejects_negative_history():
    op = StencilOperator(geometry.empty(4, 2))
    with pytest.raises(ValueError, match="k_prev must be >= 0"):
        dcdm_solve(op, torch.ones(4, 4), lambda r: r, 1e-6, 10, k_prev=-1)


def test_dcdm_stops_when_directions_stop_helping():
    # directions cycling through three fixed vectors, orthogonalized against the last one only: the
    # iterate converges to the best point of their span and the residual plateaus well above tol
    op, proj, b = _system(*SYSTEMS["dirichlet-2d"])
    mask = torch.as_tensor(SYSTEMS["dirichlet-2d"][1])
    gen = torch.Generator().manual_seed(5)
    fixed = [torch.randn(mask.shape, generator=gen, dtype=torch.float64) * mask for _ in range(3)]
    calls = []

    def cycling(r):
        calls.append(1)
        return fixed[len(calls) % 3]

    grid_b = torch.zeros(mask.shape, dtype=torch.float64)
    grid_b[mask] = torch.as_tensor(b)
    result = dcdm_solve(op, grid_b, cycling, tol=1e-8, max_iters=10_000, k_prev=1, stall_window=20)
    assert not result.converged and 20 <= result.iterations < 500
    assert result.residuals[-1] > 0.1  # three directions cannot resolve a ~170-unknown system


def test_dcdm_stops_on_a_direction_in_the_span_of_the_previous_ones():
    # the same direction twice: orthogonalized to (rounding of) zero, no step is possible
    op, proj, b = _system(*SYSTEMS["dirichlet-2d"])
    mask = torch.as_tensor(SYSTEMS["dirichlet-2d"][1])
    grid_b = torch.zeros(mask.shape, dtype=torch.float64)
    grid_b[mask] = torch.as_tensor(b)
    fixed = grid_b.clone()
    result = dcdm_solve(op, grid_b, lambda r: fixed, tol=1e-8, max_iters=10_000)
    assert not result.converged and result.iterations == 1 and result.network_calls == 2
