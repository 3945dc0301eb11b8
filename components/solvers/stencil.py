"""The 5-point (2D) / 7-point (3D) cell-centred Laplacian on a fluid mask, matrix-free in torch.

The system ``A x = b`` has one unknown per fluid cell. ``A`` is the positive (semi)definite graph
Laplacian in cell units (grid spacing 1, so multiply by ``1/h**2`` for a physical Laplacian):

    (A x)_i = sum over the 2*dim faces of cell i of
              x_i - x_j   when the neighbour j is fluid,
              x_i         when the face is a Dirichlet boundary (ghost value 0),
              0           when the face is a Neumann boundary (zero flux).

A face is a *wall* when it lies on the boundary of the box and a *solid face* when the neighbour is a
solid cell; ``walls`` and ``solid`` choose Dirichlet or Neumann for each. With Neumann everywhere, each
connected fluid region carries a constant null vector: right-hand sides must have zero mean on such a
region and solutions are defined up to a constant there. :func:`fluid_regions`,
:func:`singular_regions` and :class:`MeanZeroProjection` handle that subspace.

Matrix-free form used by :class:`StencilOperator`: with the flux across the lower face of cell ``i``
along axis ``a``, ``f_a[i] = w_a[i] (x[i] - x[i-1])`` (``w_a[i] = 1`` when both cells are fluid),

    A x = d * x + sum_a (f_a[i] - f_a[i+1]),

where ``d`` counts the Dirichlet faces of each cell. Solid cells have ``d = 0`` and ``w = 0``, so the
operator maps them to 0: a grid array with zeros in the solid is an element of the fluid space.
:meth:`StencilOperator.to_scipy` exports the same matrix on the fluid unknowns (C order) as CSR.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.ndimage
import scipy.sparse as sp
import torch

Boundary = Literal["dirichlet", "neumann"]


def _boundary_coefficients(
    mask: np.ndarray, walls: Boundary, solid: Boundary
) -> tuple[np.ndarray, np.ndarray]:
    """Dirichlet-face counts ``d`` (*spatial) and lower-face weights ``w`` (dim, *spatial), both float64."""
    dim = mask.ndim
    fluid = mask.astype(np.float64)
    weights = np.zeros((dim, *mask.shape))
    diag = np.zeros(mask.shape)
    for axis in range(dim):
        lower = [slice(None)] * dim
        upper = [slice(None)] * dim
        lower[axis], upper[axis] = slice(0, -1), slice(1, None)
        both = fluid[tuple(upper)] * fluid[tuple(lower)]
        weights[(axis, *upper)] = both
        if solid == "dirichlet":
            # a fluid cell next to a solid cell: one Dirichlet face, on whichever side the solid is
            diag[tuple(upper)] += fluid[tuple(upper)] * (1 - fluid[tuple(lower)])
            diag[tuple(lower)] += fluid[tuple(lower)] * (1 - fluid[tuple(upper)])
        if walls == "dirichlet":
            first = [slice(None)] * dim
            last = [slice(None)] * dim
            first[axis], last[axis] = 0, -1
            diag[tuple(first)] += fluid[tuple(first)]
            diag[tuple(last)] += fluid[tuple(last)]
    return diag, weights


def face_weights(mask: np.ndarray) -> np.ndarray:
    """``w_a[i] = 1`` where cell ``i`` and its lower neighbour along axis ``a`` are both fluid: ``(dim, *spatial)``."""
    return _boundary_coefficients(mask, "neumann", "neumann")[1]


def fluid_regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Connected fluid regions (face connectivity, as the stencil couples cells).

    Returns ``labels`` (*spatial, int64; 0 on solid cells, 1..count on fluid) and ``count``.
    """
    structure = scipy.ndimage.generate_binary_structure(mask.ndim, 1)
    labels, count = scipy.ndimage.label(mask, structure=structure)
    return labels.astype(np.int64), int(count)


def singular_regions(mask: np.ndarray, walls: Boundary, solid: Boundary) -> np.ndarray:
    """Which regions carry a constant null vector: bool ``(count + 1,)``, entry 0 (solid) always False.

    A region is singular when none of its cells has a Dirichlet face.
    """
    labels, count = fluid_regions(mask)
    diag, _ = _boundary_coefficients(mask, walls, solid)
    dirichlet_faces = np.bincount(labels.ravel(), weights=diag.ravel(), minlength=count + 1)
    singular = dirichlet_faces == 0
    singular[0] = False
    return singular


def apply_stencil(x: torch.Tensor, diag: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``A x = d * x + sum_a (f_a[i] - f_a[i+1])`` with ``f_a[i] = w_a[i] (x[i] - x[i-1])``.

    ``diag`` ``(*spatial)``, ``weights`` ``(dim, *spatial)`` (any non-negative face weights, e.g. the
    summed ones of a coarse level); ``x`` ``(..., *spatial)`` -> same shape.
    """
    dim = diag.ndim
    out = diag * x
    for axis in range(dim):
        d = x.ndim - dim + axis
        n = x.shape[d]
        zero = torch.zeros_like(x.narrow(d, 0, 1))
        below = torch.cat([zero, x.narrow(d, 0, n - 1)], dim=d)  # below[i] = x[i-1]
        flux = weights[axis] * (x - below)  # flux across the lower face of each cell
        above = torch.cat([flux.narrow(d, 1, n - 1), zero], dim=d)  # above[i] = flux[i+1]
        out = out + flux - above
    return out


class MeanZeroProjection(torch.nn.Module):
    """Orthogonal projection onto the range of ``A``: subtract the mean on every singular region.

    ``labels`` has the shape of the vectors' trailing dims: ``(*spatial)`` for grid arrays, or
    ``(n_fluid,)`` (``labels[mask]``) for vectors of fluid unknowns. Cells with label 0 (solid) and
    regions with a Dirichlet face are left unchanged.
    """

    def __init__(self, labels: np.ndarray, singular: np.ndarray):
        super().__init__()
        self.register_buffer("labels", torch.as_tensor(labels, dtype=torch.long), persistent=False)
        counts = np.bincount(np.asarray(labels).ravel(), minlength=len(singular)).astype(np.float64)
        inv = np.where(np.asarray(singular) & (counts > 0), 1.0 / np.maximum(counts, 1), 0.0)
        # weight 1/count on a singular region, 0 elsewhere: mean = weight * sum
        self.register_buffer("inv_count", torch.as_tensor(inv), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shape ``(..., *labels.shape)`` -> same shape, every singular region with zero mean."""
        flat_labels = self.labels.reshape(-1)
        lead = x.shape[: x.ndim - self.labels.ndim]
        flat = x.reshape(-1, flat_labels.numel())
        sums = torch.zeros(flat.shape[0], self.inv_count.numel(), dtype=x.dtype, device=x.device)
        sums.index_add_(1, flat_labels, flat)
        means = sums * self.inv_count.to(x.dtype)
        return (flat - means[:, flat_labels]).reshape(*lead, *self.labels.shape)

    def numpy(self, x: np.ndarray) -> np.ndarray:
        """The same projection of one numpy array of shape ``labels.shape`` (float64), without torch:
        it runs once per Krylov iteration, where a torch round trip cost more than the matrix-vector
        product."""
        labels = self.labels.cpu().numpy().ravel()
        inv = self.inv_count.cpu().numpy()
        flat = np.asarray(x, dtype=np.float64).ravel()
        means = np.bincount(labels, weights=flat, minlength=inv.size) * inv
        return (flat - means[labels]).reshape(np.shape(x))


class StencilOperator(torch.nn.Module):
    """Matrix-free ``A`` on grid arrays; buffers move with ``.to(device)`` / ``.double()``.

    Args:
        mask: bool ``(n_1, ..., n_dim)``, dim 2 or 3; True = fluid.
        walls: boundary condition on the faces of the box.
        solid: boundary condition on faces between fluid and solid cells.
    """

    def __init__(self, mask: np.ndarray, walls: Boundary = "neumann", solid: Boundary = "neumann"):
        super().__init__()
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim not in (2, 3):
            raise ValueError(f"the stencil needs a 2D or 3D mask, got shape {mask.shape}")
        self.walls, self.solid = walls, solid
        self.mask_np = mask
        diag, weights = _boundary_coefficients(mask, walls, solid)
        self.register_buffer("diag", torch.as_tensor(diag, dtype=torch.float32), persistent=False)
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32), persistent=False)
        self.register_buffer("mask", torch.as_tensor(mask), persistent=False)

    @property
    def dim(self) -> int:
        return self.mask.ndim

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.mask.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``A x``: shape ``(batch, *spatial)`` or ``(*spatial)`` -> same shape, dtype of ``x``."""
        return apply_stencil(x, self.diag.to(x.dtype), self.weights.to(x.dtype))

    def projection(self, on: Literal["grid", "fluid"] = "grid") -> MeanZeroProjection:
        """The mean-zero projection for grid arrays (``"grid"``) or fluid-unknown vectors (``"fluid"``)."""
        labels, _ = fluid_regions(self.mask_np)
        singular = singular_regions(self.mask_np, self.walls, self.solid)
        return MeanZeroProjection(labels if on == "grid" else labels[self.mask_np], singular).to(
            self.diag.device
        )

    def to_scipy(self) -> sp.csr_matrix:
        """The same matrix on the fluid unknowns (C order of ``mask``), ``(n_fluid, n_fluid)`` float64 CSR."""
        mask = self.mask_np
        diag, weights = _boundary_coefficients(mask, self.walls, self.solid)
        index = np.full(mask.shape, -1, dtype=np.int64)
        index[mask] = np.arange(int(mask.sum()))
        rows, cols = [], []
        degree = np.zeros(mask.shape)
        for axis in range(mask.ndim):
            faces = weights[axis] > 0  # cell i and i-1 along `axis` both fluid
            lower_index = np.roll(index, 1, axis=axis)
            rows.append(index[faces])
            cols.append(lower_index[faces])
            degree += weights[axis] + np.roll(weights[axis], -1, axis=axis)
        rows_a, cols_a = np.concatenate(rows), np.concatenate(cols)
        n = int(mask.sum())
        off = sp.coo_matrix((-np.ones(len(rows_a)), (rows_a, cols_a)), shape=(n, n))
        d = sp.diags((diag + degree)[mask])
        return (off + off.T + d).tocsr()
