"""MgNO and U-Net: shapes over dimensions and resolutions, gradients reaching every parameter,
linearity of a V-cycle, periodic shift equivariance, and overfitting a tiny set."""

import numpy as np
import pytest
import torch

from sciml.components.models.mgno import MgNOConfig
from sciml.components.models.mgno_net import MgNO, VCycle
from sciml.components.models.unet import UNetConfig
from sciml.components.solvers.dst_poisson import solve_dirichlet

CONFIGS = {
    "mgno": lambda boundary: MgNOConfig(width=8, layers=2, pre_smoothing=[1, 1, 2], post_smoothing=[1, 0, 1], boundary=boundary),
    "unet": lambda boundary: UNetConfig(width=8, levels=3, boundary=boundary),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("boundary", ["dirichlet", "periodic", "neumann"])
@pytest.mark.parametrize("ndim,sizes", [(1, [16, 33, 64]), (2, [16, 17, 32])])
def test_output_shape_at_several_resolutions(name, boundary, ndim, sizes):
    torch.manual_seed(0)
    model = CONFIGS[name](boundary).build(in_channels=2, out_channels=3, ndim=ndim)
    for n in sizes:  # the same weights at every resolution, odd sizes included
        out = model(torch.randn(2, 2, *([n] * ndim)))
        assert out.shape == (2, 3, *([n] * ndim))
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_unsupported_dimension_is_refused(name):
    with pytest.raises(ValueError, match="supports 1 or 2 spatial dimensions, got 3"):
        CONFIGS[name]("dirichlet").build(in_channels=1, out_channels=1, ndim=3)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_gradient_reaches_every_parameter(name):
    torch.manual_seed(0)
    model = CONFIGS[name]("dirichlet").build(in_channels=1, out_channels=1, ndim=2)
    model(torch.randn(2, 1, 16, 16)).square().mean().backward()
    missing = [k for k, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_vcycle_is_linear():
    # Every operator in a V-cycle is a bias-free convolution: V(a f + b g) = a V(f) + b V(g)
    # (float64 round-off only).
    torch.manual_seed(0)
    cycle = VCycle(2, 2, 4, pre=[1, 2, 1], post=[1, 1, 0], padding_mode="zeros").double()
    f, g = torch.randn(2, 1, 2, 24, 24, dtype=torch.float64)
    torch.testing.assert_close(cycle(2.0 * f - 3.0 * g), 2.0 * cycle(f) - 3.0 * cycle(g), rtol=1e-12, atol=1e-12)


def test_periodic_mgno_commutes_with_coarse_grid_shifts():
    # With circular padding and 3 levels, every operator commutes with shifts by 2^(3-1) = 4 points
    # (stride-2 restriction fixes the coarse grid to even points), so the whole network does.
    torch.manual_seed(0)
    model = MgNO(1, 1, 2, width=4, layers=2, pre_smoothing=[1, 1, 1], post_smoothing=[0, 1, 0], boundary="periodic").double()
    x = torch.randn(1, 1, 32, 32, dtype=torch.float64)
    shift = dict(shifts=(4, -8), dims=(2, 3))
    torch.testing.assert_close(model(torch.roll(x, **shift)), torch.roll(model(x), **shift), rtol=1e-12, atol=1e-12)


def test_mgno_config_rejects_mismatched_levels():
    with pytest.raises(ValueError, match="post_smoothing: one count >= 0 per level"):
        MgNOConfig(pre_smoothing=[1, 1], post_smoothing=[1])
    with pytest.raises(ValueError, match="pre_smoothing: every level needs at least one step"):
        MgNOConfig(pre_smoothing=[1, 0])


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_overfits_tiny_poisson_set(name):
    # 4 pairs (f, u) with -Lap u = f (Dirichlet, by the DST): 150 Adam steps must bring the relative
    # L2 error below 10% of the untrained model's (observed ~4%: 1.4 -> 0.056 for MgNO, 1.7 -> 0.061
    # for the U-Net); a model that cannot fit a fixed linear operator on 4 samples fails this.
    rng = np.random.default_rng(0)
    f = rng.standard_normal((4, 1, 15, 15))
    u = solve_dirichlet(f, 2)
    u = u / np.abs(u).max()
    x, y = torch.tensor(f, dtype=torch.float32), torch.tensor(u, dtype=torch.float32)
    torch.manual_seed(0)
    model = CONFIGS[name]("dirichlet").build(in_channels=1, out_channels=1, ndim=2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def rel():
        return ((model(x) - y).flatten(1).norm(dim=1) / y.flatten(1).norm(dim=1)).mean()

    initial = rel().item()
    for _ in range(150):
        opt.zero_grad()
        loss = rel()
        loss.backward()
        opt.step()
    assert rel().item() < 0.1 * initial
