"""DSR metrics on constructed cases: identities, hand-computed values, fixed points, known exponents."""

from pathlib import Path

import numpy as np
import pytest
import torch

from sciml.components.evaluation.dsr_metrics import (
    binned_state_space_divergence,
    gmm_state_space_divergence,
    lyapunov_spectrum_flow,
    lyapunov_spectrum_map,
    power_spectra,
    power_spectrum_distance,
    prediction_error,
    state_space_divergence,
)
from sciml.components.solvers.flows import Flow, Lorenz63, Roessler
from sciml.components.solvers.ode import rk4

DSR = Path(__file__).resolve().parents[3] / "shared" / "data" / "dsr"


@pytest.fixture(scope="module")
def lorenz():
    """Two independent z-scored Lorenz-63 trajectories, (8000, 3) each (dt = 0.01, transient dropped)."""
    flow = Lorenz63()
    y0 = flow.initial_states(2, torch.Generator().manual_seed(0))
    x = rk4(flow.rhs, y0, 0.01, 7999, discard=500).numpy()
    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)


def test_dstsp_hand_computed():
    # 2 bins on [-0.1 s, 1 + 0.1 s]; true counts (2, 2), generated (3, 1):
    # KL = 0.5 ln(0.5 / 0.75) + 0.5 ln(0.5 / 0.25) = 0.5 ln(4/3); smoothing 1e-5 shifts it by ~1e-5.
    true = np.array([[0.0], [0.0], [1.0], [1.0]])
    gen = np.array([[0.0], [0.0], [0.0], [1.0]])
    got = binned_state_space_divergence(true, gen, n_bins=2)
    assert got == pytest.approx(0.5 * np.log(4 / 3), abs=1e-4)


def test_dstsp_matches_a_dense_histogram(lorenz):
    # The sparse computation equals the textbook dense one (all 30^3 boxes) to rounding.
    true, gen = lorenz[0], lorenz[1] * 1.2
    std = true.std(axis=0, ddof=1)
    edges = [np.linspace(a - 0.1 * s, b + 0.1 * s, 31) for a, b, s in zip(true.min(0), true.max(0), std)]
    hp = np.histogramdd(true, bins=edges)[0].ravel()
    hq = np.histogramdd(gen, bins=edges)[0].ravel()
    p = (hp + 1e-5) / (hp.sum() + 1e-5 * hp.size)
    q = (hq + 1e-5) / (hq.sum() + 1e-5 * hq.size)
    assert binned_state_space_divergence(true, gen) == pytest.approx(np.sum(p * np.log(p / q)), rel=1e-9)


def test_dstsp_identical_is_zero_independent_is_small_fixed_point_is_large(lorenz):
    assert state_space_divergence(lorenz[0], lorenz[0]) == pytest.approx(0.0, abs=1e-12)
    # 8000 points over 30^3 boxes are too sparse for a small floor (~3 with the 1e-5 smoothing);
    # 10 bins per dimension make the contrast clear: measured floor ~0.45, fixed point ~16.
    floor = state_space_divergence(lorenz[0], lorenz[1], n_bins=10)
    fixed_point = np.repeat(lorenz[0][:1], 8000, axis=0)
    collapsed = state_space_divergence(lorenz[0], fixed_point, n_bins=10)
    # A single occupied box costs ~log(#occupied boxes) plus the smoothing penalty of every other
    # occupied box (log(1 / 1e-5) ~ 11.5 weighted by its mass): an order of magnitude above the floor.
    assert 0 < floor < 1.0
    assert collapsed > 10 * floor


def test_dstsp_switches_to_gmm_above_five_dims():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 6))
    assert state_space_divergence(x, x) == pytest.approx(0.0, abs=1e-12)
    shifted = gmm_state_space_divergence(x, x + 3.0)
    # Two unit-variance clouds shifted by 3 per dim: mixtures of N(x_i, I) are ~N(3, 2I) apart,
    # KL = |shift|^2 / (2 * 2) = 6 * 9 / 4 = 13.5 for Gaussians; the mixtures are close to that.
    assert shifted == pytest.approx(13.5, rel=0.2)
    assert state_space_divergence(x, x + 3.0) == shifted


def test_power_spectrum_hand_computed():
    # sigma = 0: a cosine at bin 5 has all its power there; cos(bin 5) + cos(bin 9) splits it 1/2 : 1/2,
    # so H = sqrt((1 - sqrt(1/2))^2 + (0 - sqrt(1/2))^2) / sqrt(2) = sqrt(1 - sqrt(1/2)).
    t = np.arange(256)
    a = np.cos(2 * np.pi * 5 * t / 256)[:, None]
    b = (np.cos(2 * np.pi * 5 * t / 256) + np.cos(2 * np.pi * 9 * t / 256))[:, None]
    assert power_spectrum_distance(a, b, sigma=0.0) == pytest.approx(np.sqrt(1 - np.sqrt(0.5)), abs=1e-12)
    # disjoint spectra are at the maximal distance 1
    c = np.cos(2 * np.pi * 20 * t / 256)[:, None]
    assert power_spectrum_distance(a, c, sigma=0.0) == pytest.approx(1.0, abs=1e-12)


def test_power_spectra_are_normalized_and_smoothed(lorenz):
    ps = power_spectra(lorenz[0], sigma=20.0)
    assert ps.shape == (4001, 3)
    np.testing.assert_allclose(ps.sum(axis=0), 1.0, rtol=1e-12)
    assert (ps >= 0).all()


def test_dh_identical_is_zero_independent_is_small_fixed_point_is_large(lorenz):
    assert power_spectrum_distance(lorenz[0], lorenz[0]) == pytest.approx(0.0, abs=1e-12)
    floor = power_spectrum_distance(lorenz[0], lorenz[1])
    fixed_point = np.repeat(lorenz[0][:1], 8000, axis=0)
    collapsed = power_spectrum_distance(lorenz[0], fixed_point)
    # independent 80-time-unit trajectories share the spectrum up to sampling noise (~0.1);
    # a constant puts all power at frequency 0, far from the broadband chaotic spectrum.
    assert floor < 0.2
    assert collapsed > 0.6


def test_prediction_error_hand_computed():
    x = torch.arange(10.0)[:, None]  # x_t = t
    # a model that predicts x + n + 1 (off by one everywhere): MSE = 1
    assert prediction_error(lambda x0, n: x0 + n + 1, x, n=3) == pytest.approx(1.0)
    assert prediction_error(lambda x0, n: x0 + n, x, n=3) == 0.0
    with pytest.raises(ValueError, match="more than n=20"):
        prediction_error(lambda x0, n: x0, x, n=20)


def test_lyapunov_of_a_linear_map():
    # z -> M z with M = P diag(2, 0.5, 0.25) P^-1 (non-normal): exponents ln 2, ln 0.5, ln 0.25 per step,
    # per unit time with dt = 0.1: divide by 0.1.
    p = torch.tensor([[1.0, 0.3, 0.0], [0.2, 1.0, 0.5], [0.0, 0.4, 1.0]], dtype=torch.float64)
    m = p @ torch.diag(torch.tensor([2.0, 0.5, 0.25], dtype=torch.float64)) @ torch.linalg.inv(p)
    z0 = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    le = lyapunov_spectrum_map(
        lambda z: z @ m.T, lambda z: m.expand(z.shape[0], 3, 3), z0, n_steps=4000, dt=0.1, n_exponents=3,
        generator=torch.Generator().manual_seed(0),
    )
    # The random initial frame's projections on the eigenvectors add a one-off O(1) term to the
    # log growth (1.4-4 nats measured over frames): over 400 time units that is <= 0.01 per unit time.
    expected = torch.log(torch.tensor([2.0, 0.5, 0.25], dtype=torch.float64)) / 0.1
    torch.testing.assert_close(le, expected.expand(4, 3), rtol=0, atol=2e-2)


class Linear(Flow):
    """dy/dt = A y with A = [[0.3, 1], [-1, 0.3]] (a growing spiral, exponents 0.3, 0.3) as a test flow."""

    @property
    def dim(self) -> int:
        return 2

    def rhs(self, y):
        return torch.stack((0.3 * y[..., 0] + y[..., 1], -y[..., 0] + 0.3 * y[..., 1]), dim=-1)

    def jacobian(self, y):
        a = torch.tensor([[0.3, 1.0], [-1.0, 0.3]], dtype=y.dtype)
        return a.expand(*y.shape[:-1], 2, 2)


def test_lyapunov_of_a_linear_flow():
    y0 = torch.ones(3, 2, dtype=torch.float64)
    le = lyapunov_spectrum_flow(Linear(), y0, dt=0.05, n_steps=400, n_exponents=2, generator=torch.Generator().manual_seed(0))
    # Both exponents equal the real part 0.3 (rotation does not stretch); RK4 with dt = 0.05
    # reproduces exp(A dt) to ~1e-8 per step, far below the 1e-6 tolerance.
    torch.testing.assert_close(le, torch.full((3, 2), 0.3, dtype=torch.float64), rtol=0, atol=1e-6)


@pytest.mark.slow
def test_lyapunov_lorenz63():
    flow = Lorenz63()
    y0 = flow.initial_states(64, torch.Generator().manual_seed(3))
    le = lyapunov_spectrum_flow(flow, y0, dt=0.01, n_steps=10_000, transient=500, generator=torch.Generator().manual_seed(0))
    # 64 trajectories x 100 time units: the standard error of the mean is ~0.004 (measured spread of
    # finite-time exponents ~0.03 per trajectory), so 0.906 +- 0.01 is a 2.5-sigma band.
    assert le.mean().item() == pytest.approx(0.9057, abs=0.01)


@pytest.mark.slow
def test_lyapunov_roessler():
    flow = Roessler()
    y0 = flow.initial_states(64, torch.Generator().manual_seed(4))
    le = lyapunov_spectrum_flow(flow, y0, dt=0.05, n_steps=10_000, transient=1000, generator=torch.Generator().manual_seed(0))
    # 64 trajectories x 500 time units; reference 0.0714 (Benettin over 2e5 time units).
    assert le.mean().item() == pytest.approx(0.0714, abs=0.003)


def test_reference_floor_of_lorenz63():
    """Our generator against the paper's test file: the same floor as the file against itself."""
    path = DSR / "lorenz63_test.npy"
    if not path.exists():
        pytest.skip("reference data not found")
    ref = np.load(path)[:20_000]
    flow = Lorenz63()
    x = rk4(flow.rhs, flow.initial_states(2, torch.Generator().manual_seed(5)), 0.01, 9_999, discard=500)
    x = ((x - x.mean((0, 1))) / x.std((0, 1))).numpy()
    # Our two 10k-step trajectories against the file's first 10k points, compared with what the
    # file gives against itself (its first vs its second 10k points): a generator of the same
    # system at the same dt lands at the same floor. Measured: D_stsp 2.18, 2.05 vs 1.96 and
    # D_H 0.069, 0.046 vs 0.044; the factor 1.5 on the mean allows for that sampling noise.
    own = state_space_divergence(ref[:10_000], ref[10_000:])
    ours = np.mean([state_space_divergence(ref[:10_000], xi) for xi in x])
    assert ours < 1.5 * own
    dh_own = power_spectrum_distance(ref[:10_000], ref[10_000:])
    dh_ours = np.mean([power_spectrum_distance(ref[:10_000], xi) for xi in x])
    assert dh_ours < 1.5 * dh_own
