"""Discretization-agnostic 3-point convolutions: the kernel rescaling of Berner et al. (2025).

"Principled Approaches for Extending Neural Architectures to Function Spaces for Operator Learning"
turns a CNN into a neural operator by reading each convolution as a quadrature of an integral operator
``(K v)(x) = integral kappa(x - y) v(y) dy`` whose kernel has a fixed *physical* support: on a finer
grid the stencil is interpolated onto more points and the weights shrink with the cell volume, so the
layer acts as the same continuous operator at every resolution (a plain convolution instead shrinks
its physical stencil with the grid spacing and tends to a pointwise map).

Here the continuous kernel of a 3-point-per-axis kernel ``w`` trained at the reference spacing ``h`` is
its tensor-product hat-function interpolant
``kappa(t) = sum_k w_k prod_a phi(t_a / h - k_a) / h^d``, ``phi(t) = max(0, 1 - |t|)``, ``k_a in {-1, 0, 1}``.
On a grid ``s_a`` times finer along axis ``a`` (``s_a = n_a / n_ref >= 1``) the layer samples it at the
offsets ``m_a h / s_a`` and weighs each sample by the cell volume ``prod_a h / s_a``:

    w^(s)_m = sum_k w_k prod_a phi(m_a / s_a - k_a) / s_a,   |m_a| <= ceil(2 s_a) - 1.

At ``s = 1`` this is ``w`` itself (``phi`` vanishes on the non-zero integers), so a model trained at the
reference resolution is unchanged there. For integer ``s`` the sum of the taps and their first moments
are those of ``w`` (the rectangle rule integrates the piecewise-linear ``kappa`` and ``t kappa``
exactly), i.e. the layer keeps its action on constants and linear functions. NNs-to-NOs interpolates
the kernel onto ``(k - 1) s + 1`` points over the reference stencil's own extent and normalizes by the
ratio of tap counts; the hat interpolant above (support one reference spacing wider) is what makes
``s = 1`` exact and the moments resolution-independent.

Stride-2 convolutions are rescaled the same way (output point ``j`` stays centred on input point
``2 j``). Stride-2 *transposed* convolutions are not a quadrature of one kernel (even and odd fine points
see different taps); as in NNs-to-NOs they are applied by input-output interpolation instead
(:func:`conv_transpose_stride2`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

Scales = tuple[float, ...]
TORCH_PAD = {"zeros": "constant", "circular": "circular", "reflect": "reflect"}


def scales_for(size: torch.Size, reference: int | None) -> Scales | None:
    """``n_a / reference`` per spatial axis of ``size``; ``None`` (no rescaling) without a reference or at it.

    Raises on a grid coarser than the reference: the fixed-support kernel would be undersampled.
    """
    if reference is None:
        return None
    scales = tuple(n / reference for n in size)
    if min(scales) < 1:
        raise ValueError(f"kernel rescaling needs grids at least as fine as the reference {reference}, got {tuple(size)}")
    return None if all(s == 1 for s in scales) else scales


def hat_matrix(scale: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``M[m, k] = phi(m / scale - (k - 1)) / scale``: (2 r + 1, 3), ``r = ceil(2 scale) - 1``; identity at ``scale = 1``."""
    r = math.ceil(2 * scale) - 1
    m = torch.arange(-r, r + 1, dtype=torch.float64)[:, None] / scale
    k = torch.arange(-1, 2, dtype=torch.float64)[None, :]
    return ((1 - (m - k).abs()).clamp(min=0) / scale).to(dtype)


def rescale_kernel(weight: torch.Tensor, scales: Scales) -> torch.Tensor:
    """(c1, c2, 3, ...) taps at the reference spacing -> (c1, c2, 2 r_a + 1, ...) taps on the finer grid."""
    if weight.shape[2:] != (3,) * len(scales):
        raise ValueError(f"kernel rescaling applies to 3-point kernels, got kernel shape {tuple(weight.shape[2:])}")
    for axis, scale in enumerate(scales):
        matrix = hat_matrix(scale, weight.dtype).to(weight.device)
        weight = torch.movedim(torch.tensordot(weight, matrix, dims=([2 + axis], [1])), -1, 2 + axis)
    return weight


def _pad(x: torch.Tensor, widths: list[int], padding_mode: str) -> torch.Tensor:
    """Pad every spatial axis ``a`` by ``widths[a]`` points on both sides with the boundary rule."""
    return F.pad(x, [w for w in reversed(widths) for _ in range(2)], mode=TORCH_PAD[padding_mode])


def conv(layer: nn.Module, x: torch.Tensor, scales: Scales | None) -> torch.Tensor:
    """Apply a 3-point ``nn.Conv1d``/``nn.Conv2d`` (``padding=1``, any stride) with its kernel rescaled by ``scales``.

    ``scales=None`` calls the layer itself (bit-identical to the plain convolution). Otherwise the input is
    padded by the rescaled kernel's half-width with the layer's padding mode, so output point ``j`` is
    still centred on input point ``stride * j``.
    """
    if scales is None:
        return layer(x)
    weight = rescale_kernel(layer.weight, scales)
    x = _pad(x, [(k - 1) // 2 for k in weight.shape[2:]], layer.padding_mode)
    return (F.conv1d, F.conv2d)[x.ndim - 3](x, weight, layer.bias, stride=layer.stride)


def resample(x: torch.Tensor, size: list[int], ratios: Scales, periodic: bool) -> torch.Tensor:
    """Linear interpolation of (batch, c, *m) onto (batch, c, *size): output ``i`` sits at input index ``i * ratio``.

    Point ``i`` of either grid is at ``i`` times its spacing (the grids share their first point), so an
    integer ``ratio`` subsamples exactly. Beyond the last input point the field wraps around (``periodic``)
    or is held constant.
    """
    for axis, (n, ratio) in enumerate(zip(size, ratios)):
        m = x.shape[2 + axis]
        t = torch.arange(n, dtype=torch.float64) * ratio
        t = t % m if periodic else t.clamp(max=m - 1)
        j = torch.arange(m + periodic, dtype=torch.float64)  # with the wrapped copy of point 0 at index m
        weights = (1 - (t[:, None] - j[None, :]).abs()).clamp(min=0)
        if periodic:
            weights = torch.cat([weights[:, :1] + weights[:, m:], weights[:, 1:m]], dim=1)
        x = torch.movedim(torch.tensordot(x, weights.to(x.dtype).to(x.device), dims=([2 + axis], [1])), -1, 2 + axis)
    return x


def _conv_transpose_stride2(layer: nn.Module, coarse: torch.Tensor, size: list[int], padding_mode: str) -> torch.Tensor:
    """The plain stride-2 transposed 3-point convolution: fine point ``i = 2 j + k`` gets ``w_k`` times coarse ``j``."""
    pad = 1  # coarse neighbours across the boundary, by the boundary rule
    padded = _pad(coarse, [pad] * (coarse.ndim - 2), padding_mode)
    out = (F.conv_transpose1d, F.conv_transpose2d)[coarse.ndim - 3](padded, layer.weight, stride=2)
    # padded coarse point j + 1 lands on 2 (j + 1) + (k + 1) = i + 3
    return out[(..., *[slice(3, 3 + n) for n in size])]


def conv_transpose_stride2(
    layer: nn.Module, coarse: torch.Tensor, size: torch.Size, padding_mode: str, scales: Scales | None
) -> torch.Tensor:
    """Stride-2 transposed 3-point convolution (``layer``: bias-free ``nn.ConvTranspose1d/2d``) onto the fine ``size``.

    Fine point ``i`` receives ``w_k`` times coarse point ``j`` for ``i = 2 j + k``, ``k = -1, 0, 1``; the
    coarse field is first padded with the boundary rule, so fine points near the edges get their
    neighbours across it. (batch, c, *m) -> (batch, c, *size), ``size[a] <= 2 m[a]``.

    A stride-2 transposed kernel is no quadrature of one continuous kernel (even and odd fine points see
    different taps), so with ``scales`` it is applied, as in NNs-to-NOs, by input-output interpolation: the
    coarse field is resampled to the reference grid (``m / s`` points), the plain layer applied there, and
    its output interpolated linearly onto the fine grid. For integer ``s`` the points the grids share get
    exactly the values of the reference computation.
    """
    if scales is None:
        return _conv_transpose_stride2(layer, coarse, list(size), padding_mode)
    periodic = padding_mode == "circular"
    reference = [max(1, round(m / s)) for m, s in zip(coarse.shape[2:], scales)]
    fine = [max(1, round(n / s)) for n, s in zip(size, scales)]
    out = _conv_transpose_stride2(layer, resample(coarse, reference, scales, periodic), fine, padding_mode)
    return resample(out, list(size), tuple(1 / s for s in scales), periodic)
