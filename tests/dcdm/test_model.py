"""The DCDM network: shapes over dims and grid sizes, gradients to every parameter, config round trip."""

import pydantic
import pytest
import torch

from sciml.components.models.dcdm import DCDMConfig
from sciml.components.models.dcdm_net import DCDMNet


@pytest.mark.parametrize("dim,sizes", [(2, (16, 16)), (2, (9, 14)), (3, (8, 8, 8)), (3, (5, 7, 6))])
def test_output_shape_matches_input_on_any_grid(dim, sizes):
    net = DCDMNet(dim, channels=4)
    x = torch.randn(2, 1, *sizes, generator=torch.Generator().manual_seed(0))
    assert net(x).shape == (2, 1, *sizes)


@pytest.mark.parametrize("dim", [2, 3])
def test_gradient_reaches_every_parameter(dim):
    # a fixed initialization (fork_rng leaves the global generator untouched): with a random one, a
    # residual block whose ReLUs are all off on a small input would get no gradient by chance
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = DCDMNet(dim, channels=8)
    x = torch.randn(2, 1, *(10,) * dim, generator=torch.Generator().manual_seed(1))
    net(x).square().sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_one_set_of_weights_is_translation_equivariant_away_from_walls():
    # fully convolutional: shifting a compactly supported input by an even offset (a multiple of the
    # pooling stride) shifts the output, as long as neither touches the zero padding
    net = DCDMNet(2, channels=4).double()
    x = torch.zeros(1, 1, 80, 80, dtype=torch.float64)
    x[0, 0, 38:41, 38:41] = torch.randn(3, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    shifted = torch.roll(x, shifts=(4, 6), dims=(2, 3))
    y, ys = net(x), net(shifted)
    # the receptive field has a radius of about 25 cells (5 fine convs, 6 coarse at stride 2, 4 up);
    # the biases make every output depend on the distance to the wall, so compare only outputs whose
    # receptive fields stay clear of it in both runs
    window = (0, 0, slice(34, 46), slice(34, 46))
    # float64 through ~20 layers: 1e-12 is rounding
    torch.testing.assert_close(ys[window], torch.roll(y, (4, 6), (2, 3))[window], atol=1e-12, rtol=0)


def test_normalized_input_makes_the_net_scale_invariant():
    net = DCDMNet(2, channels=4).double()
    x = torch.randn(2, 1, 12, 12, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    scale = torch.tensor([1e-3, 50.0], dtype=torch.float64).view(2, 1, 1, 1)
    # float64: the only difference is the rounding of the rescaling
    torch.testing.assert_close(net(x * scale), net(x), atol=1e-12, rtol=1e-12)
    raw = DCDMNet(2, channels=4, normalize_input=False).double()
    assert not torch.allclose(raw(x * scale), raw(x))  # the paper's raw input is not


def test_rejects_bad_input_and_config():
    with pytest.raises(ValueError, match="expects \\(batch, channels, \\*spatial\\) with 3 spatial dims"):
        DCDMNet(3)(torch.zeros(1, 1, 4, 4))
    with pytest.raises(pydantic.ValidationError, match="must be odd"):
        DCDMConfig(kernel_size=4)


def test_config_builds_the_paper_default():
    net = DCDMConfig().build(in_channels=1, out_channels=1, ndim=3)
    assert isinstance(net, DCDMNet) and net.normalize_input
    assert net.stem.out_channels == 16 and len(net.coarse) == 3 and len(net.up) == 2
    assert net.head.kernel_size == (1, 1, 1)


@pytest.mark.parametrize("batch", [1, 3])
def test_onednn_conv3d_equals_the_stock_convolution(batch):
    # the oneDNN path (forced for batch 1, where PyTorch would pick im2col) computes the same
    # convolution, forward and backward, with the same state dict as nn.Conv3d
    from sciml.components.models.dcdm_net import OneDNNConv3d

    torch.manual_seed(0)
    fast = OneDNNConv3d(4, 5, 3, padding=1)
    stock = torch.nn.Conv3d(4, 5, 3, padding=1)
    stock.load_state_dict(fast.state_dict())
    x = torch.randn(batch, 4, 6, 7, 5)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    y1, y2 = fast(x1), stock(x2)
    torch.testing.assert_close(y1, y2, rtol=1e-5, atol=1e-5)
    y1.square().sum().backward()
    y2.square().sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(fast.weight.grad, stock.weight.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(fast.bias.grad, stock.bias.grad, rtol=1e-4, atol=1e-4)


def test_levels_keep_the_paper_net_and_widen_the_receptive_field():
    # levels=1 is the paper's net, parameter for parameter; each further level adds blocks on a grid
    # coarsened once more. With ReLUs the gradient of an output at p with respect to the input at q is
    # exactly zero when q lies outside p's receptive field (about 25 cells for one level); the RMS
    # input normalization couples every cell, so it is off here.
    with torch.random.fork_rng():
        torch.manual_seed(0)
        paper, deep = DCDMNet(2, channels=4, normalize_input=False), DCDMNet(2, channels=4, normalize_input=False, levels=4)
    assert set(paper.state_dict()) == {k for k in deep.state_dict() if not k.startswith("deeper.")}
    assert len(deep.deeper) == 3 and DCDMConfig(levels=4).build(in_channels=1, out_channels=1, ndim=2).deeper

    def reach(net):
        x = torch.zeros(1, 1, 96, 96, requires_grad=True)
        net(x)[0, 0, 48, 88].backward()  # an output 40 cells from the input cell (48, 48)
        return x.grad[0, 0, 48, 48].abs().item()

    assert reach(paper) == 0.0
    assert reach(deep) > 0.0
    for sizes in [(9, 14), (5, 7, 6)]:  # odd sizes through four poolings (down to one cell)
        net = DCDMNet(len(sizes), channels=4, levels=4)
        assert net(torch.randn(2, 1, *sizes)).shape == (2, 1, *sizes)
    with pytest.raises(pydantic.ValidationError):
        DCDMConfig(levels=0)
