"""Neural operators side by side: our FNO vs neuraloperator's ``neuralop.models.FNO``, and MgNO vs both.

Three parts, each written to benchmarks/results/operators.json and printed as a markdown table:

1. ``generation``: Darcy samples per second at 64x64 (Gaussian field + solve): our solve (red-black
   Schur complement, banded Cholesky) against the two peers of the issue on the same coefficients,
   banded Cholesky of the full five-point matrix and ``scipy.sparse.linalg.spsolve``; and our
   generator on 1 vs 2 processes.
2. ``neuralop-darcy``: neuraloperator's own small Darcy set (``../shared/data/darcy-neuralop``; skipped
   when absent): train at 16x16 (1000 pairs), test at 16x16 (50) and zero-shot at 32x32 (50), with the
   settings of neuraloperator's FNO example (n_modes (8, 8), i.e. our m = 4, hidden 32, AdamW lr 8e-3, weight decay
   1e-4, cosine schedule, batch 32, relative H1 training loss; ``--fno-lr``, ``--width``, ``--modes``, ``--batch``,
   ``--loss``, ``--schedule`` change them for every model, ``--mgno-smoothing`` and ``--mgno-post-smoothing``
   MgNO's V-cycle; ``--transpose`` trains on each pair or its transpose, an exact symmetry of this set;
   ``--hard-dirichlet`` multiplies every model's output by ``sin(pi x) sin(pi y)``, u = 0 on the boundary;
   ``--fno-neuralop-blocks`` gives our FNOs neuraloperator's lifting MLP and channel MLPs).
   ``--seeds`` trains each model once per seed and reports the means (single runs differ by up to 15%).
   Our FNOs see the data's grid coordinates ``i / n`` (``--fno-grid cell``, as neuraloperator's
   embedding), and ``mgno_sciml_rescaled`` is MgNO with discretization-agnostic
   kernels for the zero-shot grid. Every model is also evaluated at 32x32 through its training grid
   (every second input point, output interpolated back): the baseline a zero-shot evaluation should beat.
3. ``generated-darcy``: our Darcy generator at ``--resolution`` (default 64) with ``--train`` /
   ``--test`` samples, Fourier modes m = 12 (neuraloperator n_modes (24, 24)), the same models and loop.

Every model is trained by the same loop on identical tensors (inputs and outputs normalized with
training-set mean and standard deviation; the loss on de-normalized outputs). Training throughput is
measured separately, alternating the models over ``--repeats`` rounds of ``--steps`` optimizer steps
on the same batch, so the ratios compare like with like on this shared, noisy machine; torch uses one
thread. neuraloperator is an optional benchmark extra (``pip install neuraloperator``, which leaves
torch alone); without it the neuralop rows are skipped.

    OMP_NUM_THREADS=1 python benchmarks/operators.py [--epochs 20] [--darcy-epochs 5] [--parts ...]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import scipy.sparse.linalg as spl  # noqa: E402
from scipy.linalg import lapack  # noqa: E402
import torch  # noqa: E402

from sciml.components.data.darcy import DarcyData  # noqa: E402
from sciml.components.evaluation.field_errors import relative_h1  # noqa: E402
from sciml.components.grids import with_dirichlet_envelope  # noqa: E402
from sciml.components.models.fno_net import FNO  # noqa: E402
from sciml.components.models.mgno_net import MgNO  # noqa: E402
from sciml.components.solvers.darcy import darcy_coefficient, solve_darcy, stencil_band  # noqa: E402
from sciml.components.solvers.grf import neumann_series  # noqa: E402
from sciml.components.tasks.module import relative_l2  # noqa: E402
from sciml.components.tasks.operator_module import random_transpose  # noqa: E402
from sciml.pipelines.datasets import ensure_dataset  # noqa: E402

ROOT = Path(__file__).resolve().parent
SHARED_DARCY = ROOT.parent.parent / "shared" / "data" / "darcy-neuralop"

try:
    import neuralop
    from neuralop.models import FNO as NeuralopFNO
except ImportError:  # the optional benchmark extra
    neuralop = NeuralopFNO = None


# ---------------------------------------------------------------- 1. data generation
def _coefficients(n: int, count: int, seed: int) -> np.ndarray:
    """``(count, n, n)`` two-phase coefficients, one draw per sample as the generator makes them."""
    xi = np.stack([np.random.default_rng([seed, i]).standard_normal((64, 64)) for i in range(count)])
    return darcy_coefficient(neumann_series(xi, n, 2.0, 3.0))


def _five_point_band_darcy(a: np.ndarray) -> np.ndarray:
    """The full five-point system (no elimination) in band storage, solved by ``dpbsv``: the issue's peer."""
    band = stencil_band(a)
    _, u, info = lapack.dpbsv(band, np.full(band.shape[1], 1.0 / (a.shape[0] - 1) ** 2), lower=1, overwrite_ab=1)
    assert info == 0, info
    return u


def _spsolve_darcy(a: np.ndarray) -> np.ndarray:
    """The same five-point system, assembled as a sparse matrix from the band and solved by SuperLU."""
    band = stencil_band(a)
    m = band.shape[1]
    k = band.shape[0] - 1
    matrix = sp.diags([band[0], band[1, :-1], band[1, :-1], band[k, : m - k], band[k, : m - k]], [0, 1, -1, k, -k], format="csc")
    h2 = 1.0 / (a.shape[0] - 1) ** 2
    return spl.spsolve(matrix, np.full(m, h2))


def _generate(n: int, count: int, seed: int, workers: int) -> None:
    """The dataset stage as ``sciml generate`` runs it (HDF5 files included): ``count`` training
    samples (and one each for val and test) by ``workers`` processes, into a fresh cache."""
    with tempfile.TemporaryDirectory() as cache:
        ensure_dataset(DarcyData(resolution=n, train=count, val=1, test=1), seed, cache, workers=workers)


def bench_generation(n: int, count: int, repeats: int) -> dict:
    """Samples/s of each stage and of the whole generator, stages alternated within each repeat.

    ``field``: the Gaussian-field series and the threshold for ``count`` samples (one batched product);
    ``red_black_band``: ``solve_darcy`` on the stacked coefficients (batched Schur assembly, one
    in-place ``dpbsv`` per sample); ``five_point_band``: ``dpbsv`` on each full five-point band;
    ``spsolve``: SuperLU on the same matrices one by one; ``generator_*``: the dataset stage end to end
    (seeds, field, solve, float32 arrays, HDF5 file) with ``generate.workers`` 1 and 2.
    """
    fields = _coefficients(n, count, 0)
    check = max(abs(solve_darcy(a)[1:-1, 1:-1].ravel() - _spsolve_darcy(a)).max() for a in fields[:3])
    check_band = max(abs(solve_darcy(a)[1:-1, 1:-1].ravel() - _five_point_band_darcy(a)).max() for a in fields[:3])
    times = {"field": [], "red_black_band": [], "five_point_band": [], "spsolve": [], "generator_1proc": [], "generator_2proc": []}
    load = [os.getloadavg()[0]]
    for r in range(repeats):
        t = time.perf_counter()
        _coefficients(n, count, r)
        times["field"].append(time.perf_counter() - t)
        t = time.perf_counter()
        solve_darcy(fields)
        times["red_black_band"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for a in fields:
            _five_point_band_darcy(a)
        times["five_point_band"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for a in fields:
            _spsolve_darcy(a)
        times["spsolve"].append(time.perf_counter() - t)
        t = time.perf_counter()
        _generate(n, 2 * count, r, workers=1)
        times["generator_1proc"].append(time.perf_counter() - t)
        t = time.perf_counter()
        _generate(n, 2 * count, r, workers=2)
        times["generator_2proc"].append(time.perf_counter() - t)
        load.append(os.getloadavg()[0])
    per = {"generator_1proc": 2 * count, "generator_2proc": 2 * count}
    rates = {k: per.get(k, count) / statistics.median(v) for k, v in times.items()}
    every_repeat = {k: [per.get(k, count) / t for t in v] for k, v in times.items()}
    return {
        "resolution": n,
        "samples": count,
        "samples_per_s": rates,
        "samples_per_s_each_repeat": every_repeat,
        "solve_speedup_vs_spsolve": rates["red_black_band"] / rates["spsolve"],
        "solve_speedup_vs_five_point_band": rates["red_black_band"] / rates["five_point_band"],
        "two_process_speedup": rates["generator_2proc"] / rates["generator_1proc"],
        "max_abs_difference_vs_spsolve": float(check),
        "max_abs_difference_vs_five_point_band": float(check_band),
        "load_average_1min": load,
    }


# ---------------------------------------------------------------- 2./3. training
class Normalized(torch.nn.Module):
    """``net`` between input and output normalization with training-set statistics (scalars); with a
    ``dirichlet_layout``, the output times the envelope that vanishes on the boundary (the operator task's
    ``hard_dirichlet``)."""

    def __init__(self, net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, dirichlet_layout: str | None = None):
        super().__init__()
        self.net, self.dirichlet_layout = net, dirichlet_layout
        self.register_buffer("stats", torch.tensor([x.mean(), x.std(), y.mean(), y.std()]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xm, xs, ym, ys = self.stats
        y = self.net((x - xm) / xs) * ys + ym
        return y if self.dirichlet_layout is None else with_dirichlet_envelope(y, self.dirichlet_layout)


def build_models(
    modes: int, width: int, x: torch.Tensor, y: torch.Tensor, padding: float = 0.0, smoothing: tuple[int, ...] = (1, 1, 1, 2),
    seed: int = 0, cell_grid: bool = False, post_smoothing: tuple[int, ...] | None = None, dirichlet_layout: str | None = None,
    neuralop_blocks: bool = False,
) -> dict[str, torch.nn.Module]:
    """Our FNO and neuraloperator's on the same Fourier modes, width, layers (4) and projection (2 x width), and MgNO.

    The same frequencies: neuraloperator's ``n_modes = (2m, 2m)`` keeps ``-m..m-1`` along the first axis
    and ``0..m`` along the last (real FFT, ``2m // 2 + 1`` modes); ours with ``modes = [m, m + 1]``
    keeps exactly these. ``mgno_sciml_rescaled`` is MgNO with its kernels rescaled on grids finer than
    the training grid (``reference_resolution``; the same network as ``mgno_sciml`` at the training size).
    Every model is initialized from ``torch.manual_seed(seed)``. With ``cell_grid`` our FNOs embed the
    coordinates ``i / n`` (``grid="cell"``, as the data set's points lie) instead of ``i / (n - 1)``.
    ``smoothing`` / ``post_smoothing``: MgNO's smoothing steps per level before restriction / after
    prolongation (``None``: none after). ``dirichlet_layout``: every model's output times the boundary envelope
    on grid points of that layout (see :class:`Normalized`). ``neuralop_blocks``: our FNOs get neuraloperator's
    two-layer lifting (``2 width`` hidden) and channel MLPs (``FNO(lifting_width=..., channel_mlp=True)``).
    """

    def fno(**kw) -> torch.nn.Module:
        torch.manual_seed(seed)
        grid = "cell" if cell_grid else "vertex"
        blocks = {"lifting_width": 2 * width, "channel_mlp": True} if neuralop_blocks else {}
        return FNO(1, 1, [modes, modes + 1], width=width, layers=4, projection_width=2 * width, grid=grid, **blocks, **kw)

    models = {"fno_sciml": fno()}
    if NeuralopFNO is not None:
        torch.manual_seed(seed)
        models["fno_neuralop"] = NeuralopFNO(
            n_modes=(2 * modes, 2 * modes), in_channels=1, out_channels=1, hidden_channels=width, projection_channel_ratio=2
        )
    if padding:
        models["fno_sciml_padded"] = fno(padding=padding)
    for name, reference in (("mgno_sciml", None), ("mgno_sciml_rescaled", x.shape[-1])):
        torch.manual_seed(seed)
        models[name] = MgNO(
            1, 1, 2, width=width, layers=4, pre_smoothing=list(smoothing),
            post_smoothing=list(post_smoothing or [0] * len(smoothing)),
            reference_resolution=reference,
        )
    return {name: Normalized(net, x, y, dirichlet_layout) for name, net in models.items()}


LOSSES = {"h1": relative_h1, "l2": relative_l2}


def train(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, batch: int, seed: int = 0, loss: str = "h1",
    schedule: str = "cosine", transpose: bool = False,
) -> float:
    """AdamW over ``epochs`` with the relative H1 (or L2) loss, batches shuffled from ``seed``; wall time (s).

    ``schedule``: ``cosine`` anneals ``lr`` to zero per epoch (neuraloperator's example); ``onecycle`` warms up
    to ``lr`` over the first 30 % of the steps and anneals per step (``torch.optim.lr_scheduler.OneCycleLR``).
    ``transpose``: each training pair is swapped ``x <-> y`` axes with probability 1/2 (drawn from ``seed``), an
    exact symmetry of Darcy flow on the square with an isotropic coefficient field and the same grid on
    both axes; the number of steps and samples per epoch is unchanged.
    """
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = -(-len(x) // batch)
    if schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
    else:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    gen = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            xb, yb = x[idx], y[idx]
            if transpose:
                xb, yb = random_transpose(xb, yb, gen)
            opt.zero_grad()
            LOSSES[loss](model(xb), yb).mean().backward()
            opt.step()
            if schedule == "onecycle":
                sched.step()
        if schedule != "onecycle":
            sched.step()
    return time.perf_counter() - start


@torch.no_grad()
def test_error(predict: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean relative L2 of ``predict(x)`` against ``y``, 50 samples at a time."""
    return float(torch.cat([relative_l2(predict(xb), yb) for xb, yb in zip(x.split(50), y.split(50))]).mean())


def upsample_nested(u: torch.Tensor, factor: int) -> torch.Tensor:
    """Bilinear interpolation from the points ``j / n`` to ``i / (factor n)``: (b, c, n, n) -> (b, c, factor n, factor n).

    The fine grid contains the coarse one (``i = factor j``); the fine points past the last coarse one
    are extrapolated linearly from the last two.
    """
    edge = 2 * u[..., -1:, :] - u[..., -2:-1, :]
    u = torch.cat([u, edge], dim=-2)
    u = torch.cat([u, 2 * u[..., :, -1:] - u[..., :, -2:-1]], dim=-1)
    n = u.shape[-1] - 1
    fine = torch.nn.functional.interpolate(u, size=(factor * n + 1,) * 2, mode="bilinear", align_corners=True)
    return fine[..., :-1, :-1]


def via_training_grid(model: torch.nn.Module, x: torch.Tensor, n: int) -> torch.Tensor:
    """The baseline every zero-shot evaluation should beat: the model on the training grid's points of
    ``x`` (the fine grid must contain them, size a multiple of ``n``), its output interpolated back."""
    factor = x.shape[-1] // n
    return upsample_nested(model(x[..., ::factor, ::factor]), factor)


def test_errors(model: Normalized, tests: dict[str, tuple], train_n: int) -> dict[str, float]:
    """Mean relative L2 on each test set.

    A model with kernel rescaling is also tested with plain kernels off its reference grid, and every
    model on a test grid that is a multiple of its training grid ``train_n`` also through that grid
    (``..._via_training_grid``: :func:`via_training_grid`).
    """
    model.eval()
    errors = {f"test_rel_l2_{key}": test_error(model, *pair) for key, pair in tests.items()}
    for key, (x, y) in tests.items():
        if x.shape[-1] != train_n and x.shape[-1] % train_n == 0:
            errors[f"test_rel_l2_{key}_via_training_grid"] = test_error(lambda xb: via_training_grid(model, xb, train_n), x, y)
    reference = getattr(model.net, "reference_resolution", None)
    if reference is not None:  # the same weights with plain kernels (the rescaling switched off)
        model.net.reference_resolution = None
        errors |= {f"test_rel_l2_{key}_plain_kernels": test_error(model, *pair) for key, pair in tests.items() if pair[0].shape[-1] != reference}
        model.net.reference_resolution = reference
    model.train()
    return errors


def throughput(models: dict[str, torch.nn.Module], x: torch.Tensor, y: torch.Tensor, steps: int, repeats: int) -> dict[str, float]:
    """Training samples per second (forward, H1 loss, backward, AdamW step), models alternated per round."""
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
            t = time.perf_counter()
            for _ in range(steps):
                opt.zero_grad()
                relative_h1(model(x), y).mean().backward()
                opt.step()
            times[name].append(time.perf_counter() - t)
    return {name: steps * len(x) / statistics.median(v) for name, v in times.items()}


def compare(
    train_set, tests: dict[str, tuple], modes: int, width: int, epochs: int, lr: dict, batch: int, steps: int, repeats: int,
    only: list[str] | None = None, padding: float = 0.0, smoothing: tuple[int, ...] = (1, 1, 1, 2), seeds: tuple[int, ...] = (0,),
    cell_grid: bool = False, loss: str = "h1", schedule: str = "cosine", post_smoothing: tuple[int, ...] | None = None,
    transpose: bool = False, dirichlet_layout: str | None = None, neuralop_blocks: bool = False,
) -> dict:
    """Train and test every model (or those named in ``only``) on the same tensors; ratios ours / neuralop.

    With several ``seeds`` (initialization and batch order) each model is trained once per seed; its test
    errors are the means over the seeds, the single runs are kept under ``runs``.
    """
    x, y = train_set

    def chosen(seed: int) -> dict[str, torch.nn.Module]:
        models = build_models(modes, width, x, y, padding, smoothing, seed, cell_grid, post_smoothing, dirichlet_layout, neuralop_blocks)
        return {k: v for k, v in models.items() if not only or k in only}

    rates = throughput(chosen(0), x[:batch], y[:batch], steps, repeats)
    rows = {}
    for name, model in chosen(0).items():
        runs = []
        for seed in seeds:
            model = chosen(seed)[name]
            seconds = train(model, x, y, epochs, lr["mgno" if name.startswith("mgno") else "fno"], batch, seed, loss, schedule, transpose)
            runs.append({"seed": seed, "train_seconds": seconds, **test_errors(model, tests, x.shape[-1])})
            print(name, runs[-1], flush=True)
        rows[name] = {
            "parameters": sum(p.numel() for p in model.parameters()),
            "train_samples_per_s": rates[name],
            **{k: statistics.mean(run[k] for run in runs) for k in runs[0] if k != "seed"},
            "runs": runs,
        }
    out = {
        "epochs": epochs, "modes": modes, "width": width, "mgno_pre_smoothing": list(smoothing),
        "mgno_post_smoothing": list(post_smoothing or [0] * len(smoothing)),
        "batch": batch, "lr": lr, "seeds": list(seeds), "fno_cell_grid": cell_grid, "loss": loss, "schedule": schedule,
        "transpose_augmentation": transpose, "hard_dirichlet": dirichlet_layout, "fno_neuralop_blocks": neuralop_blocks, "train_samples": len(x), "models": rows,
    }
    if "fno_neuralop" in rows and "fno_sciml" in rows:
        ours, theirs = rows["fno_sciml"], rows["fno_neuralop"]
        out["ratios_fno_sciml_over_neuralop"] = {
            **{k: ours[k] / theirs[k] for k in ours if k.startswith("test_rel_l2")},
            "train_samples_per_s": ours["train_samples_per_s"] / theirs["train_samples_per_s"],
        }
    return out


def neuralop_darcy(args) -> dict:
    if not SHARED_DARCY.is_dir():
        return {"skipped": f"reference data not found at {SHARED_DARCY}"}

    def load(name):
        d = torch.load(SHARED_DARCY / name, weights_only=True)
        return d["x"].float()[:, None], d["y"].float()[:, None]

    tests = {"16": load("darcy_test_16.pt"), "32_zero_shot": load("darcy_test_32.pt")}
    return compare(
        load("darcy_train_16.pt"), tests, args.modes, args.width, args.epochs, {"fno": args.fno_lr, "mgno": args.mgno_lr}, args.batch,
        args.steps, args.repeats, args.models, args.padding, tuple(args.mgno_smoothing), tuple(args.seeds), args.fno_grid == "cell",
        args.loss, args.schedule, args.mgno_post_smoothing and tuple(args.mgno_post_smoothing), args.transpose,
        "cell" if args.hard_dirichlet else None,  # points at i / n: row 0 on x = 0 (u there 0.003 on average), x = 1 off the grid
        args.fno_neuralop_blocks,
    )


def generated_darcy(args) -> dict:
    data = DarcyData(resolution=args.resolution, train=args.train, val=1, test=args.test)

    def make(split, count):
        seeds = [np.random.SeedSequence(0, spawn_key=({"train": 0, "test": 2}[split], i)) for i in range(count)]
        arrays = [data.sample(split, seeds[s : s + 64], {}) for s in range(0, count, 64)]
        return tuple(torch.from_numpy(np.concatenate([a[k] for a in arrays])) for k in ("x", "y"))

    t = time.perf_counter()
    train_set, test_set = make("train", args.train), make("test", args.test)
    print(f"generated {args.train + args.test} samples in {time.perf_counter() - t:.1f} s", flush=True)
    out = compare(
        train_set, {str(args.resolution): test_set}, 12, 32, args.darcy_epochs, {"fno": 3e-3, "mgno": args.mgno_lr}, 20, args.steps,
        args.repeats, args.models, args.padding, tuple(args.mgno_smoothing),
        dirichlet_layout=data.dirichlet_arrays()["y"] if args.hard_dirichlet else None, neuralop_blocks=args.fno_neuralop_blocks,
    )
    out["test_samples"] = args.test
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["generation", "neuralop-darcy", "generated-darcy"])
    parser.add_argument("--epochs", type=int, default=20, help="epochs on neuraloperator's small Darcy set")
    parser.add_argument("--darcy-epochs", type=int, default=5, help="epochs on our generated Darcy set")
    parser.add_argument("--fno-lr", type=float, default=8e-3, help="FNO learning rate on neuraloperator's Darcy set (its example's)")
    parser.add_argument("--mgno-lr", type=float, default=2e-3)
    parser.add_argument("--width", type=int, default=32, help="channels of every model on neuraloperator's Darcy set")
    parser.add_argument(
        "--modes", type=int, default=4,
        help="FNO Fourier modes m on neuraloperator's Darcy set (neuraloperator n_modes (2m, 2m); its example's 4)",
    )
    parser.add_argument("--batch", type=int, default=32, help="batch size on neuraloperator's Darcy set")
    parser.add_argument("--loss", choices=sorted(LOSSES), default="h1", help="training loss on neuraloperator's Darcy set")
    parser.add_argument(
        "--schedule", choices=["cosine", "onecycle"], default="cosine", help="learning-rate schedule on neuraloperator's Darcy set"
    )
    parser.add_argument(
        "--transpose", action="store_true",
        help="train on neuraloperator's Darcy set with each pair transposed with probability 1/2 (an exact symmetry of the data)",
    )
    parser.add_argument(
        "--hard-dirichlet", action="store_true",
        help="every model's output times sin(pi x) sin(pi y) on the data's grid: u = 0 on the boundary by construction "
        "(the operator task's hard_dirichlet)",
    )
    parser.add_argument(
        "--fno-neuralop-blocks", action="store_true",
        help="our FNOs with neuraloperator's two-layer lifting and channel MLPs (model options lifting_width, channel_mlp)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (init, batch order); errors are means over them")
    parser.add_argument(
        "--fno-grid", choices=["cell", "vertex"], default="cell",
        help="coordinates our FNOs see on neuraloperator's Darcy set: i/n as in its data and GridEmbedding (cell), "
        "or the FNO's own linspace(0, 1, n) (vertex)",
    )
    parser.add_argument("--mgno-smoothing", type=int, nargs="+", default=[1, 1, 1, 2], help="MgNO smoothing steps per level")
    parser.add_argument(
        "--mgno-post-smoothing", type=int, nargs="+", help="MgNO smoothing steps per level after prolongation (default: none)"
    )
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--generation-samples", type=int, default=200)
    parser.add_argument("--steps", type=int, default=5, help="optimizer steps per throughput round")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--models", nargs="+", help="train only these (fno_sciml, fno_neuralop, fno_sciml_padded, mgno_sciml, mgno_sciml_rescaled)"
    )
    parser.add_argument("--padding", type=float, default=0.0, help="if > 0, add fno_sciml_padded with this domain padding")
    parser.add_argument("--tag", default="", help="suffix of the result keys (to keep runs with --models apart)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "operators.json")
    args = parser.parse_args()
    torch.set_num_threads(1)

    results = json.loads(args.out.read_text()) if args.out.exists() else {}  # parts run separately accumulate
    results |= {
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(), "torch_threads": 1},
        "versions": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "neuraloperator": getattr(neuralop, "__version__", None),
        },
    }
    command = "OMP_NUM_THREADS=1 python benchmarks/operators.py " + " ".join(sys.argv[1:])
    if "generation" in args.parts:
        results["generation"] = bench_generation(64, args.generation_samples, args.repeats) | {"command": command}
        print(json.dumps(results["generation"], indent=1), flush=True)
    if "neuralop-darcy" in args.parts:
        results["neuralop_darcy" + args.tag] = neuralop_darcy(args) | {"command": command}
    if "generated-darcy" in args.parts:
        results["generated_darcy" + args.tag] = generated_darcy(args) | {"command": command}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(markdown(results))


def markdown(results: dict) -> str:
    lines = []
    gen = results.get("generation")
    if gen:
        lines += ["| Darcy 64x64 generation | samples/s |", "|---|---|"]
        lines += [f"| {k} | {v:.0f} |" for k, v in gen["samples_per_s"].items()]
        lines += [f"| red-black / spsolve | {gen['solve_speedup_vs_spsolve']:.2f}x |"]
        lines += [f"| red-black / five-point band | {gen['solve_speedup_vs_five_point_band']:.2f}x |"]
        lines += [f"| 2 processes / 1 | {gen['two_process_speedup']:.2f}x |", ""]
    for part in sorted(k for k in results if k.startswith(("neuralop_darcy", "generated_darcy"))):
        res = results[part]
        if "skipped" in res:
            continue
        keys = list(dict.fromkeys(k for row in res["models"].values() for k in row if k.startswith("test_rel_l2")))
        lines += [f"| {part} ({res['epochs']} epochs) | params | train samples/s | " + " | ".join(keys) + " |"]
        lines += ["|---" * (3 + len(keys)) + "|"]
        for name, row in res["models"].items():
            lines += [f"| {name} | {row['parameters']} | {row['train_samples_per_s']:.0f} | " + " | ".join(f"{row.get(k, float('nan')):.4f}" for k in keys) + " |"]
        if "ratios_fno_sciml_over_neuralop" in res:
            lines += ["", "ours / neuralop: " + ", ".join(f"{k} {v:.3f}" for k, v in res["ratios_fno_sciml_over_neuralop"].items()), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
