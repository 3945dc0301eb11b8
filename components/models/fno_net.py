"""The Fourier neural operator as torch modules: a spectral convolution and the FNO built from it.

Shapes use ``(batch, channels, *spatial)`` with 1 to 3 spatial dimensions. The spectral convolution
keeps the lowest ``modes[d]`` frequencies of each dimension (both signs, except the last dimension
of the real FFT which has only non-negative ones); at resolutions too coarse for all of them it uses
the ones that exist, so one trained model evaluates at any resolution.
"""

from __future__ import annotations

import itertools
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from sciml.components.grids import axis_points

GridKind = Literal["vertex", "cell"]
"""The layouts (:mod:`sciml.components.grids`) the FNO's coordinate embedding offers."""


class SpectralConv(nn.Module):
    """``y = irfftn(W * rfftn(x))`` restricted to the low modes; (batch, in, *s) -> (batch, out, *s)."""

    def __init__(self, in_channels: int, out_channels: int, modes: list[int]):
        super().__init__()
        self.modes = list(modes)
        # Non-last dimensions keep frequencies 0..m-1 and -m..-1 (2m entries); the last keeps 0..m-1.
        kept = [2 * m for m in self.modes[:-1]] + [self.modes[-1]]
        scale = 1.0 / (in_channels * out_channels)
        # Complex weights stored as (..., 2) real pairs: DDP's gradient all-reduce and every optimizer
        # then treat them as ordinary real parameters.
        self.weight = nn.Parameter(scale * torch.randn(in_channels, out_channels, *kept, 2) / 2**0.5)
        dims = "xyz"[: len(self.modes)]
        self._einsum = f"bi{dims},io{dims}->bo{dims}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ndim = len(self.modes)
        sizes, dtype = x.shape[-ndim:], x.dtype
        # The FFTs run in at least float32 (float64 stays float64): torch has no bfloat16 FFT, and float16
        # FFTs only on CUDA and only for power-of-two sizes.
        work = torch.promote_types(dtype, torch.float32)
        spectrum = torch.fft.rfftn(x.to(work), dim=tuple(range(-ndim, 0)), norm="ortho")
        weights = torch.view_as_complex(self.weight.to(work))
        out = torch.zeros(x.shape[0], weights.shape[1], *spectrum.shape[2:], dtype=spectrum.dtype, device=x.device)
        last = min(self.modes[-1], spectrum.shape[-1])
        # Each corner: for every non-last dim either the positive or the negative low frequencies.
        for signs in itertools.product((0, 1), repeat=ndim - 1):
            source, target, weight = [slice(None), slice(None)], [slice(None), slice(None)], [slice(None), slice(None)]
            for m, n, sign in zip(self.modes[:-1], sizes[:-1], signs):
                k = min(m, n // 2)
                source.append(slice(0, k) if sign == 0 else slice(n - k, n))
                target.append(source[-1])
                weight.append(slice(0, k) if sign == 0 else slice(2 * m - k, 2 * m))
            for index in (source, target, weight):
                index.append(slice(0, last))
            out[tuple(target)] = torch.einsum(self._einsum, spectrum[tuple(source)], weights[tuple(weight)])
        return torch.fft.irfftn(out, s=sizes, dim=tuple(range(-ndim, 0)), norm="ortho").to(dtype)


def _pointwise(ndim: int, in_channels: int, out_channels: int) -> nn.Module:
    return (nn.Conv1d, nn.Conv2d, nn.Conv3d)[ndim - 1](in_channels, out_channels, kernel_size=1)


def _mlp(ndim: int, in_channels: int, hidden: int, out_channels: int) -> nn.Module:
    """Two pointwise layers with a GELU between them."""
    return nn.Sequential(_pointwise(ndim, in_channels, hidden), nn.GELU(), _pointwise(ndim, hidden, out_channels))


class ChannelMLP(nn.Module):
    """The pointwise MLP that follows a spectral convolution in neuraloperator's blocks: ``width -> width / 2
    -> width`` (``forward``), and its skip, the block's input scaled per channel (``gated``, weights from 1)."""

    def __init__(self, ndim: int, width: int):
        super().__init__()
        self.mlp = _mlp(ndim, width, max(width // 2, 1), width)
        self.gate = nn.Parameter(torch.ones(1, width, *(1,) * ndim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.mlp(h)

    def gated(self, h: torch.Tensor) -> torch.Tensor:
        return h * self.gate


class FNO(nn.Module):
    """Fourier neural operator: (batch, in_channels, *s) -> (batch, out_channels, *s), ``len(s) == len(modes)``.

    A block is ``gelu(spectral(h) + skip(h))``. With ``channel_mlp`` it is followed, as in neuraloperator 2.0's
    default block, by a pointwise MLP whose skip is the block's input gated per channel; ``lifting_width > 0``
    lifts by a two-layer MLP with that many hidden channels instead of one linear map. No activation follows
    the last block.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        modes: list[int],
        width: int = 32,
        layers: int = 4,
        projection_width: int = 128,
        padding: float = 0.0,
        positional_embedding: bool = True,
        grid: GridKind = "vertex",
        lifting_width: int = 0,
        channel_mlp: bool = False,
    ):
        super().__init__()
        ndim = len(modes)
        if not 1 <= ndim <= 3:
            raise ValueError(f"FNO supports 1 to 3 spatial dimensions, got modes={modes}")
        self.ndim, self.padding, self.positional_embedding, self.grid = ndim, padding, positional_embedding, grid
        lifted = in_channels + (ndim if positional_embedding else 0)
        self.lift = _mlp(ndim, lifted, lifting_width, width) if lifting_width else _pointwise(ndim, lifted, width)
        self.spectral = nn.ModuleList(SpectralConv(width, width, modes) for _ in range(layers))
        self.skips = nn.ModuleList(_pointwise(ndim, width, width) for _ in range(layers))
        self.mlps = nn.ModuleList(ChannelMLP(ndim, width) for _ in range(layers)) if channel_mlp else None
        self.project = _mlp(ndim, width, projection_width, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = x.shape[-self.ndim :]
        if self.positional_embedding:
            x = torch.cat([x, grid_coordinates(x, self.grid)], dim=1)
        h = self.lift(x)
        pads = [round(self.padding * n) for n in sizes]
        if any(pads):
            # F.pad takes (last_lo, last_hi, second_last_lo, ...): pad the far end of each dimension.
            h = F.pad(h, [v for p in reversed(pads) for v in (0, p)])
        last = len(self.spectral) - 1
        for i, (spectral, skip) in enumerate(zip(self.spectral, self.skips)):
            if self.mlps is None:
                h = spectral(h) + skip(h)
            else:  # the channel MLP's gated skip reads the block's input
                gated = self.mlps[i].gated(h)
                h = spectral(h) + skip(h)
                h = self.mlps[i](F.gelu(h) if i < last else h) + gated
            if i < last:
                h = F.gelu(h)
        if any(pads):
            h = h[(..., *[slice(0, n) for n in sizes])]
        return self.project(h)


def grid_coordinates(x: torch.Tensor, grid: GridKind = "vertex") -> torch.Tensor:
    """Coordinates in [0, 1] of the grid of ``x`` (batch, c, *s), as (batch, len(s), *s) on x's device.

    ``grid`` is the points' layout (:mod:`sciml.components.grids`): ``vertex`` ``i / (n - 1)``, ``cell`` ``i / n``.
    """
    axes = [axis_points(n, grid, x.device, x.dtype) for n in x.shape[2:]]
    mesh = torch.stack(torch.meshgrid(*axes, indexing="ij"))
    return mesh.expand(x.shape[0], *mesh.shape)
