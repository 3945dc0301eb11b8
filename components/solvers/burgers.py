"""Viscous Burgers' equation ``u_t + (u^2/2)_x = nu u_xx`` on the periodic interval ``[0, 1)``.

Fourier pseudo-spectral in space, exponential time differencing in time (ETDRK4 of Cox and
Matthews): the stiff linear part ``-nu k^2`` is integrated exactly, the nonlinear term
``-(i k / 2) FFT(u^2)`` by a fourth-order Runge-Kutta-like combination whose coefficients
(``phi``-functions of ``h L``) are evaluated by the contour-integral average of Kassam and Trefethen,
which avoids the cancellation of the direct formulas for small ``h L``. The quadratic term is
dealiased by the 3/2 rule: the product is formed on a grid of ``3n/2`` points, which removes all
aliasing (as the 2/3 rule does) without discarding the highest third of the resolved modes, so the
input ``u0`` is used exactly as given.

Grid: ``x_j = j / n``, ``j = 0..n-1``; wavenumbers ``k = 2 pi m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ETDRK4Coefficients:
    """ETDRK4 coefficients for a diagonal linear operator ``L`` and step ``h``; arrays shaped like ``L``."""

    e: np.ndarray
    e2: np.ndarray
    q: np.ndarray
    f1: np.ndarray
    f2: np.ndarray
    f3: np.ndarray

    @classmethod
    def build(cls, lin: np.ndarray, h: float, contour_points: int = 32) -> ETDRK4Coefficients:
        """Coefficients for ``du/dt = lin * u + N(u)``; ``lin`` real and non-positive.

        Each ``phi``-type function ``g(z)`` is replaced by its mean over a circle of radius 1 around
        ``z = h lin`` (Cauchy's formula), which is exact for analytic ``g`` up to a geometrically small
        quadrature error and never divides by a small ``z``.
        """
        z = h * lin.astype(complex)
        r = np.exp(1j * np.pi * (np.arange(1, contour_points + 1) - 0.5) / contour_points)
        lr = z[..., None] + r
        ez = np.exp(lr)

        def mean(values: np.ndarray) -> np.ndarray:
            return h * values.mean(axis=-1).real

        return cls(
            e=np.exp(h * lin),
            e2=np.exp(h * lin / 2),
            q=mean((np.exp(lr / 2) - 1) / lr),
            f1=mean((-4 - lr + ez * (4 - 3 * lr + lr**2)) / lr**3),
            f2=mean((2 + lr + ez * (lr - 2)) / lr**3),
            f3=mean((-4 - 3 * lr - lr**2 + ez * (4 - lr)) / lr**3),
        )


def dealiased_square(v: np.ndarray, n: int) -> np.ndarray:
    """``rfft`` of ``u^2`` without aliasing, for ``u = irfft(v, n)``.

    ``v``: ``(..., n//2 + 1)`` coefficients. The square is formed on ``m = 3n/2`` (rounded up to even)
    points, where products of two resolved modes (``|k| <= n/2``) cannot alias onto a resolved mode.
    The Nyquist mode of an even ``n`` is a cosine counted once by ``irfft``; it is halved when padded
    (where it becomes an ordinary mode with a conjugate partner) and dropped from the result.
    """
    m = 2 * math.ceil(3 * n / 4)
    padded = np.zeros(v.shape[:-1] + (m // 2 + 1,), dtype=complex)
    padded[..., : n // 2 + 1] = v
    if n % 2 == 0:
        padded[..., n // 2] *= 0.5
    square = np.fft.rfft(np.fft.irfft(padded, n=m) ** 2)[..., : n // 2 + 1] * (m / n)
    if n % 2 == 0:
        square[..., n // 2] = 0.0
    return square


def solve_burgers(
    u0: np.ndarray, nu: float, times: np.ndarray, max_dt: float, contour_points: int = 32
) -> np.ndarray:
    """Integrate Burgers' equation from ``u0`` and return the solution at ``times``.

    ``u0``: ``(batch, n)`` on the grid ``x_j = j/n``; ``nu``: viscosity (> 0, units length^2/time);
    ``times``: increasing output times ``> 0``; ``max_dt``: the largest step (each interval between
    output times is split into equal steps no longer than this).
    Returns ``(batch, len(times), n)``.
    """
    u0 = np.atleast_2d(np.asarray(u0, dtype=float))
    n = u0.shape[-1]
    k = 2 * np.pi * np.arange(n // 2 + 1)
    lin = -nu * k**2

    def nonlinear(v: np.ndarray) -> np.ndarray:
        return -0.5j * k * dealiased_square(v, n)

    v = np.fft.rfft(u0)
    out = np.empty((u0.shape[0], len(times), n))
    t = 0.0
    cache: dict[int, ETDRK4Coefficients] = {}
    for i, t_next in enumerate(np.asarray(times, dtype=float)):
        if t_next <= t:
            raise ValueError(f"times must be increasing and positive, got {list(times)}")
        steps = max(1, math.ceil((t_next - t) / max_dt - 1e-9))
        h = (t_next - t) / steps
        key = round(h * 1e15)
        if key not in cache:
            cache[key] = ETDRK4Coefficients.build(lin, h, contour_points)
        c = cache[key]
        for _ in range(steps):
            nv = nonlinear(v)
            a = c.e2 * v + c.q * nv
            na = nonlinear(a)
            b = c.e2 * v + c.q * na
            nb = nonlinear(b)
            cc = c.e2 * a + c.q * (2 * nb - nv)
            nc = nonlinear(cc)
            v = c.e * v + nv * c.f1 + 2 * (na + nb) * c.f2 + nc * c.f3
        out[:, i] = np.fft.irfft(v, n=n)
        t = t_next
    return out
