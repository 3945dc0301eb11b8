"""Dirichlet Poisson problems on the unit cube, solved exactly by the discrete sine transform.

On a grid of ``n`` interior points per dimension (spacing ``h = 1 / (n + 1)``, boundary values zero),
the second-order finite-difference Laplacian is diagonal in the type-I sine basis, with eigenvalues
``sum_d (4 / h^2) sin^2(pi k_d h / 2)``, ``k_d = 1..n``. Transforming, dividing and transforming back
solves ``-Lap_h u = f`` to round-off in ``O(N log N)``. The same basis gives Gaussian random fields
that vanish on the boundary (:func:`sine_series_field`). scipy.fft's DST does the transforms.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from sciml.components.solvers.grf import default_sigma, spectral_amplitude


def _axes(ndim: int) -> tuple[int, ...]:
    return tuple(range(-ndim, 0))


def laplacian_eigenvalues(shape: tuple[int, ...]) -> np.ndarray:
    """Eigenvalues of ``-Lap_h`` (5-/7-point, zero Dirichlet) on interior grid ``shape``; shape ``shape``."""
    total = np.zeros(shape)
    for axis, n in enumerate(shape):
        h = 1.0 / (n + 1)
        k = np.arange(1, n + 1)
        values = (4.0 / h**2) * np.sin(np.pi * k * h / 2) ** 2
        total = total + values.reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return total


def solve_dirichlet(f: np.ndarray, ndim: int) -> np.ndarray:
    """Solve ``-Lap_h u = f`` with ``u = 0`` on the boundary.

    ``f``: (..., n_1, ..., n_ndim), values at interior grid points. Returns ``u`` of the same shape.
    """
    axes = _axes(ndim)
    coefficients = fft.dstn(f, type=1, axes=axes)
    return fft.idstn(coefficients / laplacian_eigenvalues(f.shape[-ndim:]), type=1, axes=axes)


def sine_series_field(rng: np.random.Generator, shape: tuple[int, ...], alpha: float, tau: float) -> np.ndarray:
    """A Gaussian random field on the interior grid ``shape``, zero on the boundary of the unit cube.

    Covariance ``(-Lap + tau^2 I)^(-alpha)`` with the Dirichlet Laplacian: sine-series coefficients
    ``xi_k (pi^2 |k|^2 + tau^2)^(-alpha / 2)`` with ``xi_k ~ N(0, 1)``, truncated at the grid's modes,
    scaled by ``tau^(alpha - ndim/2)`` so that fields have O(1) values for any ``tau``. Shape ``shape``.
    """
    wavenumbers = np.meshgrid(*[np.arange(1, n + 1) for n in shape], indexing="ij")
    eigenvalues = np.pi**2 * sum(k.astype(float) ** 2 for k in wavenumbers)
    scale = spectral_amplitude(eigenvalues, alpha, tau, default_sigma(alpha, tau, len(shape)))
    coefficients = rng.standard_normal(shape) * scale
    # dst type I: y_j = 2 sum_k x_k sin(pi (k+1)(j+1) / (n+1)) per axis, hence the 2^-ndim.
    return fft.dstn(coefficients, type=1) / 2 ** len(shape)
