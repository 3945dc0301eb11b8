"""Evaluation kind ``krylov``: DCDM with the trained network against CG, IC(0)-PCG and AMG-PCG.

DCDM runs once per entry of ``k_prev`` (solver ``dcdm_k<k>``): the paper's k = 2 needs a well-trained
network; a less trained one stalls there (a step that barely changes ``r`` makes the next output
nearly the previous direction) but still converges with a longer memory (k = 50 on the CI spec).

For each system (the training system, then each entry of ``generalize``: a larger grid and/or an
unseen obstacle, same network) and each solver, it solves the held-out right-hand sides from
``x0 = 0`` to every tolerance in ``tolerances`` and reports medians over the right-hand sides. A
classical solver runs once per tolerance, so its wall time is a measured time to that tolerance. DCDM
runs once, to the finest tolerance (a network call costs seconds on a CPU at 128^3): its counts at a
coarser tolerance are read off that solve's residual history, which is exactly the history of a solve
stopped there, and its time to that tolerance is the solve time times the fraction of iterations (every
iteration costs one network call and two products with ``A``). Metrics:

    <system>/<solver>/iters_<tol>, matvecs_<tol>, network_calls_<tol>, setup_s_<tol>, solve_s_<tol>,
    <system>/<solver>/converged_<tol>  (fraction of right-hand sides that reached tol)

(the pipeline files them under the evaluator's prefix in ``metrics.json``).

The training system's right-hand sides are the dataset's ``test`` split; a generalization system gets
fresh ones of the same kinds (:func:`sciml.components.data.poisson.held_out_rhs`). It writes
``<prefix>_residuals.csv`` (system, solver, rhs, iteration, relative residual: ``dvc plots`` input) and
one ``<prefix>_<system>.png`` of residual against iteration. DCDM runs on the evaluation device; the
classical solvers run on the CPU in float64 (scipy / pyamg).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sciml.components.base import Component, EvaluationConfig, EvaluationContext
from sciml.components.data.poisson import Obstacle

SolverName = Literal["dcdm", "cg", "ic0", "amg_sa", "amg_rs"]


class GeneralizeCase(Component):
    """Another system for the same network: the training data section with ``grid`` and/or ``obstacle`` replaced."""

    kind: Literal["system"] = "system"
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="system name in metric keys")
    grid: int | None = Field(None, ge=4, description="cells per side (default: the training grid)")
    obstacle: Obstacle | None = Field(None, description="obstacle (default: the training obstacle)")
    rhs: int | None = Field(None, ge=1, description="right-hand sides for this system (default: the evaluator's rhs)")


class KrylovEvaluationConfig(EvaluationConfig):
    """Iterations, matvecs, network calls and time to tolerance of DCDM, CG, IC(0)-PCG and AMG-PCG; residual curves."""

    task_roles = ("dcdm",)

    kind: Literal["krylov"] = "krylov"
    solvers: list[SolverName] = Field(["dcdm", "cg", "ic0", "amg_sa", "amg_rs"], min_length=1)
    tolerances: list[float] = Field([1e-4, 1e-6], min_length=1, description="relative residual targets")
    rhs: int = Field(3, ge=1, description="right-hand sides per system (the first of the test split)")
    max_iters: int = Field(2000, gt=0, description="iteration cap of every solver")
    k_prev: list[int] = Field(
        [2, 50], min_length=1, description="DCDM: directions to A-orthogonalize against (paper: 2); one solver 'dcdm_k<k>' per entry"
    )
    generalize: list[GeneralizeCase] = Field([], description="further systems: larger grids, unseen obstacles")

    @field_validator("k_prev", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, int) else value

    @field_validator("k_prev")
    @classmethod
    def _non_negative(cls, value: list[int]) -> list[int]:
        if any(k < 0 for k in value):
            raise ValueError(f"every k_prev must be >= 0, got {value}")
        return value

    def plot_tables(self) -> list[tuple[str, str, str | list[str]]]:
        return [(f"{self.prefix}_residuals.csv", "iteration", "rel_residual")]

    def input_files(self) -> list[str]:
        return [case.obstacle.path for case in self.generalize if case.obstacle is not None and case.obstacle.kind == "file"]

    def evaluate(self, context: EvaluationContext) -> dict[str, float]:
        import numpy as np

        from sciml.components.data.poisson import held_out_rhs
        from sciml.components.evaluation.plots import write_csv
        from sciml.pipelines.datasets import read_arrays, read_shared

        data = context.spec.data
        test_path = context.dataset.path("test")
        b_test = read_arrays(test_path, ["b"])["b"][: self.rhs, 0]
        systems = {"train_system": (read_shared(test_path)["mask"].astype(bool), list(b_test))}
        for case in self.generalize:
            changes = {"grid": case.grid or data.grid, "obstacle": (case.obstacle or data.obstacle).model_dump()}
            variant = type(data).model_validate({**data.model_dump(), **changes})
            mask = variant.fluid_mask()
            rng = np.random.default_rng(np.random.SeedSequence(context.spec.seed, spawn_key=(7, case.grid or data.grid)))
            count = case.rhs or self.rhs
            rhs = [held_out_rhs(data.test_rhs[i % len(data.test_rhs)], mask, data.walls, data.solid, rng) for i in range(count)]
            systems[case.name] = (mask, rhs)
        metrics: dict[str, float] = {}
        rows = []
        for system, (mask, rhs) in systems.items():
            curves = {}
            names = [f"dcdm_k{k}" for k in self.k_prev] if "dcdm" in self.solvers else []
            names += [s for s in self.solvers if s != "dcdm"]
            for solver in names:
                if solver.startswith("dcdm_k"):
                    solves = [self._solve(context, data, solver, mask, b, min(self.tolerances)) for b in rhs]
                    records = {tol: [stopped_at(r, tol) for r in solves] for tol in self.tolerances}
                else:
                    records = {tol: [self._solve(context, data, solver, mask, b, tol) for b in rhs] for tol in self.tolerances}
                for tol, results in records.items():
                    metrics.update(_summary(f"{system}/{solver}", tol, results))
                finest = records[min(self.tolerances)]
                curves[solver] = finest[0].residuals
                rows += [(system, solver, j, k, float(v)) for j, r in enumerate(finest) for k, v in enumerate(r.residuals)]
            _plot(curves, self.tolerances, f"{system}: grid {mask.shape[0]}^{mask.ndim}", context.plots_dir / f"{self.prefix}_{system}.png")
        write_csv(context.plots_dir / f"{self.prefix}_residuals.csv", ["system", "solver", "rhs", "iteration", "rel_residual"], rows)
        return metrics

    def _solve(self, context, data, solver: str, mask, b, tol: float):
        """One solve of ``A x = b`` (``b``: grid array ``mask.shape``) with ``solver`` (``dcdm_k<k>`` or a baseline)."""
        import torch

        from sciml.components.solvers import krylov
        from sciml.components.solvers.dcdm_iteration import dcdm_solve, network_direction

        operator = data.operator(mask)
        if solver.startswith("dcdm_k"):
            operator = operator.to(context.device)
            direction = network_direction(context.task.net, operator)
            rhs = torch.as_tensor(b, device=context.device)
            k_prev = int(solver.removeprefix("dcdm_k"))
            return dcdm_solve(operator, rhs, direction, tol, self.max_iters, k_prev, operator.projection("grid"))
        a = operator.to_scipy()
        project = operator.projection("fluid").numpy
        return krylov.solve(solver, a, b[mask].astype("float64"), tol, self.max_iters, mask=mask, project=project)


def stopped_at(result, tol: float):
    """The record a DCDM solve would have returned had it stopped at ``tol``, from a solve to a finer one.

    The residual history up to the first iteration ``<= tol`` is that of the shorter solve; products with
    ``A`` (two per iteration plus the final check) and network calls (one per iteration) are counted as
    that solve counts them, and the time is ``solve_seconds`` scaled by the fraction of iterations; ``x``
    stays the finer solve's. A solve that never reached ``tol`` is returned unchanged (``converged`` False).
    """
    import dataclasses

    iters = result.iterations_to(tol)
    if iters is None:
        return result
    if iters == result.iterations:
        return dataclasses.replace(result, converged=True)
    fraction = iters / result.iterations
    return dataclasses.replace(
        result,
        iterations=iters,
        residuals=result.residuals[: iters + 1],
        matvecs=2 * iters + 1,
        solve_seconds=result.solve_seconds * fraction,
        converged=True,
        true_residual=float(result.residuals[iters]),
        network_calls=iters,
    )


def _tol_key(tol: float) -> str:
    return f"{tol:.0e}"


def _summary(key: str, tol: float, results) -> dict[str, float]:
    """Medians over right-hand sides of one (system, solver, tolerance).

    An unconverged solve (cap, breakdown or stall) counts with the iterations it ran; ``converged_<tol>``
    says how many reached the tolerance, so read the counts together with it.
    """
    import numpy as np

    t = _tol_key(tol)
    return {
        f"{key}/iters_{t}": float(np.median([r.iterations for r in results])),
        f"{key}/matvecs_{t}": float(np.median([r.matvecs for r in results])),
        f"{key}/network_calls_{t}": float(np.median([r.network_calls for r in results])),
        f"{key}/setup_s_{t}": float(np.median([r.setup_seconds for r in results])),
        f"{key}/solve_s_{t}": float(np.median([r.solve_seconds for r in results])),
        f"{key}/converged_{t}": float(np.mean([r.converged for r in results])),
    }


def _plot(curves: dict, tolerances: list[float], title: str, path) -> None:
    """Relative residual against iteration, one line per solver, tolerances dashed."""
    from sciml.components.evaluation.plots import figure, save

    fig, axes = figure(1, 1, size=4.5)
    ax = axes[0, 0]
    for solver, residuals in curves.items():
        ax.semilogy(range(len(residuals)), residuals, label=solver)
    for tol in tolerances:
        ax.axhline(tol, color="gray", linestyle="--", linewidth=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("||r|| / ||b||")
    ax.set_title(title)
    ax.legend()
    save(fig, path)
