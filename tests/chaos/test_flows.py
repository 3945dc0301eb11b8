"""Chaotic flows: right-hand sides against hand-computed values, Jacobians against finite differences."""

import pytest
import torch

from sciml.components.solvers.flows import Lorenz63, Lorenz96, Roessler

FLOWS = [Lorenz63(), Roessler(), Lorenz96(n=5, forcing=8.0), Lorenz96(n=8, forcing=10.0)]


def test_lorenz63_rhs_hand_values():
    # (x, y, z) = (1, 2, 3): (10 (2 - 1), 1 (28 - 3) - 2, 1 * 2 - 8/3 * 3) = (10, 23, -6)
    got = Lorenz63().rhs(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    torch.testing.assert_close(got, torch.tensor([10.0, 23.0, -6.0], dtype=torch.float64))


def test_roessler_rhs_hand_values():
    # (1, 2, 3): (-2 - 3, 1 + 0.2 * 2, 0.2 + 3 (1 - 5.7)) = (-5, 1.4, -13.9)
    got = Roessler().rhs(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    torch.testing.assert_close(got, torch.tensor([-5.0, 1.4, -13.9], dtype=torch.float64))


def test_lorenz96_rhs_hand_values():
    # n = 4, F = 8, x = (1, 2, 3, 4); x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F (indices mod 4):
    # i=0: (2-3)*4-1+8 = 3; i=1: (3-4)*1-2+8 = 5; i=2: (4-1)*2-3+8 = 11; i=3: (1-2)*3-4+8 = 1
    got = Lorenz96(n=4, forcing=8.0).rhs(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64))
    torch.testing.assert_close(got, torch.tensor([3.0, 5.0, 11.0, 1.0], dtype=torch.float64))


def test_lorenz96_fixed_point():
    # x_i = F for all i is an equilibrium: (F - F) F - F + F = 0
    flow = Lorenz96(n=6, forcing=3.5)
    assert torch.count_nonzero(flow.rhs(torch.full((6,), 3.5, dtype=torch.float64))) == 0


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f"{type(f).__name__}{f.dim}")
def test_jacobian_matches_central_differences(flow):
    gen = torch.Generator().manual_seed(0)
    y = flow.initial_states(6, gen).reshape(2, 3, flow.dim) * 1.3
    jac = flow.jacobian(y)
    assert jac.shape == (2, 3, flow.dim, flow.dim)
    eps = 1e-6
    fd = torch.empty_like(jac)
    for j in range(flow.dim):
        e = torch.zeros(flow.dim, dtype=y.dtype)
        e[j] = eps
        fd[..., :, j] = (flow.rhs(y + e) - flow.rhs(y - e)) / (2 * eps)
    # The fields are quadratic, so central differences are exact up to rounding: ~1e-16 * |f| / eps ~ 1e-8.
    torch.testing.assert_close(jac, fd, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f"{type(f).__name__}{f.dim}")
def test_rhs_is_batched_and_keeps_dtype(flow):
    gen = torch.Generator().manual_seed(1)
    y = flow.initial_states(12, gen, dtype=torch.float32)
    batched = flow.rhs(y.reshape(3, 4, flow.dim))
    assert batched.dtype == torch.float32
    rowwise = torch.stack([flow.rhs(row) for row in y])
    torch.testing.assert_close(batched.reshape(12, flow.dim), rowwise)
