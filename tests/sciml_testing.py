"""Helpers shared by the tests: the console script, a tiny spec (on sys.path through pytest's ``pythonpath``)."""

from __future__ import annotations

import os
import subprocess
import sys
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
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
