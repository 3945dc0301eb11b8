"""The DST Poisson solver and the quickstart's ``poisson_field`` family against direct solves and exact solutions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import fft
from scipy.sparse.linalg import spsolve

from sciml.components.data.poisson_field import PoissonFieldData
from sciml.components.solvers.dst_poisson import laplacian_eigenvalues, sine_series_field, solve_dirichlet


def dirichlet_laplacian(n: int, ndim: int) -> sp.csr_matrix:
    """-Lap_h with zero Dirichlet data on n^ndim interior points, as a sparse matrix (Kronecker sums)."""
    h = 1.0 / (n + 1)
    one = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n)) / h**2
    eye = sp.identity(n)
    total = sp.csr_matrix((n**ndim, n**ndim))
    for axis in range(ndim):
        factors = [one if a == axis else eye for a in range(ndim)]
        term = factors[0]
        for factor in factors[1:]:
            term = sp.kron(term, factor)
        total = total + term
    return total.tocsr()


@pytest.mark.parametrize(("ndim", "n"), [(1, 17), (2, 9), (3, 6)])
def test_dst_solve_matches_sparse_direct_solve(ndim: int, n: int) -> None:
    rng = np.random.default_rng(0)
    f = rng.standard_normal((2,) + (n,) * ndim)
    u = solve_dirichlet(f, ndim)
    A = dirichlet_laplacian(n, ndim)
    for i in range(2):
        direct = spsolve(A.tocsc(), f[i].ravel()).reshape(f[i].shape)
        np.testing.assert_allclose(u[i], direct, rtol=1e-10, atol=1e-12)  # both exact up to round-off


def test_eigenvalues_are_those_of_the_stencil() -> None:
    n = 7
    A = dirichlet_laplacian(n, 2).toarray()
    np.testing.assert_allclose(np.sort(laplacian_eigenvalues((n, n)).ravel()), np.linalg.eigvalsh(A), rtol=1e-10)


def test_second_order_convergence_to_the_exact_solution() -> None:
    # u = sin(pi x) sin(2 pi y) solves -Lap u = 5 pi^2 u with u = 0 on the boundary.
    errors = []
    sizes = [15, 31, 63]
    for n in sizes:
        x = np.arange(1, n + 1) / (n + 1)
        X, Y = np.meshgrid(x, x, indexing="ij")
        exact = np.sin(np.pi * X) * np.sin(2 * np.pi * Y)
        u = solve_dirichlet(5 * np.pi**2 * exact, 2)
        errors.append(np.abs(u - exact).max())
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    # h halves (n+1 doubles) each time: a second-order scheme's error drops by 4 (rate 2 up to O(h^2) terms).
    np.testing.assert_allclose(rates, 2.0, atol=0.05)


def test_random_field_has_the_requested_spectrum() -> None:
    # The field's sine coefficients must have variance (pi^2 |k|^2 + tau^2)^-alpha * tau^(2 alpha - ndim).
    n, alpha, tau, count = 8, 2.0, 3.0, 4000
    rng = np.random.default_rng(1)
    fields = np.stack([sine_series_field(rng, (n, n), alpha, tau) for _ in range(count)])
    coefficients = fft.dstn(fields, type=1, axes=(1, 2)) / (2 * (n + 1)) ** 2 * 4  # invert the synthesis
    k = np.arange(1, n + 1)
    K1, K2 = np.meshgrid(k, k, indexing="ij")
    expected = (np.pi**2 * (K1**2 + K2**2) + tau**2) ** (-alpha) * tau ** (2 * alpha - 2)
    ratio = coefficients.var(axis=0) / expected
    # Each variance is estimated from 4000 draws: relative standard error sqrt(2/4000) = 2.2 %, so 10 % is > 4 sigma.
    np.testing.assert_allclose(ratio, 1.0, atol=0.1)


def test_generator_pairs_solve_the_discrete_problem() -> None:
    data = PoissonFieldData(resolution=10, train=3)
    seeds = [np.random.SeedSequence(0, spawn_key=(0, i)) for i in range(3)]
    batch = data.sample("train", seeds, {})
    assert batch["x"].shape == batch["y"].shape == (3, 1, 10, 10)
    A = dirichlet_laplacian(10, 2)
    residual = A @ batch["y"][0, 0].astype(np.float64).ravel() - batch["x"][0, 0].ravel()
    # Stored in float32: the residual is round-off of ||A|| * eps32 * |u| ~ 5e2 * 6e-8 * |u|.
    assert np.abs(residual).max() < 1e-4 * np.abs(batch["x"]).max() * 10
