"""Gaussian random fields with covariance ``sigma^2 (-Laplacian + tau^2 I)^(-alpha)``.

The covariance operator is diagonal in the eigenbasis of the Laplacian, so a sample is a random
series ``u(x) = sum_k sigma (lambda_k + tau^2)^(-alpha/2) xi_k phi_k(x)`` with independent standard
normal ``xi_k`` and ``L^2``-orthonormal eigenfunctions ``phi_k`` of ``-Laplacian`` with eigenvalues
``lambda_k``. Two boundary conditions are provided:

- :func:`periodic_grf`: the torus ``[0, 1)^d`` (Burgers, Navier-Stokes), Fourier modes
  ``exp(2 pi i k.x)``, ``lambda_k = 4 pi^2 |k|^2``; sampled with one FFT.
- :func:`neumann_grf`: the unit cube with zero normal derivative (the Darcy coefficient of the FNO
  paper and neuraloperator), cosine modes ``prod_i c_k cos(pi k_i x_i)``, ``lambda_k = pi^2 |k|^2``;
  the series is summed on the requested grid, so the same draw evaluated on a finer grid gives the
  same function (the basis of zero-shot super-resolution test sets).

(The Dirichlet, sine-series field lives beside its solver in ``dst_poisson``.)

The default ``sigma = tau^(alpha - d/2)`` is the FNO convention: it keeps the pointwise variance of
order one when ``tau`` changes.
"""

from __future__ import annotations

import numpy as np


def spectral_amplitude(lam: np.ndarray, alpha: float, tau: float, sigma: float) -> np.ndarray:
    """Square root of the covariance eigenvalues, ``sigma (lam + tau^2)^(-alpha/2)``.

    ``lam``: eigenvalues of ``-Laplacian`` (any shape, units 1/length^2); same shape out.
    """
    return sigma * (lam + tau**2) ** (-alpha / 2)


def default_sigma(alpha: float, tau: float, dim: int) -> float:
    """The FNO normalization ``tau^(alpha - dim/2)``."""
    return tau ** (alpha - dim / 2)


def periodic_grf(
    rng: np.random.Generator,
    n: int,
    dim: int,
    alpha: float,
    tau: float,
    sigma: float | None = None,
    zero_mean: bool = False,
    batch: int = 1,
) -> np.ndarray:
    """Samples of a periodic field on the uniform grid ``x_j = j / n``, ``j = 0..n-1``, of ``[0, 1)^dim``.

    The discrete field has exactly the covariance of the series truncated to the ``n^dim`` modes the
    grid resolves: real white noise on the grid, transformed with an orthonormal FFT, is a
    Hermitian-symmetric set of unit-variance Fourier coefficients, which are scaled and summed.
    ``zero_mean`` drops the ``k = 0`` mode (a vorticity on the torus must have zero mean).

    Returns ``(batch, n, ..., n)`` (``dim`` grid axes), float64.
    """
    sigma = default_sigma(alpha, tau, dim) if sigma is None else sigma
    k = np.fft.fftfreq(n, d=1.0 / n)
    grids = np.meshgrid(*([k] * dim), indexing="ij")
    lam = 4 * np.pi**2 * sum(g**2 for g in grids)
    amp = spectral_amplitude(lam, alpha, tau, sigma)
    if zero_mean:
        amp[(0,) * dim] = 0.0
    axes = tuple(range(1, dim + 1))
    noise = rng.standard_normal((batch,) + (n,) * dim)
    coef = amp * np.fft.fftn(noise, axes=axes, norm="ortho")
    return np.fft.ifftn(coef, axes=axes, norm="forward").real


def cosine_basis(n: int, modes: int) -> np.ndarray:
    """Orthonormal Neumann eigenfunctions on ``[0, 1]`` at ``x_j = j/(n-1)``: ``(n, modes)``.

    Column ``k`` is ``cos(pi k x)`` times ``1`` (``k = 0``) or ``sqrt(2)`` (``k > 0``).
    """
    x = np.linspace(0.0, 1.0, n)
    k = np.arange(modes)
    norm = np.where(k == 0, 1.0, np.sqrt(2.0))
    return norm * np.cos(np.pi * np.outer(x, k))


def neumann_grf(
    rng: np.random.Generator,
    n: int,
    alpha: float,
    tau: float,
    sigma: float | None = None,
    modes: int = 64,
    batch: int = 1,
) -> np.ndarray:
    """Samples of a 2D field with zero normal derivative on ``[0, 1]^2``, on the ``n x n`` vertex grid.

    Grid: ``x_i = i/(n-1)``, ``i = 0..n-1`` (boundary vertices included, the layout of the FNO Darcy
    data). The series keeps the ``modes x modes`` lowest cosine modes (the ``k = 0`` mode included);
    the draw depends on ``rng`` and ``modes`` only, not on ``n``, so one draw can be evaluated at
    several resolutions. With ``tau = 3, alpha = 2`` the amplitude of mode 64 is about 1e-4 of mode 0.

    Returns ``(batch, n, n)``, float64.
    """
    return neumann_series(rng.standard_normal((batch, modes, modes)), n, alpha, tau, sigma)


def neumann_series(xi: np.ndarray, n: int, alpha: float, tau: float, sigma: float | None = None) -> np.ndarray:
    """The Neumann field of :func:`neumann_grf` for given standard-normal mode weights.

    ``xi``: ``(batch, modes, modes)`` independent standard normals (one draw per sample, e.g. each from
    its own generator). Returns ``(batch, n, n)``: ``basis @ (amp * xi) @ basis.T``, two batched
    matrix products.
    """
    sigma = default_sigma(alpha, tau, 2) if sigma is None else sigma
    modes = xi.shape[-1]
    k = np.arange(modes)
    lam = np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2)
    basis = cosine_basis(n, modes)
    return basis @ (spectral_amplitude(lam, alpha, tau, sigma) * xi) @ basis.T
