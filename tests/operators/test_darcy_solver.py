"""Darcy solver: exact series solution, manufactured solutions, second-order convergence."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spl

from sciml.components.solvers.darcy import darcy_coefficient, face_coefficients, solve_darcy, stencil_band


def grid(s):
    x = np.linspace(0.0, 1.0, s)
    return np.meshgrid(x, x, indexing="ij")


def poisson_series(s, modes=399):
    """-Laplacian u = 1 on the unit square, u = 0 on the boundary: the double sine series
    u = sum_{m, n odd} 16 / (pi^4 m n (m^2 + n^2)) sin(m pi x) sin(n pi y)."""
    x = np.linspace(0.0, 1.0, s)
    m = np.arange(1, modes + 1, 2)
    basis = np.sin(np.pi * np.outer(x, m))
    coef = 16 / (np.pi**4 * np.outer(m, m) * (m[:, None] ** 2 + m[None, :] ** 2))
    return basis @ coef @ basis.T


def observed_orders(errors):
    return np.log2(np.array(errors[:-1]) / np.array(errors[1:]))


def test_constant_coefficient_matches_series_to_second_order():
    # Series truncation at m, n < 400 leaves < 1e-8 at the vertices, far below the O(h^2) ~ 1e-5 FD
    # error, so the observed order is that of the scheme; a five-point scheme must give 2 (+-0.1).
    errors = [np.abs(solve_darcy(np.ones((s, s))) - poisson_series(s)).max() for s in (17, 33, 65)]
    np.testing.assert_allclose(observed_orders(errors), 2.0, atol=0.1)


@pytest.mark.parametrize("mean", ["harmonic", "arithmetic"])
def test_variable_coefficient_manufactured_second_order(mean):
    # u = sin(pi x) sin(2 pi y), a = 2 + x y + sin(pi x y): f = -a Lap u - grad a . grad u.
    def solve_error(s):
        x, y = grid(s)
        u = np.sin(np.pi * x) * np.sin(2 * np.pi * y)
        a = 2 + x * y + np.sin(np.pi * x * y)
        ax = y + np.pi * y * np.cos(np.pi * x * y)
        ay = x + np.pi * x * np.cos(np.pi * x * y)
        ux = np.pi * np.cos(np.pi * x) * np.sin(2 * np.pi * y)
        uy = 2 * np.pi * np.sin(np.pi * x) * np.cos(2 * np.pi * y)
        f = 5 * np.pi**2 * a * u - ax * ux - ay * uy
        return np.abs(solve_darcy(a, f, mean=mean) - u).max()

    errors = [solve_error(s) for s in (17, 33, 65, 129)]
    # asymptotic order 2; the coarsest pair is pre-asymptotic, so +-0.15
    np.testing.assert_allclose(observed_orders(errors), 2.0, atol=0.15)


@pytest.mark.parametrize("s", [3, 4, 11, 12])
def test_solve_and_band_equal_sparse_five_point_operator(s):
    # The solver eliminates the red vertices and fills the black Schur complement's band directly;
    # rebuild the operator as a sparse matrix vertex by vertex and compare solutions for a two-phase
    # coefficient (round-off only: a direct solve of a matrix with condition number ~1e3 loses < 1e-12
    # relative). Odd and even interior sizes (the colours are unequal when odd), and one unknown (s = 3,
    # a single red vertex: nothing left for the band).
    a = darcy_coefficient(np.random.default_rng(s).standard_normal((s, s)))
    f0, f1 = face_coefficients(a)
    n, h = s - 2, 1.0 / (s - 1)
    idx = lambda i, j: (i - 1) * n + (j - 1)  # noqa: E731
    A = sp.lil_matrix((n * n, n * n))
    for i in range(1, s - 1):
        for j in range(1, s - 1):
            faces = {(i - 1, j): f0[i - 1, j], (i + 1, j): f0[i, j], (i, j - 1): f1[i, j - 1], (i, j + 1): f1[i, j]}
            for (p, q), c in faces.items():
                A[idx(i, j), idx(i, j)] += c / h**2
                if 0 < p < s - 1 and 0 < q < s - 1:
                    A[idx(i, j), idx(p, q)] -= c / h**2
    u_ref = spl.spsolve(A.tocsc(), np.ones(n * n)).reshape(n, n)
    np.testing.assert_allclose(solve_darcy(a)[1:-1, 1:-1], u_ref, rtol=1e-10)
    assert stencil_band(a).shape == (n + 1, n * n)


def test_two_phase_solution_is_positive_and_bounded_by_phase_limits():
    # The matrix is a sum of positive semidefinite per-face terms, linear in the face coefficients,
    # so 3 A_1 <= A <= 12 A_1 (Loewner order) and the energy 1^T A^-1 1 = h^2 sum(u) lies between
    # those of a = 12 and a = 3 (an exact inequality); f = 1 > 0 and an M-matrix give u > 0 inside.
    s = 33
    field = np.random.default_rng(1).standard_normal((s, s))
    u = solve_darcy(darcy_coefficient(field))
    u1 = solve_darcy(np.ones((s, s)))
    assert (u[1:-1, 1:-1] > 0).all()
    assert u1.sum() / 12 < u.sum() < u1.sum() / 3


def test_rejects_non_square_grid():
    with pytest.raises(ValueError, match="square grid"):
        solve_darcy(np.ones((5, 6)))


def test_batched_solve_equals_one_at_a_time():
    # The batch is assembled by array operations over the leading axes; each system must be the
    # one assembled alone (same matrix, same right-hand side, same LAPACK call: bitwise equal).
    rng = np.random.default_rng(7)
    a = darcy_coefficient(rng.standard_normal((2, 3, 9, 9)))
    f = rng.standard_normal((2, 3, 9, 9))
    u = solve_darcy(a, f, mean="arithmetic")
    assert u.shape == (2, 3, 9, 9)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(u[i, j], solve_darcy(a[i, j], f[i, j], mean="arithmetic"))
            np.testing.assert_array_equal(stencil_band(a)[i, j], stencil_band(a[i, j]))
