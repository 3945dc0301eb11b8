"""The shipped 2D DCDM spec, shrunk, end to end through sciml.run; the krylov evaluator's numbers
against standalone solves of the same systems."""

import json
from pathlib import Path

import numpy as np
import pytest

from sciml.components.solvers import krylov
from sciml.pipelines.datasets import read_arrays, read_shared
from sciml.pipelines.stages import run

SPEC = Path(__file__).resolve().parents[2] / "specs" / "dcdm-poisson2d.yaml"
SHRINK = [
    "data.grid=12",
    "data.lanczos_steps=24",
    "data.theta=2",
    "data.train=16",
    "data.val=4",
    "data.test=3",
    "model.channels=4",
    "train.max_epochs=1",
    "train.batch_size=8",
    "trainer.accelerator=cpu",
    "evaluate=[{kind: krylov, rhs: 2, max_iters: 400, k_prev: [2, 50], generalize: [{name: grid16, grid: 16, rhs: 1}]}]",
]


@pytest.mark.slow
def test_shrunk_2d_spec_runs_and_reports_every_solver():
    result = run(SPEC, SHRINK)
    metrics = json.loads((result.run_dir / "metrics.json").read_text())["krylov"]
    solvers = ["dcdm_k2", "dcdm_k50", "cg", "ic0", "amg_sa", "amg_rs"]
    for system in ("train_system", "grid16"):
        for solver in solvers:
            for tol in ("1e-04", "1e-06"):
                assert f"{system}/{solver}/iters_{tol}" in metrics
        for solver in solvers[2:]:
            assert metrics[f"{system}/{solver}/converged_1e-06"] == 1.0
            assert metrics[f"{system}/{solver}/network_calls_1e-06"] == 0
        # one network call per iteration, plus one when a direction breaks down without a step
        calls, iters = metrics[f"{system}/dcdm_k2/network_calls_1e-06"], metrics[f"{system}/dcdm_k2/iters_1e-06"]
        assert iters <= calls <= iters + 1
    # the classical counts on the training system are those of standalone solves of the test split
    test = result.dataset.path("test")
    mask = read_shared(test)["mask"].astype(bool)
    b = read_arrays(test, ["b"])["b"][:2, 0]
    from sciml.components.solvers.stencil import StencilOperator

    op = StencilOperator(mask)
    iters = [krylov.solve("ic0", op.to_scipy(), bi[mask].astype(float), 1e-6, 400, mask=mask).iterations for bi in b]
    assert metrics["train_system/ic0/iters_1e-06"] == float(np.median(iters))
    plots = result.run_dir / "plots"
    assert (plots / "krylov_train_system.png").stat().st_size > 0 and (plots / "krylov_grid16.png").exists()
    lines = (plots / "krylov_residuals.csv").read_text().splitlines()
    assert lines[0] == "system,solver,rhs,iteration,rel_residual"
    # grid16 asks for one right-hand side, the training system gets the evaluator's two
    assert {row.split(",")[2] for row in lines[1:] if row.startswith("grid16,")} == {"0"}
    assert {row.split(",")[2] for row in lines[1:] if row.startswith("train_system,")} == {"0", "1"}


def test_krylov_config_accepts_one_or_many_memories():
    import pydantic

    from sciml.components.evaluation.krylov import KrylovEvaluationConfig

    assert KrylovEvaluationConfig(k_prev=2).k_prev == [2]
    assert KrylovEvaluationConfig().k_prev == [2, 50]
    with pytest.raises(pydantic.ValidationError, match="every k_prev must be >= 0"):
        KrylovEvaluationConfig(k_prev=[2, -1])


def test_dcdm_stopped_at_a_coarser_tolerance_matches_a_solve_stopped_there():
    """The evaluator solves DCDM once, to the finest tolerance; the coarser record equals a real solve's."""
    import torch

    from sciml.components.evaluation.krylov import stopped_at
    from sciml.components.solvers import geometry
    from sciml.components.solvers.dcdm_iteration import dcdm_solve
    from sciml.components.solvers.stencil import StencilOperator

    op = StencilOperator(geometry.sphere(16, 2, (7.5, 6.0), 3.2))
    project = op.projection("grid")
    b = project(torch.randn(16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * op.mask)
    direction = lambda r: r * op.mask  # noqa: E731 - steepest descent directions, conjugated over all previous
    fine = dcdm_solve(op, b, direction, 1e-8, 500, k_prev=500, project=project)
    assert fine.converged
    for tol in (1e-2, 1e-4, 1e-6):
        coarse = dcdm_solve(op, b, direction, tol, 500, k_prev=500, project=project)
        derived = stopped_at(fine, tol)
        assert coarse.converged and derived.converged
        assert derived.iterations == coarse.iterations < fine.iterations
        assert derived.network_calls == coarse.network_calls and derived.matvecs == coarse.matvecs
        np.testing.assert_array_equal(derived.residuals, coarse.residuals)
        assert derived.solve_seconds == pytest.approx(fine.solve_seconds * coarse.iterations / fine.iterations)
    assert stopped_at(fine, 1e-8).iterations == fine.iterations and stopped_at(fine, 1e-8).converged
    unconverged = dcdm_solve(op, b, direction, 1e-8, 3, k_prev=500, project=project)
    assert stopped_at(unconverged, 1e-6) is unconverged and not unconverged.converged
