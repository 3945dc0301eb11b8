"""Two-process DDP on CPU (gloo) through the console script: the stand-in for multi-GPU runs.

With ``train.shuffle: false`` the single-process run and the two-process run see the same global
batches (DistributedSampler deals indices round-robin: rank r gets r, r+2, ...; batch i of both runs
covers samples 16i..16i+15) and DDP averages the two half-batch gradients into the full-batch mean.
The two runs therefore take the same optimizer steps up to floating-point summation order, and their
errors must agree to a few parts in 10^4 (float32 round-off amplified over 24 steps).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciml_testing import sciml

pytestmark = pytest.mark.slow

SPEC = """\
name: ddp
data: {kind: poisson_field, resolution: 12, train: 64, val: 16, test: 16}
model: {kind: fno, width: 8, modes: 4, layers: 2, projection_width: 16}
task: {kind: operator}
train: {max_epochs: 6, batch_size: 16, shuffle: false, optimizer: {lr: 0.005}}
trainer: {accelerator: cpu, devices: 1}
evaluate:
  - {kind: operator_metrics, splits: [test]}
"""


def test_two_processes_match_one_with_the_same_global_batch(tmp_path: Path) -> None:
    spec = tmp_path / "ddp.yaml"
    spec.write_text(SPEC)
    single = sciml("run", spec, "--run-dir", tmp_path / "one")
    assert single.returncode == 0, single.stderr[-3000:]
    double = sciml("run", spec, "trainer.devices=2", "trainer.strategy=ddp", "--run-dir", tmp_path / "two")
    assert double.returncode == 0, double.stderr[-3000:]

    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["cache", "one", "two"], "one run dir per run"
    one, two = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("one", "two"))
    assert two["train"]["world_size"] == 2 and one["train"]["world_size"] == 1
    assert two["train"]["steps"] == one["train"]["steps"] == 6 * 4
    # Validation metrics are reduced over both ranks (8 samples each) before they are logged and checkpointed.
    assert two["train"]["best_val_rel_l2"] == pytest.approx(one["train"]["best_val_rel_l2"], rel=2e-3)
    assert two["operator_metrics"]["test/rel_l2"] == pytest.approx(one["operator_metrics"]["test/rel_l2"], rel=2e-3)
    rows = (tmp_path / "two" / "logs" / "metrics.csv").read_text().splitlines()
    assert len(rows) == len((tmp_path / "one" / "logs" / "metrics.csv").read_text().splitlines()), "rank 0 logs alone"
