"""Helmholtz solver: manufactured solution with variable wavenumber, second order; resonance gap."""

import numpy as np
import pytest

from sciml.components.solvers.helmholtz import dirichlet_eigenvalues, resonance_gap, solve_helmholtz


def test_manufactured_solution_second_order():
    # u = sin(pi x) sin(2 pi y), -Lap u = 5 pi^2 u; k^2 = 30 + 10 x y lies in the first spectral gap
    # (2 pi^2, 5 pi^2) = (19.7, 49.3), so the operator is indefinite (one negative eigenvalue) but
    # non-singular. Five-point stencil: order 2 (observed 2.03, 2.01, 2.00; +-0.1).
    def error(s):
        x = np.linspace(0.0, 1.0, s)
        x, y = np.meshgrid(x, x, indexing="ij")
        u = np.sin(np.pi * x) * np.sin(2 * np.pi * y)
        k2 = 30 + 10 * x * y
        return np.abs(solve_helmholtz(k2, (5 * np.pi**2 - k2) * u) - u).max()

    errors = [error(s) for s in (17, 33, 65, 129)]
    np.testing.assert_allclose(np.log2(np.array(errors[:-1]) / np.array(errors[1:])), 2.0, atol=0.1)


def test_discrete_eigenvalues_approach_continuum():
    # pi^2 (m^2 + n^2) for (1,1), (1,2), (2,1), (2,2): the five-point eigenvalues are below them by
    # lambda^2 h^2 / 12 to leading order (the sin^2 expansion), < 0.2% at s = 65.
    lam = dirichlet_eigenvalues(65, 4)
    exact = np.pi**2 * np.array([2, 5, 5, 8])
    assert (lam < exact).all()
    np.testing.assert_allclose(lam, exact, rtol=2e-3)


def test_resonance_gap_sign():
    # inside the first gap: positive distance; straddling pi^2 * 5: negative overlap
    assert resonance_gap(65, 25.0, 40.0) == pytest.approx(min(25.0 - dirichlet_eigenvalues(65, 1)[0], dirichlet_eigenvalues(65, 2)[1] - 40.0))
    assert resonance_gap(65, 40.0, 60.0) < 0


def test_solution_of_symmetric_operator_by_eigen_expansion():
    # Constant k^2 = 30 and f = eigenvector (m, n) = (1, 1) of the discrete Laplacian: the solution is
    # that eigenvector divided by (lambda_11 - 30) exactly (round-off: 1e-10 relative).
    s = 33
    x = np.linspace(0.0, 1.0, s)
    phi = np.outer(np.sin(np.pi * x), np.sin(np.pi * x))
    lam = dirichlet_eigenvalues(s, 1)[0]
    u = solve_helmholtz(np.full((s, s), 30.0), phi)
    np.testing.assert_allclose(u, phi / (lam - 30.0), atol=1e-10 * np.abs(phi / (lam - 30.0)).max())
