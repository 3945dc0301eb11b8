"""Helpers shared by the tests: the console script, a tiny spec (on sys.path through pytest's ``pythonpath``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCIML = str(Path(sys.executable).with_name("sciml"))

# The tiny quickstart-like spec most pipeline tests run: seconds on one CPU core.
TINY_SPEC = """\
name: tiny
seed: 0
data: {kind: poisson_field, resolution: 12, train: 24, val: 8, test: 8}
model: {kind: fno, width: 8, modes: 4, layers: 2, projection_width: 16}
task: {kind: operator}
train: {max_epochs: 2, batch_size: 8, optimizer: {lr: 0.005}}
trainer: {accelerator: cpu, devices: 1}
evaluate:
  - {kind: operator_metrics, splits: [test], plot_samples: 2}
"""


def sciml(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the installed console script, as a user would."""
    return subprocess.run(
        [SCIML, *map(str, args)],
        capture_output=True,
        stdin=subprocess.DEVNULL,  # never a terminal: nothing may wait for a prompt
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def start(*args: str) -> subprocess.Popen:
    """Start the console script in its own process group, stderr piped, with Ctrl+C's default action
    (a shell that starts the tests in the background would otherwise pass SIGINT on as ignored)."""
    return subprocess.Popen(
        [SCIML, *map(str, args)], stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def randomize_smoothers(net) -> None:
    """Give a ``DCDMMultigridNet``'s smoother CNNs random last layers (zero at initialization), so that
    they act and a test sees them."""
    import torch

    with torch.no_grad():
        for smoother in (net.pre, net.post):
            smoother.net[-1].weight.normal_(0.0, 0.1)


def wait_until(process: subprocess.Popen, ready: Callable[[], bool], timeout: float) -> bool:
    """Poll ``ready()`` until it holds, ``process`` exits or ``timeout`` seconds pass; returns ``ready()``."""
    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    return ready()


def stop(process: subprocess.Popen, signum: int, pid: int | None = None, group: bool = False, timeout: int = 120) -> str:
    """Send ``signum`` (to ``pid``, default the process; with ``group`` to the whole process group it
    started, as Slurm or ``kill -- -PGID`` would) and wait; returns stderr. A process that has not
    exited after ``timeout`` seconds is killed, with its group, and the test fails showing its stderr."""
    if group:
        os.killpg(process.pid, signum)
    else:
        os.kill(pid or process.pid, signum)
    try:
        return process.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"still running {timeout} s after signal {signum}:\n{process.communicate()[1][-3000:]}") from None
