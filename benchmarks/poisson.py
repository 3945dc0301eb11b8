"""Iterations and times to tolerance of CG, IC(0)-PCG and AMG-PCG (and DCDM, given a trained run).

The reference system of issue 6: an n^3 cube of cells, solid ball of radius 0.2 n at (c, 0.8 c, c),
c = (n - 1)/2 (a cell is fluid when its centre is outside), 7-point graph Laplacian of the fluid cells
with Neumann walls and solid faces, b standard normal with its mean removed (numpy default_rng(0),
one entry per fluid unknown in C order). The issue's reference counts to 1e-6 (scipy CG, pyamg 5.4)
are stored beside ours. Further geometries (no obstacle, random blobs) at the smallest size.

    OMP_NUM_THREADS=1 python benchmarks/poisson.py --sizes 32 64 [--repeats 3] [--geometries ball] [--run RUN_DIR]

Thread counts are pinned to 1 below (before numpy loads): on this shared 2-core machine a
multithreaded BLAS made each 30k-long dot product 700x slower. ``--run`` loads the network of a
``sciml`` run (e.g. of specs/dcdm-poisson3d-32.yaml) and adds DCDM rows, one per ``--k-prev`` (one solve
to 1e-6 each, the 1e-4 row read off its residual history); ``--untrained`` adds the same rows for the
run's model at its initial weights. Writes
benchmarks/results/poisson.json and prints a markdown table. Quote ratios measured side by side, not
absolute times: the machine is shared and noisy.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyamg  # noqa: E402
import scipy  # noqa: E402
import torch  # noqa: E402

from sciml.components.evaluation.krylov import stopped_at  # noqa: E402
from sciml.components.solvers import geometry, krylov  # noqa: E402
from sciml.components.solvers.dcdm_iteration import dcdm_solve, network_direction  # noqa: E402
from sciml.components.solvers.stencil import StencilOperator  # noqa: E402

REFERENCE_1E6 = {  # issue 6: iterations to 1e-6 from x0 = 0 on the reference system
    "cg": {32: 176, 64: 355, 128: 681},
    "ic0": {32: 57, 64: 116, 128: 223},
    "amg_sa": {32: 7, 64: 9, 128: 9},
}
TOLERANCES = (1e-4, 1e-6)


def reference_rhs(mask: np.ndarray) -> np.ndarray:
    """The issue's b: standard normal (default_rng(0)) per fluid unknown, mean removed; shape (n_fluid,)."""
    b = np.random.default_rng(0).standard_normal(int(mask.sum()))
    return b - b.mean()


def systems(sizes: list[int], geometries: list[str]) -> list[tuple[str, int, np.ndarray]]:
    """(geometry name, n, fluid mask): the reference ball at every size, other geometries at the smallest."""
    out = [("ball", n, geometry.benchmark_ball(n)) for n in sizes] if "ball" in geometries else []
    n = min(sizes)
    if "none" in geometries:
        out.append(("none", n, geometry.empty(n, 3)))
    if "blobs" in geometries:
        out.append(("blobs", n, geometry.blobs(n, 3, count=6, radius=(0.05 * n, 0.15 * n), seed=1)))
    return out


def measure(name: str, solve, repeats: int) -> dict:
    """Median of ``repeats`` runs of ``solve(tol)`` at each tolerance."""
    row = {"solver": name}
    for tol in TOLERANCES:
        runs = [solve(tol) for _ in range(repeats)]
        t = f"{tol:.0e}"
        row[f"iters_{t}"] = runs[0].iterations
        row[f"matvecs_{t}"] = runs[0].matvecs
        row[f"network_calls_{t}"] = runs[0].network_calls
        row[f"converged_{t}"] = runs[0].converged
        row[f"setup_s_{t}"] = statistics.median(r.setup_seconds for r in runs)
        row[f"solve_s_{t}"] = statistics.median(r.solve_seconds for r in runs)
    return row


def load_networks(run_dir: Path, untrained: bool) -> dict:
    """Row prefix -> network (eval mode, CPU): ``dcdm``, the trained network of a sciml run directory,
    and with ``untrained`` ``untrained_dcdm``, the same task built afresh from the spec's seed, as training
    builds it: the weights training started from."""
    from sciml.pipelines.stages import generate, load
    from sciml.pipelines.training import load_trained

    spec, _ = load(run_dir / "spec.resolved.yaml")
    dataset = generate(spec, quiet=True)
    nets = {"dcdm": load_trained(spec, dataset, run_dir, torch.device("cpu")).net}
    if untrained:
        torch.manual_seed(spec.seed)
        nets["untrained_dcdm"] = spec.task.build(spec, dataset).net.eval()
    return nets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-iters", type=int, default=3000)
    parser.add_argument("--run", type=Path, default=None, help="a sciml run dir whose network adds DCDM rows")
    parser.add_argument("--k-prev", type=int, nargs="+", default=[2, 50], help="DCDM memories (one row each)")
    parser.add_argument("--untrained", action="store_true", help="also the run's network at the weights training started from: what training adds")
    parser.add_argument("--geometries", nargs="+", choices=["ball", "none", "blobs"], default=["ball", "none", "blobs"])
    parser.add_argument(
        "--solvers", nargs="*", choices=krylov.SOLVERS, default=list(krylov.SOLVERS), help="classical solvers (none: DCDM rows only)"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "poisson.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    nets = load_networks(args.run, args.untrained) if args.run else {}

    rows = []
    for geom, n, mask in systems(args.sizes, args.geometries):
        op = StencilOperator(mask)
        a = op.to_scipy()
        b = reference_rhs(mask)
        project = op.projection("fluid").numpy
        for name in args.solvers:
            row = measure(name, lambda tol: krylov.solve(name, a, b, tol, args.max_iters, mask=mask, project=project), args.repeats)
            if geom == "ball" and name in REFERENCE_1E6:
                row["issue_reference_iters_1e-06"] = REFERENCE_1E6[name].get(n)
            rows.append({"geometry": geom, "n": n, "unknowns": int(mask.sum()), **row})
            print(rows[-1], flush=True)
        if nets:
            grid_b = torch.zeros(mask.shape, dtype=torch.float64)
            grid_b[torch.as_tensor(mask)] = torch.as_tensor(b)
            grid_proj = op.projection("grid")
        for prefix, net in nets.items():
            direction = network_direction(net, op)
            for k in args.k_prev:
                # one solve to the finest tolerance; the coarser one is read off its history (stopped_at)
                fine = dcdm_solve(op, grid_b, direction, min(TOLERANCES), args.max_iters, k, grid_proj)
                row = measure(f"{prefix}_k{k}", lambda tol: stopped_at(fine, tol), 1)
                row["residual_history"] = fine.residuals.tolist()  # compare sizes at equal iterations when capped
                rows.append({"geometry": geom, "n": n, "unknowns": int(mask.sum()), **row})
                print(rows[-1], flush=True)

    result = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count()},
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "pyamg": pyamg.__version__, "torch": torch.__version__},
        "command": f"python benchmarks/poisson.py --sizes {' '.join(map(str, args.sizes))} --repeats {args.repeats} --max-iters {args.max_iters}"
        + f" --geometries {' '.join(args.geometries)} --solvers {' '.join(args.solvers)}"
        + (f" --run {args.run} --k-prev {' '.join(map(str, args.k_prev))}" if args.run else "")
        + (" --untrained" if args.untrained else ""),
        "repeats": args.repeats,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(table(rows))


def table(rows: list[dict]) -> str:
    """Markdown table: iterations (issue reference) and times per geometry, size and solver.

    An iteration count marked ``*`` did not reach the tolerance (cap, breakdown or stall).
    """
    lines = [
        "| geometry | n | unknowns | solver | iters 1e-4 | iters 1e-6 (issue) | matvecs 1e-6 | setup s | solve s 1e-6 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ref = r.get("issue_reference_iters_1e-06")
        lines.append(
            f"| {r['geometry']} | {r['n']} | {r['unknowns']} | {r['solver']} | {_count(r, '1e-04')} | "
            f"{_count(r, '1e-06')}{f' ({ref})' if ref else ''} | {r['matvecs_1e-06']} | "
            f"{r['setup_s_1e-06']:.3f} | {r['solve_s_1e-06']:.3f} |"
        )
    return "\n".join(lines)


def _count(row: dict, tol: str) -> str:
    return f"{row[f'iters_{tol}']}" + ("" if row[f"converged_{tol}"] else "*")


if __name__ == "__main__":
    main()
