"""Gather what the site shows from the store: ranked tables, entries, provenance.

Everything here is plain data; templates only lay it out. Names come from
plugins and the database, so file names are made with :func:`file_name`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markdown_it import MarkdownIt

from harness import leaderboard as boards
from harness.scores import CURVE_SERIES
from harness.store import Store


def file_name(name: str) -> str:
    """A safe file stem for any name: a slug as it is, anything else slugged plus a short hash."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", str(name).lower()).strip("-")[:60] or "x"
    return slug if slug == name else f"{slug}-{hashlib.sha256(str(name).encode()).hexdigest()[:8]}"


@dataclass
class Value:
    """A number with its 95% CI, or the count of failed cells where there is none."""

    mean: float | None
    low: float | None
    high: float | None
    failed: int = 0

    @staticmethod
    def of(record: Any) -> Value:
        """From a leaderboard row (a namedtuple of :data:`harness.leaderboard.COLUMNS`)."""
        if pd.isna(record.mean):
            return Value(None, None, None, int(record.failed_cells))
        return Value(float(record.mean), float(record.ci_low), float(record.ci_high), int(record.failed_cells))


@dataclass
class Row:
    """One entry of a suite leaderboard: rank from the primary metric, a value per (metric, task)."""

    entry: str
    model: str
    method: str
    rank: int | None
    rank_low: int | None
    rank_high: int | None
    n_seeds: int | None
    n_values: int | None
    values: dict[tuple[str, str], Value] = field(default_factory=dict)


@dataclass
class Band:
    """One entry's run of a curve that carries a band or a reference (:data:`CURVE_SERIES`), sorted by step.

    A band describes one run (one seed's test record), so this is the lowest seed's cell, not a
    mean over seeds; series the cell did not return are None.
    """

    seed: int
    steps: list[float]
    values: list[float]
    lower: list[float] | None = None
    upper: list[float] | None = None
    reference: list[float] | None = None


@dataclass
class SuitePage:
    name: str
    title: str
    description: str
    version: str
    profile: str
    primary_metric: str
    rank_by: str
    references: list[str]
    tasks: dict[str, str]
    metrics: list[dict[str, Any]]
    conditions: list[str]
    rows: list[Row]
    board: pd.DataFrame
    cells: pd.DataFrame
    last_run: str
    ranked: boards.RankedSlice  # the primary metric, as the rows are ranked
    shown: pd.DataFrame  # the board with one column per axis (see :func:`unfold`): downloads and entry pages
    # every curve metric but the phases one and the banded ones, in declaration order:
    # metric -> condition -> entry -> (steps, values), the mean over seeds
    curves: dict[str, dict[str, dict[str, tuple[list[float], list[float]]]]] = field(default_factory=dict)
    # every curve metric with a band or reference, in declaration order: metric -> condition -> entry (in
    # ranking order) -> the lowest seed's run
    bands: dict[str, dict[str, dict[str, Band]]] = field(default_factory=dict)
    phases: dict[str, dict[str, tuple[list[float], list[float]]]] = field(default_factory=dict)
    phase_metric: str = ""
    groups: dict[str, list[str]] = field(default_factory=dict)  # group -> its metrics, in declaration order
    matrices: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    matrix_metric: str = ""
    # every metric drawn versus another, in declaration order: metric -> condition (each task, or task · other
    # side; not 'overall') -> entry (in ranking order) -> (x, y), its board means of the versus metric and of it
    scatters: dict[str, dict[str, dict[str, tuple[float, float]]]] = field(default_factory=dict)

    def metric(self, name: str) -> dict[str, Any]:
        return next(m for m in self.metrics if m["metric"] == name)

    def axis(self, metric: str) -> str:
        """What a curve metric's steps are, for its x axis: its declared ``axis``, else "step"."""
        return self.metric(metric)["axis"] or "step"

    def versus_title(self, metric: str) -> str:
        """'y (its unit) against x (its unit)' for a metric drawn against its ``versus`` metric."""
        y = self.metric(metric)
        return " against ".join(
            f"{m['metric']} ({m['unit']})" if m["unit"] else m["metric"] for m in (y, self.metric(y["versus"]))
        )

    def best_corner(self, metric: str) -> str:
        """Where the scatter of ``metric`` against its ``versus`` metric has the entries best on both."""
        y, x = self.metric(metric), self.metric(self.metric(metric)["versus"])
        return f"{'upper' if y['higher_is_better'] else 'lower'} {'right' if x['higher_is_better'] else 'left'}"

    def marks_phases(self, metric: str) -> bool:
        """Whether a curve shares the phases metric's step axis, so its charts show the phases."""
        return bool(self.phase_metric) and self.metric(metric)["axis"] == self.metric(self.phase_metric)["axis"]

    def shares(self, group: str, condition: str) -> dict[str, list[float | None]]:
        """Per entry in ranking order, the mean over seeds of each metric of ``group`` (None where it has none);
        entries with no value of the group are left out."""
        out = {}
        for row in self.rows:
            values = [row.values.get((metric, condition)) for metric in self.groups[group]]
            means = [None if v is None else v.mean for v in values]
            if any(m is not None for m in means):
                out[row.entry] = means
        return out

    def phase_marks(self, condition: str) -> tuple[float | None, dict[str, float]]:
        """Where the first phase ends (mean over entries and seeds) and where each entry enters the last."""
        series = self.phases.get(condition, {})
        if not series:
            return None, {}
        steps = next(iter(series.values()))[0]
        mean = [sum(values[i] for _, values in series.values()) / len(series) for i in range(len(steps))]
        first_end = next((s for s, m in zip(steps, mean, strict=True) if m >= 0.5), steps[-1])
        last = max(max(values) for _, values in series.values())
        marks = {
            entry: next(s for s, v in zip(entry_steps, values, strict=True) if v >= last - 0.5)
            for entry, (entry_steps, values) in series.items()
            if last >= 2 and max(values) >= last - 0.5
        }
        return first_end, marks

    @property
    def question(self) -> str:
        return question(self.description)

    @property
    def leader(self) -> Row | None:
        """The best estimate on the primary metric (its rank set says whether it is resolved)."""
        ranked = [r for r in self.rows if r.rank is not None]
        return ranked[0] if ranked else None

    @property
    def notes(self) -> list[str]:
        return self.ranked.notes

    @property
    def n_ranked(self) -> int:
        return sum(r.rank is not None for r in self.rows)

    def primary(self) -> dict[str, Any]:
        return self.metric(self.primary_metric)

    def entry_rows(self, side: str, name: str) -> pd.DataFrame:
        """The primary metric's rows of this page's table where ``side`` is ``name``: an entry page shows them, so
        its figures are the suite page's."""
        shown = self.shown
        return shown[(shown["metric"] == self.primary_metric) & (shown[side] == name)]


def question(description: str) -> str:
    """A suite description's first sentence: what the suite asks."""
    first = description.strip().split("\n\n")[0].replace("\n", " ")
    ends = [i for i in (first.find("? "), first.find(". ")) if i >= 0]
    return first[: min(ends) + 1] if ends else first


def _int(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def _rows(board: pd.DataFrame, primary: str) -> list[Row]:
    """Rows in the ranking's order (best estimate first): 'overall' where it exists, else the single task's."""
    ranked = boards.headline_rows(board[board["metric"] == primary])
    ranked = ranked[ranked["mean"].notna()].set_index("entry")
    position = {entry: i for i, entry in enumerate(ranked.index)}
    rows: dict[str, Row] = {}
    for record in board.itertuples(index=False):
        row = rows.get(record.entry)
        if row is None:
            rank = ranked.loc[record.entry] if record.entry in ranked.index else None
            row = rows[record.entry] = Row(
                record.entry,
                record.model or "",
                record.method or "",
                *(
                    None if rank is None else _int(rank[c])
                    for c in ("rank", "rank_low", "rank_high", "n_seeds", "n_values")
                ),
            )
        row.values[(record.metric, record.task)] = Value.of(record)
    return sorted(rows.values(), key=lambda r: (position.get(r.entry, len(position)), r.entry))


def suite_page(store: Store, suite: str) -> SuitePage:
    part = boards.load_slice(store, suite)
    meta = store.query("SELECT * FROM suites WHERE suite = ? AND suite_version = ?", [suite, part.version]).iloc[0]
    metrics = part.metrics.to_dict("records")
    rankable = [m["metric"] for m in metrics if m["shape"] in ("scalar", "sample")]
    primary_first = [part.primary_metric] + [m for m in rankable if m != part.primary_metric]
    ranked = [boards.rank_slice(part, m) for m in primary_first]
    board = pd.concat([result.table for result in ranked], ignore_index=True)
    conditions = [boards.OVERALL, *sorted(t for t in board["task"].unique() if t != boards.OVERALL)]
    if len(conditions) == 2:  # one task: its rows already are the overall
        board = board[board["task"] != boards.OVERALL]
        conditions = conditions[1:]
    phase_metric = next((m["metric"] for m in metrics if m["phases"]), "")
    matrix_metric = next((m["metric"] for m in metrics if m["shape"] == "matrix"), "")
    folded = part.ranked_by(part.rank_by).scores
    rows = _rows(board, part.primary_metric)
    plain = [m["metric"] for m in metrics if m["shape"] == "curve" and not m["phases"]]
    banded = set(folded.loc[folded["metric"].isin(plain) & folded["row"].notna(), "metric"])
    curves = {metric: _curves(folded, metric) for metric in plain if metric not in banded}
    bands = {metric: _bands(folded, metric, [row.entry for row in rows]) for metric in plain if metric in banded}
    groups: dict[str, list[str]] = {}
    for m in metrics:
        if m["group_name"]:
            groups.setdefault(m["group_name"], []).append(m["metric"])
    return SuitePage(
        scatters=_scatters(rows, metrics, conditions),
        curves={metric: by_condition for metric, by_condition in curves.items() if by_condition},
        bands=bands,
        phases=_curves(folded, phase_metric),
        phase_metric=phase_metric,
        groups=groups,
        matrices=_matrices(folded, matrix_metric),
        matrix_metric=matrix_metric,
        name=suite,
        title=meta["title"],
        description=meta["description"],
        version=part.version,
        profile=part.profile,
        primary_metric=part.primary_metric,
        rank_by=part.rank_by,
        references=json.loads(meta["refs"]),
        tasks=json.loads(meta["tasks"]),
        metrics=sorted(metrics, key=lambda m: primary_first.index(m["metric"]) if m["metric"] in rankable else 99),
        conditions=conditions,
        rows=rows,
        board=board,
        cells=part.cells,
        last_run=str(part.cells["finished_at"].max())[:16],
        ranked=ranked[0],
        shown=unfold(board, json.loads(meta["tasks"]), part.rank_by),
    )


def unfold(board: pd.DataFrame, tasks: Iterable[str], rank_by: str) -> pd.DataFrame:
    """The board with a folded condition ('task · other side', see :meth:`boards.SuiteSlice.ranked_by`) split back
    into its task and other-side columns, so each axis is one column; split by the suite's own task names, which
    may hold ' · ' themselves."""
    if rank_by == "entry":
        return board
    other = "method" if rank_by == "model" else "model"
    longest_first = sorted(tasks, key=len, reverse=True)
    split = {}
    for condition in board["task"].unique():
        task = next((t for t in longest_first if condition.startswith(f"{t} · ")), None)
        split[condition] = (condition, "") if task is None else (task, condition[len(task) + 3 :])
    return board.assign(
        task=board["task"].map(lambda c: split[c][0]), **{other: board["task"].map(lambda c: split[c][1])}
    )


def _scatters(
    rows: list[Row], metrics: list[dict[str, Any]], conditions: list[str]
) -> dict[str, dict[str, dict[str, tuple[float, float]]]]:
    """Per metric with a ``versus``, per condition but 'overall', per entry with both: (its versus mean, its mean).

    The means are the board's (mean over seeds of each seed's value, a seed's value the mean of its samples), so
    a point sits where the leaderboard's two columns put it.
    """
    out: dict[str, dict[str, dict[str, tuple[float, float]]]] = {}
    for metric in metrics:
        by_condition = {}
        for condition in conditions if metric["versus"] else ():
            if condition == boards.OVERALL:
                continue
            points = {}
            for row in rows:
                x, y = row.values.get((metric["versus"], condition)), row.values.get((metric["metric"], condition))
                if x is not None and y is not None and x.mean is not None and y.mean is not None:
                    points[row.entry] = (x.mean, y.mean)
            if points:
                by_condition[condition] = points
        if by_condition:
            out[metric["metric"]] = by_condition
    return out


def _curves(scores: pd.DataFrame, metric: str) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """Per condition, per entry: the curve metric's mean over seeds at each step (of its values: row NULL)."""
    rows = scores[(scores["metric"] == metric) & scores["row"].isna()]
    if rows.empty:
        return {}
    mean = rows.groupby(["task", "entry", "step"], sort=True)["value"].mean().reset_index()
    return {
        str(task): {
            str(entry): (part["step"].tolist(), part["value"].tolist()) for entry, part in by_task.groupby("entry")
        }
        for task, by_task in mean.groupby("task")
    }


def _bands(scores: pd.DataFrame, metric: str, order: list[str]) -> dict[str, dict[str, Band]]:
    """Per condition, per entry in ``order`` (others after, by name): the lowest seed's run of a banded curve."""
    rows = scores[scores["metric"] == metric]
    position = {entry: i for i, entry in enumerate(order)}
    out: dict[str, dict[str, Band]] = {}
    for (task, entry), part in rows.groupby(["task", "entry"], sort=True):
        first = part.sort_values(["seed", "cell_key"]).iloc[0]
        cell = part[part["cell_key"] == first["cell_key"]].sort_values("step", kind="stable")
        series = {name: cell.loc[cell["row"] == code, "value"].tolist() for name, code in CURVE_SERIES.items()}
        values = cell[cell["row"].isna()]
        out.setdefault(str(task), {})[str(entry)] = Band(
            int(first["seed"]),
            values["step"].tolist(),
            values["value"].tolist(),
            **{name: found or None for name, found in series.items()},
        )
    return {
        task: dict(sorted(by_entry.items(), key=lambda item: (position.get(item[0], len(position)), item[0])))
        for task, by_entry in out.items()
    }


def _matrices(scores: pd.DataFrame, metric: str) -> dict[str, dict[str, np.ndarray]]:
    """Per condition, per entry: the matrix metric's mean over seeds, NaN where no cell reported a value."""
    rows = scores[scores["metric"] == metric]
    if rows.empty:
        return {}
    mean = rows.groupby(["task", "entry", "row", "col"], sort=True)["value"].mean().reset_index()
    out: dict[str, dict[str, np.ndarray]] = {}
    for (task, entry), part in mean.groupby(["task", "entry"]):
        matrix = np.full((int(part["row"].max()) + 1, int(part["col"].max()) + 1), np.nan)
        matrix[part["row"].astype(int), part["col"].astype(int)] = part["value"]
        out.setdefault(str(task), {})[str(entry)] = matrix
    return out


@dataclass
class EntryPage:
    """A model or a method, with its rows in every suite and where its numbers came from."""

    side: str
    name: str
    suites: dict[str, pd.DataFrame] = field(default_factory=dict)
    provenance: list[dict[str, Any]] = field(default_factory=list)

    @property
    def file(self) -> str:
        return f"{self.side}-{file_name(self.name)}.html"


def entry_pages(pages: list[SuitePage], runs: pd.DataFrame) -> list[EntryPage]:
    """One page per model and per method name found in any suite's cells."""
    git = runs.set_index("run_id")["git_sha"].to_dict() if len(runs) else {}
    found: dict[tuple[str, str], EntryPage] = {}
    for page in pages:
        for side in ("model", "method"):
            for name, cells in page.cells[page.cells[side] != ""].groupby(side):
                entry = found.setdefault((side, name), EntryPage(side, name))
                entry.suites[page.name] = page.entry_rows(side, name)
                entry.provenance.append(
                    {"suite": page.name, "suite_version": page.version, **provenance(cells, side, git)}
                )
    return sorted(found.values(), key=lambda e: (e.side, e.name))


def provenance(cells: pd.DataFrame, side: str, git: Mapping[str, str]) -> dict[str, str]:
    """Where one side's numbers came from (its plugins and versions, seeds, last run, git shas), from its cells and
    each run's git sha; every page and report that shows a side says it the same way."""
    return {
        "plugin": ", ".join(sorted(set(cells[f"{side}_plugin"]))),
        "version": ", ".join(sorted(set(cells[f"{side}_version"]))),
        "seeds": ", ".join(str(s) for s in sorted(set(cells["seed"]))),
        "run_date": str(cells["finished_at"].max())[:16],
        "git_sha": ", ".join(sorted({git.get(r, "") or "unknown" for r in cells["run_id"]})),
    }


@dataclass
class DocPage:
    """A plugin documentation page (``docs/plugins/*.md``) rendered for the site."""

    stem: str
    title: str
    html: str

    @property
    def file(self) -> str:
        return f"{file_name(self.stem)}.html"


def doc_pages(folder: Path) -> list[DocPage]:
    """The generated Markdown pages as HTML: raw HTML in them is shown as text (``html`` off), links to sibling
    ``.md`` pages point at their rendered pages, whole-line HTML comments (the "generated by" note) are dropped;
    the index first. Empty when the folder is absent (a package installed without the repository's docs)."""
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    pages = []
    for path in sorted(folder.glob("*.md"), key=lambda p: (p.stem != "index", p.stem)):
        text = re.sub(r"^<!--.*-->$", "", path.read_text(), flags=re.MULTILINE)
        tokens = renderer.parse(text)
        for token in (t for block in tokens for t in [block, *(block.children or [])]):
            href = token.attrGet("href") if token.type == "link_open" else None
            if isinstance(href, str) and "/" not in href and href.split("#")[0].endswith(".md"):
                stem, _, anchor = href.partition("#")
                token.attrSet("href", file_name(stem[:-3]) + ".html" + (f"#{anchor}" if anchor else ""))
        title = next((line[2:] for line in text.splitlines() if line.startswith("# ")), path.stem).replace("`", "")
        pages.append(DocPage(path.stem, title, renderer.renderer.render(tokens, renderer.options, {})))
    return pages
