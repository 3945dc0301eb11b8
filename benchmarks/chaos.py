"""Chaotic systems: our batched trajectory generation against dysts, and the DSR metric table.

Two parts, each run on its own:

``python benchmarks/chaos.py generation``
    Lorenz-63 trajectories of 10,000 points at dt = 0.01 from initial states on the attractor:
    throughput (trajectories per second) of ``sciml.components.solvers.ode`` (batched RK4 eager and
    through ``torch.compile``, batched Dormand-Prince) for 1,000 trajectories in one call, of a plain
    batched numpy RK4 (methods alternated, median over repeats; the compiled rows' first call, which
    compiles, is timed separately as ``compile_seconds``), and of dysts
    (``make_trajectory`` with RK45 at rtol 1e-6 / atol 1e-9, one trajectory per call, a few
    trajectories); accuracy as the maximum deviation over the first two Lyapunov times
    (2 / 0.906 time units) from scipy's DOP853 at rtol = atol = 1e-12. dysts is an optional
    benchmark extra, never a dependency of sciml: it is imported only here, and skipped with a
    note when absent (``pip install dysts``).

``python benchmarks/chaos.py table RUN_DIR [RUN_DIR ...]``
    The DSR metrics (with floors) of finished runs, e.g. of ``specs/lorenz63-gtf.yaml`` with the
    shPLRNN and with ``'model={kind: lstm_dsr, hidden: 32}'``, as a markdown table with each run's
    training budget (updates, seconds) and each metric's floor in parentheses.

Both write ``benchmarks/results/chaos_<part>.json`` (machine, versions, medians, ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from scipy.integrate import solve_ivp

from sciml.components.solvers.flows import Lorenz63
from sciml.components.solvers.ode import dopri5, rk4

RESULTS = Path(__file__).resolve().parent / "results"
DT, POINTS, BATCH = 0.01, 10_000, 1000
HORIZON = round(2.0 / 0.906 / DT)  # steps in two Lyapunov times
SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0


def lorenz_numpy(y: np.ndarray) -> np.ndarray:
    """Lorenz-63 on states (3, batch) for the numpy baseline and scipy."""
    x, v, z = y
    return np.stack((SIGMA * (v - x), x * (RHO - z) - v, x * v - BETA * z))


def numpy_rk4(y0: np.ndarray, steps: int) -> np.ndarray:
    """The plain batched numpy RK4 baseline: (batch, 3) -> (batch, steps, 3)."""
    y, out = y0.T.copy(), np.empty((steps, 3, y0.shape[0]))
    out[0] = y
    for k in range(1, steps):
        k1 = lorenz_numpy(y)
        k2 = lorenz_numpy(y + 0.5 * DT * k1)
        k3 = lorenz_numpy(y + 0.5 * DT * k2)
        k4 = lorenz_numpy(y + DT * k3)
        y = y + DT / 6.0 * (k1 + 2.0 * (k2 + k3) + k4)
        out[k] = y
    return out.transpose(2, 0, 1)


def reference(y0: np.ndarray, steps: int) -> np.ndarray:
    """DOP853 at rtol = atol = 1e-12 on the output grid: (batch, steps, 3)."""
    t = np.arange(steps) * DT
    return np.stack(
        [solve_ivp(lambda _, y: lorenz_numpy(y), (0, t[-1]), y, "DOP853", t_eval=t, rtol=1e-12, atol=1e-12).y.T for y in y0]
    )


def generation(repeats: int, dysts_trajectories: int) -> dict:
    torch.set_num_threads(1)
    flow = Lorenz63()
    # initial states on the attractor: 1000 trajectories after 50 time units of transient
    y0 = rk4(flow.rhs, flow.initial_states(BATCH, torch.Generator().manual_seed(0)), DT, 0, discard=5000)[:, 0]
    y0_np = y0.numpy()
    ref = reference(y0_np[:8], HORIZON + 1)

    def deviation(traj: np.ndarray) -> float:
        return float(np.abs(traj[: len(ref), : HORIZON + 1] - ref).max())

    methods = {
        "sciml rk4 (dt 0.01)": lambda: rk4(flow.rhs, y0, DT, POINTS - 1),
        "sciml rk4 compiled (dt 0.01)": lambda: rk4(flow.rhs, y0, DT, POINTS - 1, compiled=True),
        "sciml rk4 compiled (2 substeps)": lambda: rk4(flow.rhs, y0, DT, POINTS - 1, substeps=2, compiled=True),
        "sciml dopri5 (rtol 1e-6, atol 1e-9)": lambda: dopri5(flow.rhs, y0, DT, POINTS - 1, rtol=1e-6, atol=1e-9),
        "numpy rk4 (dt 0.01)": lambda: numpy_rk4(y0_np, POINTS),
    }
    # compilation: the first call per configuration, timed on one block (its run time is negligible)
    compile_seconds = {}
    for name, substeps in (("sciml rk4 compiled (dt 0.01)", 1), ("sciml rk4 compiled (2 substeps)", 2)):
        start = time.perf_counter()
        rk4(flow.rhs, y0, DT, 1, substeps=substeps, compiled=True)
        compile_seconds[name] = time.perf_counter() - start
        print(f"{name}: first call (compilation) {compile_seconds[name]:.1f} s", flush=True)
    # round robin: every repeat runs each method once, so load changes hit all of them alike
    times, last, load = {name: [] for name in methods}, {}, [os.getloadavg()[0]]
    for _ in range(repeats):
        for name, fn in methods.items():
            start = time.perf_counter()
            last[name] = fn()
            times[name].append(time.perf_counter() - start)
        load.append(os.getloadavg()[0])
    rows = {}
    for name in methods:
        seconds = statistics.median(times[name])
        traj = last[name].numpy() if isinstance(last[name], torch.Tensor) else last[name]
        rows[name] = {"trajectories": BATCH, "seconds": seconds, "per_second": BATCH / seconds, "max_dev_2lyap": deviation(traj)}
        if name in compile_seconds:
            rows[name]["compile_seconds"] = compile_seconds[name]
            rows[name]["per_second_first_call"] = BATCH / (seconds + compile_seconds[name])
        print(f"{name:40s} {BATCH / seconds:10.1f} traj/s   max dev {rows[name]['max_dev_2lyap']:.2e}", flush=True)
    try:
        from dysts.flows import Lorenz
    except ImportError:
        note = "dysts not installed (pip install dysts): no comparison"
    else:
        import dysts

        note = f"dysts {dysts.__version__ if hasattr(dysts, '__version__') else '0.96'}"
        model = Lorenz(parameters={"beta": BETA, "rho": RHO, "sigma": SIGMA})  # its default beta is 2.667
        model.dt = DT  # make_trajectory integrates on the model's own dt and ignores a dt argument here

        def run_dysts():
            return np.stack(
                [model.make_trajectory(POINTS, init_cond=y, resample=False, method="RK45", rtol=1e-6, atol=1e-9)
                 for y in y0_np[:dysts_trajectories]]
            )

        start = time.perf_counter()
        traj = run_dysts()
        seconds = time.perf_counter() - start
        n = dysts_trajectories
        rows["dysts RK45 (rtol 1e-6, atol 1e-9)"] = {
            "trajectories": n, "seconds": seconds, "per_second": n / seconds, "max_dev_2lyap": float(np.abs(traj[:, : HORIZON + 1] - ref[:n]).max())
        }
        print(f"{'dysts RK45':40s} {n / seconds:10.1f} traj/s   max dev {rows['dysts RK45 (rtol 1e-6, atol 1e-9)']['max_dev_2lyap']:.2e}")
        load.append(os.getloadavg()[0])
    base = rows.get("dysts RK45 (rtol 1e-6, atol 1e-9)")
    for row in rows.values():
        row["ratio_vs_numpy_rk4"] = row["per_second"] / rows["numpy rk4 (dt 0.01)"]["per_second"]
        if base:
            row["ratio_vs_dysts_rk45"] = row["per_second"] / base["per_second"]
    return {
        "setup": f"Lorenz-63, {POINTS} points at dt={DT}, float64, 1 thread; ours/numpy: {BATCH} trajectories per call, "
        f"methods alternated over {repeats} repeats (median); compiled rows exclude the first call (compile_seconds)",
        "note": note,
        "load_average_1min": load,
        "rows": rows,
    }


def table(runs: list[str]) -> dict:
    rows = {}
    for run in runs:
        path = Path(run)
        metrics = json.loads((path / "metrics.json").read_text())
        spec = yaml.safe_load((path / "spec.resolved.yaml").read_text())
        task, train = spec["task"], spec["train"]
        forcing = f"alpha {task['alpha']}" + (f", decay {task['alpha_decay']}" if task["alpha"] == "adaptive" else "")
        rows[path.name] = {
            "model": spec["model"]["kind"],
            "seed": spec["seed"],
            "forcing": forcing,
            "windows": f"{train['batch_size']} x {task['seq_len']}",
            "train": metrics.get("train", {}),
            "dsr": metrics.get("dsr", {}),
        }
    keys = ["dstsp", "dh", "pe20", "lyap_max"]
    head = ["run", "model", "seed", "forcing", "batch x steps", "updates", "train s", *keys]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name, row in rows.items():
        dsr = row["dsr"]
        cells = [name, row["model"], row["seed"], row["forcing"], row["windows"], row["train"].get("steps", "?"), row["train"].get("seconds", "?")]
        # each metric with its floor (the value for an independent true trajectory of the run's own data)
        values = [f"{dsr.get(k, float('nan')):.4g} ({dsr.get('floor/' + k, float('nan')):.3g})" for k in keys]
        lines.append("| " + " | ".join(str(c) for c in [*cells, *values]) + " |")
    print("\n".join(lines))
    return {"rows": rows, "markdown": "\n".join(lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="part", required=True)
    gen = sub.add_parser("generation")
    gen.add_argument("--repeats", type=int, default=3)
    gen.add_argument("--dysts-trajectories", type=int, default=3)
    tab = sub.add_parser("table")
    tab.add_argument("runs", nargs="+")
    args = parser.parse_args()
    result = generation(args.repeats, args.dysts_trajectories) if args.part == "generation" else table(args.runs)
    result["machine"] = {"platform": platform.platform(), "python": sys.version.split()[0], "torch": torch.__version__, "numpy": np.__version__}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"chaos_{args.part}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
