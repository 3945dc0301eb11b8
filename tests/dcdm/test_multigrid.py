"""The aggregation hierarchy against dense Galerkin products, and the multigrid direction network:
its untrained cycle against a hand-built damped-Jacobi V-cycle, homogeneity, size carry-over, and
the shrunk 2D spec trained end to end with it."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sciml.components.models.dcdm_multigrid_net import DCDMMultigridNet
from sciml.components.solvers import geometry
from sciml.components.solvers.dcdm_iteration import dcdm_solve, network_direction
from sciml.components.solvers.multigrid import GridLevel, coarsen, hierarchy, prolong, restrict
from sciml.components.solvers.stencil import StencilOperator
from sciml.components.tasks.dcdm_module import dcdm_loss
from sciml.pipelines.datasets import read_arrays, read_shared
from sciml.pipelines.errors import SpecError
from sciml.pipelines.spec import load_spec
from sciml.pipelines.stages import run
from sciml_testing import randomize_smoothers

SPEC = Path(__file__).resolve().parents[2] / "specs" / "dcdm-poisson2d.yaml"


def _dense(apply, shape) -> torch.Tensor:
    """The matrix of a linear map on grid arrays of ``shape`` (C order), column by column."""
    n = int(np.prod(shape))
    return torch.stack([apply(e.reshape(shape)).reshape(-1) for e in torch.eye(n, dtype=torch.float64)], 1)


def _level(mask, walls="neumann", solid="neumann") -> GridLevel:
    op = StencilOperator(mask, walls=walls, solid=solid).double()
    return GridLevel(op.diag, op.weights)


@pytest.mark.parametrize(
    "shape,walls,solid",
    [((7, 6), "neumann", "neumann"), ((8, 8), "dirichlet", "neumann"), ((5, 4, 6), "dirichlet", "dirichlet"), ((7, 5, 6), "neumann", "neumann")],
)
def test_coarse_level_is_the_galerkin_product_and_restriction_the_transpose(shape, walls, solid):
    mask = np.random.default_rng(1).random(shape) > 0.25
    fine = _level(mask, walls, solid)
    coarse = coarsen(fine)
    assert coarse.shape == tuple((n + 1) // 2 for n in shape)
    a = _dense(fine, shape)
    p = _dense(lambda x: prolong(x, shape), coarse.shape)
    r = _dense(lambda x: restrict(x, len(shape)), shape)
    torch.testing.assert_close(r, p.T, rtol=0, atol=0)
    torch.testing.assert_close(_dense(coarse, coarse.shape), p.T @ a @ p, rtol=0, atol=1e-12)
    diagonal = torch.diagonal(a).reshape(shape)
    torch.testing.assert_close(fine.inverse_diagonal(), torch.where(diagonal > 0, 1 / diagonal, 0.0))
    # and one level further down: (P1 P2)^T A (P1 P2)
    coarser = coarsen(coarse)
    p2 = _dense(lambda x: prolong(x, coarse.shape), coarser.shape)
    torch.testing.assert_close(_dense(coarser, coarser.shape), (p @ p2).T @ a @ (p @ p2), rtol=0, atol=1e-12)


def test_hierarchy_coarsens_to_the_coarsest_size_and_keeps_the_null_space():
    mask = geometry.benchmark_ball(20, 2)
    levels = hierarchy(_level(mask), coarsest=4)
    assert [lvl.shape for lvl in levels] == [(20, 20), (10, 10), (5, 5), (3, 3)]
    for lvl in levels:  # all-Neumann: constants on the fluid stay in the null space on every level
        fluid = (lvl.inverse_diagonal() > 0).double()
        assert float(lvl(fluid).abs().max()) < 1e-12
    # a thin grid coarsens until its long side is short; its one-cell side stays one cell
    thin = hierarchy(_level(np.ones((40, 3), dtype=bool)), coarsest=4)
    assert [lvl.shape for lvl in thin] == [(40, 3), (20, 2), (10, 1), (5, 1), (3, 1)]
    with pytest.raises(ValueError, match="coarsest"):
        hierarchy(levels[0], coarsest=0)


def test_untrained_network_is_the_damped_jacobi_v_cycle():
    # two levels, one smoothing step: x1 = w D^-1 r; the coarse cycle on P^T (r - A x1); x2 = x1 + 2 F P xc
    # (F: the fluid cells); x = x2 + w D^-1 (r - A x2), all from dense matrices
    mask = geometry.benchmark_ball(8, 2)
    op = StencilOperator(mask).double()
    net = DCDMMultigridNet(2, smoothing_steps=1, coarsest=4).double()
    levels = hierarchy(GridLevel(op.diag, op.weights), 4)
    assert len(levels) == 2
    a, ac = _dense(levels[0], (8, 8)), _dense(levels[1], (4, 4))
    p = _dense(lambda x: prolong(x, (8, 8)), (4, 4))
    d_inv, dc_inv = (torch.diag(torch.where(torch.diagonal(m) > 0, 1 / torch.diagonal(m), 0.0)) for m in (a, ac))
    w = net.omega.item()  # 2/3 rounded to float32 at construction
    assert w == pytest.approx(2 / 3) and net.coarse_scale.item() == 2.0
    r = torch.as_tensor(np.random.default_rng(0).standard_normal(64) * mask.ravel())
    x1 = w * d_inv @ r
    rc = p.T @ (r - a @ x1)
    xc = w * dc_inv @ rc
    xc = xc + w * dc_inv @ (rc - ac @ xc)
    x2 = x1 + 2 * torch.as_tensor(mask.ravel()) * (p @ xc)
    expected = x2 + w * d_inv @ (r - a @ x2)
    with torch.no_grad():
        out = net(r.reshape(1, 1, 8, 8), op)
    torch.testing.assert_close(out.reshape(-1), expected, rtol=1e-12, atol=1e-12)
    assert float(out.reshape(8, 8)[~torch.as_tensor(mask)].abs().max()) == 0.0  # nothing on solid cells


def test_network_is_positively_homogeneous_and_trains_every_parameter():
    torch.manual_seed(0)
    net = DCDMMultigridNet(3, channels=4, coarsest=2)
    op = StencilOperator(geometry.benchmark_ball(9))
    r = torch.randn(2, 1, 9, 9, 9) * op.mask
    linear = net(r, op)  # untrained: a linear cycle
    torch.testing.assert_close(net(-r, op), -linear)
    randomize_smoothers(net)
    assert (net(-r, op) + net(r, op)).abs().max() > 1e-3 * linear.abs().max()  # the ReLU CNNs are not odd
    torch.testing.assert_close(net(3.5 * r, op), 3.5 * net(r, op))  # no biases: homogeneous for a > 0
    # the smoothers' last layers start at zero (so only they get a gradient at first); after one step all do
    net = DCDMMultigridNet(3, channels=4, coarsest=2)
    opt = torch.optim.SGD(net.parameters(), lr=1e-4)
    for _ in range(2):
        opt.zero_grad()
        net(r, op).square().mean().backward()
        opt.step()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match=r"system's grid \(9, 9, 9\)"):
        net(r[..., :8], op)


def test_low_precision_runs_the_levels_in_float32():
    # bfloat16 weights or autocast: the hierarchy (face weights summed to 4^depth) and the cycle stay in
    # float32 (bfloat16 pooling does not exist on the CPU), so the output is the float32 one up to rounding
    torch.manual_seed(0)
    net = DCDMMultigridNet(3, channels=4, coarsest=2)
    randomize_smoothers(net)
    op = StencilOperator(geometry.benchmark_ball(12))
    r = torch.randn(1, 1, 12, 12, 12) * op.mask
    with torch.no_grad():
        reference = net(r, op)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = net(r, op)
        bf16 = copy.deepcopy(net).to(torch.bfloat16)(r.to(torch.bfloat16), op)
    assert mixed.dtype == torch.float32 and bf16.dtype == torch.bfloat16
    for out in (mixed, bf16.float()):
        assert float((out - reference).norm() / reference.norm()) < 0.02


def test_one_network_keeps_its_iteration_count_as_the_grid_grows():
    # the untrained cycle gains one level per doubling: DCDM's count to 1e-6 stays nearly flat from 16^2
    # to 256^2, where CG's grows ~2x per doubling
    net = DCDMMultigridNet(2).double()
    counts = []
    for n in (16, 32, 64, 128, 256):
        op = StencilOperator(geometry.benchmark_ball(n, 2)).double()
        project = op.projection("grid")
        b = project(torch.as_tensor(np.random.default_rng(n).standard_normal((n, n)))) * op.mask
        result = dcdm_solve(op, b, network_direction(net, op), 1e-6, 100, k_prev=50, project=project)
        assert result.converged and result.true_residual <= 1e-6
        counts.append(result.iterations)
    assert max(counts) <= 1.3 * min(counts), counts


def test_spec_checks_pair_the_network_with_the_dcdm_task(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: x\ndata: {kind: darcy, resolution: 16, train: 4, val: 2, test: 2}\nmodel: {kind: dcdm_multigrid}\n"
        "task: {kind: operator}\nevaluate: []\n"
    )
    with pytest.raises(SpecError, match="'preconditioner' model"):
        load_spec(spec)
    with pytest.raises(SpecError, match="kernel_size"):
        load_spec(SPEC, ["model.kind=dcdm_multigrid", "model.kernel_size=4"])


@pytest.mark.slow
def test_shrunk_2d_spec_trains_the_multigrid_network_and_carries_it_to_a_larger_grid():
    overrides = [
        "data.grid=16",
        "data.lanczos_steps=48",
        "data.theta=4",
        "data.train=64",
        "data.val=8",
        "data.test=3",
        "model.kind=dcdm_multigrid",
        "model.channels=4",
        "train.max_epochs=8",
        "train.batch_size=8",
        "trainer.accelerator=cpu",
        "evaluate=[{kind: krylov, rhs: 2, max_iters: 400, k_prev: [2], solvers: [dcdm, cg], generalize: [{name: grid64, grid: 64}]}]",
    ]
    result = run(SPEC, overrides)
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    krylov = metrics["krylov"]
    # training improves on the untrained cycle (damped Jacobi, whatever the hidden weights) by the paper's loss
    val = result.dataset.path("val")
    op = StencilOperator(read_shared(val)["mask"].astype(bool))
    b = torch.as_tensor(read_arrays(val, ["b"])["b"])
    with torch.no_grad():
        untrained = dcdm_loss(op, DCDMMultigridNet(2)(b, op) * op.mask, b).mean().item()
    assert metrics["train"]["best_val_loss"] < 0.5 * untrained
    for system in ("train_system", "grid64"):
        assert krylov[f"{system}/dcdm_k2/converged_1e-06"] == 1.0
        assert krylov[f"{system}/dcdm_k2/iters_1e-06"] <= krylov[f"{system}/cg/iters_1e-06"] / 5
    # the grid 4x larger per side than the training grid costs at most 1.3x the iterations
    assert krylov["grid64/dcdm_k2/iters_1e-06"] <= 1.3 * krylov["train_system/dcdm_k2/iters_1e-06"]
