"""uq metrics cross-checked against mapie, properscoring and scikit-learn, by hand, and by simulation."""

from __future__ import annotations

import itertools

import numpy as np
import properscoring
import pytest
from mapie.metrics.regression import regression_coverage_score, regression_mean_width_score
from scipy.stats import norm
from sklearn.metrics import mean_pinball_loss

from suites.uq import metrics
from suites.uq.contract import Prediction

LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)  # what the suite requests


def gaussian_bounds(mu: np.ndarray, sigma: np.ndarray, levels) -> tuple[np.ndarray, np.ndarray]:
    """Central intervals of N(mu, sigma²) at each level: (L, T) lower and upper bounds."""
    z = norm.ppf(0.5 + np.asarray(levels) / 2)[:, None]
    return mu - z * sigma, mu + z * sigma


# --- coverage and width --------------------------------------------------------------------------------------------


def test_picp_and_mpiw_equal_mapie_for_several_levels_at_once():
    rng = np.random.default_rng(0)
    steps, levels = 400, (0.5, 0.8, 0.9, 0.95, 0.99)
    y = rng.normal(size=steps)
    # a miscalibrated, uneven predictor: shifted centre, width varying per step
    lower, upper = gaussian_bounds(0.2 * rng.normal(size=steps), rng.uniform(0.5, 1.5, size=steps), levels)
    lower[:, :7], upper[:, :7] = y[:7], y[:7] + 1.0  # y exactly on a bound counts as covered
    lower[:, 7:12], upper[:, 7:12] = y[7:12] - 1.0, y[7:12]
    intervals = np.stack([lower.T, upper.T], axis=1)  # mapie's layout: (n_samples, 2, n_levels)
    assert intervals.shape == (steps, 2, len(levels))

    picp = metrics.picp(y, lower, upper)
    np.testing.assert_allclose(picp, regression_coverage_score(y, intervals), rtol=0, atol=1e-12)
    np.testing.assert_allclose(metrics.mpiw(lower, upper), regression_mean_width_score(intervals), rtol=0, atol=1e-12)
    assert 0.3 < picp[0] < picp[-1] < 1  # a real spread of coverages, not all 0 or 1
    # one level at a time: (T,) bounds give a number
    for i in range(len(levels)):
        assert metrics.picp(y, lower[i], upper[i]) == pytest.approx(picp[i], abs=1e-12)
    np.testing.assert_allclose(metrics.coverage_error(picp, levels), np.abs(picp - np.array(levels)))
    assert metrics.pinaw(lower[2], upper[2], np.ptp(y)) == pytest.approx(np.mean(upper[2] - lower[2]) / np.ptp(y))


def test_covered_is_inclusive_and_keeps_the_bounds_shape():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    lower = np.array([[0.0, 1.5, 1.0, 3.5], [-1.0, 0.0, 2.0, 2.0]])
    upper = np.array([[1.0, 2.0, 2.0, 4.0], [0.0, 0.5, 3.0, 3.0]])
    np.testing.assert_array_equal(metrics.covered(y, lower, upper), [[1, 0, 1, 0], [1, 0, 1, 1]])
    np.testing.assert_allclose(metrics.picp(y, lower, upper), [0.5, 0.75])
    np.testing.assert_allclose(metrics.mpiw(lower, upper), [(1 + 0.5 + 1 + 0.5) / 4, (1 + 0.5 + 1 + 1) / 4])
    assert metrics.coverage_error(0.93, 0.95) == pytest.approx(0.02)
    assert metrics.coverage_error(0.97, 0.95) == pytest.approx(0.02)
    with pytest.raises(ValueError, match="bounds"):
        metrics.covered(y, lower[:, :3], upper[:, :3])
    with pytest.raises(ValueError, match="range"):
        metrics.pinaw(lower, upper, 0.0)


def test_rmse():
    assert metrics.rmse([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, 3.0, 6.0]) == pytest.approx(np.sqrt(8 / 4))


# --- pinball and Winkler ---------------------------------------------------------------------------------------------


def test_pinball_equals_sklearn_mean_pinball_loss():
    rng = np.random.default_rng(1)
    y, q = rng.normal(size=300), rng.normal(0.3, 1.2, size=300)
    taus = (0.005, 0.05, 0.25, 0.5, 0.8, 0.975, 0.995)
    for tau in taus:
        assert metrics.pinball(y, q, tau).mean() == pytest.approx(mean_pinball_loss(y, q, alpha=tau), abs=1e-12)
    rows = np.stack([q + k for k in range(len(taus))])  # (K, T) quantiles with one τ per row
    per_row = metrics.pinball(y, rows, np.array(taus)).mean(axis=1)
    np.testing.assert_allclose(
        per_row, [mean_pinball_loss(y, row, alpha=tau) for row, tau in zip(rows, taus, strict=True)], atol=1e-12
    )
    np.testing.assert_allclose(metrics.pinball([1.0, 1.0], [0.0, 3.0], 0.1), [0.1, 0.9 * 2])  # by hand


def test_winkler_by_hand_inside_below_above():
    lower, upper, alpha = np.full(3, 1.0), np.full(3, 3.0), 0.2  # 2/α = 10
    y = np.array([2.0, 0.0, 4.5])
    np.testing.assert_allclose(metrics.winkler(y, lower, upper, alpha), [2.0, 2.0 + 10 * 1.0, 2.0 + 10 * 1.5])
    # on a bound: no penalty
    np.testing.assert_allclose(metrics.winkler(np.array([1.0, 3.0]), lower[:2], upper[:2], alpha), [2.0, 2.0])
    # several levels at once, one α per row: α = 0.5 → 2/α = 4
    both = metrics.winkler(y, np.stack([lower, lower]), np.stack([upper, upper]), np.array([0.2, 0.5]))
    np.testing.assert_allclose(both, [[2.0, 12.0, 17.0], [2.0, 2.0 + 4.0, 2.0 + 6.0]])
    with pytest.raises(ValueError, match="alpha"):
        metrics.winkler(y, lower, upper, 1.0)


def test_winkler_is_four_over_alpha_times_the_interval_pinball_loss():
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    lower, upper = gaussian_bounds(np.zeros(200), np.ones(200), (0.5, 0.9))
    alpha = np.array([0.5, 0.1])
    pair = metrics.interval_pinball(y, lower, upper, alpha)
    np.testing.assert_allclose(pair[1], 0.5 * (metrics.pinball(y, lower[1], 0.05) + metrics.pinball(y, upper[1], 0.95)))
    np.testing.assert_allclose(metrics.winkler(y, lower, upper, alpha), 4 / alpha[:, None] * pair)


def test_zero_width_interval_scores_the_absolute_error_and_loses_to_a_reasonable_interval():
    rng = np.random.default_rng(3)
    point = rng.normal(size=1000)
    y = point + rng.normal(size=1000)  # continuous: y never hits the point exactly
    alpha = 0.05
    zero = metrics.winkler(y, point, point, alpha)
    np.testing.assert_allclose(zero, 2 / alpha * np.abs(y - point))
    assert metrics.picp(y, point, point) == 0.0
    lower, upper = gaussian_bounds(point, np.ones(1000), (1 - alpha,))
    honest = metrics.winkler(y, lower[0], upper[0], alpha)
    assert metrics.picp(y, lower[0], upper[0]) == pytest.approx(0.95, abs=0.02)
    assert honest.mean() < 0.5 * zero.mean()  # ≈ 4.7 against ≈ 32


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.32])
def test_winkler_is_proper_minimised_at_the_true_quantiles(alpha):
    y = np.random.default_rng(4).standard_normal(200_000)
    true_half_width = norm.ppf(1 - alpha / 2)
    offsets = np.arange(-5, 6) * 0.1  # symmetric intervals [−c, c], c around the true quantile
    widths = true_half_width + offsets
    expected = [metrics.winkler(y, np.full_like(y, -c), np.full_like(y, c), alpha).mean() for c in widths]
    assert np.argmin(expected) == 5  # c = z_{1−α/2} exactly
    # and the simulated expectation is the analytic one, 2c + (4/α)·E(|Y| − c)+ = 2c + (4/α)(φ(c) − c(1 − Φ(c)))
    analytic = 2 * widths + 4 / alpha * (norm.pdf(widths) - widths * norm.sf(widths))
    np.testing.assert_allclose(expected, analytic, rtol=0.01)


def test_winkler_is_proper_for_each_bound_separately():
    """Moving either bound alone away from its true quantile (α/2 or 1 − α/2) raises the expected score."""
    y = np.random.default_rng(5).standard_normal(200_000)
    alpha = 0.1
    grid = np.arange(-3, 4) * 0.1
    scores = np.array(
        [
            [metrics.winkler(y, np.full_like(y, norm.ppf(alpha / 2) + a), np.full_like(y, norm.ppf(1 - alpha / 2) + b),
                             alpha).mean() for b in grid]
            for a in grid
        ]
    )  # fmt: skip
    assert np.unravel_index(np.argmin(scores), scores.shape) == (3, 3)


# --- CRPS ----------------------------------------------------------------------------------------------------------


def test_crps_gaussian_equals_properscoring():
    rng = np.random.default_rng(6)
    mu, sigma = rng.normal(size=500), rng.uniform(0.01, 3.0, size=500)
    y = mu + sigma * rng.standard_t(3, size=500)  # heavy tails: some far misses
    np.testing.assert_allclose(
        metrics.crps_gaussian(y, mu, sigma), properscoring.crps_gaussian(y, mu, sigma), rtol=0, atol=1e-10
    )
    # σ = 0 is a point forecast: the absolute error
    np.testing.assert_allclose(metrics.crps_gaussian(y[:5], mu[:5], 0.0), np.abs(y[:5] - mu[:5]))
    # N(0, 1) at its mean: (√2 − 1)/√π
    assert metrics.crps_gaussian(np.zeros(1), 0.0, 1.0)[0] == pytest.approx((np.sqrt(2) - 1) / np.sqrt(np.pi))


@pytest.mark.parametrize("size", [1, 2, 7, 64])
def test_crps_ensemble_equals_properscoring(size):
    rng = np.random.default_rng(size)
    steps = 300
    samples = rng.normal(2.0, 1.5, size=(size, steps))
    y = rng.normal(2.0, 2.0, size=steps)
    y[:20] = samples[0, :20]  # observation on a member
    ours = metrics.crps_ensemble(y, samples)
    np.testing.assert_allclose(ours, properscoring.crps_ensemble(y, samples.T), rtol=0, atol=1e-10)
    # the O(S²) definition, E|X − y| − ½ E|X − X'|
    pairwise = np.abs(samples - y).mean(0) - 0.5 * np.abs(samples[:, None] - samples[None]).mean((0, 1))
    np.testing.assert_allclose(ours, pairwise, rtol=0, atol=1e-10)
    if size == 1:
        np.testing.assert_allclose(ours, np.abs(samples[0] - y))


def test_crps_ensemble_with_ties_equals_properscoring():
    rng = np.random.default_rng(7)
    samples = rng.integers(-3, 4, size=(25, 200)).astype(float)  # 7 values: many tied members
    y = rng.integers(-4, 5, size=200).astype(float)  # often equal to members
    y[:3] = [0.5, -10.0, 10.0]
    samples[:, 0] = 1.0  # all members tied
    ours = metrics.crps_ensemble(y, samples)
    np.testing.assert_allclose(ours, properscoring.crps_ensemble(y, samples.T), rtol=0, atol=1e-10)
    assert ours[0] == pytest.approx(0.5)


def test_crps_ensemble_keeps_precision_far_from_zero():
    rng = np.random.default_rng(8)
    samples, y = 1e6 + rng.normal(size=(50, 100)), 1e6 + rng.normal(size=100)
    centred = metrics.crps_ensemble(y - 1e6, samples - 1e6)
    np.testing.assert_allclose(metrics.crps_ensemble(y, samples), centred, rtol=0, atol=1e-8)


def _relative_quantile_crps_error(levels, z):
    """crps_from_quantiles / closed form − 1 for N(mu, sigma²) predictions and y = mu + sigma·z."""
    rng = np.random.default_rng(9)
    mu, sigma = rng.normal(size=len(z)), rng.uniform(0.1, 5.0, size=len(z))
    lower, upper = gaussian_bounds(mu, sigma, levels)
    y = mu + sigma * z
    return metrics.crps_from_quantiles(y, mu, lower, upper, levels) / metrics.crps_gaussian(y, mu, sigma) - 1


def test_crps_from_quantiles_is_close_to_the_gaussian_closed_form_on_the_suite_grid():
    # pointwise over y within 3σ: measured max 0.93 % (at y = μ), mostly an underestimate
    relative = _relative_quantile_crps_error(LEVELS, np.linspace(-3, 3, 601))
    assert np.abs(relative).max() == pytest.approx(0.0093, abs=0.0002)
    assert np.abs(relative).max() < 0.0095
    assert relative.max() < 0.0005
    # far misses: tends to −(1 − 0.995)
    far = _relative_quantile_crps_error(LEVELS, np.array([-50.0, 50.0]))
    np.testing.assert_allclose(far, -0.005, atol=0.0003)
    # in expectation over calibrated y: measured −0.27 %
    z = np.random.default_rng(10).standard_normal(200_000)
    rng = np.random.default_rng(9)
    mu, sigma = rng.normal(size=len(z)), rng.uniform(0.1, 5.0, size=len(z))
    lower, upper = gaussian_bounds(mu, sigma, LEVELS)
    y = mu + sigma * z
    ratio = metrics.crps_from_quantiles(y, mu, lower, upper, LEVELS).mean() / metrics.crps_gaussian(y, mu, sigma).mean()
    assert ratio - 1 == pytest.approx(-0.0027, abs=0.0003)


def test_crps_from_quantiles_converges_on_finer_grids():
    z = np.linspace(-3, 3, 301)
    errors = []
    for knots in (21, 99, 999):  # midpoint grids τ_k = (k − ½)/K, K odd: the middle knot is the median (the point)
        taus = (np.arange(1, knots // 2 + 1) - 0.5) / knots
        errors.append(np.abs(_relative_quantile_crps_error(1 - 2 * taus, z)).max())
    assert errors[0] < 0.0105 and errors[1] < 0.0006 and errors[2] < 0.000015  # measured 1.0 %, 0.057 %, 0.0013 %
    assert errors[1] / errors[0] < 3 * (21 / 99) ** 2  # about 1/K²
    assert errors[2] / errors[1] < 3 * (99 / 999) ** 2


def test_quantile_crps_by_hand():
    # a point forecast p at every knot: 2 Σ w_k ρ_{τ_k}(d) = (τ_K + 1 − τ_1)/2 · |d| on a symmetric grid
    levels = np.array(LEVELS)
    point = np.array([0.0, 1.0])
    y = np.array([2.0, -1.0])
    flat = np.tile(point, (len(levels), 1))
    np.testing.assert_allclose(
        metrics.crps_from_quantiles(y, point, flat, flat, levels), (0.995 + 1 - 0.005) / 2 * np.abs(y - point)
    )
    # knots τ = ¼, ½, ¾ at q = −1, 0, 1, y = 0: weights (τ_{k+1} − τ_{k−1})/2 = ¼ each; losses ¼, 0, ¼
    assert metrics.quantile_crps(np.zeros(1), np.array([[-1.0], [0.0], [1.0]]), [0.25, 0.5, 0.75])[0] == pytest.approx(
        2 * (0.25 * 0.25 + 0.25 * 0.25)
    )
    with pytest.raises(ValueError, match="levels"):
        metrics.crps_from_quantiles(y, point, flat[:2], flat[:2], (0.5, 0.5))


def test_crps_uses_the_most_exact_form_the_prediction_gives():
    rng = np.random.default_rng(11)
    steps = 50
    y, point, std = rng.normal(size=steps), rng.normal(size=steps), rng.uniform(0.5, 2, size=steps)
    lower, upper = gaussian_bounds(point, std, LEVELS)
    samples = point + std * rng.normal(size=(30, steps))
    gaussian = metrics.crps(y, Prediction(point, lower, upper, std=std, samples=samples), LEVELS)
    np.testing.assert_allclose(gaussian, metrics.crps_gaussian(y, point, std))
    ensemble = metrics.crps(y, Prediction(point, lower, upper, samples=samples), LEVELS)
    np.testing.assert_allclose(ensemble, metrics.crps_ensemble(y, samples))
    quantile = metrics.crps(y, Prediction(point, lower, upper), LEVELS)
    np.testing.assert_allclose(quantile, metrics.crps_from_quantiles(y, point, lower, upper, LEVELS))
    np.testing.assert_allclose(quantile, gaussian, rtol=0.01)


# --- curves ----------------------------------------------------------------------------------------------------------


def test_calibration_curve_against_a_loop():
    rng = np.random.default_rng(12)
    y = rng.normal(size=60)
    lower, upper = gaussian_bounds(np.zeros(60), np.full(60, 0.8), LEVELS)
    expected = [np.mean([lower[i, t] <= y[t] <= upper[i, t] for t in range(60)]) for i in range(len(LEVELS))]
    np.testing.assert_allclose(metrics.calibration_curve(y, lower, upper, LEVELS), expected)
    with pytest.raises(ValueError, match="levels"):
        metrics.calibration_curve(y, lower[:3], upper[:3], LEVELS)


def _horizon_loop(y, lower, upper, lag, starts):
    starts = [*starts, len(y) - lag]
    coverage = []
    for begin, end in itertools.pairwise(starts):
        hits = [lower[t] <= y[t] <= upper[t] for t in range(lag + begin, lag + end)]
        coverage.append(sum(hits) / len(hits))
    return [lag + s for s in starts[:-1]], coverage


def test_coverage_by_horizon_against_a_loop():
    rng = np.random.default_rng(13)
    steps, lag = 47, 5
    y = np.cumsum(rng.normal(size=steps))  # drifts away: coverage falls with the horizon
    lower, upper = gaussian_bounds(np.zeros(steps), np.full(steps, 2.0), (0.5, 0.9))
    lower[:, :lag] = upper[:, :lag] = np.nan  # the history is not scored

    starts, coverage = metrics.coverage_by_horizon(y, lower[1], upper[1], lag, 10)  # 42 steps: 10, 10, 10, 10, 2
    expected_starts, expected = _horizon_loop(y, lower[1], upper[1], lag, range(0, 42, 10))
    np.testing.assert_array_equal(starts, [5, 15, 25, 35, 45])
    np.testing.assert_array_equal(starts, expected_starts)
    np.testing.assert_allclose(coverage, expected)

    log_starts = metrics.log_horizon_buckets(42, 5)
    np.testing.assert_array_equal(log_starts, [0, 1, 3, 8, 19])  # round(geomspace(1, 42, 6)) − 1, last edge dropped
    starts, coverage = metrics.coverage_by_horizon(y, lower, upper, lag, log_starts)  # two levels at once
    assert coverage.shape == (2, 5)
    for i in range(2):
        expected_starts, expected = _horizon_loop(y, lower[i], upper[i], lag, log_starts)
        np.testing.assert_array_equal(starts, expected_starts)
        np.testing.assert_allclose(coverage[i], expected)

    starts, coverage = metrics.coverage_by_horizon(y, lower[0], upper[0], 0, 50)  # default-sized: one bucket
    np.testing.assert_array_equal(starts, [0])
    assert coverage[0] == pytest.approx(np.mean((lower[0] <= y) & (y <= upper[0])))
    with pytest.raises(ValueError, match="from 0"):
        metrics.coverage_by_horizon(y, lower[0], upper[0], lag, [1, 5])
    np.testing.assert_array_equal(metrics.log_horizon_buckets(1000, 10), [0, 1, 3, 7, 15, 31, 62, 125, 250, 500])
