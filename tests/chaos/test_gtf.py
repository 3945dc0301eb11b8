"""Generalized teacher forcing: special cases and the gradient bound on a chaotic sequence."""

import pytest
import torch

from sciml.components.evaluation.dsr_metrics import lyapunov_spectrum_map
from sciml.components.models.shplrnn_net import ShallowPLRNN
from sciml.components.solvers.flows import Lorenz63
from sciml.components.solvers.ode import rk4
from sciml.components.models.dsr_net import force
from sciml.components.tasks.gtf_module import anneal_alpha, gtf_predictions, jacobian_norm_kappa, optimal_alpha


def net(obs=3, latent=3, hidden=8, observation="identity", seed=0):
    return ShallowPLRNN(obs, latent, hidden, True, observation, torch.Generator().manual_seed(seed)).double()


def windows(batch=4, steps=30, seed=0):
    return torch.randn(batch, steps, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def test_force_mixes_only_the_forced_units():
    z = torch.tensor([[1.0, 2.0, 3.0]])
    got = force(z, torch.tensor([[5.0]]), 0.25)
    torch.testing.assert_close(got, torch.tensor([[2.0, 2.0, 3.0]]))  # 0.75 * 1 + 0.25 * 5 = 2


def test_alpha_one_is_one_step_prediction_from_the_data():
    model, x = net(), windows()
    pred = gtf_predictions(model, x, 1.0)
    expected = torch.stack([model.observe(model.step(model.encode(x[:, t]))) for t in range(x.shape[1] - 1)], 1)
    torch.testing.assert_close(pred, expected)


def test_alpha_zero_is_the_free_run():
    model, x = net(latent=5), windows()
    torch.testing.assert_close(gtf_predictions(model, x, 0.0), model.generate(x[:, 0], x.shape[1])[:, 1:])


def test_sparse_forcing_is_the_special_case():
    model, x = net(observation="affine", latent=4), windows()
    torch.testing.assert_close(gtf_predictions(model, x, 0.7, interval=1), gtf_predictions(model, x, 1.0))
    torch.testing.assert_close(gtf_predictions(model, x, 0.7, interval=1000), gtf_predictions(model, x, 0.0))
    # interval 4: forced at t = 4, 8, ...; the prediction at t = 5 comes from step(D(x_4))
    pred = gtf_predictions(model, x, 0.0, interval=4)
    torch.testing.assert_close(pred[:, 4], model.observe(model.step(model.encode(x[:, 4]))))


def test_kappa_and_alpha_estimate():
    model, x = net(), windows(batch=3, steps=10)
    norms = torch.linalg.matrix_norm(model.jacobian(x.reshape(-1, 3)), ord=2).reshape(3, 10)
    expected = norms.log().mean(dim=1).exp().max().item()  # geometric mean along windows, max over batch
    assert jacobian_norm_kappa(model, x) == pytest.approx(expected, rel=1e-12)
    assert optimal_alpha(4.0) == 0.75 and optimal_alpha(0.5) == 0.0


def test_alpha_annealing_jumps_up_and_decays_slowly():
    assert anneal_alpha(0.2, 0.6, gamma=0.999) == 0.6
    assert anneal_alpha(0.6, 0.2, gamma=0.9) == pytest.approx(0.9 * 0.6 + 0.1 * 0.2)


def tent_plrnn() -> ShallowPLRNN:
    """The skew tent map z -> 1.9 z - 3.8 relu(z - 0.5) on [0, 0.95] as a 1-unit shPLRNN: |J| = 1.9 everywhere."""
    model = ShallowPLRNN(1, 1, 1, clipped=False).double()
    with torch.no_grad():
        model.A.fill_(1.9), model.W1.fill_(-3.8), model.W2.fill_(1.0), model.h2.fill_(-0.5), model.h1.zero_()
    return model


def grad_norm(model, x, alpha) -> float:
    model.zero_grad()
    (gtf_predictions(model, x, alpha) - x[:, 1:]).square().mean().backward()
    return torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()


def test_gradient_bound_on_a_chaotic_sequence():
    model = tent_plrnn()
    # the model is chaotic: Lyapunov exponent ln 1.9 per step
    le = lyapunov_spectrum_map(
        model.step, model.jacobian, torch.full((4, 1), 0.3, dtype=torch.float64), 500, generator=torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(le, torch.full((4, 1), torch.log(torch.tensor(1.9)).item(), dtype=torch.float64))
    # data: the x coordinate of Lorenz-63 (a chaotic sequence), mapped into the tent map's interval
    flow = Lorenz63()
    lorenz = rk4(flow.rhs, flow.initial_states(2, torch.Generator().manual_seed(0)), 0.05, 400, discard=100)[..., :1]
    x = 0.1 + 0.75 * (lorenz - lorenz.min()) / (lorenz.max() - lorenz.min())
    sigma_max = 1.9  # every Jacobian of this model has norm exactly 1.9
    bounded = [grad_norm(model, x[:, :T], 1.0 - 1.0 / sigma_max) for T in (25, 100, 400)]
    free = [grad_norm(model, x[:, :T], 0.0) for T in (25, 50, 100)]
    # alpha = 1 - 1/sigma_max: products of (1 - alpha) J_t have norm <= 1, so the (time-averaged)
    # loss gradient stays of the same order however long the sequence (factor 10 allows for the
    # different windows); alpha = 0: it grows like 1.9^T (1.9^75 ~ 1e21 between T = 25 and 100).
    assert max(bounded) < 10 * min(bounded), bounded
    assert free[1] > 1e4 * free[0] and free[2] > 1e10 * free[1], free
