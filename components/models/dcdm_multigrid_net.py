"""A multigrid V-cycle with learned smoothers: a DCDM direction network that carries over to any grid size.

The paper's network sees only the residual, so what it learns about long wavelengths stops at the
scales of its training grid; trained at 32^3 its iteration count grows like CG's on larger grids
(docs/poisson.md). This network reads the system too: it is one V-cycle on the aggregation hierarchy
of the system's own stencil (:mod:`sciml.components.solvers.multigrid`, Galerkin coarse operators,
as many levels as the grid allows), and only the smoother is learned. On each level, with residual
``res = r - A x`` and ``D`` the diagonal of that level's ``A``,

    x <- x + D^-1 (omega * res + S(res))        (smoothing_steps times before and after the coarse
                                                   correction; S_pre and S_post are two CNNs)
    x <- x + c * P V(P^T (r - A x))             (coarse correction: the cycle one level down, kept
                                                   off solid cells)

``S`` is a small CNN (``layers`` convolutions ``k^dim``, ReLU between them, no biases), its last layer
zero at initialization, so the untrained network is a damped-Jacobi V-cycle. One set of weights serves
every level and every grid size: a larger grid only adds levels of the same cycle. Without biases and
with ReLU, ``S(a res) = a S(res)`` for ``a > 0``, so each level's residual scale (coarse residuals are
sums over blocks) is taken care of by ``D^-1``, and the network needs no input normalization. ``omega``
(initially 2/3) and the coarse-correction scale ``c`` are learned scalars; ``c`` starts at 2 because
the piecewise-constant ``P`` makes the Galerkin coarse operator twice as stiff as the rediscretized one
for smooth errors (the coarse correction of unsmoothed aggregation falls short by that factor).

Inputs: ``r`` ``(batch, 1, *spatial)`` and the system's
:class:`~sciml.components.solvers.stencil.StencilOperator` (its ``diag`` and ``weights``); output the
direction, same shape as ``r``, zero on solid cells.
"""

from __future__ import annotations

import torch
from torch import nn

from sciml.components.models.dcdm_net import OneDNNConv3d
from sciml.components.solvers.multigrid import GridLevel, hierarchy, prolong, restrict


class Smoother(nn.Module):
    """``S``: ``layers`` bias-free convolutions 1 -> C -> ... -> C -> 1 with ReLU between; ``(batch, *spatial)`` -> same."""

    def __init__(self, dim: int, channels: int, layers: int, kernel_size: int):
        super().__init__()
        conv = nn.Conv2d if dim == 2 else OneDNNConv3d
        widths = [1] + [channels] * (layers - 1) + [1]
        convs = [conv(a, b, kernel_size, padding=kernel_size // 2, bias=False) for a, b in zip(widths, widths[1:])]
        nn.init.zeros_(convs[-1].weight)
        body = []
        for c in convs[:-1]:
            body += [c, nn.ReLU()]
        self.net = nn.Sequential(*body, convs[-1])

    def forward(self, res: torch.Tensor) -> torch.Tensor:
        dtype = self.net[0].weight.dtype
        return self.net(res[:, None].to(dtype))[:, 0].to(res.dtype)


class DCDMMultigridNet(nn.Module):
    """One V-cycle with learned smoothers on the system's Galerkin hierarchy (module docstring).

    Args:
        dim: spatial dimensions, 2 or 3.
        channels: hidden channels of each smoother CNN.
        layers: convolutions per smoother CNN (>= 1; 1 is a learned linear stencil).
        kernel_size: odd convolution width.
        smoothing_steps: smoothing steps before and after each coarse correction.
        coarsest: coarsen while some side of the coarsest level has more cells than this. A grid with
            no side longer than ``coarsest`` gets one level (smoothing only; ``coarse_scale`` then gets
            no gradient, which plain DDP refuses).

    The hierarchy is rebuilt from the operator at every call (a few pooling passes, small beside the
    smoothers' convolutions), so one network serves any system it is handed.
    """

    takes_operator = True

    def __init__(
        self, dim: int, channels: int = 8, layers: int = 3, kernel_size: int = 3, smoothing_steps: int = 2, coarsest: int = 4
    ):
        super().__init__()
        if dim not in (2, 3):
            raise ValueError(f"DCDMMultigridNet: dim must be 2 or 3, got {dim}")
        if kernel_size % 2 == 0:
            raise ValueError(f"DCDMMultigridNet: kernel_size must be odd to keep the grid size, got {kernel_size}")
        self.dim, self.smoothing_steps, self.coarsest = dim, smoothing_steps, coarsest
        self.pre = Smoother(dim, channels, layers, kernel_size)
        self.post = Smoother(dim, channels, layers, kernel_size)
        self.omega = nn.Parameter(torch.tensor(2.0 / 3.0))
        self.coarse_scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, r: torch.Tensor, operator) -> torch.Tensor:
        """``r`` ``(batch, 1, *spatial)`` with ``spatial == operator.shape`` -> direction, same shape."""
        if r.ndim != self.dim + 2 or r.shape[1] != 1 or tuple(r.shape[2:]) != tuple(operator.shape):
            raise ValueError(
                f"DCDMMultigridNet({self.dim}D) expects (batch, 1, *spatial) on the system's grid "
                f"{tuple(operator.shape)}, got shape {tuple(r.shape)}"
            )
        # levels and cycle in at least float32: in bfloat16, coarse face weights (sums of up to 4^depth
        # fine ones) above 256 would round; the smoothers run in their parameters' dtype
        work = torch.promote_types(r.dtype, torch.float32)
        levels = hierarchy(GridLevel(operator.diag.to(work), operator.weights.to(work)), self.coarsest)
        return self._cycle(r[:, 0].to(work), levels, 0)[:, None].to(r.dtype)

    def _cycle(self, r: torch.Tensor, levels: list[GridLevel], depth: int) -> torch.Tensor:
        """``V(r)`` on level ``depth``: ``(batch, *level shape)`` -> same."""
        level = levels[depth]
        inv_diag = level.inverse_diagonal()
        x = torch.zeros_like(r)
        for _ in range(self.smoothing_steps):
            x = self._smooth(x, r, level, inv_diag, self.pre)
        if depth + 1 < len(levels):
            coarse = self._cycle(restrict(r - level(x), self.dim), levels, depth + 1)
            x = x + self.coarse_scale * prolong(coarse, level.shape) * (inv_diag > 0)  # not onto solid children
        for _ in range(self.smoothing_steps):
            x = self._smooth(x, r, level, inv_diag, self.post)
        return x

    def _smooth(self, x, r, level: GridLevel, inv_diag: torch.Tensor, smoother: Smoother) -> torch.Tensor:
        res = r - level(x)
        return x + inv_diag * (self.omega * res + smoother(res))
