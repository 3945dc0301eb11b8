"""The Fourier neural operator: shapes over dimensions and resolutions, equivariance, gradients, fitting."""

from __future__ import annotations

import pytest
import torch

from sciml.components.models.fno import FNOConfig
from sciml.components.models.fno_net import FNO, SpectralConv


NEURALOP_BLOCKS = {"lifting_width": 12, "channel_mlp": True}


@pytest.mark.parametrize("blocks", [{}, NEURALOP_BLOCKS])
@pytest.mark.parametrize(("ndim", "size"), [(1, 32), (2, 16), (3, 8)])
def test_shapes_across_dimensions_and_resolutions(ndim: int, size: int, blocks: dict) -> None:
    config = FNOConfig(width=6, modes=3, layers=2, projection_width=8, padding=0.25, **blocks)
    net = config.build(in_channels=2, out_channels=3, ndim=ndim)
    for n in (size, 2 * size, size // 2):
        x = torch.randn(2, 2, *([n] * ndim))
        assert net(x).shape == (2, 3, *([n] * ndim))


def test_spectral_conv_commutes_with_circular_shifts() -> None:
    torch.manual_seed(0)
    conv = SpectralConv(3, 4, [5, 5])
    x = torch.randn(2, 3, 16, 16)
    shifted = torch.roll(x, shifts=(3, -5), dims=(2, 3))
    torch.testing.assert_close(conv(shifted), torch.roll(conv(x), shifts=(3, -5), dims=(2, 3)), atol=1e-5, rtol=1e-4)


def test_spectral_conv_is_low_pass() -> None:
    # A single Fourier mode above the kept ones is annihilated; one inside is not.
    conv = SpectralConv(1, 1, [4])
    grid = torch.arange(32) / 32
    high, low = torch.cos(2 * torch.pi * 6 * grid), torch.cos(2 * torch.pi * 2 * grid)
    assert conv(high.view(1, 1, -1)).abs().max() < 1e-5
    assert conv(low.view(1, 1, -1)).abs().max() > 1e-3


@pytest.mark.parametrize("blocks", [{}, NEURALOP_BLOCKS])
def test_every_parameter_gets_a_gradient(blocks: dict) -> None:
    net = FNO(1, 1, [4, 4], width=6, layers=2, projection_width=8, padding=0.1, **blocks)
    net(torch.randn(3, 1, 12, 12)).pow(2).mean().backward()
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_16_bit_precision_settings_run_on_a_cpu() -> None:
    # torch has no bfloat16 FFT and no float16 FFT on a CPU: Lightning's bf16-mixed (autocast) and
    # 16-true / bf16-true (the whole network cast) must still run, to within the 16-bit rounding
    torch.manual_seed(0)
    net = FNO(2, 1, [4, 4], width=8, layers=2, projection_width=16, padding=0.1)
    x = torch.randn(2, 2, 12, 12)
    exact = net(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = net(x)
    assert mixed.dtype == torch.bfloat16
    for dtype, rounding in ((torch.float16, 1e-3), (torch.bfloat16, 8e-3)):
        cast = FNO(2, 1, [4, 4], width=8, layers=2, projection_width=16, padding=0.1)
        cast.load_state_dict(net.state_dict())
        out = cast.to(dtype)(x.to(dtype))
        assert out.dtype == dtype
        assert (out.float() - exact).norm() / exact.norm() < 10 * rounding
    assert (mixed.float() - exact).norm() / exact.norm() < 10 * 8e-3


def test_float64_stays_float64() -> None:
    # 64-true must not round through float32: the spectral convolution is linear to float64 precision
    torch.manual_seed(0)
    conv = SpectralConv(2, 3, [4, 4]).double()
    a, b = torch.randn(2, 1, 2, 12, 12, dtype=torch.float64)
    assert conv(a).dtype == torch.float64
    assert (conv(a + b) - conv(a) - conv(b)).abs().max() < 1e-13 * conv(a).abs().max()


@pytest.mark.parametrize("blocks", [{}, NEURALOP_BLOCKS])
def test_overfits_a_tiny_linear_operator(blocks: dict) -> None:
    # Learn u = smoothing of f on 4 samples: the training error must drop by two orders of magnitude.
    torch.manual_seed(0)
    f = torch.randn(4, 1, 16)
    kernel = torch.tensor([0.25, 0.5, 0.25]).view(1, 1, 3)
    u = torch.nn.functional.conv1d(torch.nn.functional.pad(f, (1, 1), mode="circular"), kernel)
    net = FNO(1, 1, [8], width=16, layers=2, projection_width=32, positional_embedding=False, **blocks)
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    first = None
    for _ in range(400):
        loss = (net(f) - u).pow(2).mean() / u.pow(2).mean()
        first = first or loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first * 1e-2


def test_grid_coordinates_vertex_and_cell() -> None:
    from sciml.components.models.fno_net import grid_coordinates

    fine, coarse = torch.zeros(1, 1, 16, 8), torch.zeros(1, 1, 8, 4)
    # cell grids nest: point i of n sits at i / n, so the 2n grid holds the n grid at its even points
    torch.testing.assert_close(grid_coordinates(fine, "cell")[..., ::2, ::2], grid_coordinates(coarse, "cell"))
    assert grid_coordinates(fine, "cell")[0, 0, -1, 0] == 15 / 16
    # vertex grids include both ends: i / (n - 1)
    vertex = grid_coordinates(fine, "vertex")
    assert vertex[0, 0, 0, 0] == 0 and vertex[0, 0, -1, 0] == 1 and vertex[0, 1, 0, -1] == 1
    # ... and do not nest (point 2 of 16 sits at 2/15, point 1 of 8 at 1/7)
    assert not torch.allclose(vertex[..., ::2, ::2], grid_coordinates(coarse, "vertex"))


def test_grid_option_changes_only_the_embedding() -> None:
    config = dict(width=6, modes=3, layers=2, projection_width=8)
    torch.manual_seed(0)
    vertex = FNOConfig(**config).build(in_channels=1, out_channels=1, ndim=1)
    torch.manual_seed(0)
    cell = FNOConfig(**config, grid="cell").build(in_channels=1, out_channels=1, ndim=1)
    x = torch.randn(2, 1, 16)
    assert not torch.allclose(vertex(x), cell(x))
    # the same network fed the cell coordinates by hand gives the cell model's output
    torch.manual_seed(0)
    plain = FNO(2, 1, [3], width=6, layers=2, projection_width=8, positional_embedding=False)
    coords = (torch.arange(16.0) / 16).expand(2, 1, 16)
    torch.testing.assert_close(plain(torch.cat([x, coords], dim=1)), cell(x))


def test_neuralop_blocks_compose_as_documented() -> None:
    # lift by an MLP; block i: g = gate * h, h = gelu(spectral(h) + skip(h)), h = mlp(h) + g, gelu except after the last
    torch.manual_seed(0)
    net = FNO(1, 2, [3, 3], width=4, layers=2, projection_width=5, grid="cell", lifting_width=7, channel_mlp=True)
    for mlp in net.mlps:
        mlp.gate.data.uniform_(0.5, 1.5)  # not the initial ones, so a gate applied to the wrong tensor shows
    x = torch.randn(2, 1, 8, 8)
    from sciml.components.models.fno_net import grid_coordinates

    h = torch.cat([x, grid_coordinates(x, "cell")], dim=1)
    h = net.lift[2](torch.nn.functional.gelu(net.lift[0](h)))
    for i in range(2):
        gated = h * net.mlps[i].gate
        h = net.spectral[i](h) + net.skips[i](h)
        h = torch.nn.functional.gelu(h) if i == 0 else h
        mlp = net.mlps[i].mlp
        h = mlp[2](torch.nn.functional.gelu(mlp[0](h))) + gated
        h = torch.nn.functional.gelu(h) if i == 0 else h
    torch.testing.assert_close(net(x), net.project(h))


def test_plain_blocks_keep_their_parameters_and_initialization() -> None:
    # the options default off: the parameter names of earlier checkpoints, and the lift drawn first from the seed
    torch.manual_seed(3)
    plain = FNO(1, 1, [4, 4], width=6, layers=2, projection_width=8)
    names = [name for name, _ in plain.named_parameters()]
    assert "lift.weight" in names and not any(name.startswith("mlps") for name in names)
    assert {"project.0.weight", "project.2.weight"} <= set(names)
    torch.manual_seed(3)
    torch.testing.assert_close(plain.lift.weight, torch.nn.Conv2d(3, 6, 1).weight)  # the lift is still drawn first
