"""Batched integrators: order of accuracy and tolerance control on the linear oscillator."""

import numpy as np
import pytest
import torch

from sciml.components.solvers.flows import Lorenz63
from sciml.components.solvers.ode import dopri5, rk4


def oscillator(omega: torch.Tensor):
    """y = (q, p), q' = p, p' = -omega^2 q; omega is (batch, 1)."""

    def f(y):
        return torch.cat((y[:, 1:2], -omega.square() * y[:, 0:1]), dim=1)

    return f


def exact(omega: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Solution from (q, p) = (1, 0): (cos wt, -w sin wt), shape (batch, time, 2)."""
    wt = omega * t[None, :]
    return torch.stack((torch.cos(wt), -omega * torch.sin(wt)), dim=-1)


def test_rk4_is_fourth_order():
    omega = torch.tensor([[1.0], [2.5]], dtype=torch.float64)
    y0 = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    T, errors, dts = 4.0, [], [0.2, 0.1, 0.05, 0.025]
    for dt in dts:
        n = round(T / dt)
        out = rk4(oscillator(omega), y0, dt, n)
        ref = exact(omega, torch.arange(n + 1, dtype=torch.float64) * dt)
        errors.append((out - ref).abs().max().item())
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    # Asymptotic order 4; the coarsest dt (w dt = 0.5) is slightly outside the asymptotic range.
    assert 3.8 < slope < 4.3, (slope, errors)


def test_rk4_substeps_and_discard_match_a_finer_grid():
    flow = Lorenz63()
    y0 = flow.initial_states(4, torch.Generator().manual_seed(0))
    coarse = rk4(flow.rhs, y0, 0.02, 50, substeps=2, discard=10)
    fine = rk4(flow.rhs, y0, 0.01, 120)
    # Same arithmetic in the same order: equal up to rounding.
    torch.testing.assert_close(coarse, fine[:, 20::2], rtol=1e-12, atol=1e-12)
    assert coarse.shape == (4, 51, 3)


@pytest.mark.parametrize("rtol", [1e-4, 1e-6, 1e-8])
def test_dopri5_error_follows_tolerance(rtol):
    # Mixed frequencies in one batch: each trajectory picks its own steps.
    omega = torch.tensor([[0.5], [1.0], [4.0]], dtype=torch.float64)
    y0 = torch.tensor([[1.0, 0.0]] * 3, dtype=torch.float64)
    dt, n = 0.1, 100
    out = dopri5(oscillator(omega), y0, dt, n, rtol=rtol, atol=rtol * 1e-3)
    ref = exact(omega, torch.arange(n + 1, dtype=torch.float64) * dt)
    err = ((out - ref).abs() / omega.unsqueeze(1)).max().item()
    # Global error over ~6 periods of the fastest mode: tolerance times a modest accumulation factor
    # (local errors add up over the ~100-1000 accepted steps); the bound 50 * rtol holds with margin.
    assert err < 50 * rtol, err
    # and the control is not vacuous: the error is not far below what the tolerance asks for.
    assert err > 1e-3 * rtol, err


def test_dopri5_output_grid_and_discard_agree_with_rk4_on_lorenz():
    flow = Lorenz63()
    y0 = flow.initial_states(3, torch.Generator().manual_seed(2))
    ref = rk4(flow.rhs, y0, 0.01, 300, substeps=10)  # step 1e-3: RK4 error ~1e-10 over 3 time units
    out = dopri5(flow.rhs, y0, 0.01, 200, rtol=1e-10, atol=1e-10, discard=100)
    assert out.shape == (3, 201, 3)
    # 3 time units ~ 2.7 Lyapunov times amplify 1e-10 local errors by e^2.7 ~ 15: 1e-7 is generous.
    torch.testing.assert_close(out, ref[:, 100:], rtol=0, atol=1e-7)


def test_float32_and_float64_are_kept():
    omega = torch.ones(2, 1)
    y0 = torch.tensor([[1.0, 0.0], [0.5, 0.0]])
    assert rk4(oscillator(omega), y0, 0.1, 5).dtype == torch.float32
    assert dopri5(oscillator(omega.double()), y0.double(), 0.1, 5).dtype == torch.float64


def test_bad_arguments_are_rejected():
    f = oscillator(torch.ones(1, 1))
    y0 = torch.zeros(1, 2)
    with pytest.raises(ValueError, match="dt must be > 0"):
        rk4(f, y0, 0.0, 3)
    with pytest.raises(ValueError, match="substeps"):
        rk4(f, y0, 0.1, 3, substeps=0)
    with pytest.raises(ValueError, match="rtol and atol"):
        dopri5(f, y0, 0.1, 3, rtol=0.0)
    # zero steps: just the initial state
    torch.testing.assert_close(rk4(f, y0 + 1.0, 0.1, 0), (y0 + 1.0)[:, None])


def test_rk4_blocks_do_not_change_the_result():
    # Blocks only regroup the same steps (the last block runs past the grid and is cut): any block
    # size, with or without a transient that ends inside a block, gives bitwise the same output.
    flow = Lorenz63()
    y0 = flow.initial_states(3, torch.Generator().manual_seed(1))
    ref = rk4(flow.rhs, y0, 0.01, 23, discard=5, block=1)
    for block in (2, 7, 40):
        assert torch.equal(rk4(flow.rhs, y0, 0.01, 23, discard=5, block=block), ref)
    assert torch.equal(rk4(flow.rhs, y0, 0.01, 23, block=7)[:, 0], y0)


@pytest.mark.slow
def test_rk4_compiled_agrees_with_eager():
    # torch.compile fuses the block into one kernel; the compiler may contract a * b + c into FMAs,
    # so agreement is to rounding (non-chaotic system, 30 steps), not bitwise.
    omega = torch.tensor([[1.0], [2.5]], dtype=torch.float64)
    y0 = torch.tensor([[1.0, 0.0], [0.3, 0.2]], dtype=torch.float64)
    eager = rk4(oscillator(omega), y0, 0.1, 30, discard=3, block=4)
    compiled = rk4(oscillator(omega), y0, 0.1, 30, discard=3, block=4, compiled=True)
    torch.testing.assert_close(compiled, eager, rtol=1e-13, atol=1e-13)


def test_rk4_falls_back_to_eager_when_compilation_fails(monkeypatch):
    from sciml.components.solvers import ode

    def unavailable(*args):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(ode, "_compile_failed", False)
    monkeypatch.setattr(ode, "_compiled_block", unavailable)
    omega = torch.ones(2, 1, dtype=torch.float64)
    y0 = torch.tensor([[1.0, 0.0], [0.5, 0.0]], dtype=torch.float64)
    with pytest.warns(UserWarning, match="integrating eagerly"):
        out = rk4(oscillator(omega), y0, 0.1, 12, compiled=True)
    assert torch.equal(out, rk4(oscillator(omega), y0, 0.1, 12))
    assert ode._compile_failed  # later calls do not try again
