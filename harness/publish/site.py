"""Render the static leaderboard site: self-contained files that open from disk or any static host."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import jinja2
import pandas as pd

from harness import leaderboard as boards
from harness import stats
from harness.publish.charts import critical_difference_chart, curve_chart, interval_chart, matrix_chart
from harness.publish.content import SuitePage, entry_pages, file_name, suite_page
from harness.store import Store

DEFAULT_OUT = Path("site")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.publish", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v: "—" if v is None or pd.isna(v) else f"{v:.4g}"
    env.filters["file"] = file_name
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
    )


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


def build_site(db: Path | str | None = None, out: Path | str = DEFAULT_OUT) -> Path:
    """Write the whole site into ``out`` (replacing what a previous build left there); return its index."""
    out = Path(out)
    env = _environment()
    with Store(db, read_only=True) as store:
        suite_names = sorted(store.suites()["suite"].unique())
        pages = [suite_page(store, name) for name in suite_names if not store.cells(name).empty]
        across = boards.cross_suite(store)
        runs = store.runs()
    entries = entry_pages(pages, runs)

    if out.exists():
        shutil.rmtree(out)
    for folder in ("suites", "methodology", "entries", "data", "static"):
        (out / folder).mkdir(parents=True)
    static = resources.files("harness.publish") / "static"
    for asset in ("style.css", "table.js"):
        (out / "static" / asset).write_text(static.joinpath(asset).read_text())

    common = {"suites": pages, "entries": entries}

    def render(template: str, path: str, **context) -> None:
        root = "../" * path.count("/")
        (out / path).write_text(env.get_template(template).render(root=root, **common, **context))

    render("index.html", "index.html", across=across)
    for page in pages:
        curves = {
            condition: curve_chart(
                series,
                "step",
                page.curve_metric,
                f"{page.curve_metric}, {condition}, mean of seeds",
                *page.phase_marks(condition),
            )
            for condition, series in page.curves.items()
        }
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
            curves=curves,
            matrices=matrices,
        )
        render("methodology.html", f"methodology/{file_name(page.name)}.html", page=page, procedure=stats.PROCEDURE)
    for entry in entries:
        render("entry.html", f"entries/{entry.file}", entry=entry)

    shown = pd.concat([p.board for p in pages], ignore_index=True) if pages else pd.DataFrame(columns=boards.COLUMNS)
    shown.to_csv(out / "data" / "leaderboard.csv", index=False)
    (out / "data" / "leaderboard.json").write_text(json.dumps(json.loads(shown.to_json(orient="records")), indent=1))
    shown.to_parquet(out / "data" / "leaderboard.parquet", index=False)
    render("downloads.html", "downloads.html", rows=len(shown))
    return out / "index.html"
