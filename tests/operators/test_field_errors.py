"""Field error measures against hand-computed values."""

import math

import pytest
import torch

from sciml.components.evaluation.field_errors import frequency_band_errors, nrmse, relative_h1


def test_relative_h1_hand_computed():
    # target u_j = j/n: sum u^2 = (n-1)(2n-1)/(6n), each of the n-1 forward differences is
    # (1/n) * n = 1; error e = c constant: sum e^2 = n c^2 and no gradient.
    n, c = 16, 0.1
    u = (torch.arange(n, dtype=torch.float64) / n).view(1, 1, n)
    expected = math.sqrt(n * c**2 / ((n - 1) * (2 * n - 1) / (6 * n) + (n - 1)))
    assert relative_h1(u + c, u).item() == pytest.approx(expected, rel=1e-12)


def test_relative_h1_sees_gradients_that_l2_misses():
    # the same small L2 error as a high-frequency wiggle has a much larger H1 error than as a constant
    n = 64
    x = torch.arange(n, dtype=torch.float64) / n
    u = torch.sin(2 * math.pi * x).view(1, 1, n)
    wiggle = 0.01 * math.sqrt(2) * torch.sin(2 * math.pi * 20 * x).view(1, 1, n)  # RMS 0.01, like the constant
    assert relative_h1(u + wiggle, u).item() > 10 * relative_h1(u + 0.01, u).item()


def test_nrmse_per_channel_mean():
    # channel 0 exact, channel 1 predicted 3x: RMS(e)/RMS(u) = 2 -> mean over channels 1
    u = torch.randn(2, 2, 8, 8, dtype=torch.float64)
    pred = u.clone()
    pred[:, 1] *= 3
    torch.testing.assert_close(nrmse(pred, u), torch.ones(2, dtype=torch.float64))


def test_frequency_bands_single_mode():
    # e = A cos(2 pi 5 x) on a 32x32 grid: Fourier-series coefficients A/2 at k = (+-5, 0), so
    # shell 5 has amplitude sqrt(2 (A/2)^2) = A/sqrt(2) and every other shell 0. Bands [0,4), [4,12),
    # [12,16): low 0, mid = (A/sqrt(2)) / 8 shells, high 0 (round-off only).
    n, amp = 32, 0.3
    x = torch.arange(n, dtype=torch.float64) / n
    e = amp * torch.cos(2 * math.pi * 5 * x)[:, None].expand(n, n)
    bands = frequency_band_errors(e.view(1, 1, n, n), torch.zeros(1, 1, n, n, dtype=torch.float64))
    torch.testing.assert_close(bands[0], torch.tensor([0.0, amp / math.sqrt(2) / 8, 0.0], dtype=torch.float64), atol=1e-14, rtol=1e-12)


def test_frequency_band_beyond_grid_is_nan():
    # an 8-point grid has shells 0..3 only: the mid and high bands do not exist on it
    bands = frequency_band_errors(torch.randn(3, 1, 8), torch.zeros(3, 1, 8))
    assert bands.shape == (3, 3)
    assert torch.isfinite(bands[:, 0]).all() and torch.isnan(bands[:, 1:]).all()
