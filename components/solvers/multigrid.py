"""Aggregation multigrid levels of the cell-centred stencil, as torch grid arrays.

Aggregates are the ``2^dim`` blocks of cells (a side of odd length is first padded with one solid
layer). Prolongation ``P`` copies each coarse value to its children (piecewise constant), restriction
is ``P^T`` (the sum over the children), and the coarse operator is the Galerkin product
``A_c = P^T A P``. For this stencil that product is a stencil of the same form
(:func:`~sciml.components.solvers.stencil.apply_stencil`): faces inside a block cancel, a coarse face
carries the sum of the fine face weights across it (``2^(dim-1)`` between two fluid blocks) and a
coarse cell's Dirichlet count is the sum of its children's. A block with no fluid child gets zero
weights, so solid stays outside the fluid space on every level, and the null space of an all-Neumann
region (its constants) is kept, since ``P`` maps coarse constants to fine ones.

Written here rather than taken from pyamg: pyamg builds scipy matrices on the CPU, while the multigrid
direction network (:mod:`sciml.components.models.dcdm_multigrid_net`) needs its levels as batched,
differentiable grid operations on the training device, rebuilt for whatever grid it is run on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from sciml.components.solvers.stencil import apply_stencil


@dataclass(frozen=True)
class GridLevel:
    """One level's operator: Dirichlet counts ``diag`` ``(*spatial)``, lower-face weights ``weights`` ``(dim, *spatial)``."""

    diag: torch.Tensor
    weights: torch.Tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.diag.shape)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``A x``: ``(..., *spatial)`` -> same shape."""
        return apply_stencil(x, self.diag, self.weights)

    def inverse_diagonal(self) -> torch.Tensor:
        """``1 / A_ii`` on cells with a nonzero diagonal (fluid), 0 elsewhere (solid): ``(*spatial)``."""
        diagonal = self.diag.clone()
        for axis, w in enumerate(self.weights):
            upper = torch.cat([w.narrow(axis, 1, w.shape[axis] - 1), torch.zeros_like(w.narrow(axis, 0, 1))], dim=axis)
            diagonal = diagonal + w + upper  # the faces below and above each cell
        return torch.where(diagonal > 0, 1.0 / torch.where(diagonal > 0, diagonal, 1.0), 0.0)


def restrict(r: torch.Tensor, dim: int) -> torch.Tensor:
    """``P^T r``, the sum over each block: ``(..., *spatial)`` -> ``(..., *ceil(spatial / 2))``."""
    lead = r.shape[: r.ndim - dim]
    flat = _pad_even(r.reshape(-1, 1, *r.shape[r.ndim - dim :]), dim)
    pool = F.avg_pool2d if dim == 2 else F.avg_pool3d
    coarse = pool(flat, kernel_size=2) * 2**dim
    return coarse.reshape(*lead, *coarse.shape[2:])


def prolong(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """``P x``, each coarse value copied to its children: ``(..., *ceil(shape / 2))`` -> ``(..., *shape)``."""
    dim = len(shape)
    for axis in range(x.ndim - dim, x.ndim):
        x = x.repeat_interleave(2, dim=axis)
    return x[(..., *(slice(0, n) for n in shape))]


def coarsen(level: GridLevel) -> GridLevel:
    """The Galerkin coarse level ``P^T A P`` of ``level`` (see the module docstring)."""
    dim = level.diag.ndim
    diag = restrict(level.diag, dim)
    weights = _pad_even(level.weights, dim)
    coarse = []
    for axis in range(dim):
        # the lower face of a coarse block along `axis` is the lower face of its children at even index
        even = [slice(None)] * dim
        even[axis] = slice(0, None, 2)
        w = weights[axis][tuple(even)]
        for other in range(dim):
            if other != axis:
                w = w.unfold(other, 2, 2).sum(-1)
        coarse.append(w)
    return GridLevel(diag, torch.stack(coarse))


def hierarchy(finest: GridLevel, coarsest: int) -> list[GridLevel]:
    """``[finest, coarsen(finest), ...]``, coarsened while some side of the last level exceeds ``coarsest`` cells
    (a side of one cell stays one cell)."""
    if coarsest < 1:
        raise ValueError(f"coarsest must be >= 1 cell, got {coarsest}")
    levels = [finest]
    while max(levels[-1].shape) > coarsest:
        levels.append(coarsen(levels[-1]))
    return levels


def _pad_even(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Pad the last ``dim`` axes of ``x`` with one zero layer at the upper end where their length is odd."""
    pads = []
    for n in reversed(x.shape[x.ndim - dim :]):
        pads += [0, n % 2]
    return F.pad(x, pads) if any(pads) else x
