"""PDE-family data kinds: stored pairs solve their equation, per-sample reproducibility, zero-shot
splits and parameter validation."""

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from sciml.components.data.burgers import BurgersData
from sciml.components.data.darcy import DarcyData
from sciml.components.data.helmholtz import HelmholtzData
from sciml.components.data.navier_stokes import NavierStokesData
from sciml.components.solvers.burgers import solve_burgers
from sciml.components.solvers.darcy import solve_darcy
from sciml.components.solvers.grf import periodic_grf
from sciml.components.solvers.navier_stokes import VorticitySolver, fno_forcing
from sciml.pipelines.errors import SpecError


def seeds(count, offset=0):
    return [np.random.SeedSequence(0, spawn_key=(2, i)) for i in range(offset, offset + count)]


def test_darcy_pairs_solve_the_equation_and_do_not_depend_on_batching():
    data = DarcyData(resolution=17, train=3, val=1, test=1)
    batch = data.sample("train", seeds(3), {})
    assert batch["x"].shape == batch["y"].shape == (3, 1, 17, 17)
    assert set(np.unique(batch["x"])) <= {3.0, 12.0}
    # y is the FD solution for x (float32 storage: 1e-6 relative)
    np.testing.assert_allclose(batch["y"][1, 0], solve_darcy(batch["x"][1, 0].astype(float)), rtol=1e-5, atol=1e-9)
    alone = data.sample("train", seeds(1, offset=2), {})  # sample 2 generated on its own
    np.testing.assert_array_equal(alone["x"][0], batch["x"][2])


def test_zero_shot_split_uses_its_resolution_and_unknown_split_is_an_error():
    data = DarcyData(resolution=9, train=2, val=1, test=2, test_resolutions=[17])
    assert data.split_sizes() == {"train": 2, "val": 1, "test": 2, "test_17": 2}
    assert data.sample("test_17", seeds(1), {})["x"].shape == (1, 1, 17, 17)
    with pytest.raises(SpecError, match="no split 'test_33'"):
        data.sample("test_33", seeds(1), {})


def test_burgers_pairs_and_trajectory():
    data = BurgersData(resolution=64, snapshots=2, train=2, val=1, test=1)
    batch = data.sample("train", seeds(2), {})
    assert batch["x"].shape == batch["y"].shape == (2, 1, 64) and batch["trajectory"].shape == (2, 3, 64)
    np.testing.assert_array_equal(batch["trajectory"][:, -1], batch["y"][:, 0])
    np.testing.assert_array_equal(batch["trajectory"][:, 0], batch["x"][:, 0])
    # mean of u is conserved by Burgers (float32 storage: 1e-6 of the O(1) values)
    np.testing.assert_allclose(batch["y"].mean(axis=-1), batch["x"].mean(axis=-1), atol=1e-5)
    u = solve_burgers(batch["x"][:, 0].astype(float), 0.1, np.array([1.0]), data.dt)[:, -1]
    np.testing.assert_allclose(batch["y"][:, 0], u, rtol=1e-5, atol=1e-6)


def test_navier_stokes_trajectory_split_and_subsampling():
    # x, y are snapshots t = 0, 0.1 | 0.2 of the 32-point solve from the seed's w0, at every other point.
    data = NavierStokesData(
        resolution=16, solver_resolution=32, dt=0.02, record_interval=0.1, input_steps=2, output_steps=1, train=2, val=1, test=1
    )
    batch = data.sample("train", seeds(2), {})
    assert batch["x"].shape == (2, 2, 16, 16) and batch["y"].shape == (2, 1, 16, 16)
    w0 = np.concatenate([periodic_grf(np.random.default_rng(s), 32, 2, 2.5, 7.0, zero_mean=True) for s in seeds(2)])
    solver = VorticitySolver(32, data.nu, fno_forcing(32), torch.float64, "cpu")
    w = solver.run(torch.from_numpy(w0), [0.1, 0.2], 0.02).numpy()[..., ::2, ::2]
    np.testing.assert_allclose(batch["x"][:, 0], w0[:, ::2, ::2], rtol=1e-6, atol=1e-7)  # float32 storage
    np.testing.assert_allclose(batch["x"][:, 1], w[:, 0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(batch["y"][:, 0], w[:, 1], rtol=1e-6, atol=1e-7)
    with pytest.raises(ValidationError, match="solver_resolution: must be a multiple of resolution"):
        NavierStokesData(resolution=16, solver_resolution=24)


def test_helmholtz_parameters_checked_against_resonances():
    with pytest.raises(ValidationError, match="contains a Dirichlet eigenvalue"):
        HelmholtzData(omega=7.0)
    data = HelmholtzData(resolution=17, train=2, val=1, test=1)
    batch = data.sample("train", seeds(2), {})
    c = batch["x"]
    assert c.min() > 1 - data.contrast and c.max() < 1 + data.contrast
    assert batch["y"].shape == (2, 1, 17, 17) and np.isfinite(batch["y"]).all()


def test_generate_stage_with_two_workers_writes_the_one_worker_dataset(tmp_path):
    # generate.workers is read from the spec; two processes share the batches (a 17x17 Darcy set of
    # 150 training samples is 3 batches) and write exactly the arrays of one process
    from sciml.pipelines import stages
    from sciml.pipelines.datasets import read_arrays

    def spec(workers, cache):
        return {
            "name": "darcy-workers",
            "data": {"kind": "darcy", "resolution": 17, "train": 150, "val": 1, "test": 1},
            "model": {"kind": "fno", "width": 4, "modes": 2},
            "task": {"kind": "operator"},
            "generate": {"workers": workers},
            "paths": {"cache": str(tmp_path / cache)},
        }

    one = stages.generate(stages.load(spec(1, "one"))[0], quiet=True)
    two = stages.generate(stages.load(spec(2, "two"))[0], quiet=True)
    a, b = read_arrays(one.path("train")), read_arrays(two.path("train"))
    np.testing.assert_array_equal(a["x"], b["x"])
    np.testing.assert_array_equal(a["y"], b["y"])
