"""Small Poisson systems shared by the DCDM tests."""

import numpy as np
import pytest
import torch

from sciml.components.solvers import geometry


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def two_regions_mask() -> np.ndarray:
    """A 12 x 10 box cut in two by a solid wall column (x = 5), plus a small solid block on the right."""
    mask = geometry.empty(12, 2)[:, :10].copy()
    mask[5, :] = False
    mask[8:10, 3:6] = False
    return mask
