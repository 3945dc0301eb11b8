"""The shipped GTF specs, shrunk, run end to end through the pipeline (generate, train, evaluate)."""

from pathlib import Path

import numpy as np
import pytest

from sciml.pipelines import stages

ROOT = Path(__file__).resolve().parents[2]
DSR = ROOT.parent / "shared" / "data" / "dsr"
TINY_DSR = "evaluate=[{kind: dsr, lyapunov_steps: 100, lyapunov_transient: 10, lyapunov_trajectories: 2, plot_steps: 200}]"


def test_lorenz63_small_spec_end_to_end():
    shrink = ["data.steps=300", "data.test_steps=600", "task.seq_len=30", "task.window_stride=30",
              "train.max_epochs=1", "trainer.limit_train_batches=3", TINY_DSR]
    result = stages.run(ROOT / "specs" / "lorenz63-gtf-small.yaml", shrink)
    metrics = result.metrics["dsr"]
    for key in ("dstsp", "dh", "pe20", "lyap_max", "floor/dstsp", "floor/dh", "floor/pe20", "floor/lyap_max"):
        assert key in metrics
    # floors: the true flow predicts its own clean test trajectory up to float32 storage (~1e-6 relative)
    assert metrics["floor/pe20"] < 1e-8
    assert 0 <= metrics["floor/dh"] < 1 and np.isfinite(metrics["floor/dstsp"])
    assert metrics["floor/lyap_max"] > 0.3  # 100 steps only: a rough but positive estimate of 0.906
    plots = result.run_dir / "plots"
    for name in ("dsr_attractor.png", "dsr_spectrum.png", "dsr_metrics.csv", "dsr_spectrum.csv", "dsr_trajectories.csv"):
        assert (plots / name).stat().st_size > 0


@pytest.mark.slow
def test_lstm_baseline_trains_with_the_same_task():
    shrink = ["data.steps=300", "data.test_steps=600", "task.seq_len=20", "task.window_stride=40",
              "model={kind: lstm_dsr, hidden: 8}", "train.max_epochs=1", "trainer.limit_train_batches=2", TINY_DSR]
    metrics = stages.run(ROOT / "specs" / "lorenz63-gtf-small.yaml", shrink).metrics["dsr"]
    assert np.isfinite(metrics["pe20"]) and np.isfinite(metrics["lyap_max"])


@pytest.mark.slow
def test_ecg_spec_end_to_end():
    if not (DSR / "ECG_pecuzal_5d_train.npy").exists():
        pytest.skip("reference data not found")
    shrink = [f"data.path={DSR / 'ECG_pecuzal_5d_train.npy'}", f"data.test_path={DSR / 'ECG_pecuzal_5d_test.npy'}",
              "data.max_steps=2000", "model.hidden=16", "task.seq_len=30", "task.window_stride=50",
              "train.max_epochs=1", "trainer.limit_train_batches=2", TINY_DSR]
    metrics = stages.run(ROOT / "specs" / "ecg-gtf.yaml", shrink).metrics["dsr"]
    assert np.isfinite(metrics["pe20"]) and np.isfinite(metrics["floor/dstsp"])
    assert "floor/lyap_max" not in metrics  # no true system for measured data


def test_training_time_cap_stops_the_run_and_evaluates_it():
    # trainer.max_time (as in specs/lorenz63-gtf.yaml): 1 s of a 1000-epoch budget, then evaluation as usual
    shrink = ["data.steps=300", "data.test_steps=600", "task.seq_len=30", "task.window_stride=1",
              "train.max_epochs=1000", "trainer.max_time=00:00:00:01", TINY_DSR]
    result = stages.run(ROOT / "specs" / "lorenz63-gtf-small.yaml", shrink)
    train = result.metrics["train"]
    assert 0 < train["steps"] < 1000 and train["seconds"] < 60
    assert np.isfinite(result.metrics["dsr"]["pe20"])
