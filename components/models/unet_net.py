"""A U-Net baseline (Ronneberger et al., 2015) for field-to-field maps in 1 or 2 dimensions.

Encoder: per level two 3x3 convolutions (group norm, GELU), then a stride-2 convolution to the next
level with twice the channels. Decoder: linear/bilinear upsampling to the skip connection's exact size,
concatenation with it, two 3x3 convolutions. Any grid size works (odd sizes round up when coarsened
and are restored exactly on the way up). Padding follows the boundary condition as in MgNO, and so does
the optional kernel rescaling (``reference_resolution``, :mod:`sciml.components.models.kernel_scaling`):
the 3x3 kernels keep their physical size on finer grids (group norm, GELU and the interpolating
upsampling are resolution-independent already).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sciml.components.models.kernel_scaling import Scales, scales_for
from sciml.components.models.kernel_scaling import conv as scaled_conv
from sciml.components.models.mgno_net import conv, padding_mode


class DoubleConv(nn.Module):
    """(conv 3x3, group norm, GELU) x 2: (batch, cin, *s) -> (batch, cout, *s); ``scales`` rescale the kernels."""

    def __init__(self, ndim: int, cin: int, cout: int, padding_mode: str):
        super().__init__()
        groups = 8 if cout % 8 == 0 else 1
        self.body = nn.Sequential(
            conv(ndim, cin, cout, padding_mode, bias=True),
            nn.GroupNorm(groups, cout),
            nn.GELU(),
            conv(ndim, cout, cout, padding_mode, bias=True),
            nn.GroupNorm(groups, cout),
            nn.GELU(),
        )

    def forward(self, x: torch.Tensor, scales: Scales | None = None) -> torch.Tensor:
        for layer in self.body:
            x = scaled_conv(layer, x, scales) if isinstance(layer, (nn.Conv1d, nn.Conv2d)) else layer(x)
        return x


class UNet(nn.Module):
    """U-Net: (batch, in_channels, *s) -> (batch, out_channels, *s), ``len(s) == ndim`` in {1, 2}.

    ``width``: channels at the finest level (doubled per level); ``levels``: number of resolutions;
    ``reference_resolution``: grid points per axis at which the kernels are the trained ones (``None``:
    plain convolutions at every size).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        ndim: int,
        width: int = 32,
        levels: int = 4,
        boundary: str = "dirichlet",
        reference_resolution: int | None = None,
    ):
        super().__init__()
        mode = padding_mode("UNet", ndim, boundary)
        self.ndim = ndim
        widths = [width * 2**i for i in range(levels)]
        self.encoders = nn.ModuleList(
            DoubleConv(ndim, cin, cout, mode) for cin, cout in zip([in_channels] + widths[:-1], widths)
        )
        self.downs = nn.ModuleList(conv(ndim, c, c, mode, stride=2, bias=True) for c in widths[:-1])
        self.decoders = nn.ModuleList(DoubleConv(ndim, widths[i + 1] + widths[i], widths[i], mode) for i in range(levels - 1))
        self.project = (nn.Conv1d, nn.Conv2d)[ndim - 1](width, out_channels, kernel_size=1)
        self.reference_resolution = reference_resolution

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scales = scales_for(x.shape[2:], self.reference_resolution)
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x, scales)
            if level < len(self.downs):
                skips.append(x)
                x = scaled_conv(self.downs[level], x, scales)
        interp = "linear" if self.ndim == 1 else "bilinear"
        for decoder, skip in zip(reversed(self.decoders), reversed(skips)):
            x = F.interpolate(x, size=skip.shape[2:], mode=interp, align_corners=False)
            x = decoder(torch.cat([x, skip], dim=1), scales)
        return self.project(x)
