"""Two-process DDP on CPU (gloo) through the console script: the stand-in for multi-GPU runs.

With ``train.shuffle: false`` the single-process run and the two-process run see the same global
batches (DistributedSampler deals indices round-robin: rank r gets r, r+2, ...; batch i of both runs
covers samples 16i..16i+15) and DDP averages the two half-batch gradients into the full-batch mean.
The two runs therefore take the same optimizer steps up to floating-point summation order, and their
errors must agree to a few parts in 10^4 (float32 round-off amplified over 24 steps).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sciml_testing import SCIML, sciml, start, stop, wait_until

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
    # an external launcher starts every rank itself (as on a cluster): the same run
    torchrun = Path(SCIML).with_name("torchrun")
    launched = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", SCIML, "run", spec, "trainer.devices=2", "trainer.strategy=ddp",
         "--run-dir", tmp_path / "torchrun"],
        capture_output=True, text=True, timeout=600,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]

    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["cache", "one", "torchrun", "two"], "one run dir per run"
    one, two, three = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("one", "two", "torchrun"))
    for metrics in (two, three):
        metrics["train"].pop("seconds")  # wall time, the one thing that differs
    assert three == two, "torchrun: the same run, to the last digit, as with Lightning's launcher"
    assert two["train"]["world_size"] == 2 and one["train"]["world_size"] == 1
    assert two["train"]["steps"] == one["train"]["steps"] == 6 * 4
    # Validation metrics are reduced over both ranks (8 samples each) before they are logged and checkpointed.
    assert two["train"]["best_val_rel_l2"] == pytest.approx(one["train"]["best_val_rel_l2"], rel=2e-3)
    assert two["operator_metrics"]["test/rel_l2"] == pytest.approx(one["operator_metrics"]["test/rel_l2"], rel=2e-3)
    rows = (tmp_path / "two" / "logs" / "metrics.csv").read_text().splitlines()
    assert len(rows) == len((tmp_path / "one" / "logs" / "metrics.csv").read_text().splitlines()), "rank 0 logs alone"


def _rank_of(pid: int) -> int | None:
    """The ``LOCAL_RANK`` a process was started with (Lightning sets it for the ranks it launches)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    ranks = [int(v.split(b"=", 1)[1]) for v in environ if v.startswith(b"LOCAL_RANK=")]
    return ranks[0] if ranks else None


@pytest.mark.parametrize("rank", [0, 1, None], ids=["to-rank-0", "to-rank-1-only", "to-the-process-group"])
def test_sigterm_stops_every_rank_after_the_same_step_resumably(rank: int | None, tmp_path: Path) -> None:
    """Rank 0 signalled: what a scheduler does to the launching process. Rank 1 alone: a preempted node
    of a multi-node run. The whole process group: Slurm's preemption of a job step. Every rank stops,
    exits 143, and the run can be resumed."""
    spec = tmp_path / "ddp.yaml"
    spec.write_text(SPEC)
    run = tmp_path / "two"
    process = start("train", spec, "train.max_epochs=100000", "trainer.devices=2", "trainer.strategy=ddp", "--run-dir", run)
    try:
        wait_until(process, (run / "checkpoints" / "last.ckpt").exists, timeout=300)
        pids = [int(pid) for pid in _pids_of(run)]
        assert len(pids) == 2 and process.pid in pids, pids
        target = next((pid for pid in pids if (_rank_of(pid) or 0) == rank), None)
        assert (target == process.pid) == (rank == 0)
        stderr = stop(process, signal.SIGTERM, pid=target, group=rank is None)
        time.sleep(1)
        survivors = _pids_of(run)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever failed above, no rank outlives the test
    state = json.loads((run / "run.json").read_text())
    assert process.returncode == 143, (state, stderr[-2000:])
    assert state["status"] == "interrupted" and f"--resume {run}" in state["error"], state
    # rank 1 shares the terminal and stopped through the same path (it names the run directory resolved)
    assert stderr.count("error: terminated (SIGTERM); continue with --resume") == 2, stderr[-2000:]
    assert survivors == [], "no rank outlives the run"


def _pids_of(run: Path) -> list[str]:
    """The processes whose command line names the run directory ``run``."""
    return subprocess.run(["pgrep", "-f", "--", f"--run-dir {run}"], capture_output=True, text=True).stdout.split()
