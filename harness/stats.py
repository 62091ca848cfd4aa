"""Honest uncertainty: bootstrap CIs, paired comparisons, rank ranges, tie groups, win rates.

The bootstrap resamples seeds and samples together (a two-way, crossed bootstrap)
and applies the *same* resample to every entry, so differences between entries
are paired wherever they were scored on the same samples. A resample is a pair
of count vectors, so every entry's mean under every resample is two matrix
products: no Python loop over resamples.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

N_BOOT = 1000
LEVEL = 0.95


def resample_counts(rng: np.random.Generator, n_boot: int, n: int) -> np.ndarray:
    """(n_boot, n) multinomial counts: how often each of n units appears in each resample."""
    picks = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
    return np.bincount(picks.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)


def bootstrap_means(values: np.ndarray, rng: np.random.Generator, n_boot: int = N_BOOT) -> np.ndarray:
    """Bootstrap draws of each entry's mean; ``values`` is (entries, seeds, samples), NaN where missing.

    Returns (n_boot, entries). Seeds and samples are resampled with replacement,
    identically for all entries (paired). An entry with no value in a resample gets NaN.
    """
    n_entries, n_seeds, n_samples = values.shape
    present = np.isfinite(values)
    filled = np.where(present, values, 0.0).reshape(n_entries * n_seeds, n_samples)
    seed_counts = resample_counts(rng, n_boot, n_seeds)
    sample_counts = resample_counts(rng, n_boot, n_samples)
    sums = (filled @ sample_counts.T).reshape(n_entries, n_seeds, n_boot)
    counts = (present.reshape(n_entries * n_seeds, n_samples).astype(np.float64) @ sample_counts.T).reshape(
        n_entries, n_seeds, n_boot
    )
    total = np.einsum("esb,bs->be", sums, seed_counts)
    weight = np.einsum("esb,bs->be", counts, seed_counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / weight


def percentile_ci(draws: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of bootstrap draws along axis 0 (NaN where an entry has no draws)."""
    tail = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, as they should
        low, high = np.nanquantile(draws, [tail, 1 - tail], axis=0)
    return low, high


def significantly_better(draws: np.ndarray, higher_is_better: bool, level: float = LEVEL) -> np.ndarray:
    """better[i, j] is True when entry i beats entry j in at least (1 + level) / 2 of paired resamples.

    That is the paired percentile test: the two-sided ``level`` CI of the
    difference lies wholly on i's side of zero.
    """
    signed = draws if higher_is_better else -draws
    signed = np.where(np.isfinite(signed), signed, -np.inf)
    n_boot, n = signed.shape
    threshold = (1 + level) / 2
    better = np.zeros((n, n), dtype=bool)
    block = max(1, int(2e7 // max(1, n_boot * n)))
    for start in range(0, n, block):
        stop = min(n, start + block)
        wins = (signed[:, start:stop, None] > signed[:, None, :]).mean(axis=0)
        better[start:stop] = wins >= threshold
    np.fill_diagonal(better, False)
    return better


@dataclass
class Ranking:
    """Entries with their estimates, CIs, rank, rank range and tie group (1 = best group)."""

    entries: list[str]
    mean: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    rank_low: np.ndarray
    rank_high: np.ndarray
    tie_group: np.ndarray
    draws: np.ndarray

    @property
    def rank(self) -> np.ndarray:
        return self.rank_low

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "entry": self.entries,
                "mean": self.mean,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "rank": self.rank,
                "rank_low": self.rank_low,
                "rank_high": self.rank_high,
                "tie_group": self.tie_group,
            }
        )


def tie_groups(mean: np.ndarray, better: np.ndarray, higher_is_better: bool, entries: Sequence[str]) -> np.ndarray:
    """Walk entries from best to worst estimate; an entry joins the current group unless the
    group's leader is significantly better than it, in which case it leads a new group."""
    order = sorted(range(len(mean)), key=lambda i: (-mean[i] if higher_is_better else mean[i], entries[i]))
    groups = np.zeros(len(mean), dtype=np.int64)
    group, leader = 0, None
    for i in order:
        if leader is None or better[leader, i]:
            group, leader = group + 1, i
        groups[i] = group
    return groups


def rank(
    entries: Sequence[str], mean: np.ndarray, draws: np.ndarray, higher_is_better: bool, level: float = LEVEL
) -> Ranking:
    """Rank = 1 + number of entries significantly better; range = [that, n - number significantly worse]."""
    better = significantly_better(draws, higher_is_better, level)
    n = len(entries)
    rank_low = 1 + better.sum(axis=0)
    rank_high = n - better.sum(axis=1)
    low, high = percentile_ci(draws, level)
    return Ranking(
        list(entries),
        mean,
        low,
        high,
        rank_low,
        rank_high,
        tie_groups(mean, better, higher_is_better, entries),
        draws,
    )


def win_rate_draws(draws: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Per resample, the share of other entries each entry beats (ties count half)."""
    n = draws.shape[1]
    if n < 2:
        return np.full_like(draws, np.nan)
    signed = draws if higher_is_better else -draws
    signed = np.where(np.isfinite(signed), signed, -np.inf)
    return (rankdata(signed, axis=1, method="average") - 1) / (n - 1)


def mean_win_rate(rankings: dict[str, tuple[Ranking, bool]], level: float = LEVEL) -> pd.DataFrame:
    """Mean win rate of each entry over the suites it appears in, with a bootstrap CI.

    ``rankings`` maps suite name to (its ranking on the primary metric, higher_is_better);
    each suite's resamples are independent, so averaging draw by draw is a valid resample.
    """
    totals: dict[str, list[np.ndarray]] = {}
    points: dict[str, list[float]] = {}
    for ranking, higher in rankings.values():
        if len(ranking.entries) < 2:
            continue
        draws = win_rate_draws(ranking.draws, higher)
        point = win_rate_draws(ranking.mean[None, :], higher)[0]
        for j, entry in enumerate(ranking.entries):
            totals.setdefault(entry, []).append(draws[:, j])
            points.setdefault(entry, []).append(point[j])
    rows = []
    for entry in sorted(totals):
        stacked = np.mean(totals[entry], axis=0)[:, None]
        low, high = percentile_ci(stacked, level)
        rows.append(
            {
                "entry": entry,
                "win_rate": float(np.mean(points[entry])),
                "ci_low": float(low[0]),
                "ci_high": float(high[0]),
                "n_suites": len(totals[entry]),
            }
        )
    return pd.DataFrame(rows, columns=["entry", "win_rate", "ci_low", "ci_high", "n_suites"])
