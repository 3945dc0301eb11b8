"""Every chaos kind builds from its defaults, and bad values are refused with the spec path named."""

import re

import pytest
import torch
from pydantic import ValidationError

from sciml.components.data.chaos import Lorenz63Data, Lorenz96Data, RoesslerData
from sciml.components.evaluation.dsr import DSREvaluationConfig
from sciml.components.models.rnn_baseline import LSTMDynamicsConfig
from sciml.components.models.shplrnn import ShallowPLRNNConfig
from sciml.components.tasks.gtf import GTFTaskConfig
from sciml.pipelines.errors import SpecError
from sciml.pipelines.registry import kinds


def test_kinds_are_registered():
    assert {"lorenz63", "roessler", "lorenz96", "trajectory_file"} <= set(kinds("data"))
    assert {"shplrnn", "lstm_dsr"} <= set(kinds("models")) and "gtf" in kinds("tasks") and "dsr" in kinds("evaluation")


def test_defaults_build():
    for data in (Lorenz63Data(), RoesslerData(), Lorenz96Data()):
        assert data.flow().dim == (3 if data.kind != "lorenz96" else data.n)
        assert data.split_sizes() == {"train": 8, "val": 1, "test": 2}
    for config in (ShallowPLRNNConfig(), LSTMDynamicsConfig()):
        net = config.build(obs_dim=4, seed=1)
        x = torch.zeros(2, 4)
        assert net.observe(net.step(net.encode(x))).shape == (2, 4)
    assert GTFTaskConfig().alpha == "adaptive" and DSREvaluationConfig().n_bins == 30


def test_model_seed_makes_the_initialization():
    a, b = ShallowPLRNNConfig().build(obs_dim=3, seed=5), ShallowPLRNNConfig().build(obs_dim=3, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = ShallowPLRNNConfig().build(obs_dim=3, seed=6)
    assert not torch.equal(a.W1, c.W1)


def test_bad_values():
    with pytest.raises(ValueError, match="^latent: the identity observation needs latent >= the data dimension 3"):
        ShallowPLRNNConfig(latent=2).check_series(3)
    with pytest.raises(ValidationError, match="must be in \\[0, 1\\] or 'adaptive'"):
        GTFTaskConfig(alpha=1.5)
    with pytest.raises(ValidationError, match="seq_len"):
        GTFTaskConfig(seq_len=1)


@pytest.mark.parametrize(("data", "words"), [
    ({"steps": 100}, "task.seq_len: 200 is longer than the train trajectories of data kind 'lorenz63' (100 time points)"),
    ({"steps": 1000, "split": "time"}, "task.seq_len: 200 is longer than the val trajectories of data kind 'lorenz63' (100 time points)"),
])
def test_windows_longer_than_the_trajectories_are_refused_at_validation(data, words):
    from sciml.pipelines.spec import validate_spec

    spec = {"name": "x", "data": {"kind": "lorenz63", **data}, "model": {"kind": "shplrnn"}, "task": {"kind": "gtf", "seq_len": 200}}
    with pytest.raises(SpecError, match=re.escape(words)):
        validate_spec(spec)
    validate_spec({**spec, "task": {"kind": "gtf", "seq_len": 100}})


def test_latent_below_the_data_dimension_is_refused_when_the_spec_is_validated():
    # the chaos kinds know their state dimension, so no data need be generated to find the mistake
    from sciml.pipelines.spec import load_spec
    from sciml_testing import ROOT

    spec = ROOT / "specs" / "lorenz63-gtf-small.yaml"
    with pytest.raises(SpecError, match="model.latent: the identity observation needs latent >= the data dimension 3, got 2"):
        load_spec(spec, ["model.latent=2"])
    with pytest.raises(SpecError, match="data dimension 12, got 10"):
        load_spec(spec, ["data.kind=lorenz96", "data.n=12", "model.latent=10"])
    load_spec(spec, ["model.latent=2", "model.observation=affine"])  # an affine read-out may compress
    load_spec(spec, ["data.kind=lorenz96", "data.n=12", "model.latent=12"])
    for data in (Lorenz63Data(), RoesslerData(), Lorenz96Data(n=7)):  # the declared dimension is the flow's
        assert data.series_dim() == data.flow().dim
