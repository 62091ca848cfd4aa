"""Statistics: bootstrap correctness and coverage, paired tests, rank ranges, tie groups, win rates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from harness import stats


def test_vectorized_bootstrap_equals_explicit_resampling():
    rng = np.random.default_rng(7)
    values = rng.normal(size=(3, 4, 6))
    values[1, 2, 3] = np.nan  # a missing value is left out, not counted as zero
    draws = stats.bootstrap_means(values, np.random.default_rng(11), n_boot=50)

    replay = np.random.default_rng(11)
    seed_counts = stats.resample_counts(replay, 50, 4)
    sample_counts = stats.resample_counts(replay, 50, 6)
    for b in range(50):
        seeds = np.repeat(np.arange(4), seed_counts[b].astype(int))
        samples = np.repeat(np.arange(6), sample_counts[b].astype(int))
        picked = values[:, seeds][:, :, samples]
        np.testing.assert_allclose(draws[b], np.nanmean(picked, axis=(1, 2)), rtol=1e-12)


def test_resample_counts_are_multinomial():
    counts = stats.resample_counts(np.random.default_rng(0), 2000, 10)
    assert (counts.sum(axis=1) == 10).all()
    assert counts.mean() == pytest.approx(1.0, abs=0.03)
    assert counts.var() == pytest.approx(0.9, abs=0.05)  # n * p * (1 - p) with p = 1/10


@pytest.mark.parametrize(
    ("name", "sample", "true_mean"),
    [
        ("normal", lambda rng, size: rng.normal(0.3, 1.0, size), 0.3),
        ("exponential", lambda rng, size: rng.exponential(2.0, size), 2.0),
    ],
)
def test_ci_coverage_is_near_nominal(name, sample, true_mean):
    """1000 independent data sets; the 95% CI should contain the true mean about 95% of the time."""
    rng = np.random.default_rng(2024)
    replicates, n = 1000, 120
    data = sample(rng, (replicates, 1, n))
    covered = 0
    for start in range(0, replicates, 100):  # independent resamples for each block of data sets
        draws = stats.bootstrap_means(data[start : start + 100], np.random.default_rng(start), n_boot=1000)
        low, high = stats.percentile_ci(draws)
        covered += int(((low <= true_mean) & (true_mean <= high)).sum())
    coverage = covered / replicates
    assert 0.92 <= coverage <= 0.97, f"{name}: coverage {coverage:.3f}"


def test_ci_matches_scipy_percentile_bootstrap():
    x = np.random.default_rng(3).normal(size=200)
    ours = stats.percentile_ci(stats.bootstrap_means(x[None, None, :], np.random.default_rng(0), n_boot=20000))
    ref = scipy_stats.bootstrap((x,), np.mean, method="percentile", n_resamples=20000, random_state=1)
    assert ours[0][0] == pytest.approx(ref.confidence_interval.low, abs=0.01)
    assert ours[1][0] == pytest.approx(ref.confidence_interval.high, abs=0.01)


def constructed():
    """A clearly best, B and C indistinguishable, D clearly worst; scored on shared samples."""
    rng = np.random.default_rng(5)
    base = rng.normal(size=(3, 60))
    values = np.stack(
        [base + 2.0, base + 1.0, base + 1.0 + rng.normal(scale=0.3, size=(3, 60)), base - 1.0]
    )  # entries A, B, C, D
    draws = stats.bootstrap_means(values, np.random.default_rng(0))
    return ["A", "B", "C", "D"], values.mean(axis=(1, 2)), draws


def test_rank_ranges_on_constructed_data():
    entries, mean, draws = constructed()
    ranking = stats.rank(entries, mean, draws, higher_is_better=True)
    assert ranking.rank.tolist() == [1, 2, 2, 4]
    assert list(zip(ranking.rank_low, ranking.rank_high, strict=True)) == [(1, 1), (2, 3), (2, 3), (4, 4)]
    assert ranking.tie_group.tolist() == [1, 2, 2, 3]


def test_lower_is_better_reverses_ranks():
    entries, mean, draws = constructed()
    ranking = stats.rank(entries, mean, draws, higher_is_better=False)
    assert ranking.rank.tolist() == [4, 2, 2, 1]
    assert ranking.tie_group.tolist() == [3, 2, 2, 1]


def test_paired_difference_is_detected_where_cis_overlap():
    noise = np.random.default_rng(1).normal(size=(1, 1, 100))
    values = np.concatenate([noise + 0.05, noise])  # a small, perfectly consistent improvement
    draws = stats.bootstrap_means(values, np.random.default_rng(0))
    low, high = stats.percentile_ci(draws)
    assert low[0] < high[1], "the marginal CIs overlap..."
    better = stats.significantly_better(draws, higher_is_better=True)
    assert better[0, 1] and not better[1, 0], "...but the paired test separates them"


def test_identical_entries_are_tied():
    values = np.repeat(np.random.default_rng(2).normal(size=(1, 2, 30)), 3, axis=0)
    ranking = stats.rank(
        ["x", "y", "z"], values.mean(axis=(1, 2)), stats.bootstrap_means(values, np.random.default_rng(0)), True
    )
    assert ranking.rank.tolist() == [1, 1, 1] and ranking.rank_high.tolist() == [3, 3, 3]
    assert ranking.tie_group.tolist() == [1, 1, 1]


def test_bootstrap_is_deterministic_for_a_seed():
    values = np.random.default_rng(0).normal(size=(4, 3, 10))
    a = stats.bootstrap_means(values, np.random.default_rng(42))
    b = stats.bootstrap_means(values, np.random.default_rng(42))
    assert np.array_equal(a, b)


def test_mean_win_rate_across_suites():
    entries, mean, draws = constructed()
    first = stats.rank(entries, mean, draws, True)
    second = stats.rank(["A", "D"], mean[[0, 3]], draws[:, [0, 3]], False)  # lower is better: D wins here
    table = stats.mean_win_rate({"one": (first, True), "two": (second, False)}).set_index("entry")
    assert table.loc["A", "win_rate"] == pytest.approx((1.0 + 0.0) / 2)
    assert table.loc["D", "win_rate"] == pytest.approx((0.0 + 1.0) / 2)
    assert table.loc["B", "win_rate"] == pytest.approx(0.5, abs=1 / 3) and table.loc["B", "n_suites"] == 1
    assert table.loc["A", "ci_low"] == table.loc["A", "ci_high"] == pytest.approx(0.5)
    assert table.loc["B", "ci_low"] < table.loc["B", "ci_high"], "B and C swap places across resamples"
