"""MgNO (He, Liu, Xu; ICLR 2024) as torch modules: a linear operator parameterized by a multigrid V-cycle.

Each block maps a field ``f`` to ``u ~ A^{-1} f`` by one V-cycle whose every operator is a small
learned convolution:

- smoothing on level ``l``: ``u <- u + S(f - A u)`` (3x3 convolutions ``A``: u-channels -> f-channels,
  ``S``: f-channels -> u-channels); the very first smoothing of a cycle starts from ``u = 0``, i.e.
  ``u = S f``;
- restriction of the residual to the next coarser level: ``f_{l+1} = R(f_l - A u_l)`` with a stride-2
  3x3 convolution ``R``, and the coarse solution starts from zero (the textbook V-cycle);
- prolongation back up: ``u_l <- u_l + P u_{l+1}`` with a stride-2 3x3 transposed convolution ``P``
  (the bilinear-interpolation stencil's shape; the coarse field is padded by the boundary rule first,
  so a periodic problem stays periodic), followed by the post-smoothing steps of level ``l``.

The network stacks ``layers`` blocks ``h <- act(Vcycle(h) + W h)`` (``W`` a pointwise linear map) and
projects pointwise to the output channels. Convolutions pad according to the boundary condition of the
problem: zeros (Dirichlet), circular (periodic) or reflect (Neumann). Works in 1 and 2 dimensions and
at any grid size; sizes need not be powers of two (odd sizes round up when coarsened).

With ``reference_resolution`` set, every 3-point kernel (smoothers, residuals, restrictions and
prolongations) is rescaled on finer grids as in :mod:`sciml.components.models.kernel_scaling`: the
stencils keep their physical size, so a network trained at the reference resolution acts as the same
operator on a finer grid (at the reference itself it is the plain network).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sciml.components.models.kernel_scaling import Scales, conv_transpose_stride2, scales_for
from sciml.components.models.kernel_scaling import conv as scaled_conv

PADDING_MODES = {"dirichlet": "zeros", "periodic": "circular", "neumann": "reflect"}


def padding_mode(model: str, ndim: int, boundary: str) -> str:
    """The convolution padding mode for ``boundary``, checking that ``model`` supports ``ndim`` (1 or 2)."""
    if ndim not in (1, 2):
        raise ValueError(f"{model} supports 1 or 2 spatial dimensions, got {ndim}")
    if boundary not in PADDING_MODES:
        raise ValueError(f"boundary must be one of {sorted(PADDING_MODES)}, got {boundary!r}")
    return PADDING_MODES[boundary]


def conv(ndim: int, cin: int, cout: int, padding_mode: str, stride: int = 1, bias: bool = False) -> nn.Module:
    """A 3-point-per-axis convolution (bias-free by default: a linear operator); keeps ``ceil(n / stride)`` points."""
    cls = (nn.Conv1d, nn.Conv2d)[ndim - 1]
    return cls(cin, cout, kernel_size=3, stride=stride, padding=1, padding_mode=padding_mode, bias=bias)


class Smoother(nn.Module):
    """``steps`` iterations ``u <- u + S_i(f - A_i u)``, each with its own ``A_i``, ``S_i``.

    With ``zero_start`` the initial guess is zero, so the first iteration is ``u = S_0 f`` and has no
    ``A_0``. ``forward(u, f, scales)``: ``u`` (batch, width, *s) (ignored with ``zero_start``),
    ``f`` (batch, f_channels, *s) -> ``u`` (batch, width, *s); ``scales`` rescale the kernels (``None``: plain).
    """

    def __init__(self, ndim: int, width: int, f_channels: int, steps: int, padding_mode: str, zero_start: bool):
        super().__init__()
        self.zero_start = zero_start
        self.s = nn.ModuleList(conv(ndim, f_channels, width, padding_mode) for _ in range(steps))
        self.a = nn.ModuleList(conv(ndim, width, f_channels, padding_mode) for _ in range(steps - zero_start))

    def forward(self, u: torch.Tensor | None, f: torch.Tensor, scales: Scales | None = None) -> torch.Tensor:
        smoothers = iter(self.s)
        if self.zero_start:
            u = scaled_conv(next(smoothers), f, scales)
        for a, s in zip(self.a, smoothers):
            u = u + scaled_conv(s, f - scaled_conv(a, u, scales), scales)
        return u


class Prolongation(nn.Module):
    """Stride-2 transposed 3x3 convolution onto a given fine size: (batch, c, *m) -> (batch, c, *n), ``n <= 2m``.

    Fine point ``i`` receives from coarse points ``j`` with ``i = 2j + k``, ``k = -1, 0, 1``. The coarse
    field is padded with the boundary rule first, so fine points near the edges get their neighbours
    across it (circular for periodic problems, mirrored for Neumann, zero for Dirichlet).
    """

    def __init__(self, ndim: int, channels: int, padding_mode: str):
        super().__init__()
        self.padding_mode = padding_mode
        cls = (nn.ConvTranspose1d, nn.ConvTranspose2d)[ndim - 1]
        self.conv = cls(channels, channels, kernel_size=3, stride=2, bias=False)

    def forward(self, coarse: torch.Tensor, size: torch.Size, scales: Scales | None = None) -> torch.Tensor:
        return conv_transpose_stride2(self.conv, coarse, size, self.padding_mode, scales)


class VCycle(nn.Module):
    """One multigrid V-cycle with learned operators: (batch, f_channels, *s) -> (batch, width, *s).

    ``pre[l]`` / ``post[l]``: smoothing steps on level ``l`` before restriction / after prolongation
    (``len(pre)`` levels, level 0 the finest; ``pre[l] >= 1``). ``forward(f, scales)``: ``scales``
    rescale every kernel, by the same factors on every level (each level's reference grid coarsens with it).
    """

    def __init__(self, ndim: int, f_channels: int, width: int, pre: list[int], post: list[int], padding_mode: str):
        super().__init__()
        if len(pre) != len(post) or min(pre) < 1:
            raise ValueError(f"need one pre- and one post-smoothing count per level, pre >= 1; got {pre}, {post}")
        levels = len(pre)
        self.pre = nn.ModuleList(Smoother(ndim, width, f_channels, p, padding_mode, zero_start=True) for p in pre)
        self.post = nn.ModuleList(Smoother(ndim, width, f_channels, p, padding_mode, zero_start=False) for p in post)
        self.residual = nn.ModuleList(conv(ndim, width, f_channels, padding_mode) for _ in range(levels - 1))
        self.restrict = nn.ModuleList(conv(ndim, f_channels, f_channels, padding_mode, stride=2) for _ in range(levels - 1))
        self.prolong = nn.ModuleList(Prolongation(ndim, width, padding_mode) for _ in range(levels - 1))

    def forward(self, f: torch.Tensor, scales: Scales | None = None) -> torch.Tensor:
        us, fs = [], []
        for level, smoother in enumerate(self.pre):
            u = smoother(None, f, scales)
            us.append(u)
            fs.append(f)
            if level < len(self.restrict):
                f = scaled_conv(self.restrict[level], f - scaled_conv(self.residual[level], u, scales), scales)
        u = self.post[-1](u, fs[-1], scales)
        for level in range(len(self.prolong) - 1, -1, -1):
            fine = us[level] + self.prolong[level](u, us[level].shape[2:], scales)
            u = self.post[level](fine, fs[level], scales)
        return u


class MgNO(nn.Module):
    """MgNO: (batch, in_channels, *s) -> (batch, out_channels, *s) with ``len(s) == ndim`` in {1, 2}.

    ``reference_resolution``: grid points per axis at which the kernels are the trained ones; on finer
    grids they are rescaled to the same physical stencils (``None``: plain convolutions at every size).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        ndim: int,
        width: int = 32,
        layers: int = 4,
        pre_smoothing: list[int] = (1, 1, 1, 2),
        post_smoothing: list[int] = (0, 0, 0, 0),
        boundary: str = "dirichlet",
        reference_resolution: int | None = None,
    ):
        super().__init__()
        mode = padding_mode("MgNO", ndim, boundary)
        pointwise = (nn.Conv1d, nn.Conv2d)[ndim - 1]
        channels = [in_channels] + [width] * (layers - 1)
        self.cycles = nn.ModuleList(VCycle(ndim, c, width, list(pre_smoothing), list(post_smoothing), mode) for c in channels)
        self.skips = nn.ModuleList(pointwise(c, width, kernel_size=1) for c in channels)
        self.project = pointwise(width, out_channels, kernel_size=1)
        self.reference_resolution = reference_resolution

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scales = scales_for(x.shape[2:], self.reference_resolution)
        for cycle, skip in zip(self.cycles, self.skips):
            x = F.gelu(cycle(x, scales) + skip(x))
        return self.project(x)
