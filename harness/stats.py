"""Honest uncertainty with few seeds: seed-level t intervals, paired tests, rank confidence sets.

Every seed retrains or redraws whatever is random, so the seed is the unit of
replication; samples inside one seed share that seed's model and are correlated
through it. Everything here therefore works on *seed values*: an entry's mean
over one seed's samples (or the cell's scalar). A bootstrap over 3 seeds has 10
distinct resamples and cannot be calibrated; Student's t on seed values is exact
for normal seed values at any seed count and tends to the same answer as a
cluster bootstrap as seeds grow. Comparisons are paired on the seeds two entries
share, which removes whatever a seed does to both (the model it trained, the
samples it drew). Rank confidence sets follow Mogstad, Romano, Shaikh and
Wilhelm, "Inference for Ranks" (2024), with Holm's stepdown for the multiple
comparisons. :data:`PROCEDURE` says all of this in words; the site and the
README show it.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

LEVEL = 0.95
RANK_SETS = {
    "marginal": "each entry's rank set covers its true rank with 95% probability (Holm over its K-1 comparisons)",
    "simultaneous": "all entries' rank sets cover their true ranks together with 95% probability "
    "(Holm over all K(K-1)/2 pairs)",
}
DEFAULT_RANK_SET = "marginal"
INTERVAL = "95% t interval over seed values"
CD_DRAWS = 10_000

PROCEDURE: tuple[tuple[str, str], ...] = (
    (
        "Seed values",
        "Each seed retrains or redraws everything random, so seeds are the replicates. An entry's value at a seed "
        "is the mean of that seed's samples (or the cell's single value); samples are never treated as independent "
        "replicates, because they share the seed's model.",
    ),
    (
        "Estimate and interval",
        "The estimate is the mean of the seed values; its interval is Student's t on them "
        f"(n seeds, n-1 degrees of freedom): {INTERVAL}. One seed gives no interval.",
    ),
    (
        "Comparisons",
        "Two entries are compared by a paired t-test on their differences at the seeds both have, so whatever a "
        "seed does to both cancels. The p-values of a family of comparisons are adjusted with Holm's stepdown.",
    ),
    (
        "Rank and rank set",
        "The rank set of an entry runs from 1 + the number of entries significantly better to K - the number "
        "significantly worse (Mogstad et al., Inference for Ranks). Marginal sets (the default): "
        + RANK_SETS["marginal"]
        + "; simultaneous: "
        + RANK_SETS["simultaneous"]
        + ". The rank shown is the set's lower end, widened where needed so that no entry is ranked above one with "
        "a better estimate; rows are ordered by estimate.",
    ),
    (
        "Resolution",
        "Each board states the smallest difference it can resolve: the median over pairs of the 95% margin of "
        "the paired difference. With 3 seeds that margin is 4.3 standard errors of the seed-level difference "
        "(t with 2 degrees of freedom), so only large and consistent differences separate entries; "
        "overlapping rank sets mean 'not resolved', never 'equal'.",
    ),
    (
        "Across tasks",
        "The overall value of an entry is, seed by seed, the mean over tasks of its seed values, then the same "
        "t interval, tests and rank sets. Only entries with results on every task are ranked overall. "
        "Ranks over tasks: each task ranks entries by estimate, mean ranks are compared with Friedman's test "
        "and an exact critical difference (the 95% quantile of the largest mean-rank gap when every task's "
        "ranking is a random permutation), drawn as a critical-difference diagram.",
    ),
    (
        "Across suites",
        "Only entries of the same kind that appear in two or more suites are compared. An entry's win rate in a "
        "suite is the share of the other entries it beats on the primary metric; its interval comes from the "
        "suite's rank set at level 1 - 0.05/m for m suites (Bonferroni), so the mean over suites holds together. "
        "Adding an entry to a suite changes the others' win rates and widens every rank set.",
    ),
)


def t_interval(values: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, ...]:
    """Per row of (entries, seeds): mean, t interval low and high, seed count; NaN interval below 2 seeds."""
    present = np.isfinite(values)
    n = present.sum(axis=1)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=1)
        half = scipy_stats.t.ppf((1 + level) / 2, n - 1) * np.nanstd(values, axis=1, ddof=1) / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return mean, mean - half, mean + half, n


def paired_tests(values: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paired t-tests of every pair of rows on their common seeds.

    Returns (diff, pvalue, margin), each (K, K): diff[i, j] is the mean of i - j
    over common seeds, margin its 95% half-width. Pairs with fewer than two common
    seeds get p = NaN (not tested); a difference with no spread gets p = 0 (or 1
    when it is exactly zero).
    """
    d = values[:, None, :] - values[None, :, :]
    common = np.isfinite(d)
    n = common.sum(axis=2)
    filled = np.where(common, d, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = filled.sum(axis=2) / n
        spread = np.sqrt(np.where(common, (d - diff[:, :, None]) ** 2, 0.0).sum(axis=2) / (n - 1))
        se = spread / np.sqrt(n)
        t = np.abs(diff) / se
        pvalue = 2 * scipy_stats.t.sf(t, n - 1)
        margin = scipy_stats.t.ppf((1 + level) / 2, n - 1) * se
    pvalue = np.where(se == 0, np.where(diff == 0, 1.0, 0.0), pvalue)
    pvalue = np.where(n >= 2, pvalue, np.nan)
    np.fill_diagonal(pvalue, np.nan)
    return diff, pvalue, np.where(n >= 2, margin, np.nan)


@dataclass(frozen=True)
class Difference:
    """A paired difference first - second: its mean over common seeds, 95% t interval, seed count and p-value."""

    mean: float
    low: float
    high: float
    n_seeds: int
    pvalue: float

    @property
    def excludes_zero(self) -> bool:
        """The interval lies on one side of 0 (False when there is no interval)."""
        return bool(self.low > 0 or self.high < 0)

    @property
    def identical(self) -> bool:
        """Equal at every common seed: no difference and no spread."""
        return self.n_seeds > 0 and self.low == self.high == self.mean == 0

    def swapped(self) -> Difference:
        """The same comparison the other way round: second - first."""
        return Difference(-self.mean, -self.high, -self.low, self.n_seeds, self.pvalue)


def paired_difference(first: np.ndarray, second: np.ndarray, level: float = LEVEL) -> Difference:
    """One pair's paired t-test, as the leaderboard tests every pair: the (first, second) entry of
    :func:`paired_tests` on the two rows of seed values (NaN where a seed is missing)."""
    values = np.vstack([first, second]).astype(np.float64)
    diff, pvalue, margin = paired_tests(values, level)
    mean, half = float(diff[0, 1]), float(margin[0, 1])
    return Difference(mean, mean - half, mean + half, int(np.isfinite(values).all(axis=0).sum()), float(pvalue[0, 1]))


def holm(pvalues: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """Holm's stepdown along the last axis: which hypotheses are rejected. NaN p-values are not hypotheses."""
    p = np.where(np.isnan(pvalues), np.inf, pvalues)
    order = np.argsort(p, axis=-1, kind="stable")
    ordered = np.take_along_axis(p, order, axis=-1)
    tested = np.isfinite(ordered).sum(axis=-1, keepdims=True)
    thresholds = (1 - level) / np.maximum(tested - np.arange(p.shape[-1]), 1)
    passed = np.logical_and.accumulate((ordered <= thresholds) & np.isfinite(ordered), axis=-1)
    reject = np.empty_like(passed)
    np.put_along_axis(reject, order, passed, axis=-1)
    return reject


def significant(pvalues: np.ndarray, rank_set: str = DEFAULT_RANK_SET, level: float = LEVEL) -> np.ndarray:
    """reject[j, k]: j and k differ, decided within j's family (marginal) or within all pairs (simultaneous)."""
    if rank_set == "marginal":
        return holm(pvalues, level)
    if rank_set != "simultaneous":
        raise ValueError(f"rank_set must be one of {sorted(RANK_SETS)}, not {rank_set!r}")
    upper = np.triu_indices(len(pvalues), k=1)
    reject = np.zeros(pvalues.shape, dtype=bool)
    reject[upper] = holm(pvalues[upper], level)
    return reject | reject.T


def estimate_order(mean: np.ndarray, higher_is_better: bool, entries: Sequence[str]) -> np.ndarray:
    """Positions from best to worst estimate (ties by name): the one order every surface shows."""
    signed = np.where(np.isfinite(mean), mean if higher_is_better else -mean, -np.inf)
    return np.array(sorted(range(len(mean)), key=lambda i: (-signed[i], entries[i])), dtype=np.int64)


def rank_sets(
    diff: np.ndarray, reject: np.ndarray, order: np.ndarray, higher_is_better: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Rank confidence sets [low, high] from the decisions, made monotone in the estimate order.

    low = 1 + number significantly better, high = K - number significantly worse;
    then, walking from best to worst estimate, low never falls and high never
    falls, by *widening* (lowering a low, raising a high), which keeps coverage.
    """
    signed = diff if higher_is_better else -diff
    n = len(diff)
    low = 1 + (reject & (signed < 0)).sum(axis=1)
    high = n - (reject & (signed > 0)).sum(axis=1)
    low_sorted = np.minimum.accumulate(low[order][::-1])[::-1]
    high_sorted = np.maximum.accumulate(high[order])
    low, high = low.copy(), high.copy()
    low[order], high[order] = low_sorted, high_sorted
    return low, high


@dataclass
class Ranking:
    """Entries with estimates, t intervals, rank sets and what the comparisons resolved."""

    entries: list[str]
    mean: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n_seeds: np.ndarray
    rank_low: np.ndarray
    rank_high: np.ndarray
    pvalues: np.ndarray
    resolution: float  # the median pair's 95% margin; NaN when nothing can be compared
    resolved_pairs: int  # pairs told apart by the rank sets' decisions
    rank_set: str
    higher_is_better: bool

    @property
    def rank(self) -> np.ndarray:
        return self.rank_low

    @property
    def order(self) -> np.ndarray:
        return estimate_order(self.mean, self.higher_is_better, self.entries)

    def frame(self) -> pd.DataFrame:
        """One row per entry, best estimate first."""
        frame = pd.DataFrame(
            {
                "entry": self.entries,
                "mean": self.mean,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "rank": self.rank,
                "rank_low": self.rank_low,
                "rank_high": self.rank_high,
                "rank_set": self.rank_set,
                "n_seeds": self.n_seeds,
            }
        )
        return frame.iloc[self.order].reset_index(drop=True)


def rank(
    entries: Sequence[str],
    values: np.ndarray,
    higher_is_better: bool,
    level: float = LEVEL,
    rank_set: str = DEFAULT_RANK_SET,
) -> Ranking:
    """Rank entries from their (entries, seeds) seed values, NaN where an entry lacks a seed."""
    values = np.asarray(values, dtype=np.float64)
    mean, low, high, n = t_interval(values, level)
    diff, pvalues, margin = paired_tests(values, level)
    order = estimate_order(mean, higher_is_better, entries)
    reject = significant(pvalues, rank_set, level)
    rank_low, rank_high = rank_sets(diff, reject, order, higher_is_better)
    upper = np.triu_indices(len(entries), k=1)
    pairs = margin[upper]
    resolution = float(np.median(pairs[np.isfinite(pairs)])) if np.isfinite(pairs).any() else float("nan")
    resolved = int((reject | reject.T)[upper].sum())
    return Ranking(
        list(entries),
        mean,
        low,
        high,
        n,
        rank_low,
        rank_high,
        pvalues,
        resolution,
        resolved,
        rank_set,
        higher_is_better,
    )


def resolution_note(ranking: Ranking) -> str:
    """What a ranking can and cannot tell apart, in words."""
    n_seeds, n_entries = int(ranking.n_seeds.max(initial=0)), len(ranking.entries)
    seeds = f"{n_seeds} seed{'s' if n_seeds != 1 else ''}"
    if n_entries < 2:
        return f"{seeds}: only one entry, nothing to compare."
    if n_seeds < 2 or not np.isfinite(ranking.resolution):
        return f"{seeds}: no interval and no comparison is possible; nothing is resolved. Run at least 3 seeds."
    pairs = n_entries * (n_entries - 1) // 2
    return (
        f"{seeds}: differences smaller than about {ranking.resolution:.3g} (the typical pair's 95% margin) "
        f"are not resolved; {ranking.resolved_pairs} of {pairs} pairs are."
    )


def win_rates(ranking: Ranking) -> pd.DataFrame:
    """Each entry's share of the other entries it beats: by estimate (ties half) and from its rank set."""
    n = len(ranking.entries)
    signed = ranking.mean if ranking.higher_is_better else -ranking.mean
    point = (scipy_stats.rankdata(signed) - 1) / (n - 1)
    return pd.DataFrame(
        {
            "entry": ranking.entries,
            "win_rate": point,
            "low": (n - ranking.rank_high) / (n - 1),
            "high": (n - ranking.rank_low) / (n - 1),
        }
    )


def mean_win_rates(rankings: Sequence[Ranking]) -> pd.DataFrame:
    """Win rates averaged over suites' rankings, with bounds from their rank sets, for the entries in all of them.

    Indexed by entry, columns win_rate, low, high. When each ranking was made at
    level 1 - alpha/m for m rankings, all rank sets hold together with probability
    1 - alpha (Bonferroni), and so do the means' intervals.
    """
    tables = [win_rates(ranking).set_index("entry") for ranking in rankings]
    common = sorted(set.intersection(*(set(table.index) for table in tables)))
    return sum(table.loc[common] for table in tables) / len(tables)


@dataclass
class TaskRanks:
    """Mean rank of each entry over tasks, Friedman's test, and the exact critical difference."""

    entries: list[str]
    mean_rank: np.ndarray  # 1 = best
    n_tasks: int
    statistic: float
    pvalue: float
    critical_difference: float
    level: float

    def different(self) -> np.ndarray:
        """different[i, j]: the mean ranks of i and j differ by more than the critical difference."""
        return np.abs(self.mean_rank[:, None] - self.mean_rank[None, :]) > self.critical_difference


def task_ranks(estimates: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """(tasks, entries) estimates → ranks within each task (1 = best, ties share the mean rank)."""
    signed = estimates if higher_is_better else -estimates
    return scipy_stats.rankdata(-signed, axis=1)


@functools.lru_cache(maxsize=256)
def critical_difference(n_tasks: int, n_entries: int, level: float = LEVEL, draws: int = CD_DRAWS) -> float:
    """The ``level`` quantile of the largest gap between mean ranks when every task ranks at random.

    That is the exact null distribution behind Nemenyi's test (which uses its
    large-sample limit), drawn by Monte Carlo with a fixed seed, so it holds with
    few tasks.
    """
    rng = np.random.default_rng(0)
    spans = []
    for start in range(0, draws, 1000):
        size = min(1000, draws - start)
        ranks = rng.random((size, n_tasks, n_entries)).argsort(axis=2).argsort(axis=2).mean(axis=1)
        spans.append(ranks.max(axis=1) - ranks.min(axis=1))
    return float(np.quantile(np.concatenate(spans), level, method="higher"))


def ranks_over_tasks(
    entries: Sequence[str], estimates: np.ndarray, higher_is_better: bool, level: float = LEVEL
) -> TaskRanks | None:
    """Friedman / critical-difference analysis of (tasks, entries) estimates; None below 2 tasks or 2 entries."""
    n_tasks, n_entries = estimates.shape
    if n_tasks < 2 or n_entries < 2:
        return None
    ranks = task_ranks(estimates, higher_is_better)
    statistic, pvalue = float("nan"), float("nan")
    if n_entries >= 3 and not (ranks == ranks[:, :1]).all():  # Friedman is undefined when every task ties all
        statistic, pvalue = (float(v) for v in scipy_stats.friedmanchisquare(*ranks.T))
    cd = critical_difference(n_tasks, n_entries, level)
    return TaskRanks(list(entries), ranks.mean(axis=0), n_tasks, statistic, pvalue, cd, level)
