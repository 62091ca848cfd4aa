"""Turn stored scores into a ranked leaderboard: per task and overall, with CIs and rank ranges.

Only one suite version and one profile are ranked together: numbers from
different versions or amounts of work are never mixed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness import stats
from harness.errors import UsageError, unknown_name
from harness.store import Store

OVERALL = "overall"
COLUMNS = [  # one row per entry and task (or folded condition, or 'overall')
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


@dataclass
class SuiteSlice:
    """The stored cells and scores of one suite at one version and profile."""

    suite: str
    version: str
    profile: str
    primary_metric: str
    rank_by: str
    metrics: pd.DataFrame
    cells: pd.DataFrame
    scores: pd.DataFrame

    def ranked_by(self, side: str) -> SuiteSlice:
        """The same slice with ``side`` ('model' or 'method') as the entry and the other side
        folded into the task, so each entry is averaged over every (task, other side) condition."""
        if side == "entry":
            return self
        other = "method" if side == "model" else "model"

        def fold(frame: pd.DataFrame) -> pd.DataFrame:
            condition = frame["task"].where(frame[other] == "", frame["task"] + " · " + frame[other])
            return frame.assign(entry=frame[side], task=condition, **{other: ""})

        return dataclasses.replace(self, rank_by=side, cells=fold(self.cells), scores=fold(self.scores))

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
        known = store.query("SELECT DISTINCT suite FROM cells")["suite"].tolist()
        if suite in set(store.suites()["suite"]):
            raise UsageError(f"suite {suite!r} has no stored cells yet; run `reliabench run --suite {suite}`")
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
    meta = store.query(
        "SELECT primary_metric, rank_by FROM suites WHERE suite = ? AND suite_version = ?", [suite, version]
    )
    metrics = store.metrics(suite)
    metrics = metrics[metrics["suite_version"] == version]
    primary, rank_by = meta.iloc[0]
    return SuiteSlice(suite, version, profile, str(primary), str(rank_by), metrics, cells, scores)


def _task_cube(entry_codes: np.ndarray, seeds: np.ndarray, samples: np.ndarray, values: np.ndarray):
    """(entry positions present, array[entry, seed, sample]) for one task, NaN where a value is missing."""
    present, entry_pos = np.unique(entry_codes, return_inverse=True)
    _, seed_pos = np.unique(seeds, return_inverse=True)
    _, sample_pos = np.unique(samples, return_inverse=True)
    cube = np.full((len(present), seed_pos.max() + 1, sample_pos.max() + 1), np.nan)
    cube[entry_pos, seed_pos, sample_pos] = values
    return present, cube


def _ranking_frame(ranking: stats.Ranking, task: str, cube_counts: tuple[np.ndarray, np.ndarray]) -> pd.DataFrame:
    frame = ranking.frame()
    frame.insert(0, "task", task)
    frame["n_seeds"], frame["n_values"] = cube_counts
    return frame


def rank_slice(
    part: SuiteSlice,
    metric: str | None = None,
    n_boot: int = stats.N_BOOT,
    seed: int = 0,
    level: float = stats.LEVEL,
    by: str | None = None,
) -> tuple[pd.DataFrame, stats.Ranking | None]:
    """Leaderboard rows (one per entry and task, plus task 'overall') and the overall ranking.

    The overall estimate of an entry is the mean of its per-task means, over the
    entries that have results on every task; its resamples are the per-task
    resamples averaged draw by draw. ``by`` overrides the suite's ``rank_by``.
    """
    part = part.ranked_by(by or part.rank_by)
    metric = metric or part.primary_metric
    part.check_metric(metric)
    higher = part.higher_is_better(metric)
    rng = np.random.default_rng(seed)
    rows = part.scores[part.scores["metric"] == metric]
    task_codes, tasks = pd.factorize(rows["task"], sort=True)
    entry_codes, entries = pd.factorize(rows["entry"], sort=True)
    seeds = rows["seed"].to_numpy()
    samples = rows["sample"].fillna(-1).to_numpy()
    values = rows["value"].to_numpy(dtype=np.float64)

    frames, per_task = [], []
    for t, task in enumerate(tasks):
        sel = task_codes == t
        present, cube = _task_cube(entry_codes[sel], seeds[sel], samples[sel], values[sel])
        found = np.isfinite(cube)
        with np.errstate(invalid="ignore"):
            mean = np.nansum(cube, axis=(1, 2)) / found.sum(axis=(1, 2))
        ranking = stats.rank(
            [entries[i] for i in present], mean, stats.bootstrap_means(cube, rng, n_boot), higher, level
        )
        per_task.append(ranking)
        frames.append(_ranking_frame(ranking, str(task), (found.any(axis=2).sum(axis=1), found.sum(axis=(1, 2)))))

    overall = None
    common = sorted(set.intersection(*(set(r.entries) for r in per_task))) if per_task else []
    if common:
        picks = [[r.entries.index(e) for e in common] for r in per_task]
        draws = np.mean([r.draws[:, p] for r, p in zip(per_task, picks, strict=True)], axis=0)
        mean = np.mean([r.mean[p] for r, p in zip(per_task, picks, strict=True)], axis=0)
        overall = stats.rank(common, mean, draws, higher, level)
        task_frames = pd.concat(frames)
        totals = task_frames.groupby("entry").agg(n_seeds=("n_seeds", "max"), n_values=("n_values", "sum"))
        totals = totals.reindex(common)
        frames.append(_ranking_frame(overall, OVERALL, (totals["n_seeds"].to_numpy(), totals["n_values"].to_numpy())))

    board = _with_failures(part, frames, higher)
    board.insert(0, "metric", metric)
    board.insert(0, "profile", part.profile)
    board.insert(0, "suite_version", part.version)
    board.insert(0, "suite", part.suite)
    return board[COLUMNS], overall


def _with_failures(part: SuiteSlice, frames: list[pd.DataFrame], higher: bool) -> pd.DataFrame:
    """Add failed-cell counts and each entry's sides; entries that only failed still get a row."""
    cells = part.cells
    sides = cells.drop_duplicates("entry").set_index("entry")[["model", "method"]]
    failed = cells[cells["status"] != "ok"].groupby(["task", "entry"]).size().rename("failed_cells").reset_index()
    failed_total = failed.groupby("entry")["failed_cells"].sum().reset_index().assign(task=OVERALL)

    board = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["task", "entry"])
    board = board.merge(pd.concat([failed, failed_total], ignore_index=True), on=["task", "entry"], how="outer")
    for column in ("failed_cells", "n_seeds", "n_values"):
        board[column] = board[column].fillna(0).astype(int)
    board["model"] = board["entry"].map(sides["model"])
    board["method"] = board["entry"].map(sides["method"])
    board = board.reindex(columns=[c for c in COLUMNS if c not in ("suite", "suite_version", "profile", "metric")])
    order = board.assign(_overall_last=board["task"] == OVERALL, _best=-board["mean"] if higher else board["mean"])
    order = order.sort_values(["_overall_last", "task", "rank", "_best", "entry"], na_position="last")
    return board.loc[order.index].reset_index(drop=True)


def leaderboard(
    store: Store,
    suite: str,
    metric: str | None = None,
    profile: str | None = None,
    n_boot: int = stats.N_BOOT,
    by: str | None = None,
) -> pd.DataFrame:
    """The ranked leaderboard of one suite, straight from the store."""
    board, _ = rank_slice(load_slice(store, suite, profile), metric, n_boot, by=by)
    return board


def cross_suite(store: Store, n_boot: int = stats.N_BOOT) -> pd.DataFrame:
    """Mean win rate of every entry over the suites it appears in (each suite ranked on its primary metric)."""
    rankings = {}
    for suite in sorted(store.suites()["suite"].unique()):
        part = load_slice(store, suite)
        _, overall = rank_slice(part, n_boot=n_boot)
        if overall is not None:
            rankings[suite] = (overall, part.higher_is_better(part.primary_metric))
    return stats.mean_win_rate(rankings).sort_values(["win_rate", "entry"], ascending=[False, True], ignore_index=True)
