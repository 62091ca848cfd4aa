"""Turn stored scores into a ranked leaderboard: per task and overall, with t intervals and rank sets.

Only one suite version and one profile are ranked together: numbers from
different versions or amounts of work are never mixed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness import stats
from harness.errors import UsageError, unknown_name
from harness.store import Store

OVERALL = "overall"
COLUMNS = [  # one row per entry and task (or folded condition, or 'overall'); every surface shows these
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
    "interval",
    "rank",
    "rank_low",
    "rank_high",
    "rank_set",
    "n_entries",
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
    kinds: dict[str, str]  # the kind of each side that can be ranked: model, method, or (model, method) entry
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
        "SELECT primary_metric, rank_by, model_kind, method_kind FROM suites WHERE suite = ? AND suite_version = ?",
        [suite, version],
    )
    metrics = store.metrics(suite)
    metrics = metrics[metrics["suite_version"] == version]
    primary, rank_by, model_kind, method_kind = meta.iloc[0]
    kinds = {"model": model_kind, "method": method_kind, "entry": " × ".join(k for k in (model_kind, method_kind) if k)}
    return SuiteSlice(suite, version, profile, str(primary), str(rank_by), kinds, metrics, cells, scores)


def headline_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows a board is ranked by: 'overall' where there are several tasks, else the only task's."""
    tasks = [t for t in table["task"].unique() if t != OVERALL]
    return table[table["task"] == (tasks[0] if len(tasks) == 1 else OVERALL)]


@dataclass
class RankedSlice:
    """One metric of a suite ranked: the board rows, the overall ranking, ranks over tasks, and what it resolves."""

    suite: str
    metric: str
    table: pd.DataFrame
    per_task: dict[str, stats.Ranking]
    overall: stats.Ranking | None
    over_tasks: stats.TaskRanks | None
    higher_is_better: bool
    kind: str
    # what each ranking was computed from, so a report can pair two entries on the same numbers: per task (and
    # 'overall' where there is an overall ranking), the seed values indexed by entry, one column per seed
    seed_values: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def headline(self) -> stats.Ranking | None:
        """What the suite is summarised by: the overall ranking, or its only task's."""
        if self.overall is not None or len(self.per_task) != 1:
            return self.overall
        return next(iter(self.per_task.values()))

    @property
    def excluded(self) -> list[str]:
        """Entries left out of the overall ranking because they lack results on some task."""
        if self.overall is None:
            return []
        scored = self.table.loc[self.table["mean"].notna(), "entry"]
        return sorted(set(scored) - set(self.overall.entries))

    @property
    def note(self) -> str:
        """What the headline ranking can and cannot tell apart, in words."""
        if self.headline is None:
            return "no entry has results on every task: nothing is ranked overall."
        return stats.resolution_note(self.headline)

    @property
    def notes(self) -> list[str]:
        """The note, and who is left out of the overall ranking and what adding them would change."""
        if not self.excluded:
            return [self.note]
        return [
            self.note,
            f"not ranked overall (missing a task): {', '.join(self.excluded)}. Adding their missing cells ranks "
            "them overall and changes every other entry's rank set.",
        ]


def _seed_table(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Seed values, indexed (task, entry) with one column per seed, and the count of values per (task, entry)."""
    grouped = rows.groupby(["task", "entry", "seed"], sort=True)["value"]
    by_seed = grouped.mean().unstack("seed")
    return by_seed, grouped.count().groupby(level=["task", "entry"]).sum()


def _ranking_frame(ranking: stats.Ranking, task: str, n_values: pd.Series) -> pd.DataFrame:
    frame = ranking.frame()
    frame.insert(0, "task", task)
    frame["n_entries"] = len(ranking.entries)
    frame["n_values"] = n_values.reindex(frame["entry"]).to_numpy()
    return frame


def overall_seed_values(
    per_task: Mapping[str, pd.DataFrame], tasks: Sequence[str], entries: Sequence[str]
) -> pd.DataFrame:
    """Seed by seed, each entry's mean over ``tasks`` of its seed values (entries × seeds): the overall row's data."""
    cube = np.stack([per_task[task].reindex(list(entries)).to_numpy() for task in tasks])
    index = pd.Index(list(entries), name="entry")
    return pd.DataFrame(cube.mean(axis=0), index=index, columns=per_task[tasks[0]].columns)


def rank_slice(
    part: SuiteSlice,
    metric: str | None = None,
    level: float = stats.LEVEL,
    by: str | None = None,
    rank_set: str = stats.DEFAULT_RANK_SET,
) -> RankedSlice:
    """Leaderboard rows (one per entry and task, plus task 'overall'), the overall ranking and ranks over tasks.

    Per task, each entry's seed values (the mean of a seed's samples) are ranked
    with :func:`harness.stats.rank`. Overall, an entry's seed value is the mean of
    its seed values over tasks, for the entries that have every task. ``by``
    overrides the suite's ``rank_by``.
    """
    side = by or part.rank_by
    part = part.ranked_by(side)
    metric = metric or part.primary_metric
    part.check_metric(metric)
    higher = part.higher_is_better(metric)
    by_seed, counts = _seed_table(part.scores[part.scores["metric"] == metric])
    tasks = list(by_seed.index.get_level_values("task").unique())

    frames, per_task, seed_values = [], {}, {}
    for task in tasks:
        table = seed_values[str(task)] = by_seed.loc[task]
        ranking = per_task[str(task)] = stats.rank(list(table.index), table.to_numpy(), higher, level, rank_set)
        frames.append(_ranking_frame(ranking, str(task), counts.loc[task]))

    overall, over_tasks = None, None
    common = sorted(set.intersection(*(set(r.entries) for r in per_task.values()))) if per_task else []
    if common and len(tasks) > 1:
        seed_values[OVERALL] = overall_seed_values(seed_values, [str(t) for t in tasks], common)
        overall = stats.rank(common, seed_values[OVERALL].to_numpy(), higher, level, rank_set)
        frames.append(_ranking_frame(overall, OVERALL, counts.groupby(level="entry").sum()))
        estimates = np.stack([r.mean[[r.entries.index(e) for e in common]] for r in per_task.values()])
        over_tasks = stats.ranks_over_tasks(common, estimates, higher, level)

    board = _with_failures(part, frames)
    board.insert(0, "metric", metric)
    board.insert(0, "profile", part.profile)
    board.insert(0, "suite_version", part.version)
    board.insert(0, "suite", part.suite)
    board["interval"] = stats.INTERVAL
    board["rank_set"] = rank_set
    return RankedSlice(
        part.suite, metric, board[COLUMNS], per_task, overall, over_tasks, higher, part.kinds[side], seed_values
    )


def _with_failures(part: SuiteSlice, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Add failed-cell counts and each entry's sides; entries that only failed still get a row.

    Each task's rows keep the ranking's order (best estimate first); failed-only rows come last.
    """
    cells = part.cells
    sides = cells.drop_duplicates("entry").set_index("entry")[["model", "method"]]
    failed = cells[cells["status"] != "ok"].groupby(["task", "entry"]).size().rename("failed_cells").reset_index()
    failed_total = failed.groupby("entry")["failed_cells"].sum().reset_index().assign(task=OVERALL)

    ranked_columns = [c for c in COLUMNS if c not in ("suite", "suite_version", "profile", "metric", "failed_cells")]
    board = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ranked_columns)
    board["_position"] = np.arange(len(board))
    board = board.merge(pd.concat([failed, failed_total], ignore_index=True), on=["task", "entry"], how="outer")
    for column in ("failed_cells", "n_seeds", "n_values", "n_entries"):
        board[column] = board[column].fillna(0).astype(int)
    board["model"] = board["entry"].map(sides["model"])
    board["method"] = board["entry"].map(sides["method"])
    board["_overall_last"] = board["task"] == OVERALL
    board = board.sort_values(["_overall_last", "task", "_position", "entry"], na_position="last")
    return board.reindex(columns=[c for c in COLUMNS if c not in ("suite", "suite_version", "profile", "metric")])


def leaderboard(
    store: Store,
    suite: str,
    metric: str | None = None,
    profile: str | None = None,
    by: str | None = None,
    rank_set: str = stats.DEFAULT_RANK_SET,
) -> pd.DataFrame:
    """The ranked leaderboard of one suite, straight from the store."""
    return rank_slice(load_slice(store, suite, profile), metric, by=by, rank_set=rank_set).table


CROSS_COLUMNS = ["kind", "entry", "win_rate", "ci_low", "ci_high", "n_suites", "suites"]
LEADER_COLUMNS = [
    "suite",
    "metric",
    "entry",
    "mean",
    "ci_low",
    "ci_high",
    "rank_low",
    "rank_high",
    "n_entries",
    "n_seeds",
    "note",
]


@dataclass
class CrossSuite:
    """Entries of one kind compared over the suites they share, and each suite's best estimate."""

    compared: pd.DataFrame  # CROSS_COLUMNS
    leaders: pd.DataFrame  # LEADER_COLUMNS


def cross_suite(
    store: Store, ranked: Mapping[str, RankedSlice] | None = None, level: float = stats.LEVEL
) -> CrossSuite:
    """Mean win rate of each entry that appears, as the same kind, in two or more suites.

    Each suite is ranked overall on its primary metric (``ranked`` holds those
    rankings where the caller has them already; then only its suites are compared,
    as the site compares only installed suites). The interval of the mean win rate
    comes from the suites' marginal rank sets at level 1 - alpha/m (m = suites
    compared, Bonferroni), so that all of them hold together.
    """
    if ranked is not None:
        names = sorted(ranked)
    else:
        names = [s for s in sorted(store.suites()["suite"].unique()) if not store.cells(s).empty]
        ranked = {name: rank_slice(load_slice(store, name)) for name in names}
    leaders = [_leader(ranked[name]) for name in names]
    appearances: dict[tuple[str, str], list[str]] = {}
    for name in names:
        headline = ranked[name].headline
        for entry in headline.entries if headline else []:
            appearances.setdefault((ranked[name].kind, entry), []).append(name)
    shared = {key: suites for key, suites in appearances.items() if len(suites) >= 2}
    rows = []
    if shared:
        involved = sorted({s for suites in shared.values() for s in suites})
        strict = 1 - (1 - level) / len(involved)
        strict_rankings = {s: rank_slice(load_slice(store, s), level=strict).headline for s in involved}
        means: dict[tuple[str, ...], pd.DataFrame] = {}
        for (kind, entry), suites in sorted(shared.items()):
            if tuple(suites) not in means:
                means[tuple(suites)] = stats.mean_win_rates([strict_rankings[s] for s in suites])
            win_rate, low, high = means[tuple(suites)].loc[entry, ["win_rate", "low", "high"]]
            rows.append(
                {
                    "kind": kind,
                    "entry": entry,
                    "win_rate": win_rate,
                    "ci_low": low,
                    "ci_high": high,
                    "n_suites": len(suites),
                    "suites": ", ".join(suites),
                }
            )
    compared = pd.DataFrame(rows, columns=CROSS_COLUMNS)
    compared = compared.sort_values(["win_rate", "entry"], ascending=[False, True], ignore_index=True)
    return CrossSuite(compared, pd.DataFrame(leaders, columns=LEADER_COLUMNS))


def _leader(result: RankedSlice) -> dict:
    """The suite's best estimate on its primary metric, with its interval and rank set."""
    rows = headline_rows(result.table)
    rows = rows[rows["mean"].notna()]
    if rows.empty:
        return {"suite": result.suite, "metric": result.metric, "note": result.note}
    best = rows.iloc[0]
    return {
        "suite": result.suite,
        "metric": result.metric,
        **{c: best[c] for c in ("entry", "mean", "ci_low", "ci_high", "rank_low", "rank_high", "n_entries", "n_seeds")},
        "note": result.note,
    }
