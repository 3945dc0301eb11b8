"""The DCDM loss against a hand computation, its invariances, and the task module on a generated dataset."""

import numpy as np
import pytest
import torch

from sciml.components.data.poisson import Obstacle, PoissonData
from sciml.components.models.dcdm import DCDMConfig
from sciml.components.solvers.stencil import StencilOperator
from sciml.components.tasks.dcdm_module import DCDMModule, dcdm_loss
from sciml.pipelines.datasets import ensure_dataset
from sciml.pipelines.spec import TrainConfig


def test_loss_matches_hand_computation_on_a_3x3_grid():
    # all-fluid 3x3, Dirichlet walls: A = [[4,-1,0,-1,0,...]...], written out from the 5-point rule
    a = np.zeros((9, 9))
    for i in range(3):
        for j in range(3):
            k = 3 * i + j
            a[k, k] = 4
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                if 0 <= i + di < 3 and 0 <= j + dj < 3:
                    a[k, 3 * (i + di) + (j + dj)] = -1
    op = StencilOperator(np.ones((3, 3), dtype=bool), walls="dirichlet")
    rng = np.random.default_rng(0)
    b, q = rng.standard_normal((2, 9)), rng.standard_normal((2, 9))
    expected = [np.sum((b[i] - a @ q[i] * (q[i] @ b[i]) / (q[i] @ a @ q[i])) ** 2) for i in range(2)]
    got = dcdm_loss(op, torch.as_tensor(q).reshape(2, 1, 3, 3), torch.as_tensor(b).reshape(2, 1, 3, 3))
    # float64 on 9 unknowns: 1e-12 is rounding
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_loss_is_scale_invariant_zero_at_the_solution_and_decreases_the_energy_norm():
    mask = Obstacle(kind="sphere", centre=[0.5, 0.4], radius=0.2).mask(10, 2)
    op = StencilOperator(mask, walls="dirichlet")
    gen = torch.Generator().manual_seed(1)
    m = torch.as_tensor(mask)
    b = torch.randn(3, 1, 10, 10, generator=gen, dtype=torch.float64) * m
    b = b / b.flatten(1).norm(dim=1).view(3, 1, 1, 1)
    q = torch.randn(3, 1, 10, 10, generator=gen, dtype=torch.float64) * m
    loss = dcdm_loss(op, q, b)
    torch.testing.assert_close(dcdm_loss(op, -2.5 * q, b), loss)
    a = op.to_scipy().toarray()
    # the step is the exact line search in the energy norm: ||b - alpha A q||_{A^-1} <= ||b||_{A^-1}
    for i in range(3):
        bi, qi = b[i, 0][m].numpy(), q[i, 0][m].numpy()
        ri = bi - a @ qi * (qi @ bi) / (qi @ a @ qi)
        assert ri @ np.linalg.solve(a, ri) <= bi @ np.linalg.solve(a, bi)
    exact = torch.zeros_like(b)
    for i in range(3):
        exact[i, 0][m] = torch.as_tensor(np.linalg.solve(a, b[i, 0][m].numpy()))
    torch.testing.assert_close(dcdm_loss(op, exact, b), torch.zeros(3, dtype=torch.float64), atol=1e-20, rtol=0)


@pytest.fixture
def tiny_dataset(tmp_path):
    data = PoissonData(grid=8, dim=2, obstacle=Obstacle(kind="sphere", centre=[0.5, 0.4], radius=0.2),
                       lanczos_steps=16, theta=2, train=8, val=4, test=3)
    files, generated = ensure_dataset(data, seed=0, cache=tmp_path)
    assert generated
    return data, files


def test_task_module_loss_and_gradients(tiny_dataset):
    data, files = tiny_dataset
    torch.manual_seed(0)  # a fixed initialization: a 4-channel net can start with a dead ReLU block
    module = DCDMModule(data, DCDMConfig(channels=4), TrainConfig(batch_size=4), files)
    batch = {"b": torch.stack([module.dataset("train")[i]["b"] for i in range(4)])}
    loss = module._loss(batch["b"]).mean()
    assert torch.isfinite(loss) and float(loss.detach()) > 0
    loss.backward()
    grads = {name: p.grad.abs().sum() for name, p in module.net.named_parameters()}
    bias = grads.pop("head.bias")
    for name, grad in grads.items():
        assert grad > 0, name
    # all-Neumann walls and solid: a constant on the (connected) fluid is a null vector of A and
    # orthogonal to the mean-zero b, so the loss ignores the output bias (its gradient is rounding only)
    assert bias < 1e-4 * min(grads.values())
    q = module(batch["b"])
    assert torch.all(q[:, :, ~module.mask] == 0)  # directions live on the fluid cells


def test_task_module_refuses_a_model_whose_role_and_network_disagree(tiny_dataset):
    from sciml.components.models.dcdm_multigrid import DCDMMultigridConfig

    class FieldNetCalledPreconditioner(DCDMConfig):
        role = "preconditioner"

    class OperatorNetCalledField(DCDMMultigridConfig):
        role = "field"

    data, files = tiny_dataset
    for config in (FieldNetCalledPreconditioner(channels=4), OperatorNetCalledField(channels=4)):
        with pytest.raises(TypeError, match="go together"):
            DCDMModule(data, config, TrainConfig(batch_size=4), files)
    for config in (DCDMConfig(channels=4), DCDMMultigridConfig(channels=4)):
        DCDMModule(data, config, TrainConfig(batch_size=4), files)
