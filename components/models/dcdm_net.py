"""The DCDM network (Kaneda et al., ICML 2023, Fig. 2): a small fully convolutional net, 2D or 3D.

It maps a unit-norm residual to a search direction that approximates ``A^-1 r`` up to a scale:

    stem      conv k^d, in_channels -> C, linear
    fine      conv + ReLU, ``fine_blocks`` residual blocks, conv + ReLU            -> skip  (C, n)
    coarse    2x average pooling, ``coarse_blocks`` residual blocks                 (C, n/2)
    up        nearest upsampling to the skip's size, + skip, ``up_blocks`` blocks   (C, n)
    head      1x1 conv, C -> out_channels, linear (the paper: 1 -> 1)

A residual block is ``h = relu(conv(relu(conv(x)))) + x``. Every convolution has zero padding and keeps
the grid size, so the net applies to any grid size (odd sizes too: the pooling rounds up and the
upsampling returns exactly to the skip's size). Being convolutional, one set of weights serves every
grid size, which is what DCDM's size-generalization claim rests on.

``normalize_input`` (default) divides each input by its root-mean-square over the grid. The paper
feeds ``r / ||r||``, whose entries shrink like ``N^-1/2`` with the number of cells: on a 64^3 grid they
are ~2e-3, so at initialization the biases dominate every layer (training stalled at loss 1.0 in our
3D runs), and a 128^3 residual reaches the same weights 2.8x weaker than a 64^3 one. Unit RMS makes
the net scale-invariant (``f(c r) = f(r)``, which is all DCDM needs) and grid-size-invariant in
amplitude; ``normalize_input=False`` is the paper's raw input.

With ``levels = L > 1`` (not in the paper, which has one level) the coarse stage recurses: after its
blocks, pool again, ``coarse_blocks`` blocks, ..., and on the way back each level adds the upsampled
coarser result to its own and applies ``up_blocks`` blocks, a U-Net whose coarsest grid is ``n / 2^L``.
Each level doubles the receptive field's radius (about 20 cells for the paper's one level) at a
fraction (1/2^dim) of the previous level's cost. Measured in 2D (docs/poisson.md): at the training
size a 4-level net converges where one level stalls, but neither carries over to grids 4x larger;
model kind ``dcdm_multigrid`` (:mod:`sciml.components.models.dcdm_multigrid_net`) is the network that does.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class OneDNNConv3d(nn.Conv3d):
    """``nn.Conv3d`` that takes oneDNN on the CPU in float32 whatever the batch size.

    PyTorch's CPU heuristic sends a batch-1 input with a 3x3x3 kernel and ``N*C*D*H <= 20480`` (e.g.
    16 channels at 32^3: every DCDM solver call) to its im2col fallback, measured 6x slower per
    convolution here; training batches already take oneDNN. Same parameters and state dict as
    ``nn.Conv3d``; other devices and dtypes use the stock path.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.dtype == torch.float32 and torch.backends.mkldnn.is_available():
            return torch.mkldnn_convolution(x, self.weight, self.bias, self.padding, self.stride, self.dilation, self.groups)
        return super().forward(x)


def _conv(dim: int, c_in: int, c_out: int, kernel_size: int) -> nn.Module:
    cls = nn.Conv2d if dim == 2 else OneDNNConv3d
    return cls(c_in, c_out, kernel_size, padding=kernel_size // 2)


class ResidualBlock(nn.Module):
    """``x + relu(conv(relu(conv(x))))``: shape ``(batch, C, *spatial)`` -> same."""

    def __init__(self, dim: int, channels: int, kernel_size: int):
        super().__init__()
        self.conv1 = _conv(dim, channels, channels, kernel_size)
        self.conv2 = _conv(dim, channels, channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(F.relu(self.conv1(x)))) + x


class DCDMNet(nn.Module):
    """The DCDM direction network.

    Args:
        dim: spatial dimensions, 2 or 3.
        in_channels, out_channels: channels of the input and output fields (paper: 1 and 1).
        channels: feature channels C at both levels (paper: 16).
        fine_blocks, coarse_blocks, up_blocks: residual blocks per stage (paper: 1, 3, 2).
        kernel_size: odd convolution width (paper: 3).
        levels: pooling levels (paper: 1); each further level adds ``coarse_blocks`` blocks on a grid
            coarsened once more and ``up_blocks`` after its upsampled result joins the level above.
        normalize_input: divide each input by its RMS over channels and grid (see the module docstring).
    """

    def __init__(
        self,
        dim: int,
        in_channels: int = 1,
        out_channels: int = 1,
        channels: int = 16,
        fine_blocks: int = 1,
        coarse_blocks: int = 3,
        up_blocks: int = 2,
        kernel_size: int = 3,
        normalize_input: bool = True,
        levels: int = 1,
    ):
        super().__init__()
        if levels < 1:
            raise ValueError(f"DCDMNet: levels must be >= 1, got {levels}")
        if dim not in (2, 3):
            raise ValueError(f"DCDMNet: dim must be 2 or 3, got {dim}")
        if kernel_size % 2 == 0:
            raise ValueError(f"DCDMNet: kernel_size must be odd to keep the grid size, got {kernel_size}")
        self.dim = dim
        self.normalize_input = normalize_input
        self.stem = _conv(dim, in_channels, channels, kernel_size)
        self.fine_in = _conv(dim, channels, channels, kernel_size)
        self.fine = nn.Sequential(*(ResidualBlock(dim, channels, kernel_size) for _ in range(fine_blocks)))
        self.fine_out = _conv(dim, channels, channels, kernel_size)
        self.coarse = nn.Sequential(*(ResidualBlock(dim, channels, kernel_size) for _ in range(coarse_blocks)))
        self.up = nn.Sequential(*(ResidualBlock(dim, channels, kernel_size) for _ in range(up_blocks)))
        self.deeper = nn.ModuleList(_Level(dim, channels, kernel_size, coarse_blocks, up_blocks) for _ in range(levels - 1))
        self.head = _conv(dim, channels, out_channels, 1)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """Shape ``(batch, in_channels, *spatial)``, ``len(spatial) == dim`` -> ``(batch, out_channels, *spatial)``."""
        if r.ndim != self.dim + 2:
            raise ValueError(
                f"DCDMNet({self.dim}D) expects (batch, channels, *spatial) with {self.dim} spatial dims, "
                f"got shape {tuple(r.shape)}"
            )
        if self.normalize_input:
            rms = r.square().mean(dim=tuple(range(1, r.ndim)), keepdim=True).sqrt()
            r = r / torch.clamp(rms, min=torch.finfo(r.dtype).tiny)
        h = F.relu(self.fine_in(self.stem(r)))
        skip = F.relu(self.fine_out(self.fine(h)))
        coarse = self._descend(self.coarse(_pool(skip)), 0)
        h = _upsample_to(coarse, skip) + skip
        return self.head(self.up(h))

    def _descend(self, x: torch.Tensor, depth: int) -> torch.Tensor:
        """Levels ``depth + 2, ...`` applied to ``x`` (the features of level ``depth + 1``); same shape.
        Levels below a grid that is one cell wide in some dimension are skipped (nothing to pool)."""
        if depth == len(self.deeper) or min(x.shape[2:]) < 2:
            return x
        level = self.deeper[depth]
        below = self._descend(level.down(_pool(x)), depth + 1)
        return level.up(_upsample_to(below, x) + x)


class _Level(nn.Module):
    """One extra pooling level: ``down`` blocks on its grid, ``up`` blocks after the level below joins."""

    def __init__(self, dim: int, channels: int, kernel_size: int, down_blocks: int, up_blocks: int):
        super().__init__()
        self.down = nn.Sequential(*(ResidualBlock(dim, channels, kernel_size) for _ in range(down_blocks)))
        self.up = nn.Sequential(*(ResidualBlock(dim, channels, kernel_size) for _ in range(up_blocks)))


def _pool(x: torch.Tensor) -> torch.Tensor:
    """2x average pooling over the spatial dims, rounding odd sizes up."""
    pool = F.avg_pool2d if x.ndim == 4 else F.avg_pool3d
    return pool(x, kernel_size=2, ceil_mode=True)


def _upsample_to(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Nearest upsampling of ``x`` to the spatial size of ``like``."""
    return F.interpolate(x, size=like.shape[2:], mode="nearest")
