"""Dynamical-systems-reconstruction metrics (Hess et al., ICML 2023; Brenner et al., ICML 2022).

Trajectories are arrays of shape ``(time, dim)`` sampled at a fixed step ``dt`` (time units of the
system). All metrics compare a reference ("true") trajectory with a generated one:

- :func:`state_space_divergence`: ``D_stsp``, the KL divergence ``KL(p_true || p_gen)`` between
  state-space occupation densities: binned (``n_bins`` per dimension, Laplace smoothing) for up to
  5 dimensions, a Gaussian-mixture Monte-Carlo estimate above.
- :func:`power_spectrum_distance`: ``D_H``, the Hellinger distance between Gaussian-smoothed,
  normalized power spectra, averaged over dimensions.
- :func:`prediction_error`: ``PE(n)``, the mean squared error of ``n``-step-ahead predictions.
- :func:`lyapunov_spectrum_map` / :func:`lyapunov_spectrum_flow`: leading Lyapunov exponents by
  the QR (Benettin) method, per unit time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from sciml.components.solvers.flows import Flow
from sciml.components.solvers.ode import rk4_step

#: Dimension above which :func:`state_space_divergence` switches from bins to Gaussian mixtures.
MAX_BINNED_DIM = 5


def binned_state_space_divergence(
    x_true: np.ndarray, x_gen: np.ndarray, n_bins: int = 30, smoothing: float = 1e-5
) -> float:
    """``KL(p_true || p_gen)`` of histograms on a grid of ``n_bins ** dim`` boxes.

    The box covers the true data's range widened by 0.1 standard deviations on each side; points of
    either trajectory outside it are not counted. Counts ``c`` become probabilities
    ``(c + smoothing) / (n + smoothing * n_bins ** dim)`` (Laplace smoothing), so the divergence is
    finite. Only occupied boxes are enumerated: memory grows with the trajectory length, not with
    ``n_bins ** dim``.

    Args:
        x_true, x_gen: ``(time, dim)`` and ``(time', dim)``.

    Returns:
        The divergence in nats; NaN when no generated point falls inside the box.
    """
    x_true, x_gen = np.asarray(x_true, dtype=np.float64), np.asarray(x_gen, dtype=np.float64)
    dim = x_true.shape[1]
    std = x_true.std(axis=0, ddof=1)
    lo = x_true.min(axis=0) - 0.1 * std
    hi = x_true.max(axis=0) + 0.1 * std
    width = np.where(hi > lo, hi - lo, 1.0)

    def occupied(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inside = np.all((x >= lo) & (x <= hi), axis=1)
        idx = np.minimum(((x[inside] - lo) / width * n_bins).astype(np.int64), n_bins - 1)
        flat = np.ravel_multi_index(idx.T, (n_bins,) * dim)
        return np.unique(flat, return_counts=True)

    keys_p, counts_p = occupied(x_true)
    keys_q, counts_q = occupied(x_gen)
    n_p, n_q = counts_p.sum(), counts_q.sum()
    if n_q == 0:
        return float("nan")
    total_bins = float(n_bins) ** dim
    norm_p, norm_q = n_p + smoothing * total_bins, n_q + smoothing * total_bins
    keys = np.union1d(keys_p, keys_q)
    c_p = np.zeros(keys.shape)
    c_q = np.zeros(keys.shape)
    c_p[np.searchsorted(keys, keys_p)] = counts_p
    c_q[np.searchsorted(keys, keys_q)] = counts_q
    p = (c_p + smoothing) / norm_p
    q = (c_q + smoothing) / norm_q
    # Every empty box contributes the same p0 log(p0 / q0).
    p0, q0 = smoothing / norm_p, smoothing / norm_q
    n_empty = total_bins - keys.size
    return float(np.sum(p * np.log(p / q)) + n_empty * p0 * np.log(p0 / q0))


def gmm_state_space_divergence(
    x_true: np.ndarray,
    x_gen: np.ndarray,
    variance: float = 1.0,
    max_points: int = 10_000,
    n_samples: int = 1000,
    seed: int = 0,
) -> float:
    """Monte-Carlo ``KL(p_true || p_gen)`` of two Gaussian mixtures (Hershey & Olsen 2007).

    Each mixture puts an isotropic Gaussian of ``variance`` on each of the first ``max_points``
    points of its trajectory; ``n_samples`` samples are drawn from the true mixture with
    ``numpy.random.default_rng(seed)``.

    Args:
        x_true, x_gen: ``(time, dim)`` and ``(time', dim)``.
    """
    rng = np.random.default_rng(seed)
    mu_p = torch.as_tensor(np.asarray(x_true, dtype=np.float64)[:max_points])
    mu_q = torch.as_tensor(np.asarray(x_gen, dtype=np.float64)[:max_points])
    picks = rng.integers(0, mu_p.shape[0], n_samples)
    noise = rng.standard_normal((n_samples, mu_p.shape[1]))
    samples = mu_p[picks] + np.sqrt(variance) * torch.as_tensor(noise)

    def log_density(mu: torch.Tensor) -> torch.Tensor:
        # The Gaussian normalization is the same for both mixtures and cancels in log p - log q.
        sq = torch.cdist(samples, mu).square()
        return torch.logsumexp(-0.5 * sq / variance, dim=1) - np.log(mu.shape[0])

    return float((log_density(mu_p) - log_density(mu_q)).mean())


def state_space_divergence(
    x_true: np.ndarray, x_gen: np.ndarray, n_bins: int = 30, gmm_variance: float = 1.0, seed: int = 0
) -> float:
    """``D_stsp``: binned for ``dim <= 5`` (:func:`binned_state_space_divergence`), else GMM."""
    if np.asarray(x_true).shape[1] <= MAX_BINNED_DIM:
        return binned_state_space_divergence(x_true, x_gen, n_bins)
    return gmm_state_space_divergence(x_true, x_gen, gmm_variance, seed=seed)


def power_spectra(x: np.ndarray, sigma: float = 20.0) -> np.ndarray:
    """Normalized, smoothed power spectrum of each dimension of ``x`` (time, dim) -> (freq, dim).

    Each dimension is z-scored, its ``|rfft|^2`` smoothed by a Gaussian of ``sigma`` frequency bins
    (reflecting boundary, kernel radius 4 sigma) and normalized to sum 1. A constant dimension has
    all its power at frequency 0.
    """
    x = np.asarray(x, dtype=np.float64)
    std = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    ps = np.abs(np.fft.rfft(z, axis=0)) ** 2
    ps[0, std == 0] = 1.0
    if sigma > 0:
        ps = np.clip(gaussian_filter1d(ps, sigma, axis=0, mode="reflect", truncate=4.0), 0.0, None)
    return ps / ps.sum(axis=0, keepdims=True)


def power_spectrum_distance(x_true: np.ndarray, x_gen: np.ndarray, sigma: float = 20.0) -> float:
    """``D_H``: mean over dimensions of the Hellinger distance between :func:`power_spectra`.

    ``H(p, q) = sqrt(sum_f (sqrt p_f - sqrt q_f)^2 / 2)`` lies in [0, 1]. Both trajectories must have
    the same shape ``(time, dim)``.
    """
    if np.shape(x_true) != np.shape(x_gen):
        raise ValueError(f"power_spectrum_distance: shapes differ, {np.shape(x_true)} vs {np.shape(x_gen)}")
    p, q = power_spectra(x_true, sigma), power_spectra(x_gen, sigma)
    hellinger = np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2, axis=0))
    return float(hellinger.mean())


def prediction_error(
    predict: Callable[[torch.Tensor, int], torch.Tensor], x: torch.Tensor, n: int = 20
) -> float:
    """``PE(n)``: MSE between ``predict(x[:-n], n)`` and ``x[n:]``.

    Args:
        predict: maps observed states ``(batch, dim)`` to the model's ``n``-step-ahead predictions
            ``(batch, dim)``; every time point of ``x`` is an initial condition.
        x: one trajectory ``(time, dim)``.
    """
    if x.shape[0] <= n:
        raise ValueError(f"prediction_error: need more than n={n} time points, got {x.shape[0]}")
    return float((predict(x[:-n], n) - x[n:]).square().mean())


def _random_frame(batch: int, dim: int, k: int, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """``(batch, dim, k)`` random orthonormal frames."""
    g = torch.randn(batch, dim, k, generator=generator, dtype=like.dtype)
    return torch.linalg.qr(g.to(like.device))[0]


def lyapunov_spectrum_map(
    step: Callable[[torch.Tensor], torch.Tensor],
    jacobian: Callable[[torch.Tensor], torch.Tensor],
    z0: torch.Tensor,
    n_steps: int,
    dt: float = 1.0,
    transient: int = 0,
    n_exponents: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Leading Lyapunov exponents of a map ``z -> step(z)`` by QR re-orthonormalization at each step.

    Args:
        step: the map, ``(batch, dim) -> (batch, dim)``.
        jacobian: its Jacobian, ``(batch, dim) -> (batch, dim, dim)``.
        z0: initial states ``(batch, dim)``; each row is an independent estimate.
        n_steps: iterations averaged over (after ``transient`` iterations that are discarded).
        dt: time per iteration, so exponents are per unit time (``1.0``: per step).
        n_exponents: how many exponents (<= dim).
        generator: for the initial random frame.

    Returns:
        ``(batch, n_exponents)``, sorted in decreasing order on average.
    """
    with torch.no_grad():
        z = z0
        for _ in range(transient):
            z = step(z)
        q = _random_frame(z.shape[0], z.shape[1], n_exponents, z, generator)
        log_growth = torch.zeros(z.shape[0], n_exponents, dtype=z.dtype, device=z.device)
        for _ in range(n_steps):
            q, r = torch.linalg.qr(jacobian(z) @ q)
            log_growth += torch.diagonal(r, dim1=-2, dim2=-1).abs().log()
            z = step(z)
        return log_growth / (n_steps * dt)


def lyapunov_spectrum_flow(
    flow: Flow,
    y0: torch.Tensor,
    dt: float,
    n_steps: int,
    transient: int = 0,
    n_exponents: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Leading Lyapunov exponents of a flow, per unit time.

    The state and ``n_exponents`` tangent vectors (the variational equation ``dV/dt = J(y) V``) are
    advanced together by RK4 steps of ``dt``; the tangent frame is re-orthonormalized after every
    step, i.e. this is :func:`lyapunov_spectrum_map` for the RK4 map of the variational system.

    Args:
        flow: the system; y0: initial states ``(batch, dim)``; each row is an independent estimate.

    Returns:
        ``(batch, n_exponents)``.
    """
    batch, dim = y0.shape
    k = n_exponents

    def augmented(state: torch.Tensor) -> torch.Tensor:
        y, v = state[:, :dim], state[:, dim:].reshape(batch, dim, k)
        return torch.cat((flow.rhs(y), (flow.jacobian(y) @ v).reshape(batch, dim * k)), dim=1)

    y = y0
    for _ in range(transient):
        y = rk4_step(flow.rhs, y, dt)
    q = _random_frame(batch, dim, k, y, generator)
    log_growth = torch.zeros(batch, k, dtype=y.dtype, device=y.device)
    for _ in range(n_steps):
        state = rk4_step(augmented, torch.cat((y, q.reshape(batch, dim * k)), dim=1), dt)
        y = state[:, :dim]
        q, r = torch.linalg.qr(state[:, dim:].reshape(batch, dim, k))
        log_growth += torch.diagonal(r, dim1=-2, dim2=-1).abs().log()
    return log_growth / (n_steps * dt)
