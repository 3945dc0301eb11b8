"""Vorticity solver: exact single-shell solutions (Taylor-Green type), second order in time,
conservation of energy and enstrophy without viscosity."""

import math

import numpy as np
import pytest
import torch

from sciml.components.solvers.grf import periodic_grf
from sciml.components.solvers.navier_stokes import VorticitySolver, fno_forcing

N = 32


def grid(n=N):
    x = torch.arange(n, dtype=torch.float64) / n
    return torch.meshgrid(x, x, indexing="ij")


def random_vorticity(batch=2, n=N, seed=0):
    return torch.from_numpy(periodic_grf(np.random.default_rng(seed), n, 2, 2.5, 7.0, zero_mean=True, batch=batch))


@pytest.mark.parametrize("forced", [False, True])
def test_shell_solution_exact_and_second_order(forced):
    # Every Fourier mode with |k|^2 = 8 pi^2 (k = (+-1, +-1) in units of 2 pi): psi = w / (8 pi^2) is
    # proportional to w, so u . grad w = 0 and w_t = -lam w + f with lam = 8 pi^2 nu, solved exactly by
    # w = e^{-lam t} w0 + (1 - e^{-lam t}) f / lam. The FNO forcing lies on this shell too. The
    # scheme reduces to Crank-Nicolson for this linear ODE: order 2 (observed 2.00; +-0.05).
    nu, t = 1e-2, 2.0
    x, y = grid()
    w0 = (torch.sin(2 * math.pi * x) * torch.sin(2 * math.pi * y) + 0.5 * torch.cos(2 * math.pi * (x - y)))[None]
    f = fno_forcing(N) if forced else None
    lam = 8 * math.pi**2 * nu
    exact = math.exp(-lam * t) * w0 + (1 - math.exp(-lam * t)) * (f / lam if forced else 0.0)
    solver = VorticitySolver(N, nu, f, torch.float64, "cpu")
    errors = [(solver.run(w0, [t], dt)[0, -1] - exact[0]).abs().max().item() for dt in (0.2, 0.1, 0.05)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    np.testing.assert_allclose(orders, 2.0, atol=0.05)
    assert errors[-1] < 1e-4  # 7e-5 observed: the O(dt^2 lam^3 t) CN error at dt = 0.05


def test_second_order_self_convergence_with_advection():
    # A random vorticity makes the advection term active; successive differences of runs with
    # dt, dt/2, dt/4 shrink by 2^2 for a second-order scheme (observed 4.0; order within +-0.15).
    w0 = random_vorticity()
    solver = VorticitySolver(N, 1e-3, fno_forcing(N), torch.float64, "cpu")
    runs = [solver.run(w0, [1.0], dt)[:, -1] for dt in (0.04, 0.02, 0.01)]
    order = math.log2((runs[0] - runs[1]).abs().max() / (runs[1] - runs[2]).abs().max())
    assert order == pytest.approx(2.0, abs=0.15)


def test_inviscid_run_conserves_energy_and_enstrophy():
    # Without viscosity and forcing, the dealiased semi-discretization is a Galerkin truncation to
    # the modes |k_x|, |k_y| <= n/3, which conserves the energy sum |w_k|^2 / |k|^2 and the
    # enstrophy sum w^2 exactly for a state inside the truncation (w0 is projected onto it); Heun
    # adds O(dt^3) per step, which at dt = 0.01 over t = 1 leaves ~1e-7 relative drift; tolerance 1e-5.
    solver = VorticitySolver(N, 0.0, None, torch.float64, "cpu")
    w0 = torch.fft.irfft2(torch.fft.rfft2(random_vorticity()) * solver.dealias, s=(N, N))
    w1 = solver.run(w0, [1.0], 0.01)[:, -1]
    k = 2 * math.pi * torch.fft.fftfreq(N, d=1.0 / N, dtype=torch.float64)
    k2 = (k[:, None] ** 2 + k[None, :] ** 2).clamp_min(1.0)

    def energy(w):
        return (torch.fft.fft2(w).abs() ** 2 / k2).sum(dim=(-1, -2))

    def enstrophy(w):
        return (w**2).sum(dim=(-1, -2))

    torch.testing.assert_close(energy(w1), energy(w0), rtol=1e-5, atol=0)
    torch.testing.assert_close(enstrophy(w1), enstrophy(w0), rtol=1e-5, atol=0)
    # the advected field really changed (else conservation would be trivial)
    assert (w1 - w0).abs().max() > 0.1 * w0.abs().max()


def test_trajectory_shape_and_zero_mean_kept():
    w0 = random_vorticity(batch=3)
    w = VorticitySolver(N, 1e-3, fno_forcing(N), torch.float64, "cpu").run(w0, [0.1, 0.2], 0.05)
    assert w.shape == (3, 2, N, N)
    # every term of the equation has zero mean on the torus (the forcing too): round-off only
    assert w.mean(dim=(-1, -2)).abs().max() < 1e-12


def test_rejects_odd_grid():
    with pytest.raises(ValueError, match="even"):
        VorticitySolver(31, 1e-3, None, torch.float64, "cpu")
