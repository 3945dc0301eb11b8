"""Cost of one GTF optimizer update of the shallow PLRNN: autograd through ``step`` vs the hand-written adjoint.

One update = forced rollout over a window, loss on the unforced one-step predictions, backward,
RAdam step (M = 3, H = 50, clipped, identity read-out, alpha = 0.3), on one thread. The two
versions alternate over ``--repeats`` rounds of ``--updates`` updates on the same batch, so load
changes on this shared machine hit both alike; the table gives the medians and their ratio, and the
load average before and after. Results: ``benchmarks/results/gtf_updates.json``.

    OMP_NUM_THREADS=1 python benchmarks/gtf_updates.py [--repeats 5] [--updates 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from sciml.components.models.dsr_net import LatentDynamics
from sciml.components.models.shplrnn_net import ShallowPLRNN
from sciml.components.tasks.gtf_module import forcing_strengths

RESULTS = Path(__file__).resolve().parent / "results"
SHAPES = [(16, 200), (32, 50), (64, 25), (64, 200)]  # (batch, window steps): the paper's, earlier and current benchmark, a large one


def update_seconds(rollout, net, optimizer, x: torch.Tensor, updates: int) -> float:
    """Wall seconds per update of ``updates`` updates on the windows ``x`` (batch, T, 3)."""
    alpha = forcing_strengths(x.shape[1] - 1, 0.3)
    start = time.perf_counter()
    for _ in range(updates):
        states = rollout(net.encode(x[:, 0]), x[:, 1:], alpha)
        loss = (net.observe(states.flatten(0, 1)).reshape(x[:, 1:].shape) - x[:, 1:]).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--updates", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = ShallowPLRNN(3, 3, 50, True, "identity", torch.Generator().manual_seed(0))
    optimizer = torch.optim.RAdam(net.parameters(), 1e-4)
    versions = {
        "autograd through step": lambda *a: LatentDynamics.forced_rollout(net, *a),
        "hand-written adjoint": net.forced_rollout,
    }
    load = [os.getloadavg()[0]]
    rows = []
    for batch, steps in SHAPES:
        x = torch.randn(batch, steps, 3, generator=torch.Generator().manual_seed(1))
        times = {name: [] for name in versions}
        for _ in range(args.repeats):
            for name, rollout in versions.items():
                times[name].append(update_seconds(rollout, net, optimizer, x, args.updates))
        ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
        rows.append({"batch": batch, "steps": steps, "ms_per_update": ms, "speedup": ms["autograd through step"] / ms["hand-written adjoint"]})
        print(f"{batch} x {steps}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in ms.items()) + f", speedup {rows[-1]['speedup']:.2f}x", flush=True)
    load.append(os.getloadavg()[0])
    lines = ["| batch x steps | autograd through step (ms) | hand-written adjoint (ms) | speedup |", "|---|---|---|---|"]
    for row in rows:
        ms = row["ms_per_update"]
        lines.append(f"| {row['batch']} x {row['steps']} | {ms['autograd through step']:.1f} | {ms['hand-written adjoint']:.1f} | {row['speedup']:.2f}x |")
    print("\n".join(lines) + f"\nload average (1 min) before/after: {load[0]:.2f} / {load[1]:.2f}")
    result = {
        "rows": rows,
        "markdown": "\n".join(lines),
        "load_average": load,
        "machine": {"platform": platform.platform(), "torch": torch.__version__, "threads": 1},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gtf_updates.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
