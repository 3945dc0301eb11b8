"""shPLRNN and LSTM latent models: closed forms, Jacobians, bounded orbits, gradients to every parameter."""

import pytest
import torch

from sciml.components.models.dsr_net import LatentDynamics
from sciml.components.models.rnn_baseline_net import LSTMDynamics
from sciml.components.models.shplrnn_net import ShallowPLRNN
from sciml.components.tasks.gtf_module import gtf_predictions


def make(obs, latent, hidden, clipped, observation, seed=0):
    return ShallowPLRNN(obs, latent, hidden, clipped, observation, torch.Generator().manual_seed(seed)).double()


CASES = [(3, 3, 8, True, "identity"), (3, 5, 16, False, "identity"), (2, 6, 10, True, "affine"), (4, 4, 7, False, "affine")]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_step_matches_the_formula(case):
    net = make(*case)
    z = torch.randn(7, case[1], dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    hidden = torch.relu(z @ net.W2.T + net.h2) - (torch.relu(z @ net.W2.T) if case[3] else 0.0)
    expected = z * net.A + hidden @ net.W1.T + net.h1
    torch.testing.assert_close(net.step(z), expected)
    assert net.step(z).shape == (7, case[1])


def test_step_hand_computed():
    net = make(1, 1, 1, False, "identity")
    with torch.no_grad():
        net.A.fill_(0.5), net.W1.fill_(2.0), net.W2.fill_(-1.0), net.h1.fill_(0.1), net.h2.fill_(0.3)
    # z = 0.2: 0.5 * 0.2 + 2 relu(-0.2 + 0.3) + 0.1 = 0.1 + 0.2 + 0.1 = 0.4
    assert net.step(torch.tensor([[0.2]], dtype=torch.float64)).item() == pytest.approx(0.4)
    net.clipped = True
    # clipped: 0.1 + 2 (relu(0.1) - relu(-0.2)) + 0.1 = 0.4 as well; at z = -0.5: -0.25 + 2 (0.8 - 0.5) + 0.1 = 0.45
    assert net.step(torch.tensor([[-0.5]], dtype=torch.float64)).item() == pytest.approx(0.45)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_analytic_jacobian_matches_autodiff(case):
    net = make(*case)
    z = torch.randn(5, case[1], dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    auto = torch.stack([torch.autograd.functional.jacobian(lambda v: net.step(v[None])[0], zi) for zi in z])
    # Piecewise linear: away from the kinks (probability 0 here) the two agree to rounding.
    torch.testing.assert_close(net.jacobian(z), auto, rtol=1e-12, atol=1e-12)
    assert (net.jacobian(z).flatten(1).norm(dim=1) > 0).all()
    spectral = torch.linalg.matrix_norm(net.jacobian(z), ord=2)
    assert (spectral <= net.norm_upper_bound() + 1e-12).all()


def test_initialization_follows_the_paper():
    net = ShallowPLRNN(3, 10, 50, clipped=True, generator=torch.Generator().manual_seed(0))
    # A: diagonal of a PD matrix with largest eigenvalue 1: entries in (0, 1]
    assert (net.A > 0).all() and (net.A <= 1).all()
    assert net.W1.abs().max() <= 50**-0.5 and net.W2.abs().max() <= 10**-0.5
    assert net.h2.abs().max() <= 50**-0.5 and torch.count_nonzero(net.h1) == 0
    assert torch.count_nonzero(ShallowPLRNN(3, 3, 50, clipped=False).h2) == 0


def test_clipped_orbits_are_bounded():
    net = make(3, 3, 30, True, "identity", seed=3)
    with torch.no_grad():
        net.A.mul_(0.95 / net.A.abs().max())
        net.W1.mul_(5.0), net.W2.mul_(5.0), net.h2.mul_(5.0), net.h1.fill_(0.2)
    # |relu(a + h) - relu(a)| <= |h| elementwise, so |z_t| <= max|A| |z_{t-1}| + ||W1|| ||h2|| + ||h1||:
    # the orbit enters the ball of radius (||W1|| ||h2|| + ||h1||) / (1 - max|A|) and stays there.
    radius = (torch.linalg.matrix_norm(net.W1, 2) * net.h2.norm() + net.h1.norm()) / (1 - net.A.abs().max())
    z = torch.randn(16, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4)) * 100
    with torch.no_grad():
        for _ in range(2000):
            z = net.step(z)
    assert z.norm(dim=1).max() <= radius * (1 + 1e-9)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_encode_observe_round_trip(case):
    net = make(*case)
    x = torch.randn(6, case[0], dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    # identity: the first N units are x; affine: B pinv(B) = I for a full-row-rank B (N <= M)
    torch.testing.assert_close(net.observe(net.encode(x)), x)
    assert net.encode(x).shape == (6, case[1])


@pytest.mark.parametrize(
    "net",
    [make(3, 5, 8, True, "identity"), make(3, 4, 8, False, "affine"), LSTMDynamics(3, 6, torch.Generator().manual_seed(0)).double()],
    ids=["shplrnn-identity", "shplrnn-affine", "lstm"],
)
def test_gradient_reaches_every_parameter(net):
    x = torch.randn(4, 12, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    loss = (gtf_predictions(net, x, 0.3) - x[:, 1:]).square().mean()
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("case", CASES, ids=str)
def test_adjoint_rollout_matches_autograd_through_step(case):
    """The hand-written adjoint of ``ShallowPLRNN.forced_rollout`` against autograd through ``step``."""
    net = make(*case)
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(4, 40, case[0], dtype=torch.float64, generator=gen)
    alpha = torch.rand(39, dtype=torch.float64, generator=gen)
    alpha[5], alpha[9] = 0.0, 1.0  # the skipped and the full forcing
    weights = torch.randn(4, 39, case[1], dtype=torch.float64, generator=gen)
    results = []
    for rollout in (net.forced_rollout, lambda *args: LatentDynamics.forced_rollout(net, *args)):
        targets = net.forcing_target(x[:, 1:].reshape(-1, case[0])).reshape(4, 39, -1).detach().requires_grad_()
        z0 = net.encode(x[:, 0])
        states = rollout(z0, targets, alpha)
        grads = torch.autograd.grad((states * weights).sum(), [*net.parameters(), targets])
        results.append((states, grads))
    (fast, fast_grads), (slow, slow_grads) = results
    torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12)
    for name, a, b in zip([n for n, _ in net.named_parameters()] + ["targets"], fast_grads, slow_grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=name)


def test_lstm_generic_jacobian_matches_autodiff():
    net = LSTMDynamics(2, 5, torch.Generator().manual_seed(1)).double()
    z = torch.randn(3, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    auto = torch.stack([torch.autograd.functional.jacobian(lambda v: net.step(v[None])[0], zi) for zi in z])
    torch.testing.assert_close(net.jacobian(z), auto)
    torch.testing.assert_close(net.observe(net.encode(z[:, :2])), z[:, :2])


def test_generate_and_predict_agree():
    net = make(3, 4, 8, True, "identity")
    x0 = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    run = net.generate(x0, 21)
    assert run.shape == (5, 21, 3)
    torch.testing.assert_close(run[:, 0], x0)
    torch.testing.assert_close(run[:, 20], net.predict(x0, 20))
