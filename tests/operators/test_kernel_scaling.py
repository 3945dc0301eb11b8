"""Discretization-agnostic kernel rescaling (NNs-to-NOs) of the convolutional models: the plain layer at the
reference resolution, moments kept on finer grids, the same operator on a grid twice as fine (agreement at
the shared points, second-order convergence), where plain convolutions disagree; shapes and gradients."""

import math

import pytest
import torch

from sciml.components.models.kernel_scaling import conv, hat_matrix, rescale_kernel, resample, scales_for
from sciml.components.models.mgno import MgNOConfig
from sciml.components.models.mgno_net import MgNO
from sciml.components.models.unet import UNetConfig
from sciml.components.models.unet_net import UNet


def smooth(n: int) -> torch.Tensor:
    """Two smooth periodic fields on the grid ``i / n`` of the unit torus: (1, 2, n, n), float64."""
    t = torch.arange(n, dtype=torch.float64) / n
    x, y = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([torch.sin(2 * math.pi * x + 1) * torch.cos(2 * math.pi * y), torch.cos(2 * math.pi * (x + 2 * y))])[None]


def mismatch(fine: torch.Tensor, coarse: torch.Tensor) -> float:
    """Relative difference of ``fine`` at the points it shares with ``coarse`` (every ``s``-th), mean removed."""
    s = fine.shape[-1] // coarse.shape[-1]
    a, b = fine[..., ::s, ::s], coarse
    a, b = a - a.mean(), b - b.mean()
    return float((a - b).norm() / b.norm())


def test_rescaling_is_the_identity_at_the_reference_resolution():
    torch.testing.assert_close(hat_matrix(1.0), torch.eye(3, dtype=torch.float64), rtol=0, atol=0)
    assert scales_for(torch.Size([16, 16]), 16) is None
    assert scales_for(torch.Size([16, 16]), None) is None
    assert scales_for(torch.Size([32, 48]), 16) == (2.0, 3.0)
    with pytest.raises(ValueError, match="at least as fine as the reference 16"):
        scales_for(torch.Size([8, 16]), 16)


@pytest.mark.parametrize("s", [2, 3])
def test_rescaled_kernel_keeps_sum_and_moments(s):
    # For integer s the rectangle rule integrates the hat interpolant exactly: the rescaled taps w^(s) at
    # offsets m / s (reference units) have the sum and first moments of w, and a zero-sum (differencing)
    # kernel keeps its second moments, so a finite-difference stencil keeps approximating the same derivative.
    torch.manual_seed(0)
    w = torch.randn(1, 1, 3, 3, dtype=torch.float64)
    w0 = w - w.mean()
    k = torch.arange(-1.0, 2.0, dtype=torch.float64)
    r = 2 * s - 1
    m = torch.arange(-r, r + 1, dtype=torch.float64) / s
    for kernel in (w, w0):
        ws = rescale_kernel(kernel, (s, s))
        assert ws.shape == (1, 1, 2 * r + 1, 2 * r + 1)
        torch.testing.assert_close(ws.sum(), kernel.sum())
        torch.testing.assert_close(torch.einsum("abij,i->", ws, m), torch.einsum("abij,i->", kernel, k))
        torch.testing.assert_close(torch.einsum("abij,j->", ws, m), torch.einsum("abij,j->", kernel, k))
    for moment in ("abij,i,i->", "abij,i,j->", "abij,j,j->"):
        torch.testing.assert_close(torch.einsum(moment, rescale_kernel(w0, (s, s)), m, m), torch.einsum(moment, w0, k, k))


def test_rescaled_conv_is_the_same_operator_on_a_finer_grid():
    # One 3x3 convolution (with bias), periodic, trained "at" n: applied to a smooth field sampled at n and at
    # 2n, the rescaled layer agrees at the shared points to discretization error, which falls at second
    # order (observed 3.4% at n = 16, 1.0% at n = 32); the plain layer shrinks its physical stencil and
    # differs by 43% and 11%.
    torch.manual_seed(0)
    layer = torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular").double()
    with torch.no_grad():
        errors = {}
        for n in (16, 32):
            reference = layer(smooth(n))
            errors[n] = (mismatch(conv(layer, smooth(2 * n), (2.0, 2.0)), reference), mismatch(layer(smooth(2 * n)), reference))
    assert errors[16][0] < 0.05 < 0.3 < errors[16][1]
    assert errors[32][0] < errors[16][0] / 3
    assert errors[32][0] < errors[32][1] / 5


def cross_resolution_errors(build, sizes) -> dict[int, tuple[float, float]]:
    """``{n: (rescaled, plain)}``: mismatch at the shared points between a model's outputs on the n and 2n
    grids, built by ``build(reference_resolution)`` from one seed with reference ``n`` and with none."""
    errors = {}
    for n in sizes:
        row = []
        for reference in (n, None):
            torch.manual_seed(0)
            model = build(reference).double()
            with torch.no_grad():
                row.append(mismatch(model(smooth(2 * n)), model(smooth(n))))
        errors[n] = tuple(row)
    return errors


def test_rescaled_mgno_is_the_same_operator_on_a_finer_grid():
    # One V-cycle block over three levels (restriction and smoothers rescaled, prolongation by input-output
    # interpolation): observed 4.1% / 0.7% at n = 16 / 32 against 32% / 16% for the plain network.
    errors = cross_resolution_errors(
        lambda reference: MgNO(2, 1, 2, width=8, layers=1, pre_smoothing=[1, 1, 2], post_smoothing=[0, 0, 0],
                               boundary="periodic", reference_resolution=reference),
        (16, 32),
    )
    assert errors[16][0] < 0.06 and errors[16][1] > 0.2
    assert errors[32][0] < errors[16][0] / 3 and errors[32][1] > 0.1


def test_rescaled_unet_converges_across_resolutions():
    # Two levels: the discrepancy between n and 2n at the shared points halves with n (observed 30% / 14%
    # at n = 32 / 64; first order, from the U-Net's cell-centred upsampling, which is kept so that the
    # network at the reference resolution is the plain one), the plain network's stays 3x larger (97% / 45%).
    errors = cross_resolution_errors(
        lambda reference: UNet(2, 1, 2, width=8, levels=2, boundary="periodic", reference_resolution=reference), (32, 64)
    )
    assert errors[64][0] < errors[32][0] / 1.7
    assert all(scaled < plain / 2.5 for scaled, plain in errors.values())


def test_resample_keeps_shared_points():
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    for periodic in (True, False):
        fine = resample(x, [16, 16], (0.5, 0.5), periodic)
        torch.testing.assert_close(fine[..., ::2, ::2], x, rtol=0, atol=0)
        torch.testing.assert_close(fine[..., 1:-1:2, ::2], (x[..., :-1, :] + x[..., 1:, :]) / 2)
        torch.testing.assert_close(resample(fine, [8, 8], (2.0, 2.0), periodic), x, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["mgno", "unet"])
@pytest.mark.parametrize("boundary", ["dirichlet", "periodic", "neumann"])
def test_option_off_and_reference_resolution_are_the_plain_network(name, boundary):
    # kernel_scaling 'none' builds the plain network; with 'interpolate' the output at the reference
    # resolution is bit-identical to it (same parameters, same order), at other sizes it differs.
    make = {
        "mgno": lambda **kw: MgNOConfig(width=8, layers=2, pre_smoothing=[1, 1, 2], post_smoothing=[1, 0, 1], boundary=boundary, **kw),
        "unet": lambda **kw: UNetConfig(width=8, levels=3, boundary=boundary, **kw),
    }[name]
    torch.manual_seed(0)
    plain = make().build(in_channels=2, out_channels=1, ndim=2)
    torch.manual_seed(0)
    scaled = make(kernel_scaling="interpolate", reference_resolution=16).build(in_channels=2, out_channels=1, ndim=2)
    assert plain.state_dict().keys() == scaled.state_dict().keys()
    x = torch.randn(2, 2, 16, 16)
    assert torch.equal(plain(x), scaled(x))
    x = torch.randn(2, 2, 32, 32)
    assert not torch.allclose(plain(x), scaled(x))


@pytest.mark.parametrize("name", ["mgno", "unet"])
@pytest.mark.parametrize("ndim,sizes", [(1, [16, 33, 64]), (2, [16, 23, 32])])
def test_rescaled_shapes_and_gradients(name, ndim, sizes):
    make = {
        "mgno": MgNOConfig(width=8, layers=2, pre_smoothing=[1, 1, 2], post_smoothing=[1, 0, 1], kernel_scaling="interpolate",
                           reference_resolution=16, boundary="neumann"),
        "unet": UNetConfig(width=8, levels=3, kernel_scaling="interpolate", reference_resolution=16, boundary="neumann"),
    }[name]
    torch.manual_seed(0)
    model = make.build(in_channels=2, out_channels=3, ndim=ndim)
    for n in sizes:  # the reference, a non-integer and an integer scale
        model.zero_grad()
        out = model(torch.randn(2, 2, *([n] * ndim)))
        assert out.shape == (2, 3, *([n] * ndim))
        out.square().mean().backward()
        missing = [k for k, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
        assert not missing


def test_config_requires_reference_with_scaling():
    with pytest.raises(ValueError, match="needs reference_resolution"):
        MgNOConfig(kernel_scaling="interpolate")
    with pytest.raises(ValueError, match="needs reference_resolution"):
        UNetConfig(reference_resolution=16)
