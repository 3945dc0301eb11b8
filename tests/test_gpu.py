"""The CUDA path: operators, networks, the DCDM solver and whole runs on a GPU, checked against the CPU.

Skipped where no CUDA device is visible (CI has none); run on a GPU machine with ``pytest -m gpu``.
TF32 is switched off for the comparisons, so GPU and CPU differ by float32 summation order only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sciml.components.models.dcdm_multigrid_net import DCDMMultigridNet
from sciml.components.models.dcdm_net import DCDMNet
from sciml.components.models.fno_net import FNO
from sciml.components.models.mgno_net import MgNO
from sciml.components.solvers import geometry, krylov
from sciml.components.solvers.dcdm_iteration import dcdm_solve, network_direction
from sciml.components.solvers.stencil import StencilOperator
from sciml_testing import TINY_SPEC, randomize_smoothers, sciml

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.fixture(autouse=True)
def _no_tf32():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))


def test_stencil_on_gpu_equals_the_scipy_matrix():
    mask = geometry.benchmark_ball(12)
    op = StencilOperator(mask, walls="neumann", solid="neumann")
    x = torch.randn(3, *mask.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * torch.as_tensor(mask)
    on_gpu = op.to("cuda")(x.cuda())
    assert on_gpu.device.type == "cuda" and on_gpu.dtype == torch.float64
    expected = np.stack([op.to_scipy() @ xi[mask] for xi in x.numpy()])
    np.testing.assert_allclose(on_gpu.cpu().numpy()[:, mask], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: DCDMNet(3, channels=8), (2, 1, 12, 12, 12)),
        (lambda: FNO(1, 1, modes=[6, 6], width=16, layers=2, projection_width=32, padding=0.125), (2, 1, 20, 20)),
        (lambda: MgNO(1, 1, ndim=2, width=8, layers=2, pre_smoothing=[1, 1, 1], post_smoothing=[0, 0, 0]), (2, 1, 16, 16)),
    ],
    ids=["dcdm", "fno", "mgno"],
)
def test_network_forward_and_gradients_on_gpu_match_cpu(make, shape):
    torch.manual_seed(0)
    cpu_net = make()
    gpu_net = make().cuda()
    gpu_net.load_state_dict(cpu_net.state_dict())
    x = torch.randn(shape)
    y_cpu, y_gpu = cpu_net(x), gpu_net(x.cuda())
    assert y_gpu.device.type == "cuda" and y_gpu.shape == y_cpu.shape
    assert _rel(y_gpu, y_cpu) < 1e-5
    y_cpu.square().mean().backward()
    y_gpu.square().mean().backward()
    for (name, p_cpu), p_gpu in zip(cpu_net.named_parameters(), gpu_net.parameters()):
        assert _rel(p_gpu.grad, p_cpu.grad) < 1e-4, name


def _acting_multigrid_net() -> DCDMMultigridNet:
    """A multigrid net whose smoother CNNs act (their last layers, zero at initialization, made random)."""
    net = DCDMMultigridNet(3, channels=4, coarsest=2)
    randomize_smoothers(net)
    return net


def test_multigrid_network_forward_and_gradients_on_gpu_match_cpu():
    mask = geometry.benchmark_ball(12)
    cpu_op, gpu_op = StencilOperator(mask), StencilOperator(mask).to("cuda")
    torch.manual_seed(0)
    cpu_net = _acting_multigrid_net()
    gpu_net = DCDMMultigridNet(3, channels=4, coarsest=2).cuda()
    gpu_net.load_state_dict(cpu_net.state_dict())
    r = torch.randn(2, 1, 12, 12, 12) * cpu_op.mask
    y_cpu, y_gpu = cpu_net(r, cpu_op), gpu_net(r.cuda(), gpu_op)
    assert y_gpu.device.type == "cuda" and _rel(y_gpu, y_cpu) < 1e-5
    y_cpu.square().mean().backward()
    y_gpu.square().mean().backward()
    for (name, p_cpu), p_gpu in zip(cpu_net.named_parameters(), gpu_net.parameters()):
        assert _rel(p_gpu.grad, p_cpu.grad) < 1e-4, name


def test_dcdm_solve_on_gpu_matches_cpu_and_cg():
    # identity directions: DCDM is CG; with a network: the same iterations on both devices
    mask = geometry.benchmark_ball(10)
    op = StencilOperator(mask, walls="neumann", solid="neumann")
    proj = op.projection("fluid")
    b_fluid = proj.numpy(np.random.default_rng(3).standard_normal(int(mask.sum())))
    b = torch.zeros(mask.shape, dtype=torch.float64)
    b[torch.as_tensor(mask)] = torch.as_tensor(b_fluid)
    cg = krylov.solve("cg", op.to_scipy(), b_fluid, 1e-8, 1000)

    gpu_op = StencilOperator(mask, walls="neumann", solid="neumann").to("cuda")
    identity = dcdm_solve(gpu_op, b.cuda(), lambda r: r, 1e-8, 1000, k_prev=2, project=gpu_op.projection("grid"))
    assert identity.converged and abs(identity.iterations - cg.iterations) <= 3
    np.testing.assert_allclose(identity.residuals[:10], cg.residuals[:10], rtol=1e-6)

    # untrained networks: compare the first iterations, same directions up to float32 order (the paper's
    # net stalls, so 20 of them; the multigrid net, which reads the operator on its device, converges fast)
    for make, iterations in ((lambda: DCDMNet(3, channels=8), 20), (lambda: _acting_multigrid_net(), 4)):
        torch.manual_seed(1)
        net = make().eval()
        histories = []
        for operator, model in ((op, net), (gpu_op, make().cuda().eval())):
            model.load_state_dict(net.state_dict())
            direction = network_direction(model, operator)
            result = dcdm_solve(operator, b.to(operator.diag.device), direction, 1e-12, iterations, k_prev=50, project=operator.projection("grid"))
            histories.append(result.residuals)
        assert len(histories[0]) == len(histories[1]) == iterations + 1
        assert histories[0][-1] < 1.0  # the directions do reduce the residual
        np.testing.assert_allclose(histories[1], histories[0], rtol=1e-4)


def _metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def test_a_run_on_the_gpu_matches_the_same_run_on_the_cpu(tmp_path: Path, tiny_spec: Path):
    cpu = sciml("run", tiny_spec, "--run-dir", tmp_path / "cpu")
    assert cpu.returncode == 0, cpu.stderr[-3000:]
    gpu = sciml("run", tiny_spec, "trainer.accelerator=gpu", "--run-dir", tmp_path / "gpu")
    assert gpu.returncode == 0, gpu.stderr[-3000:]
    env = json.loads((tmp_path / "gpu" / "env.json").read_text())
    assert env["devices"]["cuda"] and env["devices"]["gpus"]
    one, two = _metrics(tmp_path / "cpu"), _metrics(tmp_path / "gpu")
    assert two["train"]["steps"] == one["train"]["steps"]
    # same seed, data and steps; cuFFT and cuBLAS sum in another order (TF32 is Lightning's default off)
    assert two["operator_metrics"]["test/rel_l2"] == pytest.approx(one["operator_metrics"]["test/rel_l2"], rel=1e-2)


def test_ddp_on_every_visible_gpu_matches_one_device(tmp_path: Path):
    # the multi-GPU path (NCCL): one process per GPU; on a one-GPU machine a world of one
    spec = tmp_path / "ddp.yaml"
    spec.write_text(TINY_SPEC.replace("train: {max_epochs: 2, batch_size: 8,", "train: {max_epochs: 2, batch_size: 8, shuffle: false,"))
    gpus = torch.cuda.device_count()
    single = sciml("run", spec, "trainer.accelerator=gpu", "--run-dir", tmp_path / "one")
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = sciml("run", spec, "trainer.accelerator=gpu", f"trainer.devices={gpus}", "trainer.strategy=ddp", "--run-dir", tmp_path / "ddp")
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    one, many = _metrics(tmp_path / "one"), _metrics(tmp_path / "ddp")
    assert many["train"]["world_size"] == gpus
    if 8 % gpus == 0:  # the global batch splits evenly, so the runs take the same optimizer steps
        assert many["operator_metrics"]["test/rel_l2"] == pytest.approx(one["operator_metrics"]["test/rel_l2"], rel=1e-2)
