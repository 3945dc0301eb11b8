"""Grid layouts, the boundary envelope, and the operator task's ``hard_dirichlet`` option."""

import math

import numpy as np
import pytest
import torch

from sciml.components.base import DataConfig
from sciml.components.data.darcy import DarcyData
from sciml.components.grids import axis_points, dirichlet_envelope, with_dirichlet_envelope
from sciml.components.models.fno import FNOConfig
from sciml.components.tasks.operator import OperatorTaskConfig
from sciml.components.tasks.operator_module import OperatorModule
from sciml.pipelines import registry
from sciml.pipelines.datasets import ensure_dataset, read_arrays
from sciml.pipelines.errors import SpecError
from sciml.pipelines.spec import TrainConfig


def test_axis_points_of_each_layout():
    torch.testing.assert_close(axis_points(5, "vertex"), torch.tensor([0, 0.25, 0.5, 0.75, 1]))
    torch.testing.assert_close(axis_points(4, "cell"), torch.tensor([0, 0.25, 0.5, 0.75]))
    torch.testing.assert_close(axis_points(3, "interior"), torch.tensor([0.25, 0.5, 0.75]))
    # refinement by 2 keeps the coarse points: at the even points (cell) and the odd ones (interior, n -> 2n + 1)
    torch.testing.assert_close(axis_points(16, "cell")[::2], axis_points(8, "cell"))
    torch.testing.assert_close(axis_points(15, "interior")[1::2], axis_points(7, "interior"))
    torch.testing.assert_close(axis_points(9, "vertex")[::2], axis_points(5, "vertex"))


@pytest.mark.parametrize("layout", ["vertex", "cell", "interior"])
def test_envelope_is_the_sine_product_and_zero_exactly_on_boundary_points(layout):
    sizes = (5, 7, 4)
    env = dirichlet_envelope(sizes, layout, dtype=torch.float64)
    points = [np.asarray(axis_points(n, layout, dtype=torch.float64)) for n in sizes]
    expected = np.einsum("i,j,k->ijk", *(np.sin(math.pi * p) for p in points))
    np.testing.assert_allclose(env.numpy(), expected, atol=1e-15)
    on_boundary = np.zeros(sizes, dtype=bool)
    for axis, p in enumerate(points):
        face = (p == 0) | (p == 1)
        on_boundary |= np.expand_dims(face, [a for a in range(3) if a != axis])
    assert {"vertex": 5 * 7 * 4 - 3 * 5 * 2, "cell": 5 * 7 * 4 - 4 * 6 * 3, "interior": 0}[layout] == on_boundary.sum()
    assert np.all(env.numpy()[on_boundary] == 0.0)  # exactly, not up to sin(pi) rounding
    assert np.all(env.numpy()[~on_boundary] > 0)


def test_the_envelope_of_a_bfloat16_field_is_zero_only_on_the_boundary():
    # in bfloat16 i / (n - 1) rounds to 1 well inside a 513-point grid; the envelope is made in float32
    u = torch.ones(1, 1, 513, dtype=torch.bfloat16)
    enveloped = with_dirichlet_envelope(u, "vertex")
    assert enveloped.dtype == torch.bfloat16
    assert torch.nonzero(enveloped[0, 0] == 0).flatten().tolist() == [0, 512]


def test_declared_dirichlet_arrays_vanish_on_the_boundary(tmp_path):
    declared = {  # the generators (fields_file declares what its spec says: tests/operators/test_fields_file.py)
        kind: cls for kind, cls in registry.kinds("data").items()
        if cls.dirichlet_arrays is not DataConfig.dirichlet_arrays and "resolution" in cls.model_fields
    }
    assert {"darcy", "helmholtz", "poisson_field"} <= set(declared)
    for kind, cls in declared.items():
        data = cls(resolution=17, train=2, val=1, test=1)
        files, _ = ensure_dataset(data, seed=0, cache=tmp_path / kind)
        arrays = read_arrays(files.path("test"))
        for key, layout in data.dirichlet_arrays().items():
            u = arrays[key][0, 0].astype(np.float64)
            scale = np.abs(u).max()
            assert scale > 0, kind
            def on_boundary(index: int, axis: int) -> bool:
                return bool(np.abs(np.take(u, index, axis)).max() <= 1e-6 * scale)

            for axis in range(u.ndim):
                # the declared layout, not just some: vertex grids hold both faces, cell grids the first only
                assert on_boundary(0, axis) == (layout != "interior"), (kind, axis)
                assert on_boundary(-1, axis) == (layout == "vertex"), (kind, axis)
                if layout == "interior":  # (i + 1) / (n + 1): u(0) from the first two points, to O(h^2)
                    first, second = np.take(u, 0, axis), np.take(u, 1, axis)
                    assert np.abs(2 * first - second).max() < 0.05 * scale, (kind, axis)


@pytest.fixture(scope="module")
def darcy_files(tmp_path_factory):
    data = DarcyData(resolution=16, train=8, val=2, test=2)
    files, _ = ensure_dataset(data, seed=0, cache=tmp_path_factory.mktemp("cache"))
    return files


def build(files, layout):
    torch.manual_seed(0)
    net = FNOConfig(width=8, modes=4, layers=2, projection_width=8)
    return OperatorModule(OperatorTaskConfig(loss="h1", hard_dirichlet=layout is not None), net, TrainConfig(), files, dirichlet_layout=layout)


def test_the_prediction_is_the_plain_one_times_the_envelope_at_every_resolution(darcy_files):
    plain, hard = build(darcy_files, None), build(darcy_files, "vertex")
    hard.load_state_dict(plain.state_dict())
    for n in (16, 24, 33):
        x = torch.rand(3, 1, n, n) * 9 + 3
        with torch.no_grad():
            p, h = plain(x), hard(x)
        torch.testing.assert_close(h, p * dirichlet_envelope((n, n), "vertex"))
        for edge in (h[..., 0, :], h[..., -1, :], h[..., :, 0], h[..., :, -1]):
            assert torch.all(edge == 0)
        assert torch.all(p[..., 0, :] != 0)  # the plain module does not vanish there by itself


def test_a_spec_with_hard_dirichlet_builds_a_module_whose_predictions_vanish_on_the_boundary(darcy_files):
    from sciml.pipelines.spec import load_spec
    from sciml_testing import ROOT

    x = torch.rand(2, 1, 16, 16) * 9 + 3
    for flag, zero in (("true", True), ("false", False)):
        spec = load_spec(ROOT / "specs" / "darcy-mgno-small.yaml", [f"task.hard_dirichlet={flag}", "model.kind=fno", "model.modes=4"])
        module = spec.task.build(spec, darcy_files)
        assert module.dirichlet_layout == ("vertex" if zero else None)
        with torch.no_grad():
            edge = module(x)[..., 0, :]
        assert torch.all(edge == 0) == zero
    with pytest.raises(ValueError, match="go together"):
        OperatorModule(OperatorTaskConfig(hard_dirichlet=True), FNOConfig(modes=4), TrainConfig(), darcy_files)


def test_hard_dirichlet_needs_a_declared_boundary_and_no_rollout():
    from sciml.pipelines.spec import load_spec
    from sciml_testing import ROOT

    spec = load_spec(ROOT / "specs" / "darcy-fno-bench.yaml", ["task.hard_dirichlet=true"])
    assert spec.task.hard_dirichlet
    with pytest.raises(SpecError, match=r"task.hard_dirichlet: needs an output that vanishes .* data kind 'burgers' declares such arrays: none$"):
        load_spec(ROOT / "specs" / "burgers-fno-small.yaml", ["task.hard_dirichlet=true"])
    with pytest.raises(SpecError, match=r"task.hard_dirichlet: not with rollout"):
        load_spec(ROOT / "specs" / "navier_stokes-fno-small.yaml", ["task.hard_dirichlet=true", "task.rollout=true"])
