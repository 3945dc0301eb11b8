"""Where a field's grid points lie in the unit interval, and the functions of them that models and tasks share.

The layouts, for ``n`` points per axis:

- ``vertex``: ``i / (n - 1)``, both boundaries included (``darcy``, ``helmholtz``);
- ``cell``: ``i / n``, the left boundary included, so a grid of ``2n`` points holds the ``n``-point one at
  its even points (periodic grids such as ``burgers`` and ``navier_stokes``, and neuraloperator's sets);
- ``interior``: ``(i + 1) / (n + 1)``, neither boundary (``poisson_field``, whose sine transform lives there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
import torch

from sciml.components.base import PointLayout


def axis_points(n: int, layout: PointLayout, device=None, dtype=None) -> torch.Tensor:
    """The ``n`` positions in [0, 1] of one axis's points, shape (n,)."""
    i = torch.arange(n, device=device, dtype=dtype or torch.get_default_dtype())
    if layout == "vertex":
        return i / max(n - 1, 1)
    if layout == "cell":
        return i / n
    return (i + 1) / (n + 1)


def dirichlet_envelope(sizes: Sequence[int], layout: PointLayout, device=None, dtype=None) -> torch.Tensor:
    """``prod_d sin(pi x_d)`` on the grid of ``sizes`` points per axis, shape ``sizes``.

    It vanishes exactly on the unit box's boundary and is positive inside, with unit slope (times pi) across
    each face: a field ``u = envelope * v`` with ``v`` bounded satisfies ``u = 0`` on the boundary by
    construction, so a network that predicts ``v`` need not learn the boundary layer on its grid.
    """
    # sin(pi x) = sin(pi (1 - x)): from the nearer face, so a boundary point gives exactly 0
    factors = []
    for n in sizes:
        x = axis_points(n, layout, device, dtype)
        factors.append(torch.sin(math.pi * torch.minimum(x, 1 - x)))
    envelope = factors[0]
    for factor in factors[1:]:
        envelope = envelope[..., None] * factor
    return envelope


def with_dirichlet_envelope(u: torch.Tensor, layout: PointLayout) -> torch.Tensor:
    """``u`` (batch, channels, *s) times :func:`dirichlet_envelope` on its grid, same dtype. The envelope is
    computed in at least float32: in bfloat16 the points near 1 round onto the boundary."""
    dtype = torch.promote_types(u.dtype, torch.float32)
    return u * dirichlet_envelope(u.shape[2:], layout, u.device, dtype).to(u.dtype)
