"""The matrix-free stencil against scipy.sparse built independently (Kronecker sums and a cell loop)."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sciml.components.solvers import geometry
from sciml.components.solvers.stencil import StencilOperator


def _tridiag(n: int, walls: str) -> sp.csr_matrix:
    """1D cell Laplacian: 2 on the diagonal, -1 off it; an end cell has diagonal 1 under Neumann walls."""
    t = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]).tolil()
    if walls == "neumann":
        t[0, 0] = t[n - 1, n - 1] = 1
    return t.tocsr()


def _kron_laplacian(shape: tuple[int, ...], walls: str) -> sp.csr_matrix:
    """sum_a I x .. x T_a x .. x I, the tensor-product Laplacian of an all-fluid box (C order)."""
    out = sp.csr_matrix((int(np.prod(shape)),) * 2)
    for axis, n in enumerate(shape):
        factors = [sp.identity(m) for m in shape]
        factors[axis] = _tridiag(n, walls)
        term = factors[0]
        for f in factors[1:]:
            term = sp.kron(term, f)
        out = out + term
    return out.tocsr()


def _loop_laplacian(mask: np.ndarray, walls: str, solid: str) -> np.ndarray:
    """Dense A from the definition, one cell and one face at a time (small masks only)."""
    cells = [tuple(c) for c in np.argwhere(mask)]
    index = {c: i for i, c in enumerate(cells)}
    a = np.zeros((len(cells), len(cells)))
    for c in cells:
        for axis, step in itertools.product(range(mask.ndim), (-1, 1)):
            nb = list(c)
            nb[axis] += step
            nb = tuple(nb)
            if not 0 <= nb[axis] < mask.shape[axis]:
                a[index[c], index[c]] += walls == "dirichlet"
            elif not mask[nb]:
                a[index[c], index[c]] += solid == "dirichlet"
            else:
                a[index[c], index[c]] += 1
                a[index[c], index[nb]] -= 1
    return a


@pytest.mark.parametrize("shape", [(6, 5), (4, 5, 3)])
@pytest.mark.parametrize("walls", ["dirichlet", "neumann"])
def test_all_fluid_box_matches_kronecker_sum(shape, walls):
    mask = np.ones(shape, dtype=bool)
    op = StencilOperator(mask, walls=walls)
    # integer entries: the two constructions must agree exactly
    assert (op.to_scipy() != _kron_laplacian(shape, walls)).nnz == 0


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("walls,solid", [("dirichlet", "neumann"), ("neumann", "dirichlet"), ("neumann", "neumann")])
def test_masked_matrix_matches_cell_loop(dim, walls, solid):
    mask = geometry.blobs(7, dim, count=3, radius=(1.0, 2.5), seed=3)
    assert 0 < mask.sum() < mask.size  # the geometry really has solid cells
    op = StencilOperator(mask, walls=walls, solid=solid)
    np.testing.assert_array_equal(op.to_scipy().toarray(), _loop_laplacian(mask, walls, solid))


@pytest.mark.parametrize("dim", [2, 3])
def test_matrix_free_batch_matches_csr(dim):
    mask = geometry.blobs(9, dim, count=2, radius=(1.5, 3.0), seed=1)
    op = StencilOperator(mask, walls="dirichlet", solid="neumann")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, *mask.shape, generator=gen, dtype=torch.float64) * torch.as_tensor(mask)
    y = op(x)
    a = op.to_scipy()
    for i in range(3):
        expected = a @ x[i].numpy()[mask]
        # float64 sums of at most 7 O(1) terms: agreement to 1e-12 leaves only rounding
        np.testing.assert_allclose(y[i].numpy()[mask], expected, atol=1e-12)
        assert torch.all(y[i][~torch.as_tensor(mask)] == 0)  # solid cells stay out of the system
    # unbatched input gives the same as one batch entry
    torch.testing.assert_close(op(x[1]), y[1])


def test_operator_is_symmetric_and_constant_is_null_for_neumann():
    mask = geometry.benchmark_ball(10)
    a = StencilOperator(mask).to_scipy()
    assert abs(a - a.T).max() == 0
    np.testing.assert_allclose(a @ np.ones(a.shape[0]), 0.0)


def test_benchmark_ball_geometry():
    n = 32
    mask = geometry.benchmark_ball(n)
    c = (n - 1) / 2
    assert not mask[int(round(c)), int(round(0.8 * c)), int(round(c))]  # the centre is solid
    solid = (~mask).sum()
    # the number of cell centres inside a ball approximates its volume 4/3 pi (0.2 n)^3 to a few %
    assert abs(solid - 4 / 3 * np.pi * (0.2 * n) ** 3) < 0.05 * solid
