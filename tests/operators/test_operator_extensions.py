"""Operator task extensions (H1 loss, autoregressive rollout, transposition) and the extra operator_metrics
outputs, on a tiny generated Navier-Stokes set."""

import numpy as np
import pytest
import torch

from sciml.components.base import EvaluationContext
from sciml.components.data.burgers import BurgersData
from sciml.components.data.navier_stokes import NavierStokesData
from sciml.components.evaluation.field_errors import relative_h1
from sciml.components.evaluation.operator_metrics import OperatorMetricsConfig
from sciml.components.models.fno import FNOConfig
from sciml.components.tasks.module import relative_l2
from sciml.components.tasks.operator import OperatorTaskConfig
from sciml.components.tasks.operator_module import OperatorModule, random_transpose
from sciml.pipelines.datasets import ensure_dataset, read_arrays
from sciml.pipelines.errors import SpecError
from sciml.pipelines.spec import TrainConfig


class Persistence(torch.nn.Module):
    """A one-step 'model' that repeats the last snapshot of its window."""

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        return window[:, -1:]


@pytest.fixture(scope="module")
def ns_files(tmp_path_factory):
    data = NavierStokesData(resolution=16, dt=0.05, record_interval=0.1, input_steps=3, output_steps=2, train=6, val=2, test=4)
    files, _ = ensure_dataset(data, seed=0, cache=tmp_path_factory.mktemp("cache"))
    return files


def build(files, **task):
    return OperatorModule(OperatorTaskConfig(**task), FNOConfig(width=4, modes=3, layers=1, projection_width=4), TrainConfig(), files)


def test_rollout_feeds_predictions_back(ns_files):
    # With a persistence one-step model every rolled-out step equals the last input snapshot; the
    # scalar normalization is undone exactly (float32 round-off: 1e-6 relative).
    module = build(ns_files, rollout=True)
    assert module.net.project[-1].out_channels == 1  # a one-step network
    module.net = Persistence()
    x = torch.from_numpy(read_arrays(ns_files.path("test"), ["x"])["x"])
    out = module(x)
    assert out.shape == (4, 2, 16, 16)
    torch.testing.assert_close(out, x[:, -1:].expand(-1, 2, -1, -1), rtol=1e-5, atol=1e-6)


def test_h1_loss_is_relative_h1(ns_files):
    module = build(ns_files, loss="h1")
    pred, y = torch.randn(3, 2, 16, 16), torch.randn(3, 2, 16, 16)
    torch.testing.assert_close(module._loss(pred, y), relative_h1(pred, y).mean())


def test_metrics_include_h1_bands_and_error_per_step(ns_files, tmp_path):
    # Persistence rollout: the error of step t is ||x_last - y_t|| / ||y_t|| over the whole split,
    # computed here by hand from the stored arrays.
    module = build(ns_files, rollout=True)
    module.net = Persistence()
    context = EvaluationContext(spec=None, task=module.eval(), dataset=ns_files, run_dir=tmp_path, device=torch.device("cpu"))
    context.plots_dir.mkdir()
    metrics = OperatorMetricsConfig(splits=["test"], plot_samples=1).evaluate(context)
    arrays = read_arrays(ns_files.path("test"), ["x", "y"])
    last, y = arrays["x"][:, -1].astype(np.float64), arrays["y"].astype(np.float64)
    by_hand = [np.sqrt(((last - y[:, t]) ** 2).sum() / (y[:, t] ** 2).sum()) for t in range(2)]
    assert metrics["test/rel_l2_last_step"] == pytest.approx(by_hand[-1], rel=1e-5)
    table = (tmp_path / "plots" / "operator_metrics_test_per_step.csv").read_text().splitlines()
    assert [float(line.split(",")[1]) for line in table[1:]] == pytest.approx(by_hand, rel=1e-5)
    pred = torch.from_numpy(last[:, None].repeat(2, 1))
    assert metrics["test/rel_l2"] == pytest.approx(float(relative_l2(pred, torch.from_numpy(y)).mean()), rel=1e-5)
    # a 16-point grid reaches shells 0..7: low and mid bands exist, the high band (>= 12) does not
    assert {"test/rel_h1", "test/nrmse", "test/frmse_low", "test/frmse_mid"} <= set(metrics)
    assert "test/frmse_high" not in metrics
    assert (tmp_path / "plots" / "operator_metrics_test_per_step.png").exists()


def test_random_transpose_swaps_both_fields_of_a_pair_together():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 2, 5, 5), torch.randn(64, 1, 5, 5)
    xt, yt = random_transpose(x, y, gen)
    swapped = torch.tensor([torch.equal(xt[i], x[i].mT) for i in range(64)])
    kept = torch.tensor([torch.equal(xt[i], x[i]) for i in range(64)])
    assert torch.all(swapped ^ kept)  # each input is exactly itself or its transpose (random fields are not symmetric)
    assert all(torch.equal(yt[i], y[i].mT if swapped[i] else y[i]) for i in range(64))
    assert 16 < int(swapped.sum()) < 48  # probability 1/2: 32 expected, std 4
    xt2, _ = random_transpose(x, y, torch.Generator().manual_seed(0))
    assert torch.equal(xt2, xt)  # the draw comes from the generator


def test_transpose_needs_square_2d_fields(ns_files, tmp_path):
    build(ns_files, transpose=True)  # 16 x 16 Navier-Stokes snapshots: accepted
    burgers = BurgersData(resolution=32, train=2, val=1, test=1)
    files, _ = ensure_dataset(burgers, seed=0, cache=tmp_path)
    with pytest.raises(SpecError, match=r"^task.transpose: needs fields on square 2D grids"):
        build(files, transpose=True)


def test_rollout_needs_snapshots_of_one_field():
    from sciml.pipelines.spec import load_spec
    from sciml_testing import ROOT

    load_spec(ROOT / "specs" / "navier_stokes-fno-small.yaml", ["task.rollout=true"])  # vorticity snapshots: accepted
    load_spec(ROOT / "specs" / "burgers-fno-small.yaml", ["task.rollout=true"])  # u0 -> u(T): one field, one step
    for spec, kind in (("darcy-fno-bench.yaml", "darcy"), ("helmholtz-unet-small.yaml", "helmholtz")):
        # the coefficient a (or wave speed c) and the solution u are different fields: feeding u back as a is wrong
        with pytest.raises(SpecError, match=rf"task.rollout: feeds predictions of 'y' back .* data kind '{kind}' has such arrays: none$"):
            load_spec(ROOT / "specs" / spec, ["task.rollout=true"])
