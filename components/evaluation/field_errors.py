"""Error measures between predicted and true fields, as the operator-learning literature reports them.

All functions take ``pred`` and ``target`` of shape ``(batch, channels, *space)`` (1 to 3 spatial
dimensions, a uniform grid on the unit interval/square/cube) and return per-sample values
``(batch,)`` (or ``(batch, bands)``), so callers can average, take medians or plot histograms.

- :func:`relative_h1`: ``||e||_H1 / ||u||_H1`` with ``||v||_H1^2 = ||v||^2 + ||grad v||^2``, the
  gradient by forward differences with spacing ``1/n`` (the neuraloperator and MgNO convention).
- :func:`nrmse`: PDEBench's normalized RMSE, ``RMS(e) / RMS(u)`` per channel, averaged over channels.
- :func:`frequency_band_errors`: PDEBench's fRMSE split into low / mid / high wavenumber bands: the
  error's discrete Fourier coefficients (normalized by the number of points, i.e. Fourier-series
  coefficients on the unit domain) are grouped into radial shells ``floor(|k|)``; each shell's RMS
  amplitude is averaged over the shells of a band, ``[0, 4)``, ``[4, 12)``, ``[12, inf)`` by default.
  Unlike PDEBench's loop over the non-negative quadrant only, every wavenumber (both signs) is counted.
"""

from __future__ import annotations

import torch


def _space_dims(x: torch.Tensor) -> tuple[int, ...]:
    return tuple(range(2, x.ndim))


def _h1_squared(v: torch.Tensor) -> torch.Tensor:
    total = v.flatten(1).square().sum(1)
    for dim in _space_dims(v):
        total = total + (torch.diff(v, dim=dim) * v.shape[dim]).flatten(1).square().sum(1)
    return total


def relative_h1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample relative H1 error: (batch, c, *space) x 2 -> (batch,). A zero target gives the absolute error."""
    norm = _h1_squared(target)
    return torch.sqrt(_h1_squared(pred - target) / torch.where(norm > 0, norm, torch.ones_like(norm)))


def nrmse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PDEBench nRMSE: per channel ``RMS(pred - target) / RMS(target)``, averaged over channels; (batch,)."""
    err = (pred - target).flatten(2).square().mean(-1).sqrt()
    scale = target.flatten(2).square().mean(-1).sqrt()
    return (err / torch.where(scale > 0, scale, torch.ones_like(scale))).mean(1)


def shell_index(sizes: tuple[int, ...], device=None) -> torch.Tensor:
    """``floor(|k|)`` of every FFT coefficient of a grid of ``sizes`` (integer wavenumbers, both signs)."""
    axes = [torch.fft.fftfreq(n, d=1.0 / n, device=device) for n in sizes]
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.sqrt(sum(m**2 for m in mesh)).floor().long()


def frequency_band_errors(pred: torch.Tensor, target: torch.Tensor, edges: tuple[int, ...] = (4, 12)) -> torch.Tensor:
    """Per-sample band errors: (batch, c, *space) x 2 -> (batch, len(edges) + 1).

    Column ``b`` averages, over the shells ``edges[b-1] <= floor(|k|) < edges[b]`` that exist on this
    grid (``floor(|k|) < min(n) // 2``), the shell amplitude ``sqrt(sum_shell mean_channels |e_k|^2)``
    of the error's Fourier-series coefficients ``e_k``. A band with no shell on the grid gives NaN.
    (PDEBench takes the RMS over the batch before averaging shells; here it is per sample.)
    """
    dims = _space_dims(pred)
    sizes = tuple(pred.shape[d] for d in dims)
    spectrum = torch.fft.fftn(pred - target, dim=dims, norm="forward").abs().square().mean(1).flatten(1)
    shells = shell_index(sizes, pred.device).flatten()
    top = min(sizes) // 2
    energy = torch.zeros(pred.shape[0], top, dtype=spectrum.dtype, device=pred.device)
    keep = shells < top
    energy.index_add_(1, shells[keep], spectrum[:, keep])
    amplitude = energy.sqrt()
    bounds = [min(b, top) for b in (0, *edges, top)]
    nan = amplitude.new_full((pred.shape[0],), float("nan"))
    return torch.stack([amplitude[:, lo:hi].mean(1) if hi > lo else nan for lo, hi in zip(bounds[:-1], bounds[1:])], dim=1)
