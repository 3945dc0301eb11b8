"""Gaussian random fields: covariance of the draws, boundary conditions, resolution consistency."""

import numpy as np
import pytest

from sciml.components.solvers.grf import cosine_basis, neumann_grf, neumann_series, periodic_grf, spectral_amplitude


def test_periodic_grf_mode_variances_match_covariance():
    # The Fourier-series coefficients (1/n) sum_j u(x_j) exp(-2 pi i k x_j) of the draws must have
    # variance amp_k^2 (real and imaginary parts together). 4000 draws: the relative standard error of a sample variance is
    # sqrt(2/4000) ~ 2.2%, and averaging the ratio over 64 modes shrinks it further; 5% is > 10 sigma
    # for the mean ratio and catches any factor-of-two normalisation slip.
    n, alpha, tau, sigma = 64, 2.0, 5.0, 25.0
    u = periodic_grf(np.random.default_rng(0), n, 1, alpha, tau, sigma, batch=4000)
    coef = np.fft.fft(u, axis=1, norm="forward")
    k = np.fft.fftfreq(n, d=1.0 / n)
    amp2 = spectral_amplitude(4 * np.pi**2 * k**2, alpha, tau, sigma) ** 2
    ratio = (np.abs(coef) ** 2).mean(axis=0) / amp2
    assert ratio.mean() == pytest.approx(1.0, rel=0.05)
    # pointwise variance of the field is the sum of the spectrum, |exp(2 pi i k x)| = 1
    assert u.var(axis=0).mean() == pytest.approx(amp2.sum(), rel=0.05)


def test_periodic_grf_zero_mean_and_2d_shape():
    u = periodic_grf(np.random.default_rng(1), 32, 2, 2.5, 7.0, zero_mean=True, batch=3)
    assert u.shape == (3, 32, 32)
    np.testing.assert_allclose(u.mean(axis=(1, 2)), 0.0, atol=1e-12)  # round-off only


def test_neumann_grf_same_draw_at_two_resolutions():
    # Vertex x_j of the 33-grid is vertex 2j of the 65-grid; the series is evaluated exactly there.
    coarse = neumann_grf(np.random.default_rng(3), 33, 2.0, 3.0, modes=24)
    fine = neumann_grf(np.random.default_rng(3), 65, 2.0, 3.0, modes=24)
    np.testing.assert_allclose(coarse, fine[:, ::2, ::2], atol=1e-12)


def test_neumann_grf_zero_normal_derivative():
    # Every cosine mode is even about x = 0, so du/dx(0) = 0; a second-order one-sided difference
    # recovers it up to O(h^2 u''') ~ 1e-5 of the interior gradient scale at h = 1/400.
    u = neumann_grf(np.random.default_rng(4), 401, 2.0, 3.0, modes=16)[0]
    h = 1.0 / 400
    one_sided = (-3 * u[0] + 4 * u[1] - u[2]) / (2 * h)
    interior = np.abs(np.gradient(u, h, axis=0)).max()
    assert np.abs(one_sided).max() < 1e-3 * interior


def test_cosine_basis_orthonormal():
    # Trapezoidal rule on the vertex grid integrates cos(pi k x) cos(pi l x) exactly for k + l < 2(n-1).
    n = 65
    b = cosine_basis(n, 20)
    w = np.full(n, 1.0 / (n - 1))
    w[[0, -1]] /= 2
    np.testing.assert_allclose(b.T @ (w[:, None] * b), np.eye(20), atol=1e-12)


def test_neumann_grf_pointwise_variance():
    # Var u(x) = sum_k amp_k^2 phi_k(x)^2 ; 3000 draws -> 2.6% standard error, tolerance 10%.
    alpha, tau, modes, n = 2.0, 3.0, 16, 9
    u = neumann_grf(np.random.default_rng(5), n, alpha, tau, modes=modes, batch=3000)
    k = np.arange(modes)
    amp2 = spectral_amplitude(np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2), alpha, tau, tau ** (alpha - 1)) ** 2
    b2 = cosine_basis(n, modes) ** 2
    expected = b2 @ amp2 @ b2.T
    np.testing.assert_allclose(u.var(axis=0), expected, rtol=0.10)


def test_neumann_series_of_per_sample_draws_equals_neumann_grf():
    # The Darcy generator draws each sample's weights from its own generator and sums all series in
    # one batched product: each field must equal the single draw of neumann_grf with that generator.
    xi = np.stack([np.random.default_rng(s).standard_normal((12, 12)) for s in range(3)])
    batched = neumann_series(xi, 17, 2.0, 3.0)
    for s in range(3):
        np.testing.assert_allclose(batched[s], neumann_grf(np.random.default_rng(s), 17, 2.0, 3.0, modes=12)[0], rtol=0, atol=1e-13)
