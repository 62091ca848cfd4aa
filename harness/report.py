"""Comparison reports: named entries side by side on the suites they share, or results against a baseline database.

A report adds no statistics of its own. Estimates, intervals and rank sets are the leaderboard's rows
(:func:`harness.leaderboard.rank_slice`); a difference is
:func:`harness.stats.paired_difference` on the very seed values the leaderboard
ranked, paired over the seeds both sides have, per task and over tasks; and a
verdict is decided with Holm's stepdown over the suite's verdicts, so naming
more entries never makes a difference easier to declare. Holm runs over the named
pairs only, where rank sets correct over every entry: with two entries a verdict can
call a difference resolved whose rank sets still overlap. Everything here is
plain data; :mod:`harness.publish.report` lays it out as HTML or Markdown.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness import leaderboard as boards
from harness import stats
from harness.errors import UsageError, unknown_name
from harness.publish.content import Value, provenance
from harness.store import Store

SIDES = ("entry", "model", "method")
SIDE_WORDS = {  # what a suite's entries are, by the side they are ranked by
    "entry": "entries as the suite ranks them",
    "model": "models, each over every task and method (a condition is a task · method)",
    "method": "methods, each over every task and model (a condition is a task · model)",
}


def number(value: float) -> str:
    """A number as every surface shows it: 4 significant digits, a dash for none."""
    return "—" if value is None or pd.isna(value) else f"{value:.4g}"


@dataclass
class Estimate:
    """One entry's leaderboard row on one metric and condition: its estimate and interval, and its rank set."""

    value: Value
    rank_low: int | None
    rank_high: int | None
    n_entries: int
    n_seeds: int

    @property
    def rank_set(self) -> str:
        return "" if self.rank_low is None else f"rank {self.rank_low}–{self.rank_high} of {self.n_entries}"


@dataclass
class Comparison:
    """A paired difference on one metric and condition (first − second, or new − old) and the seeds it pairs."""

    metric: str
    condition: str
    difference: stats.Difference
    seeds: list[int]


@dataclass
class Verdict:
    """What one comparison on the primary metric resolves, in words.

    Between two entries, ``first`` is the one the paired difference favours and the difference is first − second;
    against a baseline, ``first`` is the entry and the difference is new − old (``second`` is '').
    """

    metric: str
    condition: str
    higher_is_better: bool
    first: str
    second: str
    comparison: Comparison | None  # None: no comparison over tasks (an entry lacks a task)
    resolved: bool
    family: int  # comparisons decided together by Holm's stepdown

    def sentence(self, name: Callable[[str], str] = str) -> str:
        """The verdict line; ``name`` shows each name (a code span in Markdown, as it is elsewhere)."""
        first, second, metric = name(self.first), name(self.second), name(self.metric)
        where = f"{metric} ({name(self.condition)}, {'higher' if self.higher_is_better else 'lower'} is better)"
        subject = f"{first} and {second}" if self.second else f"{first}: new and old"
        if self.comparison is None:
            return (
                f"{subject} are not compared over tasks: not both have results on every task; "
                "the per-task rows compare them where both have results."
            )
        d, n = self.comparison.difference, self.comparison.difference.n_seeds
        if n < 2:
            shared = "share no seed" if n == 0 else "share 1 seed, so there is no interval"
            return f"{subject} {shared} on {metric}: nothing is resolved. Run at least 3 seeds of both."
        seeds = f"over {n} shared seeds"
        if d.identical:
            return f"{subject} are identical on {where} at every one of the {n} shared seeds."
        if self.second:
            interval = f"difference {first} − {second} = {d.mean:+.4g} [{number(d.low)}, {number(d.high)}] {seeds}"
            claim = f"{first} is better than {second} on {where}" if self.resolved else None
            doubt = f"{first}'s estimate is better than {second}'s on {where}"
        else:
            interval = f"new − old = {d.mean:+.4g} [{number(d.low)}, {number(d.high)}] {seeds}"
            better = (d.mean > 0) == self.higher_is_better
            claim = f"{first} changed for the {'better' if better else 'worse'} on {where}" if self.resolved else None
            doubt = f"{first}: no change resolved on {where}"
        if claim:
            holm = f" (Holm over the {self.family} comparisons in this suite)" if self.family > 1 else ""
            return f"{claim}: {interval}, resolved at 95%{holm}."
        if d.excludes_zero:
            reason = f"the interval excludes 0, but not after Holm's adjustment for the {self.family} comparisons"
        else:
            margin = (d.high - d.low) / 2
            reason = (
                f"the interval includes 0; with {n} seeds, differences smaller than about {margin:.2g} "
                "cannot be resolved"
            )
        return f"{doubt}: {interval}, not resolved at 95% ({reason})."


@dataclass
class EntryProvenance:
    """Where one entry's numbers in a suite came from: each side's plugins and versions, its cells and runs."""

    entry: str
    sides: list[dict[str, str]]  # side, name, plugin, version, seeds, run_date, git_sha
    ok: int
    failed: int
    runs: list[str]
    cells: pd.DataFrame  # task, model, method, seed, status, key, run_id


@dataclass
class SuiteComparison:
    """Named entries of one suite, side by side: the leaderboard's estimates, paired differences and verdicts."""

    suite: str
    title: str
    version: str
    profile: str
    side: str  # what the entries are: (model, method) entries, or models or methods averaged over the other side
    kind: str
    primary_metric: str
    metrics: list[dict[str, Any]]  # the rankable metrics, primary first
    conditions: list[str]  # 'overall' (with several tasks) first, then each task or task · other side
    entries: list[str]  # the named entries in this suite, best estimate of the primary metric first
    absent: list[str]  # named entries not in this suite
    estimates: dict[tuple[str, str, str], Estimate]  # (metric, condition, entry)
    differences: dict[tuple[str, str, str, str], Comparison]  # (metric, condition, first, second)
    verdicts: list[Verdict]
    note: str  # what the suite's whole board resolves
    provenance: list[EntryProvenance]

    @property
    def headline(self) -> str:
        return self.conditions[0]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return list(itertools.combinations(self.entries, 2))

    def estimate(self, metric: str, condition: str, entry: str) -> Estimate | None:
        return self.estimates.get((metric, condition, entry))

    def difference(self, metric: str, condition: str, first: str, second: str) -> Comparison | None:
        return self.differences.get((metric, condition, first, second))


@dataclass
class Report:
    """Entries compared on every suite in which at least two of them appear."""

    db: str
    names: list[str]
    suites: list[SuiteComparison]
    not_compared: dict[str, list[str]]  # suite -> the named entries in it, where fewer than two are
    runs: pd.DataFrame  # the runs behind every number shown

    @property
    def verdicts(self) -> list[tuple[str, Verdict]]:
        return [(s.suite, v) for s in self.suites for v in s.verdicts]


@dataclass
class SuiteChange:
    """One suite in two databases: per entry in both, new − old on every rankable metric, and what changed."""

    suite: str
    title: str
    side: str
    kind: str
    primary_metric: str
    metrics: list[dict[str, Any]]
    conditions: list[str]  # conditions both databases have: 'overall' (over the shared tasks) first
    versions: dict[str, str]  # 'old' and 'new' suite version
    profile: str
    entries: list[str]  # in both, ordered by the new board's estimate
    only_old: list[str]
    only_new: list[str]
    estimates: dict[tuple[str, str, str, str], Estimate]  # (database 'old'/'new', metric, condition, entry)
    changes: dict[tuple[str, str, str], Comparison]  # (metric, condition, entry): new − old
    verdicts: list[Verdict]
    changed_versions: list[dict[str, str]]  # entry, side, old, new: plugin or version strings that differ
    provenance: dict[str, list[EntryProvenance]]  # 'old' and 'new'
    notes: list[str]

    @property
    def headline(self) -> str:
        return self.conditions[0]

    @property
    def unchanged(self) -> list[str]:
        """Entries equal at every shared seed on every metric and condition: the tables leave them out."""
        return [
            entry
            for entry in self.entries
            if (found := [c for (_, _, e), c in self.changes.items() if e == entry])
            and all(c.difference.identical for c in found)
        ]

    def estimate(self, database: str, metric: str, condition: str, entry: str) -> Estimate | None:
        return self.estimates.get((database, metric, condition, entry))

    def shown(self, metric: str, condition: str, entry: str) -> bool:
        """Whether a row says anything: a database has the value, and old and new are not equal at every seed."""
        change = self.change(metric, condition, entry)
        if change is not None and change.difference.identical:
            return False
        return any(self.estimate(database, metric, condition, entry) for database in ("old", "new"))

    def change(self, metric: str, condition: str, entry: str) -> Comparison | None:
        return self.changes.get((metric, condition, entry))


@dataclass
class BaselineReport:
    """Results before (``baseline``) and after (``db``) a change, per suite and entry both hold."""

    db: str
    baseline: str
    suites: list[SuiteChange]
    not_compared: dict[str, str]  # suite -> why it is not compared
    runs: dict[str, pd.DataFrame]  # 'old' and 'new': the runs behind the numbers

    @property
    def verdicts(self) -> list[tuple[str, Verdict]]:
        return [(s.suite, v) for s in self.suites for v in s.verdicts]


# -- reading one suite ------------------------------------------------------------------------------------------


@dataclass
class _Ranked:
    """A suite slice ranked on every rankable metric with one side as the entry."""

    part: boards.SuiteSlice
    side: str
    metrics: list[dict[str, Any]]
    ranked: dict[str, boards.RankedSlice]
    cells: pd.DataFrame  # the slice's cells with 'entry' as ranked (the other columns as stored)

    @property
    def primary(self) -> boards.RankedSlice:
        return self.ranked[self.part.primary_metric]

    @property
    def entries(self) -> set[str]:
        return set(self.cells["entry"])

    def order(self, entries: Sequence[str]) -> list[str]:
        """``entries`` in the leaderboard's order of the primary metric's headline; unranked ones after, as given."""
        rows = boards.headline_rows(self.primary.table)
        ranked = [e for e in rows.loc[rows["mean"].notna(), "entry"] if e in entries]
        return ranked + [e for e in entries if e not in ranked]

    def conditions(self) -> list[str]:
        found = [str(t) for r in self.ranked.values() for t in r.table["task"].unique() if t != boards.OVERALL]
        tasks = sorted(set(found))
        return [boards.OVERALL, *tasks] if len(tasks) > 1 else tasks

    def estimates(self, entries: Sequence[str]) -> dict[tuple[str, str, str], Estimate]:
        out = {}
        for metric, result in self.ranked.items():
            for row in result.table[result.table["entry"].isin(entries)].itertuples(index=False):
                ranked = pd.notna(row.rank_low)
                out[(metric, str(row.task), row.entry)] = Estimate(
                    Value.of(row),
                    int(row.rank_low) if ranked else None,
                    int(row.rank_high) if ranked else None,
                    int(row.n_entries),
                    int(row.n_seeds),
                )
        return out

    def provenance(self, entries: Sequence[str], git: dict[str, str]) -> list[EntryProvenance]:
        out = []
        for entry in entries:
            cells = self.cells[self.cells["entry"] == entry]
            sides = [
                {"side": side, "name": ", ".join(sorted(set(cells[side]))), **provenance(cells, side, git)}
                for side in ("model", "method")
                if (cells[side] != "").any()
            ]
            ok = cells["status"] == "ok"
            out.append(
                EntryProvenance(
                    entry,
                    sides,
                    int(ok.sum()),
                    int((~ok).sum()),
                    sorted(set(cells["run_id"])),
                    cells[["task", "model", "method", "seed", "status", "key", "run_id"]].reset_index(drop=True),
                )
            )
        return out


def _rank(part: boards.SuiteSlice, side: str, metrics: Sequence[str] | None = None) -> _Ranked:
    """Rank the slice on each of ``metrics`` (default: every rankable one), primary first, with ``side`` as entry."""
    rows = part.metrics[part.metrics["shape"].isin(["scalar", "sample"])].to_dict("records")
    rows = [m for m in rows if metrics is None or m["metric"] in metrics]
    rows.sort(key=lambda m: m["metric"] != part.primary_metric)
    ranked = {m["metric"]: boards.rank_slice(part, m["metric"], by=side) for m in rows}
    cells = part.cells.assign(entry=part.ranked_by(side).cells["entry"])
    return _Ranked(part, side, rows, ranked, cells)


def _sides(part: boards.SuiteSlice, by: str | None) -> list[str]:
    """The ways this suite can name an entry: ``by``, or the suite's own choice first, then the others."""
    wanted = [by] if by else [part.rank_by, *SIDES]
    return [side for side in dict.fromkeys(wanted) if part.kinds[side]]


def _title(store: Store, part: boards.SuiteSlice) -> str:
    meta = store.query("SELECT title FROM suites WHERE suite = ? AND suite_version = ?", [part.suite, part.version])
    return str(meta["title"].iloc[0])


def _git(store: Store) -> dict[str, str]:
    runs = store.runs()
    return runs.set_index("run_id")["git_sha"].to_dict() if len(runs) else {}


def _runs(store: Store, provenances: Sequence[EntryProvenance]) -> pd.DataFrame:
    """The runs that wrote the cells behind ``provenances``."""
    runs = store.runs()
    return runs[runs["run_id"].isin({r for p in provenances for r in p.runs})].reset_index(drop=True)


def _stored_suites(store: Store) -> list[str]:
    return sorted(store.query("SELECT DISTINCT suite FROM cells")["suite"])


def _paired(first: pd.Series, second: pd.Series, metric: str, condition: str) -> Comparison:
    """The paired difference first − second over the seeds both have (each series: seed values by seed)."""
    first, second = first.align(second)
    both = (first.notna() & second.notna()).to_numpy()
    difference = stats.paired_difference(first.to_numpy(dtype=float), second.to_numpy(dtype=float))
    return Comparison(metric, condition, difference, [int(seed) for seed in first.index[both]])


def _verdicts(
    metric: str, condition: str, higher: bool, subjects: list[tuple[str, str]], comparisons: list[Comparison | None]
) -> list[Verdict]:
    """One verdict per comparison, decided together: Holm's stepdown over those that have a p-value.

    A comparison equal at every seed (the same cells, typically) holds no uncertainty to test, so it is not
    counted in the family and does not make the others harder to resolve.
    """
    tested = [c is not None and not c.difference.identical for c in comparisons]
    pvalues = np.array([c.difference.pvalue if t else np.nan for c, t in zip(comparisons, tested, strict=True)])
    resolved = stats.holm(pvalues) if len(pvalues) else []
    family = int(np.isfinite(pvalues).sum())
    return [
        Verdict(metric, condition, higher, first, second, comparison, bool(decided), family)
        for (first, second), comparison, decided in zip(subjects, comparisons, resolved, strict=True)
    ]


# -- entries side by side ---------------------------------------------------------------------------------------


def compare_entries(store: Store, names: Sequence[str], suite: str | None = None, by: str | None = None) -> Report:
    """Entries ``names`` side by side on every suite (or only ``suite``) in which at least two of them appear.

    In each suite the names are read as the leaderboard shows its entries: ranked by ``by``, or, without it, by
    the suite's own choice (its ``rank_by``), else as (model, method) entries, models or methods, whichever holds
    two of the names.
    """
    names = list(dict.fromkeys(names))
    if len(names) < 2:
        raise UsageError("name at least two entries to compare, e.g. `reliabench report ig saliency --out report.md`")
    parts = [boards.load_slice(store, name) for name in ([suite] if suite else _stored_suites(store))]
    sides = {
        part.suite: {side: set(part.ranked_by(side).cells["entry"]) for side in _sides(part, by)} for part in parts
    }
    known = {entry for here in sides.values() for entries in here.values() for entry in entries}
    if not known:
        what = f"suite {suite!r} has no {by} side" if suite else f"no stored suite has a {by} side"
        raise UsageError(f"{what} to compare; drop --by {by}")
    for name in names:
        if name not in known:
            raise UsageError(unknown_name(f"entry of suite {suite!r}" if suite else "stored entry", name, known))
    found = {name: [s for s, here in sides.items() if any(name in e for e in here.values())] for name in names}
    git = _git(store)
    compared, not_compared = [], {}
    for part in parts:
        here = sides[part.suite]
        side = next((side for side, entries in here.items() if len(entries & set(names)) >= 2), None)
        if side is None:
            present = [name for name in names if part.suite in found[name]]
            if present:
                not_compared[part.suite] = present
            continue
        present = [name for name in names if name in here[side]]
        compared.append(_suite_comparison(store, _rank(part, side), present, names, git))
    if not compared:
        where = "; ".join(f"{name} is in {', '.join(found[name])}" for name in names)
        shared = sorted(set.intersection(*(set(found[name]) for name in names)))
        if shared:
            raise UsageError(
                f"{', '.join(names)} are in {', '.join(shared)} only as different sides (models and methods); "
                "a report compares entries of one side: name two models or two methods, or pass --by"
            )
        raise UsageError(f"{', '.join(names)} share no suite ({where}): a report compares entries within a suite")
    return Report(
        str(store.path), names, compared, not_compared, _runs(store, [p for s in compared for p in s.provenance])
    )


def _suite_comparison(
    store: Store, ranked: _Ranked, present: list[str], names: list[str], git: dict[str, str]
) -> SuiteComparison:
    part = ranked.part
    entries = ranked.order(present)
    conditions = ranked.conditions()
    differences = {}
    for metric, result in ranked.ranked.items():
        for condition, values in result.seed_values.items():
            for first, second in itertools.combinations(entries, 2):
                if first in values.index and second in values.index:
                    comparison = _paired(values.loc[first], values.loc[second], metric, condition)
                    differences[(metric, condition, first, second)] = comparison
    higher = ranked.primary.higher_is_better
    subjects, headline = [], []
    for first, second in itertools.combinations(entries, 2):
        comparison = differences.get((part.primary_metric, conditions[0], first, second))
        if comparison is not None and comparison.difference.mean != 0 and (comparison.difference.mean > 0) != higher:
            first, second = second, first  # the paired difference favours the second: say it that way round
            comparison = dataclasses.replace(comparison, difference=comparison.difference.swapped())
        subjects.append((first, second))
        headline.append(comparison)
    return SuiteComparison(
        suite=part.suite,
        title=_title(store, part),
        version=part.version,
        profile=part.profile,
        side=ranked.side,
        kind=part.kinds[ranked.side],
        primary_metric=part.primary_metric,
        metrics=ranked.metrics,
        conditions=conditions,
        entries=entries,
        absent=[name for name in names if name not in entries],
        estimates=ranked.estimates(entries),
        differences=differences,
        verdicts=_verdicts(part.primary_metric, conditions[0], higher, subjects, headline),
        note=ranked.primary.note,
        provenance=ranked.provenance(entries, git),
    )


# -- against a baseline -----------------------------------------------------------------------------------------


def compare_databases(
    old: Store, new: Store, suite: str | None = None, by: str | None = None, names: Sequence[str] = ()
) -> BaselineReport:
    """Each suite both databases hold (or only ``suite``): per entry in both (or only ``names``), new − old.

    Both sides are read at the new results' profile; entries are named as the leaderboard ranks them (``by``, else
    the suite's choice). Differences pair each seed of the new results with the same seed of the old, per task
    both have, and over those shared tasks.
    """
    in_new, in_old = _stored_suites(new), _stored_suites(old)
    if suite is not None:
        for store in (new, old):
            boards.load_slice(store, suite)  # an unknown suite: 'did you mean'
    not_compared, changes = {}, []
    for name in [suite] if suite else sorted(set(in_new) | set(in_old)):
        if name not in in_old or name not in in_new:
            not_compared[name] = f"only in {new.path if name in in_new else old.path}"
            continue
        new_part = boards.load_slice(new, name)
        try:
            old_part = boards.load_slice(old, name, profile=new_part.profile)
        except UsageError as exc:
            not_compared[name] = f"the baseline cannot be read at the new results' profile: {exc}"
            continue
        side = by or new_part.rank_by
        if not new_part.kinds[side]:
            not_compared[name] = f"it has no {side} side"
            continue
        change = _suite_change(old, new, old_part, new_part, side, names)
        if isinstance(change, str):
            not_compared[name] = change
        else:
            changes.append(change)
    known = {e for change in changes for e in (*change.entries, *change.only_old, *change.only_new)}
    for name in names:
        if name not in known:
            raise UsageError(unknown_name("entry in both databases", name, known))
    if not changes:
        reasons = "; ".join(f"{name}: {why}" for name, why in not_compared.items()) or "no stored suites"
        raise UsageError(f"{new.path} and the baseline {old.path} have no suite in common ({reasons})")
    runs = {
        label: _runs(store, [p for change in changes for p in change.provenance[label]])
        for label, store in (("old", old), ("new", new))
    }
    return BaselineReport(str(new.path), str(old.path), changes, not_compared, runs)


def _seed_row(result: boards.RankedSlice, condition: str, entry: str, tasks: Sequence[str]) -> pd.Series | None:
    """An entry's seed values on a task, or 'overall': seed by seed the mean over ``tasks``, as the leaderboard's
    overall is; None where it has none."""
    if condition != boards.OVERALL:
        frame = result.seed_values.get(condition)
        return frame.loc[entry] if frame is not None and entry in frame.index else None
    if not tasks or any(entry not in result.seed_values.get(task, pd.DataFrame()).index for task in tasks):
        return None
    return boards.overall_seed_values(result.seed_values, tasks, [entry]).loc[entry]


def _suite_change(
    old_store: Store,
    new_store: Store,
    old_part: boards.SuiteSlice,
    new_part: boards.SuiteSlice,
    side: str,
    names: Sequence[str],
) -> SuiteChange | str:
    """The suite's changes, or why the two cannot be compared."""
    parts = (old_part, new_part)
    metrics = set(old_part.metrics["metric"]) & set(new_part.metrics["metric"])
    if new_part.primary_metric not in metrics:
        return f"the baseline has no metric {new_part.primary_metric!r}, the new results' primary metric"
    new, old = _rank(new_part, side, metrics), _rank(old_part, side, metrics)
    both = new.entries & old.entries
    entries = new.order(sorted(both & set(names) if names else both))
    new_tasks, old_tasks = (set(r.conditions()) - {boards.OVERALL} for r in (new, old))
    tasks = sorted(new_tasks & old_tasks)
    if not tasks:
        return "the two databases share no task"
    conditions = [boards.OVERALL, *tasks] if len(tasks) > 1 else tasks
    changes = {}
    for metric in new.ranked:
        for entry in entries:
            for condition in conditions:
                pair = [_seed_row(r.ranked[metric], condition, entry, tasks) for r in (new, old)]
                if pair[0] is not None and pair[1] is not None:
                    changes[(metric, condition, entry)] = _paired(pair[0], pair[1], metric, condition)
    headline = [changes.get((new_part.primary_metric, conditions[0], entry)) for entry in entries]
    notes = []
    if old_part.version != new_part.version:
        notes.append(
            f"the suite's version differs (baseline {old_part.version}, new {new_part.version}): a difference may "
            "come from the suite's change as well as the entries'"
        )
    rankable = [set(part.metrics.loc[part.metrics["shape"].isin(["scalar", "sample"]), "metric"]) for part in parts]
    for where, only in (("baseline", rankable[0] - rankable[1]), ("new results", rankable[1] - rankable[0])):
        if only:
            notes.append(f"only the {where} rank {', '.join(sorted(only))}: not compared")
    if new_tasks != old_tasks:
        notes.append(
            f"the databases hold different tasks; every comparison, 'overall' included, is over the {len(tasks)} "
            "tasks both hold"
        )
    gits = {"old": _git(old_store), "new": _git(new_store)}
    provenances = {"old": old.provenance(entries, gits["old"]), "new": new.provenance(entries, gits["new"])}
    return SuiteChange(
        suite=new_part.suite,
        title=_title(new_store, new_part),
        side=side,
        kind=new_part.kinds[side],
        primary_metric=new_part.primary_metric,
        metrics=new.metrics,
        conditions=conditions,
        versions={"old": old_part.version, "new": new_part.version},
        profile=new_part.profile,
        entries=entries,
        only_old=sorted(old.entries - new.entries),
        only_new=sorted(new.entries - old.entries),
        estimates={
            (label, *key): estimate
            for label, ranked in (("old", old), ("new", new))
            for key, estimate in ranked.estimates(entries).items()
        },
        changes=changes,
        verdicts=_verdicts(
            new_part.primary_metric,
            conditions[0],
            new.primary.higher_is_better,
            [(entry, "") for entry in entries],
            headline,
        ),
        changed_versions=_changed_versions(provenances),
        provenance=provenances,
        notes=notes,
    )


def _changed_versions(provenances: dict[str, list[EntryProvenance]]) -> list[dict[str, str]]:
    """Per entry and side, each of its plugin and version strings that differ between the baseline and the new."""
    rows = []
    for old, new in zip(provenances["old"], provenances["new"], strict=True):
        old_sides = {p["side"]: p for p in old.sides}
        for side in new.sides:
            before = old_sides.get(side["side"], {})
            for what in ("version", "plugin"):
                if before.get(what, "") != side[what]:
                    rows.append(
                        {
                            "entry": new.entry,
                            "side": side["side"],
                            "what": what,
                            "old": before.get(what, ""),
                            "new": side[what],
                        }
                    )
    return rows
