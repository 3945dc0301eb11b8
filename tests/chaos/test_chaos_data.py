"""Chaotic-system data kinds and the trajectory-file loader."""

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from pydantic import ValidationError

from sciml.components.data.chaos import Lorenz63Data, Lorenz96Data, RoesslerData
from sciml.components.data.trajectory_file import TrajectoryFileData, read_trajectory
from sciml.components.solvers.ode import rk4
from sciml.pipelines.datasets import sample_seeds
from sciml.pipelines.errors import SpecError

DSR = Path(__file__).resolve().parents[3] / "shared" / "data" / "dsr"


def draw(data, split, start=0, stop=None, seed=0, shared=None):
    shared = data.setup(seed) if shared is None else shared
    stop = data.split_sizes()[split] if stop is None else stop
    return data.sample(split, sample_seeds(seed, split, start, stop), shared)["x"], shared


def test_samples_are_trajectories_of_the_flow():
    data = Lorenz63Data(steps=300, train=3, transient=5.0, standardize=False)
    x, shared = draw(data, "train")
    assert x.shape == (3, 300, 3) and x.dtype == np.float32
    # each sample continues the flow: one RK4 step of dt from x_t reproduces x_{t+1} (float32 storage)
    y = torch.as_tensor(x[:, :-1].reshape(-1, 3), dtype=torch.float64)
    nxt = rk4(data.flow().rhs, y, data.dt, 1)[:, 1].reshape(3, 299, 3).numpy()
    np.testing.assert_allclose(nxt, x[:, 1:], rtol=0, atol=1e-4 * np.abs(x).max())


def test_samples_do_not_depend_on_batching():
    data = Lorenz63Data(steps=100, train=4, transient=1.0, noise=0.1)
    whole, shared = draw(data, "train")
    part, _ = draw(data, "train", 2, 4, shared=shared)
    np.testing.assert_array_equal(whole[2:], part)


def test_standardization_and_noise():
    clean_cfg = Lorenz63Data(steps=2000, train=8, transient=20.0)
    clean, shared = draw(clean_cfg, "train")
    # z-scored with the attractor's statistics: close to zero mean and unit std over 8 x 20 time units
    assert np.abs(clean.mean(axis=(0, 1))).max() < 0.15
    np.testing.assert_allclose(clean.std(axis=(0, 1)), 1.0, atol=0.1)
    noisy, _ = draw(Lorenz63Data(steps=2000, train=8, transient=20.0, noise=0.05), "train", shared=shared)
    residual = noisy - clean  # same seeds: the same trajectories plus noise
    np.testing.assert_allclose(residual.std(), 0.05, rtol=0.02)  # 48k draws: std error ~0.3 %
    test, _ = draw(Lorenz63Data(steps=2000, train=8, test=1, transient=20.0, noise=0.05), "test", shared=shared)
    assert test.shape == (1, 2000, 3)


def test_time_split_cuts_one_trajectory():
    data = Lorenz63Data(steps=500, split="time", train=2, transient=2.0, fractions=(0.6, 0.2, 0.2), standardize=False)
    shared = data.setup(0)
    parts = [draw(data, s, shared=shared)[0] for s in ("train", "val", "test")]
    assert [p.shape[1] for p in parts] == [300, 100, 100]
    whole, _ = draw(Lorenz63Data(steps=500, train=2, transient=2.0, standardize=False), "train", shared=shared)
    # consecutive segments continue each other: the step across a boundary is a regular RK4 step
    joined = np.concatenate(parts, axis=1)
    y = torch.as_tensor(joined[:, 299], dtype=torch.float64)
    np.testing.assert_allclose(rk4(data.flow().rhs, y, data.dt, 1)[:, 1].numpy(), joined[:, 300], atol=1e-3)
    assert whole.shape == joined.shape


def test_dopri5_and_rk4_generate_the_same_trajectories():
    base = dict(steps=200, train=2, transient=1.0, standardize=False)
    a, shared = draw(Lorenz63Data(**base, substeps=4), "train")
    b, _ = draw(Lorenz63Data(**base, integrator="dopri5", rtol=1e-10, atol=1e-10), "train", shared=shared)
    # 3 time units: at dt = 0.01 plain RK4 is off by ~1e-3 here (measured), with 4 substeps by
    # 256x less, ~6e-6; float32 storage adds ~2e-6 at |x| ~ 20.
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_compile_option_runs_the_compiled_integrator(monkeypatch):
    from sciml.components.solvers import ode

    compiled_calls = []

    def fake_compile(fn, **kwargs):  # stands in for inductor: records the call, runs the block eagerly
        compiled_calls.append(fn)
        return fn

    monkeypatch.setattr(ode, "_compiled_block", None)
    monkeypatch.setattr(torch, "compile", fake_compile)
    base = dict(steps=100, train=2, transient=1.0)
    eager, shared = draw(Lorenz63Data(**base), "train")
    fused, _ = draw(Lorenz63Data(**base, compile=True), "train", shared=shared)
    assert compiled_calls == [ode._rk4_block]
    np.testing.assert_array_equal(eager, fused)


@pytest.mark.parametrize("data", [RoesslerData(steps=400, train=2), Lorenz96Data(n=6, steps=200, train=2, transient=10.0)], ids=["roessler", "lorenz96"])
def test_other_systems(data):
    x, _ = draw(data, "train")
    assert x.shape == (2, data.steps, data.flow().dim) and np.isfinite(x).all()
    assert x.std(axis=1).min() > 0.1  # on the attractor, not at a fixed point


def test_bad_values_are_rejected():
    with pytest.raises(ValidationError, match="fractions"):
        Lorenz63Data(split="time", fractions=(0.5, 0.5, 0.5))
    with pytest.raises(ValidationError, match="dt"):
        Lorenz63Data(dt=-0.01)
    with pytest.raises(ValidationError, match="n"):
        Lorenz96Data(n=3)


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv", ".h5"])
def test_file_formats_and_time_split(tmp_path, suffix):
    series = np.cumsum(np.random.default_rng(0).standard_normal((200, 3)), axis=0)
    path = tmp_path / f"series{suffix}"
    if suffix == ".npy":
        np.save(path, series)
    elif suffix == ".npz":
        np.savez(path, other=series[:, :1], series=series)
    elif suffix == ".csv":
        np.savetxt(path, series, delimiter=",", header="a,b,c", comments="")
    else:
        with h5py.File(path, "w") as handle:
            handle["series"] = series
    key = "series" if suffix in (".npz", ".h5") else None
    np.testing.assert_allclose(read_trajectory(path, key), series, rtol=1e-12)
    data = TrajectoryFileData(path=str(path), key=key, val_fraction=0.1, test_fraction=0.2)
    shared = data.setup(0)
    parts = {s: draw(data, s, shared=shared)[0] for s in ("train", "val", "test")}
    assert [parts[s].shape for s in ("train", "val", "test")] == [(1, 140, 3), (1, 20, 3), (1, 40, 3)]
    # z-scored with the train segment's statistics; splits are consecutive in time
    np.testing.assert_allclose(shared["mean"], series[:140].mean(axis=0))
    restored = np.concatenate([data.to_units(parts[s][0].astype(np.float64), shared) for s in ("train", "val", "test")])
    np.testing.assert_allclose(restored, series, rtol=1e-5, atol=1e-5 * np.abs(series).max())


def test_file_errors_name_the_spec_path(tmp_path):
    with pytest.raises(SpecError, match="data.path: no such file"):
        read_trajectory(tmp_path / "missing.npy")
    bad = tmp_path / "x.parquet"
    bad.write_text("")
    with pytest.raises(SpecError, match="unsupported file type"):
        read_trajectory(bad)
    np.save(tmp_path / "short.npy", np.zeros((5, 2)))
    with pytest.raises(SpecError, match="too few"):
        TrajectoryFileData(path=str(tmp_path / "short.npy")).segments()
    with pytest.raises(SpecError, match="data.columns"):
        TrajectoryFileData(path=str(tmp_path / "short.npy"), columns=[4]).segments()


def test_ecg_file_as_documented():
    train, test = DSR / "ECG_pecuzal_5d_train.npy", DSR / "ECG_pecuzal_5d_test.npy"
    if not train.exists():
        pytest.skip("reference data not found")
    data = TrajectoryFileData(path=str(train), test_path=str(test), val_fraction=0.05, standardize=False, max_steps=4000)
    shared = data.setup(0)
    x = {s: draw(data, s, shared=shared)[0] for s in ("train", "val", "test")}
    assert x["train"].shape == (1, 3800, 5) and x["val"].shape == (1, 200, 5) and x["test"].shape == (1, 4000, 5)
    np.testing.assert_array_equal(x["test"][0], np.load(test)[:4000].astype(np.float32))
