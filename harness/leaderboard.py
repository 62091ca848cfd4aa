"""Turn stored scores into a ranked leaderboard: per task and overall, with CIs and rank ranges.

Only one suite version and one profile are ranked together: numbers from
different versions or amounts of work are never mixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness import stats
from harness.errors import UsageError, unknown_name
from harness.store import Store

OVERALL = "overall"
COLUMNS = [
    "suite",
    "suite_version",
    "profile",
    "metric",
    "task",
    "entry",
    "model",
    "method",
    "mean",
    "ci_low",
    "ci_high",
    "rank",
    "rank_low",
    "rank_high",
    "tie_group",
    "n_seeds",
    "n_values",
    "failed_cells",
]


def entry_label(model: str, method: str) -> str:
    """How an entry is named across the project: 'model/method', or the one side it has."""
    return "/".join(part for part in (model, method) if part)


@dataclass
class SuiteSlice:
    """The stored cells and scores of one suite at one version and profile."""

    suite: str
    version: str
    profile: str
    primary_metric: str
    metrics: pd.DataFrame
    cells: pd.DataFrame
    scores: pd.DataFrame

    def higher_is_better(self, metric: str) -> bool:
        return bool(self.metrics.set_index("metric").loc[metric, "higher_is_better"])

    def check_metric(self, metric: str) -> None:
        rankable = self.metrics[self.metrics["shape"].isin(["scalar", "sample"])]["metric"].tolist()
        if metric not in rankable:
            raise UsageError(unknown_name(f"rankable metric of suite {self.suite!r}", metric, rankable))


def load_slice(store: Store, suite: str, profile: str | None = None, version: str | None = None) -> SuiteSlice:
    """Pick the suite's newest stored version and (unless given) its fullest profile with results."""
    cells = store.cells(suite)
    if cells.empty:
        known = store.suites()["suite"].unique().tolist()
        raise UsageError(unknown_name("suite with stored results", suite, known))
    if version is None:
        version = str(cells.sort_values("finished_at")["suite_version"].iloc[-1])
    cells = cells[cells["suite_version"] == version]
    profiles = set(cells["profile"])
    if profile is None:
        with_ok = set(cells.loc[cells["status"] == "ok", "profile"]) or profiles
        profile = "full" if "full" in with_ok else sorted(with_ok)[0]
    elif profile not in profiles:
        raise UsageError(
            f"suite {suite!r} {version} has no results for profile {profile!r}; stored: {sorted(profiles)}"
        )
    cells = cells[cells["profile"] == profile]
    scores = store.results(suite)
    scores = scores[(scores["suite_version"] == version) & (scores["profile"] == profile)]
    meta = store.query("SELECT primary_metric FROM suites WHERE suite = ? AND suite_version = ?", [suite, version])
    metrics = store.metrics(suite)
    metrics = metrics[metrics["suite_version"] == version]
    return SuiteSlice(suite, version, profile, str(meta["primary_metric"].iloc[0]), metrics, cells, scores)


def _value_cube(rows: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """(entries, array[entry, seed, sample]) with NaN where an entry lacks a value."""
    entry_codes, entries = pd.factorize(rows["entry"], sort=True)
    seed_codes, seeds = pd.factorize(rows["seed"], sort=True)
    sample_codes, samples = pd.factorize(rows["sample"].fillna(-1), sort=True)
    cube = np.full((len(entries), len(seeds), len(samples)), np.nan)
    cube[entry_codes, seed_codes, sample_codes] = rows["value"].to_numpy(dtype=np.float64)
    return list(entries), cube


def _ranking_frame(ranking: stats.Ranking, task: str) -> pd.DataFrame:
    frame = ranking.frame()
    frame.insert(0, "task", task)
    return frame


def rank_slice(
    part: SuiteSlice, metric: str | None = None, n_boot: int = stats.N_BOOT, seed: int = 0, level: float = stats.LEVEL
) -> tuple[pd.DataFrame, stats.Ranking | None]:
    """Leaderboard rows (one per entry and task, plus task 'overall') and the overall ranking.

    The overall estimate of an entry is the mean of its per-task means, over the
    entries that have results on every task; its resamples are the per-task
    resamples averaged draw by draw.
    """
    metric = metric or part.primary_metric
    part.check_metric(metric)
    higher = part.higher_is_better(metric)
    rng = np.random.default_rng(seed)
    rows = part.scores[part.scores["metric"] == metric].assign(
        entry=lambda d: [entry_label(m, x) for m, x in zip(d["model"], d["method"], strict=True)]
    )
    frames, per_task = [], {}
    counts = []
    for task, task_rows in rows.groupby("task", sort=True):
        entries, cube = _value_cube(task_rows)
        draws = stats.bootstrap_means(cube, rng, n_boot)
        with np.errstate(invalid="ignore"):
            mean = np.nansum(cube, axis=(1, 2)) / np.isfinite(cube).sum(axis=(1, 2))
        ranking = stats.rank(entries, mean, draws, higher, level)
        per_task[task] = ranking
        frames.append(_ranking_frame(ranking, str(task)))
        counts.append(
            task_rows.groupby("entry").agg(n_seeds=("seed", "nunique"), n_values=("value", "size")).assign(task=task)
        )

    overall = None
    if per_task:
        common = sorted(set.intersection(*(set(r.entries) for r in per_task.values())))
        if common:
            picks = [[r.entries.index(e) for e in common] for r in per_task.values()]
            draws = np.mean([r.draws[:, p] for r, p in zip(per_task.values(), picks, strict=True)], axis=0)
            mean = np.mean([r.mean[p] for r, p in zip(per_task.values(), picks, strict=True)], axis=0)
            overall = stats.rank(common, mean, draws, higher, level)
            frames.append(_ranking_frame(overall, OVERALL))
            counts.append(
                rows[rows["entry"].isin(common)]
                .groupby("entry")
                .agg(n_seeds=("seed", "nunique"), n_values=("value", "size"))
                .assign(task=OVERALL)
            )

    board = _with_failures(part, frames, counts)
    board.insert(0, "metric", metric)
    board.insert(0, "profile", part.profile)
    board.insert(0, "suite_version", part.version)
    board.insert(0, "suite", part.suite)
    return board[COLUMNS], overall


def _with_failures(part: SuiteSlice, frames: list[pd.DataFrame], counts: list[pd.DataFrame]) -> pd.DataFrame:
    """Join sample counts and failed-cell counts; entries that only failed still get a row."""
    cells = part.cells.assign(
        entry=[entry_label(m, x) for m, x in zip(part.cells["model"], part.cells["method"], strict=True)]
    )
    sides = cells.drop_duplicates("entry").set_index("entry")[["model", "method"]]
    failed = cells[cells["status"] != "ok"].groupby(["task", "entry"]).size().rename("failed_cells").reset_index()
    failed_total = failed.groupby("entry")["failed_cells"].sum().reset_index().assign(task=OVERALL)

    board = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["task", "entry"])
    if counts:
        board = board.merge(pd.concat(counts).reset_index(), on=["task", "entry"], how="left")
    failed_all = pd.concat([failed, failed_total], ignore_index=True)
    board = board.merge(failed_all, on=["task", "entry"], how="outer")
    board["failed_cells"] = board["failed_cells"].fillna(0).astype(int)
    for column in ("n_seeds", "n_values"):
        board[column] = board.get(column, pd.Series(dtype=float)).fillna(0).astype(int)
    board["model"] = board["entry"].map(sides["model"])
    board["method"] = board["entry"].map(sides["method"])
    board = board.reindex(columns=[c for c in COLUMNS if c not in ("suite", "suite_version", "profile", "metric")])
    board["_overall_last"] = board["task"] == OVERALL
    board = board.sort_values(["_overall_last", "task", "rank", "mean", "entry"], na_position="last")
    return board.drop(columns="_overall_last").reset_index(drop=True)


def leaderboard(
    store: Store, suite: str, metric: str | None = None, profile: str | None = None, n_boot: int = stats.N_BOOT
) -> pd.DataFrame:
    """The ranked leaderboard of one suite, straight from the store."""
    board, _ = rank_slice(load_slice(store, suite, profile), metric, n_boot)
    return board
