"""Mean-zero projection on singular (all-Neumann) regions."""

import numpy as np
import torch

from sciml.components.solvers.stencil import StencilOperator, fluid_regions, singular_regions


def test_two_disconnected_regions_each_get_zero_mean(two_regions_mask):
    labels, count = fluid_regions(two_regions_mask)
    assert count == 2
    op = StencilOperator(two_regions_mask, walls="neumann", solid="neumann")
    proj = op.projection("grid")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, *two_regions_mask.shape, generator=gen, dtype=torch.float64) + 3.0
    x = x * torch.as_tensor(two_regions_mask)
    px = proj(x)
    for region in (1, 2):
        cells = torch.as_tensor(labels == region)
        # float64 means of ~50 O(1) numbers: 1e-12 is rounding
        torch.testing.assert_close(px[:, cells].mean(dim=1), torch.zeros(4, dtype=torch.float64), atol=1e-12, rtol=0)
        # within a region the projection only shifts by a constant
        diff = (x - px)[:, cells]
        torch.testing.assert_close(diff, diff[:, :1].expand_as(diff))
    assert torch.all(px[:, ~torch.as_tensor(two_regions_mask)] == 0)
    torch.testing.assert_close(proj(px), px)  # idempotent
    # the numpy path (used inside the Krylov loops) is the same projection
    np.testing.assert_allclose(proj.numpy(x[2].numpy()), px[2].numpy(), atol=1e-12)
    # the projected vectors are in the range: orthogonal to each region's indicator, i.e. the null space
    a = op.to_scipy()
    for region in (1, 2):
        null = (labels == region)[two_regions_mask].astype(float)
        np.testing.assert_allclose(a @ null, 0.0)
        assert abs(px[0].numpy()[two_regions_mask] @ null) < 1e-10


def test_dirichlet_regions_are_left_alone(two_regions_mask):
    # Dirichlet walls: both regions touch a wall, neither is singular
    assert not singular_regions(two_regions_mask, "dirichlet", "neumann").any()
    # enclose a pocket of fluid with solid: with Dirichlet walls only the pocket is singular
    mask = two_regions_mask.copy()
    mask[1:4, 1:4] = False
    mask[2, 2] = True
    labels, count = fluid_regions(mask)
    singular = singular_regions(mask, "dirichlet", "neumann")
    assert count == 3 and singular.sum() == 1 and singular[labels[2, 2]]
    proj = StencilOperator(mask, walls="dirichlet").projection("fluid")
    x = np.arange(mask.sum(), dtype=float)
    px = proj.numpy(x)
    pocket = labels[mask] == labels[2, 2]
    np.testing.assert_array_equal(px[~pocket], x[~pocket])
    assert px[pocket] == 0.0  # a one-cell singular region has only the zero vector in its range
