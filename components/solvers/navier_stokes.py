"""2D incompressible Navier-Stokes in vorticity form on the torus ``[0, 1)^2``, batched in torch.

    w_t + u . grad w = nu Laplacian w + f,    u = (psi_y, -psi_x),    -Laplacian psi = w,

with the forcing of the FNO benchmark ``f = 0.1 (sin 2 pi (x + y) + cos 2 pi (x + y))`` by default.
Fourier pseudo-spectral in space (2/3-rule dealiasing of the advection term); in time, Crank-Nicolson
for the diffusion and Heun's predictor-corrector for advection and forcing (second order overall):

    w*      = [(1 + dt L/2) w^n + dt (f + N(w^n))] / (1 - dt L/2)
    w^{n+1} = [(1 + dt L/2) w^n + dt (f + (N(w^n) + N(w*)) / 2)] / (1 - dt L/2),

with ``L = -nu |k|^2`` and ``N(w) = -u . grad w``. The state stays in Fourier space between steps;
everything runs on the device and dtype of the initial vorticity.
"""

from __future__ import annotations

import math

import torch


def fno_forcing(n: int, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> torch.Tensor:
    """``0.1 (sin 2 pi (x + y) + cos 2 pi (x + y))`` on the grid ``x_i = i/n``: ``(n, n)``."""
    x = torch.arange(n, dtype=dtype, device=device) / n
    s = 2 * math.pi * (x[:, None] + x[None, :])
    return 0.1 * (torch.sin(s) + torch.cos(s))


class VorticitySolver:
    """Pseudo-spectral Crank-Nicolson / Heun stepper for a batch of vorticity fields on an ``n x n`` grid.

    ``n``: grid points per side (even); ``nu``: viscosity (> 0 for a damped run; 0 gives the Euler
    equations); ``forcing``: ``(n, n)`` field (or ``None`` for no forcing), units 1/time^2.
    """

    def __init__(self, n: int, nu: float, forcing: torch.Tensor | None, dtype: torch.dtype, device):
        if n % 2:
            raise ValueError(f"the grid size must be even, got {n}")
        self.n, self.nu = n, nu
        kx = 2 * math.pi * torch.fft.fftfreq(n, d=1.0 / n, dtype=dtype, device=device)
        ky = 2 * math.pi * torch.fft.rfftfreq(n, d=1.0 / n, dtype=dtype, device=device)
        self.kx, self.ky = kx[:, None], ky[None, :]
        self.k2 = self.kx**2 + self.ky**2
        self.inv_k2 = 1.0 / self.k2.clamp_min(1.0)  # psi_hat = w_hat / |k|^2 ...
        self.inv_k2[0, 0] = 0.0  # ... with zero mean
        cut = n / 3 * 2 * math.pi
        self.dealias = (self.kx.abs() <= cut) & (self.ky.abs() <= cut)
        self.f_hat = None if forcing is None else torch.fft.rfft2(forcing.to(dtype=dtype, device=device))

    def advection(self, w_hat: torch.Tensor) -> torch.Tensor:
        """``-u . grad w`` in Fourier space, dealiased. ``w_hat``: ``(batch, n, n//2 + 1)``."""
        n = self.n
        psi_hat = w_hat * self.inv_k2
        u = torch.fft.irfft2(1j * self.ky * psi_hat, s=(n, n))
        v = torch.fft.irfft2(-1j * self.kx * psi_hat, s=(n, n))
        wx = torch.fft.irfft2(1j * self.kx * w_hat, s=(n, n))
        wy = torch.fft.irfft2(1j * self.ky * w_hat, s=(n, n))
        return -torch.fft.rfft2(u * wx + v * wy) * self.dealias

    def run(self, w0: torch.Tensor, times: torch.Tensor | list[float], max_dt: float) -> torch.Tensor:
        """Integrate from ``w0`` (``(batch, n, n)``) and return ``(batch, len(times), n, n)``.

        ``times``: increasing output times (> 0); each interval is split into equal steps of at most
        ``max_dt``.
        """
        n = self.n
        w_hat = torch.fft.rfft2(w0)
        out = w0.new_empty((w0.shape[0], len(times), n, n))
        t = 0.0
        for i, t_next in enumerate([float(s) for s in times]):
            if t_next <= t:
                raise ValueError(f"times must be increasing and positive, got {list(times)}")
            steps = max(1, math.ceil((t_next - t) / max_dt - 1e-9))
            dt = (t_next - t) / steps
            explicit = 1 - 0.5 * dt * self.nu * self.k2
            implicit = 1 / (1 + 0.5 * dt * self.nu * self.k2)
            force = 0.0 if self.f_hat is None else self.f_hat
            for _ in range(steps):
                n0 = self.advection(w_hat)
                w_star = (explicit * w_hat + dt * (force + n0)) * implicit
                w_hat = (explicit * w_hat + dt * (force + 0.5 * (n0 + self.advection(w_star)))) * implicit
            out[:, i] = torch.fft.irfft2(w_hat, s=(n, n))
            t = t_next
        return out
