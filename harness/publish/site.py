"""Render the static leaderboard site: self-contained files that open from disk or any static host."""

from __future__ import annotations

import json
import shutil
import uuid
from importlib import resources
from pathlib import Path

import jinja2
import pandas as pd

from harness import leaderboard as boards
from harness import stats
from harness.errors import UsageError
from harness.publish.charts import (
    MAY_BE_BEST,
    band_chart,
    critical_difference_chart,
    curve_chart,
    interval_chart,
    matrix_chart,
    scatter_chart,
    stacked_bar_chart,
)
from harness.publish.content import (
    DocPage,
    EntryPage,
    SuitePage,
    doc_pages,
    entry_pages,
    file_name,
    question,
    suite_page,
)
from harness.registry import Registry
from harness.safe_csv import to_csv
from harness.store import Store, default_db

DEFAULT_OUT = Path("site")
MARKER = ".reliabench-site"  # written into every site: only a folder holding it is ever replaced


def environment() -> jinja2.Environment:
    """The templates' environment: autoescaped (plugin text is never markup), strict about missing values."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.publish", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v: "—" if v is None or pd.isna(v) else f"{v:.4g}"
    env.filters["file"] = file_name
    env.filters["question"] = question
    return env


def _chart(page: SuitePage) -> str:
    task = page.conditions[0]
    ranked = [
        r
        for r in page.rows
        if (page.primary_metric, task) in r.values and r.values[(page.primary_metric, task)].mean is not None
    ]
    if not ranked:
        return ""
    values = [r.values[(page.primary_metric, task)] for r in ranked]
    primary = page.primary()
    arrow = "higher is better" if primary["higher_is_better"] else "lower is better"
    return interval_chart(
        [r.entry for r in ranked],
        [v.mean for v in values],
        [v.low for v in values],
        [v.high for v in values],
        [r.rank_low == 1 for r in ranked],
        f"{page.primary_metric} ({task}, {arrow}), mean, 95% t interval",
        MAY_BE_BEST,
    )


def _group_charts(page: SuitePage, group: str) -> dict[str, str]:
    """Per condition, one stacked bar per entry (in ranking order) of the group's shares."""
    charts = {}
    for condition in page.conditions:
        shares = page.shares(group, condition)
        if shares:
            charts[condition] = stacked_bar_chart(
                list(shares),
                page.groups[group],
                list(shares.values()),
                f"{group}, {condition}: mean over seeds of each share",
            )
    return charts


def _curve_charts(page: SuitePage) -> dict[str, dict[str, str]]:
    """Per curve metric in declaration order, per condition: lines of the mean over seeds, or, for a curve with a
    band or reference, one panel per entry (in ranking order) of its lowest seed's run."""
    charts: dict[str, dict[str, str]] = {}
    for metric in (m["metric"] for m in page.metrics):
        if metric in page.curves:
            charts[metric] = {
                condition: curve_chart(
                    series,
                    page.axis(metric),
                    metric,
                    f"{metric}, {condition}, mean of seeds",
                    *(page.phase_marks(condition) if page.marks_phases(metric) else ()),
                )
                for condition, series in page.curves[metric].items()
            }
        elif metric in page.bands:
            charts[metric] = {
                condition: band_chart(
                    {f"{entry} · seed {band.seed}": band for entry, band in runs.items()},
                    page.axis(metric),
                    metric,
                    f"{metric}, {condition}, lowest seed of each entry",
                )
                for condition, runs in page.bands[metric].items()
            }
    return charts


def _scatter_label(metric: dict) -> str:
    """A scatter axis: the metric, its unit and which way is better, e.g. 'rate-emd (spikes per step, ↓ lower is
    better)'."""
    better = "↑ higher is better" if metric["higher_is_better"] else "↓ lower is better"
    return f"{metric['metric']} ({metric['unit'] + ', ' if metric['unit'] else ''}{better})"


def _scatter_charts(page: SuitePage) -> dict[str, dict[str, str]]:
    """Per metric drawn versus another, per condition: one labelled point per entry (x its versus metric)."""
    charts: dict[str, dict[str, str]] = {}
    for metric, by_condition in page.scatters.items():
        y = page.metric(metric)
        x = page.metric(y["versus"])
        charts[metric] = {
            condition: scatter_chart(
                points,
                _scatter_label(x),
                _scatter_label(y),
                f"{metric} against {y['versus']}, {condition}, mean of seeds",
            )
            for condition, points in by_condition.items()
        }
    return charts


def _critical_difference(page: SuitePage) -> str:
    over = page.ranked.over_tasks
    if over is None:
        return ""
    return critical_difference_chart(
        over.entries,
        list(over.mean_rank),
        over.critical_difference,
        f"mean rank of {page.primary_metric} over {over.n_tasks} tasks (1 = best); "
        "entries joined by a bar are not told apart",
    )


SITE_LAYOUT = {"index.html", "downloads.html", "suites", "methodology", "entries", "docs", "data", "static", MARKER}


def _is_site(folder: Path) -> bool:
    """A folder a build wrote: it has the marker, or (sites built before the marker) only a site's own files."""
    names = {p.name for p in folder.iterdir()}
    return MARKER in names or ("index.html" in names and names <= SITE_LAYOUT)


def _check_out(out: Path, db: Path) -> None:
    """Refuse an ``out`` that replacing would destroy: it must be new, empty, or a previous site."""
    fix = "choose a new or empty folder, e.g. --out site"
    if db.resolve().is_relative_to(out):
        raise UsageError(f"--out {out} holds the results database {db}; it would be deleted: {fix}")
    if Path.cwd().is_relative_to(out):
        raise UsageError(f"--out {out} holds the current folder, which replacing it would delete: {fix}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder: {fix}")
    if out.is_dir() and any(out.iterdir()) and not _is_site(out):
        raise UsageError(
            f"--out {out} is not empty and is not a reliabench site (it has no {MARKER} file), so it is not "
            f"replaced: {fix}, or empty it yourself"
        )


def _swap_in(staging: Path, out: Path) -> None:
    """Put the finished site at ``out``: a previous one is renamed away, the new one renamed in, the old removed."""
    if not out.exists():
        staging.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    out.rename(old)
    try:
        staging.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old)


def build_site(
    db: Path | str | None = None,
    out: Path | str = DEFAULT_OUT,
    registry: Registry | None = None,
    docs: Path | None = None,
) -> Path:
    """Write the whole site and swap it in at ``out``; return its index.

    The site is built in a fresh sibling folder, so a build that fails leaves the
    previous site as it was. ``out`` must be new, empty, or a previous site.
    Given the ``registry`` of installed suites, only those are shown (each, with results or
    not): stored results of a suite no longer installed are named on the index, not
    described. Without one, every suite with stored results is shown.
    ``docs`` is the plugin documentation shown (default: the generated ``docs/plugins``).
    """
    if docs is None:
        from harness.plugin_docs import DOCS as docs  # it imports the built-in contracts: only when building
    out = Path(out).resolve()
    _check_out(out, Path(db) if db is not None else default_db())
    env = environment()
    with Store(db, read_only=True) as store:
        stored = {name for name in store.suites()["suite"].unique() if not store.cells(name).empty}
        installed = stored if registry is None else set(registry.suites)
        pages = [suite_page(store, name) for name in sorted(stored & installed)]
        across = boards.cross_suite(store, ranked={page.name: page.ranked for page in pages})
        runs = store.runs()
    entries = entry_pages(pages, runs)
    index = {
        "installed": pages if registry is None else [registry.suites[name] for name in sorted(installed)],
        "not_installed": sorted(stored - installed),
    }

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.building-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    try:
        _write_site(staging, env, pages, entries, across, index, doc_pages(docs))
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out / "index.html"


def _write_site(
    out: Path,
    env: jinja2.Environment,
    pages: list[SuitePage],
    entries: list[EntryPage],
    across: boards.CrossSuite,
    index: dict,
    docs: list[DocPage],
) -> None:
    """Every page, asset and download, written into ``out`` (a fresh folder), marked as a site."""
    (out / MARKER).write_text("A reliabench site: `reliabench site build` replaces this folder.\n")
    for folder in ("suites", "methodology", "entries", "docs", "data", "static"):
        (out / folder).mkdir(parents=True)
    static = resources.files("harness.publish") / "static"
    for asset in ("style.css", "table.js"):
        (out / "static" / asset).write_text(static.joinpath(asset).read_text())

    common = {"suites": pages, "entries": entries, "docs": docs}

    def render(template: str, path: str, **context) -> None:
        root = "../" * path.count("/")
        (out / path).write_text(env.get_template(template).render(root=root, **common, **context))

    render("index.html", "index.html", across=across, **index)
    for page in pages:
        groups = {group: _group_charts(page, group) for group in page.groups}
        matrices = {
            condition: matrix_chart(entries, f"{page.matrix_metric}, {condition}, mean of seeds", "rows", "columns")
            for condition, entries in page.matrices.items()
        }
        render(
            "suite.html",
            f"suites/{file_name(page.name)}.html",
            page=page,
            chart=_chart(page),
            critical_difference=_critical_difference(page),
            curves=_curve_charts(page),
            scatters=_scatter_charts(page),
            groups={group: charts for group, charts in groups.items() if charts},
            matrices=matrices,
        )
        render("methodology.html", f"methodology/{file_name(page.name)}.html", page=page, procedure=stats.PROCEDURE)
    for entry in entries:
        render("entry.html", f"entries/{entry.file}", entry=entry)
    for doc in docs:
        render("doc.html", f"docs/{doc.file}", doc=doc)

    shown = pd.concat([p.shown for p in pages], ignore_index=True) if pages else pd.DataFrame(columns=boards.COLUMNS)
    to_csv(shown, out / "data" / "leaderboard.csv")
    (out / "data" / "leaderboard.json").write_text(json.dumps(json.loads(shown.to_json(orient="records")), indent=1))
    shown.to_parquet(out / "data" / "leaderboard.parquet", index=False)
    render("downloads.html", "downloads.html", rows=len(shown))
