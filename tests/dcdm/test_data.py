"""The poisson data generator: Ritz right-hand sides and held-out kinds are unit-norm elements of the range."""

import numpy as np
import pydantic
import pytest

from sciml.components.data.poisson import Obstacle, PoissonData, held_out_rhs
from sciml.components.solvers.stencil import StencilOperator, fluid_regions
from sciml.pipelines.datasets import dataset_key, read_arrays, read_shared, sample_seeds


def _data(**kw):
    base = dict(grid=12, dim=2, obstacle=Obstacle(kind="sphere", centre=[0.5, 0.4], radius=0.2),
                lanczos_steps=24, theta=3, train=6, val=2, test=6)
    return PoissonData(**{**base, **kw})


def test_training_rhs_are_unit_norm_combinations_of_ritz_vectors():
    data = _data()
    shared = data.setup(seed=0)
    mask = shared["mask"]
    b = data.sample("train", sample_seeds(0, "train", 0, 6), shared)["b"][:, 0]
    assert b.shape == (6, 12, 12) and b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b.reshape(6, -1), axis=1), 1.0, rtol=1e-6)  # float32 norm
    assert np.all(b[:, ~mask] == 0)
    # every sample lies in the span of the Ritz vectors (residual of a least-squares fit is rounding)
    values, vectors = data._ritz_pairs(mask, 0)
    assert np.array_equal(values, shared["ritz_values"])
    coef, *_ = np.linalg.lstsq(vectors.T.astype(np.float64), b[:, mask].T.astype(np.float64), rcond=None)
    np.testing.assert_allclose(vectors.T @ coef, b[:, mask].T, atol=1e-5)
    # the low modes (m/2 + theta lowest Ritz values) carry ~9x the coefficients of the rest
    cut = len(values) // 2 + data.theta
    ratio = np.abs(coef[:cut]).mean() / np.abs(coef[cut:]).mean()
    assert 5 < ratio < 15  # mean |N(0, 81)| / mean |N(0, 1)| = 9, over few samples


@pytest.mark.parametrize("kind", ["random", "smooth", "divergence"])
def test_test_rhs_lie_in_the_range_on_two_regions(kind, two_regions_mask):
    b = held_out_rhs(kind, two_regions_mask, "neumann", "neumann", np.random.default_rng(0))
    labels, count = fluid_regions(two_regions_mask)
    assert abs(np.linalg.norm(b) - 1) < 1e-6 and np.all(b[~two_regions_mask] == 0)
    for region in range(1, count + 1):
        # zero mean per all-Neumann region (float32 sums of ~50 entries)
        assert abs(b[labels == region].sum()) < 1e-5


def test_test_split_cycles_kinds_and_dataset_files(tmp_path):
    from sciml.pipelines.datasets import ensure_dataset

    data = _data(test_rhs=["random", "divergence"])
    files, _ = ensure_dataset(data, seed=0, cache=tmp_path)
    arrays = read_arrays(files.path("test"), ["b", "rhs_kind"])
    np.testing.assert_array_equal(arrays["rhs_kind"], [0, 1, 0, 1, 0, 1])
    assert set(read_shared(files.path("train"))) == {"mask", "ritz_values", "lanczos_seed"}
    op = StencilOperator(read_shared(files.path("test"))["mask"].astype(bool))
    assert op.shape == (12, 12)


def test_obstacles_scale_with_the_grid_and_load_from_file(tmp_path):
    box = Obstacle(kind="box", lower=[0.25, 0.25], upper=[0.75, 0.5])
    mask = box.mask(9, 2)  # cells 2..6 along x, 2..4 along y are solid: 5 x 3
    assert (~mask).sum() == 15 and not mask[2, 2] and not mask[6, 4] and mask[6, 5]
    np.save(tmp_path / "m.npy", mask)
    np.testing.assert_array_equal(Obstacle(kind="file", path=str(tmp_path / "m.npy")).mask(9, 2), mask)
    with pytest.raises(ValueError, match="shape"):
        Obstacle(kind="file", path=str(tmp_path / "m.npy")).mask(8, 2)
    # a mask file rewritten with another obstacle is another dataset
    from_file = _data(grid=9, obstacle=Obstacle(kind="file", path=str(tmp_path / "m.npy")))
    key = dataset_key(from_file, 0)
    np.save(tmp_path / "m.npy", Obstacle(kind="sphere", centre=[0.5, 0.4]).mask(9, 2))
    assert dataset_key(from_file, 0) != key
    # the benchmark ball in fractions of the grid is the ball in cells
    from sciml.components.solvers.geometry import benchmark_ball

    np.testing.assert_array_equal(Obstacle(kind="sphere").mask(20, 3), benchmark_ball(20))


def test_config_errors_name_the_problem():
    with pytest.raises(pydantic.ValidationError, match="needs path"):
        Obstacle(kind="file")
    with pytest.raises(pydantic.ValidationError, match="exceeds the number of cells"):
        PoissonData(grid=4, dim=2, lanczos_steps=20)
    with pytest.raises(pydantic.ValidationError, match="obstacle.centre needs 3 coordinates"):
        PoissonData(grid=8, dim=3, lanczos_steps=20, obstacle=Obstacle(kind="sphere", centre=[0.5, 0.5]))
    with pytest.raises(pydantic.ValidationError, match="theta"):
        PoissonData(grid=8, dim=2, lanczos_steps=20, theta=15)
