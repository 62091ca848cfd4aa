"""The static site: structure, escaping and links from the files; behaviour in a real browser (chromium).

The browser tests drive Debian's chromium through Python playwright; without it
they are skipped with the reason (``make test`` installs chromium when it can).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import with_track

from harness import Curve, Metric, Suite
from harness import leaderboard as boards
from harness.cli import main
from harness.grid import plan_grid
from harness.publish.charts import band_chart, scatter_chart, stacked_bar_chart
from harness.publish.content import Band, doc_pages, suite_page, unfold
from harness.publish.site import build_site
from harness.runner import run_cells
from harness.scores import NO_INDEX, ScoreRows
from harness.store import CellRecord, Store

EVIL = "<img src=x onerror=alert(1)>"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _evil_cell(key: str, status: str, error: str = "") -> CellRecord:
    return CellRecord(
        key=key,
        run_id="handmade",
        suite="toy",
        suite_version="1",
        task="small",
        data_fingerprint="",
        entry=EVIL,
        model="",
        model_version="",
        method=EVIL,
        method_version="1",
        seed=0,
        profile="quick",
        config="{}",
        suite_plugin="",
        model_plugin="",
        method_plugin="evil==6.6.6",
        status=status,
        error=error,
        detail="",
        duration_s=0.0,
    )


BUCKETS = ("low", "middle", "high")  # a group of shares: each score falls in one bucket
SHARE_METRICS = (
    *(Metric(name, True, meaning=f"1 if the score is {name}", group="bucket") for name in BUCKETS),
    Metric("flip-rate", False, shape="curve", meaning="share of scores below a threshold", axis="pushback turn"),
    Metric("kept-mean", True, shape="curve", meaning="mean of the best scores kept", axis="coverage"),
    Metric("shortfall", False, "points", "how far the lowest score falls below 1", shape="scalar", versus="score"),
)


def with_shares(suite: Suite) -> Suite:
    """The toy suite plus a group of three per-sample shares, two curves along named axes, and a scalar drawn
    versus the per-sample score."""

    def evaluate(cell):
        result = dict(suite.evaluate(cell))
        values = result["score"]
        if isinstance(values, np.ndarray) and values.ndim == 1 and np.isfinite(values).all():
            bucket = np.digitize(values, [0.0, 1.0])
            result |= {name: (bucket == i).astype(float) for i, name in enumerate(BUCKETS)}
            best = np.sort(values)[::-1]
            coverage = [0.25, 0.5, 1.0]
            result["flip-rate"] = Curve([1.0, 2.0, 3.0], [float((values < t).mean()) for t in (0.0, 0.5, 1.0)])
            result["kept-mean"] = Curve(coverage, [float(best[: int(c * len(best))].mean()) for c in coverage])
            result["shortfall"] = float(1 - values.min())
        return result

    return dataclasses.replace(suite, metrics=(*suite.metrics, *SHARE_METRICS), evaluate=evaluate)


@pytest.fixture(scope="module")
def site_registry():
    """The toy plugins, the toy suite with shares and named axes: the suites installed for the site."""
    from conftest import FIXTURES

    from harness.plugins import load_registry

    registry = load_registry([FIXTURES], defaults=False)
    registry.suites["toy"] = with_shares(registry.suites["toy"])
    return registry


@pytest.fixture(scope="module")
def site(tmp_path_factory, site_registry):
    """A site built from the toy suite (with shares and named axes) plus a hostile entry written into the database."""
    root = tmp_path_factory.mktemp("site")
    db = root / "results.duckdb"
    registry = site_registry
    cells = plan_grid(registry, methods=["good", "fair", "bad", "raises"])
    with Store(db) as store:
        run_cells(registry, cells, store, show_progress=False)
        values = np.linspace(-1, 1, 8)
        rows = ScoreRows(
            np.array(["score"] * 8, dtype=object),
            np.arange(8, dtype=np.int32),
            np.full(8, np.nan),
            np.full(8, NO_INDEX, np.int32),
            np.full(8, NO_INDEX, np.int32),
            values,
        )
        store.write_cells(
            [(_evil_cell("evil-ok", "ok"), rows), (_evil_cell("evil-bad", "error", "<script>alert(2)</script>"), None)]
        )
    index = build_site(db, root / "site", registry)
    return index.parent


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.targets.append(value)


def test_every_page_type_is_written(site):
    names = {p.relative_to(site).as_posix() for p in _pages(site)}
    assert {
        "index.html",
        "suites/toy.html",
        "methodology/toy.html",
        "downloads.html",
        "entries/method-good.html",
        "docs/index.html",
        "docs/attribution-method.html",
    } <= names
    evil_pages = [n for n in names if n.startswith("entries/method-img-src-x-onerror-alert-1")]
    assert len(evil_pages) == 1, "a hostile name becomes a sanitized file name"


def test_every_link_resolves_and_nothing_is_remote(site):
    for page in _pages(site):
        parser = _Links()
        parser.feed(page.read_text())
        for target in parser.targets:
            assert "://" not in target and not target.startswith("//"), f"{page}: remote reference {target}"
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.exists(), f"{page.relative_to(site)} links to missing {target}"


def test_plugin_text_is_escaped(site):
    for page in _pages(site):
        html = page.read_text()
        assert EVIL not in html and "<script>alert(2)" not in html, page
    suite = (site / "suites" / "toy.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in suite
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in suite, "the failed cell's reason is shown, as text"


def test_downloads_hold_the_shown_results(site):
    csv = pd.read_csv(site / "data" / "leaderboard.csv")
    parquet = pd.read_parquet(site / "data" / "leaderboard.parquet")
    records = json.loads((site / "data" / "leaderboard.json").read_text())
    assert len(csv) == len(parquet) == len(records) > 0
    good = parquet[(parquet["entry"] == "good") & (parquet["metric"] == "score") & (parquet["task"] == "overall")]
    assert good["rank"].iloc[0] == 1


class _Figures(HTMLParser):
    """Each table row's figures by (entry, task): the entry page's estimate cell, or the suite board's primary-metric
    cells (``metric``)."""

    def __init__(self, metric: str | None = None):
        super().__init__()
        self.metric, self.row, self.cells, self.figures = metric, {}, 0, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.row, self.cells = attrs, 0
        elif tag == "td" and "data-entry" in self.row:
            self.cells += 1
            if self.metric is None and self.cells == 5:
                self.figures[(self.row["data-entry"], self.row["data-task"])] = attrs["data-value"]
            elif self.metric is not None and attrs.get("data-metric") == self.metric:
                self.figures[(self.row["data-entry"], attrs["data-task"])] = attrs["data-value"]


def _figures(path: Path, metric: str | None = None) -> dict[tuple[str, str], str]:
    parser = _Figures(metric)
    parser.feed(path.read_text())
    return parser.figures


def test_entry_pages_show_the_suite_pages_figures(site):
    board = _figures(site / "suites" / "toy.html", "score")
    pages = sorted((site / "entries").glob("method-*.html"))
    assert len(pages) == 5
    shown = {}
    for page in pages:
        figures = _figures(page)
        assert figures and {entry for entry, _ in figures} == {next(iter(figures))[0]}, "one entry's rows"
        shown |= figures
    assert shown == board and len(board) >= 4 * len(CONDITIONS), "every board figure, once, on its entry's page"
    assert board[("good", "overall")] != "" and board[("raises", "overall")] == "", "failed entries too"


def test_downloads_have_one_column_per_axis(site):
    """A suite ranked by method folds the model into the condition ('small · cnn'); downloads split it back."""
    with Store(site.parent / "results.duckdb", read_only=True) as store:
        part = boards.load_slice(store, "toy")
    models = {"small": "cnn", "tiny-data": "mlp · wide"}  # a name holding the separator
    two_sided = dataclasses.replace(
        part,
        rank_by="method",
        cells=part.cells.assign(model=part.cells["task"].map(models)),
        scores=part.scores.assign(model=part.scores["task"].map(models)),
    )
    board = boards.rank_slice(two_sided, "score").table
    assert {"small · cnn", "tiny-data · mlp · wide"} <= set(board["task"])
    split = unfold(board, TASKS, "method")
    assert list(split.columns) == list(board.columns) and len(split) == len(board)
    pairs = set(zip(split["task"], split["model"], strict=True))
    assert pairs == {("overall", ""), ("small", "cnn"), ("tiny-data", "mlp · wide")}
    csv = pd.read_csv(site / "data" / "leaderboard.csv", keep_default_na=False)
    assert set(csv["task"]) == set(CONDITIONS) and "·" not in "".join(csv["task"])
    assert unfold(board, TASKS, "entry") is board


def test_index_describes_only_installed_suites(site, site_registry, tmp_path):
    index = (site / "index.html").read_text()
    assert "INT4" not in index and "Toy suite" in index, "no hard-coded suites: the installed ones"
    other = dataclasses.replace(
        site_registry, suites={"other": dataclasses.replace(site_registry.suites["toy"], name="other", title="Else")}
    )
    built = build_site(site.parent / "results.duckdb", tmp_path / "other", other).parent
    index = (built / "index.html").read_text()
    assert "Toy suite" not in index and not (built / "suites" / "toy.html").exists()
    assert "not installed here are not shown: toy." in index
    assert "Else" in index and "no results yet" in index and "reliabench run --suite other" in index
    assert not list((built / "entries").iterdir()), "entries of suites not installed are not shown"


def test_plugin_docs_are_pages_of_the_site(site, tmp_path):
    docs = sorted(p.stem for p in (Path(__file__).parents[1] / "docs" / "plugins").glob("*.md"))
    assert sorted(p.stem for p in (site / "docs").glob("*.html")) == docs
    index = (site / "docs" / "index.html").read_text()
    assert "<table>" in index and 'href="attribution-method.html"' in index and "Generated by" not in index
    assert 'href="docs/index.html"' in (site / "index.html").read_text()
    (tmp_path / "index.md").write_text(f"# Hi {EVIL}\n\n[x](javascript:alert(1)) [y](other.md#a) [z](../z.md)\n")
    (page,) = doc_pages(tmp_path)
    assert page.title == f"Hi {EVIL}" and EVIL not in page.html and "&lt;img" in page.html
    assert "javascript:" not in page.html.replace("[x](javascript:", "")
    assert 'href="other.html#a"' in page.html and 'href="../z.md"' in page.html


def _section(html: str, anchor: str) -> str:
    """The part of a page from the heading with id ``anchor`` to the next heading."""
    start = html.index(f'id="{anchor}"')
    return html[start : html.find("<h2", start)]


TASKS = ("small", "tiny-data")
CONDITIONS = ("overall", *TASKS)  # the board's: tasks and 'overall'


def test_curve_metrics_are_drawn_along_their_steps(site):
    suite = (site / "suites" / "toy.html").read_text()
    for metric, heading, xlabel in (
        ("trace", "trace along the step axis", ">step<"),
        ("flip-rate", "flip-rate along pushback turn", ">pushback turn<"),
        ("kept-mean", "kept-mean along coverage", ">coverage<"),
    ):
        section = _section(suite, f"curve-{metric}")
        assert heading in section and section.count("<svg") == len(TASKS), metric  # one chart per task
        assert section.count(xlabel) == len(TASKS), f"{metric}: the x axis is labelled with its axis"
    methodology = (site / "methodology" / "toy.html").read_text()
    assert "along the pushback turn axis" in methodology and "along the coverage axis" in methodology


def test_group_shares_are_stacked_bars(site):
    with Store(site.parent / "results.duckdb", read_only=True) as store:
        page = suite_page(store, "toy")
    assert page.groups == {"bucket": list(BUCKETS)}
    assert list(page.curves) == ["trace", "flip-rate", "kept-mean"] and page.phase_metric == ""
    for condition in CONDITIONS:
        shares = page.shares("bucket", condition)
        assert list(shares) == ["good", "fair", "bad"], "ranking order; entries without the metrics are left out"
        for entry, parts in shares.items():
            assert sum(parts) == pytest.approx(1.0), (entry, condition)
            board = page.board.set_index(["metric", "task", "entry"])
            assert parts[0] == board.loc[("low", condition, entry), "mean"]
    section = _section((site / "suites" / "toy.html").read_text(), "group-bucket")
    assert section.count("<svg") == len(CONDITIONS)
    assert all(section.count(f">{name}<") == len(CONDITIONS) + 1 for name in BUCKETS), "legend and description"
    assert EVIL.replace("<", "&lt;") not in section
    methodology = (site / "methodology" / "toy.html").read_text()
    assert methodology.count('a share in group <a href="../suites/toy.html#group-bucket">bucket</a>') == 3


def _points(svg: str) -> int:
    """How many markers a scatter chart's ``points`` collection draws."""
    marker = re.search(r'<g id="points">\s*<defs>\s*<path id="(\w+)"', svg).group(1)
    return svg.count(f'xlink:href="#{marker}"')


def test_a_metric_drawn_versus_another_is_a_scatter_per_task(site):
    with Store(site.parent / "results.duckdb", read_only=True) as store:
        page = suite_page(store, "toy")
        scores = store.results("toy")
    assert list(page.scatters) == ["shortfall"] and list(page.scatters["shortfall"]) == list(TASKS), "no 'overall'"
    board = page.board.set_index(["metric", "task", "entry"])["mean"]
    score = scores[scores["metric"] == "score"].groupby(["task", "entry", "seed"])["value"].mean()
    for task in TASKS:
        points = page.scatters["shortfall"][task]
        assert list(points) == ["good", "fair", "bad"], "ranking order; entries without both metrics are left out"
        for entry, (x, y) in points.items():
            assert (x, y) == (board[("score", task, entry)], board[("shortfall", task, entry)])
            assert x == pytest.approx(score[(task, entry)].mean()), "x: mean over seeds of each seed's sample mean"
    assert page.best_corner("shortfall") == "lower right"
    section = _section((site / "suites" / "toy.html").read_text(), "versus-shortfall")
    assert "shortfall (points) against score</h2>" in section and "lower right" in section
    assert section.count("<svg") == len(TASKS) and section.count("mean of seeds") == len(TASKS)
    charts = section.split("<svg")[1:]
    assert [_points(chart) for chart in charts] == [3] * len(TASKS), "one point per entry"
    for entry in ("good", "fair", "bad"):
        assert all(chart.count(f">{entry}<") == 1 for chart in charts), f"{entry}: its point is named once"
    assert all(">score (↑ higher is better)<" in chart for chart in charts), "x axis: name, direction"
    assert all(">shortfall (points, ↓ lower is better)<" in chart for chart in charts), "y axis: name, unit, direction"
    methodology = (site / "methodology" / "toy.html").read_text()
    assert 'drawn against <a href="../suites/toy.html#versus-shortfall">score</a>' in methodology


def test_scatter_chart_is_deterministic_names_every_point_and_shows_text_literally():
    crowd = {f"entry-{i}": (0.001 * i, 0.002 * (i % 3)) for i in range(10)}
    points = {"a $x$": (0.0, 1.0), "<b>": (1.0, 2.0), **crowd}
    first = scatter_chart(points, "x $", "y", "y against x")
    assert first == scatter_chart(points, "x $", "y", "y against x") and first.startswith("<svg")
    assert _points(first) == len(points)
    assert "a $x$" in first and "&lt;b&gt;" in first and "<b>" not in first and ">x $<" in first
    assert all(first.count(f">{name}<") == 1 for name in crowd), "a crowd's names are all drawn"
    apart = scatter_chart({"a": (0.0, 0.0), "b": (1.0, 1.0)}, "x", "y", "apart")
    assert first.count('<g id="patch_') > apart.count('<g id="patch_'), "crowded names are joined to their points"


def test_stacked_bar_chart_is_deterministic_and_shows_text_literally():
    args = (["a $x$", "<b>"], ["p", "q & r"], [[0.25, 0.75], [None, 0.5]], "share $")
    first = stacked_bar_chart(*args)
    assert first == stacked_bar_chart(*args) and first.startswith("<svg")
    assert "a $x$" in first and "&lt;b&gt;" in first and "q &amp; r" in first and "<b>" not in first
    full = stacked_bar_chart(args[0], args[1], [[0.25, 0.75], [0.5, 0.5]], args[3])
    assert full.count('<g id="patch_') == first.count('<g id="patch_') + 1, "a None part is left out of its bar"


BAND_SEEDS = (3, 1)  # the lowest seed is not the first run


@pytest.fixture(scope="module")
def band_sites(tmp_path_factory) -> dict[bool, Path]:
    """Two databases and sites of the same cells, whose curve ``track`` has a band and reference (True) or not."""
    from conftest import FIXTURES

    from harness.plugins import load_registry

    root = tmp_path_factory.mktemp("bands")
    registry = load_registry([FIXTURES], defaults=False)
    toy = registry.suites["toy"]
    sites = {}
    for band in (False, True):
        registry.suites["toy"] = with_track(toy, band)
        with Store(root / f"{band}.duckdb") as store:
            cells = plan_grid(registry, methods=["good", "fair", "bad", "raises"], seeds=BAND_SEEDS)
            run_cells(registry, cells, store, show_progress=False)
        sites[band] = build_site(root / f"{band}.duckdb", root / f"site-{band}", registry).parent
    return sites


def _page(site: Path, band: bool):
    with Store(site.parent / f"{band}.duckdb", read_only=True) as store:
        return suite_page(store, "toy"), store.results("toy")


def test_a_banded_curve_is_one_panel_per_entry_from_its_lowest_seed(band_sites):
    page, scores = _page(band_sites[True], True)
    assert list(page.curves) == ["trace"] and list(page.bands) == ["track"]
    track = scores[(scores["metric"] == "track") & scores["row"].isna()].sort_values("step")
    for condition in TASKS:
        runs = page.bands["track"][condition]
        assert list(runs) == [row.entry for row in page.rows if row.entry in runs] == ["good", "fair", "bad"]
        for entry, band in runs.items():
            cell = track[(track["task"] == condition) & (track["entry"] == entry)]
            lowest, other = (cell[cell["seed"] == seed]["value"].tolist() for seed in (1, 3))
            assert band.seed == 1 and band.steps == [0.0, 1.0, 2.0, 3.0]
            assert band.values == lowest and band.values != other, "the lowest seed's run, not a mean"
            assert np.allclose(band.lower, np.array(lowest) - 0.5) and np.allclose(band.upper, np.array(lowest) + 0.5)
            assert band.reference == [0.0, 0.5, 1.0, 0.5]
    section = _section((band_sites[True] / "suites" / "toy.html").read_text(), "curve-track")
    assert "track along time" in section and "lowest seed" in section and "not averaged" in " ".join(section.split())
    assert section.count("<svg") == len(TASKS) and section.count('<g id="axes_') == 3 * len(TASKS)
    for entry in ("good", "fair", "bad"):
        assert section.count(f">{entry} · seed 1<") == len(TASKS), "one panel per entry, named with its seed"
    assert section.count(">reference<") == len(TASKS) and "mean of seeds" not in section


def test_plain_curves_boards_and_exports_are_unchanged_by_a_band(band_sites, tmp_path):
    plain_page, _ = _page(band_sites[False], False)
    page, _ = _page(band_sites[True], True)
    assert list(plain_page.curves) == ["trace", "track"] and plain_page.bands == {}
    plain_html, html = ((band_sites[band] / "suites" / "toy.html").read_text() for band in (False, True))
    assert _section(html, "curve-trace") == _section(plain_html, "curve-trace")
    assert "mean of seeds" in _section(plain_html, "curve-track") and "lowest seed" not in plain_html
    assert page.board.equals(plain_page.board) and page.shown.equals(plain_page.shown)
    tables = []
    for band in (False, True):
        db = band_sites[band].parent / f"{band}.duckdb"
        with Store(db, read_only=True) as store:
            tables.append(boards.rank_slice(boards.load_slice(store, "toy"), "score").table)
        with pytest.raises(SystemExit) as exit_info:
            main(["export", "--db", str(db), "--out", str(tmp_path / f"{band}.parquet")])
        assert exit_info.value.code == 0
    assert tables[0].equals(tables[1]), "the leaderboard is the same"
    plain, banded = (
        pd.read_parquet(tmp_path / f"{band}.parquet")
        .drop(columns="run_id")
        .sort_values(["cell_key", "metric", "row", "step", "sample", "col"])
        .reset_index(drop=True)
        for band in (False, True)
    )
    coded = banded["row"].notna() & (banded["metric"] == "track")
    assert banded[~coded].reset_index(drop=True).equals(plain), "the export holds the same values..."
    assert len(banded[coded]) == 3 * plain["metric"].eq("track").sum(), "... and the band and reference rows"


def test_band_chart_is_deterministic_and_shows_text_literally():
    def run(shift: float, band: bool = True, reference: bool = True) -> Band:
        values = [shift, shift + 1, shift + 0.5]
        return Band(
            0,
            [0.0, 1.0, 2.0],
            values,
            [v - 0.2 for v in values] if band else None,
            [v + 0.2 for v in values] if band else None,
            [0.1, 0.9, 0.6] if reference else None,
        )

    panels = {"a $x$": run(0), "<b>": run(1), "c": run(2, reference=False), "d": run(3, band=False)}
    first = band_chart(panels, "time $", "y", "track, small")
    assert first == band_chart(panels, "time $", "y", "track, small") and first.startswith("<svg")
    assert first.count('<g id="axes_') == 4, "one panel per run; the grid's empty places are not drawn"
    assert "a $x$" in first and "&lt;b&gt;" in first and "<b>" not in first and "time $" in first
    assert first.count(">time $<") == 3, "the x axis is labelled under the lowest panel of each column"
    assert first.count('<g id="FillBetweenPolyCollection_') + first.count('<g id="PolyCollection_') == 3


def test_same_results_build_the_same_pages(site, site_registry, tmp_path):
    again = build_site(site.parent / "results.duckdb", tmp_path / "again", site_registry).parent
    for page in ("suites/toy.html", "methodology/toy.html"):
        assert (site / page).read_bytes() == (again / page).read_bytes(), page


def test_failed_cells_are_shown_not_hidden(site):
    suite = (site / "suites" / "toy.html").read_text()
    assert "failed ×" in suite and "ValueError: boom" in suite


def test_cli_site_build(cli_run, db, tmp_path):
    cli_run("run", "--method", "good,bad", "--quiet")
    code, out = cli_run("site", "build", "--db", str(db), "--out", str(tmp_path / "out"), with_db=False)
    assert code == 0 and "site written:" in out and (tmp_path / "out" / "index.html").exists()


def test_cli_site_without_results_says_how(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["site", "build", "--db", str(tmp_path / "missing.duckdb"), "--out", str(tmp_path / "s")])
    assert exit_info.value.code == 2 and "reliabench run" in capsys.readouterr().err


# -- in a real browser ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (extra: browser)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run browser tests")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, site):
    """Open a site page from file://, recording console errors, page errors, dialogs and requests."""
    pages = []

    def open_(path: str, width: int = 1280):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.problems, page.requests, page.dialogs = [], [], []
        page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        page.on("request", lambda r: page.requests.append(r.url))
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.goto((site / path).as_uri())
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


def test_index_opens_from_disk_with_no_errors_and_no_network(open_page):
    page = open_page("index.html")
    assert page.title().startswith("Reliability leaderboards")
    assert page.problems == []
    assert page.requests and all(url.startswith("file://") for url in page.requests)


def _column(page, index: int) -> list[str]:
    return page.eval_on_selector_all(
        "table.board tbody tr",
        f"rows => rows.map(r => r.children[{index}].getAttribute('data-value') ?? "
        f"r.children[{index}].textContent.trim())",
    )


def test_clicking_a_header_sorts(open_page):
    page = open_page("suites/toy.html")
    page.click("table.board th:nth-child(5)")  # entry, text
    entries = _column(page, 4)
    assert entries == sorted(entries, key=str.lower)
    page.click("table.board th:nth-child(5)")
    assert _column(page, 4) == sorted(entries, key=str.lower, reverse=True)
    page.click("table.board th:nth-child(6)")  # the primary metric's first column, numeric
    numbers = [float(v) for v in _column(page, 5) if v]
    assert numbers == sorted(numbers) and len(numbers) >= 3
    assert page.problems == []


def test_filters_hide_rows_and_columns(open_page):
    page = open_page("suites/toy.html")
    page.fill("input[data-filter=method]", "goo")
    visible = page.eval_on_selector_all("table.board tbody tr", "rows => rows.filter(r => r.offsetParent).length")
    assert visible == 1
    page.fill("input[data-filter=method]", "")
    assert page.eval_on_selector_all("table.board tbody tr", "rows => rows.filter(r => r.offsetParent).length") == 5
    shown = lambda: page.eval_on_selector_all(  # noqa: E731
        "table.board th[data-task]", "cells => cells.filter(c => c.offsetParent).map(c => c.dataset.task)"
    )
    assert set(shown()) == {"overall"}
    page.select_option("select[data-task-filter]", "small")
    assert set(shown()) == {"small"}


def test_hostile_name_is_text_and_runs_nothing(open_page, site):
    page = open_page("suites/toy.html")
    page.wait_for_timeout(200)
    assert page.dialogs == [] and page.problems == []
    assert EVIL in page.inner_text("table.board")
    assert page.locator("table.board img").count() == 0


def test_screenshots_of_every_page_type(open_page, site, tmp_path_factory):
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    pages = {
        "index": "index.html",
        "leaderboard": "suites/toy.html",
        "methodology": "methodology/toy.html",
        "entry": "entries/method-good.html",
        "downloads": "downloads.html",
        "plugin-docs": "docs/attribution-method.html",
    }
    for kind, path in pages.items():
        for width in (1280, 390):
            page = open_page(path, width)
            target = shots / f"{kind}-{width}.png"
            page.screenshot(path=str(target), full_page=True)
            assert target.stat().st_size > 5000 and page.problems == []
    keep = Path(__file__).parent / "output" / "screenshots"
    shutil.copytree(shots, keep, dirs_exist_ok=True)


# every chart's legend and colour scale: whether it exists and whether it overlaps an axes' data area
_CHART_KEYS = """svgs => svgs.map(svg => {
  const legends = [...svg.querySelectorAll('g[id^="legend"]')].map(g => g.getBoundingClientRect());
  const areas = [...svg.querySelectorAll('g[id^="axes"]')].map(a => a.querySelector('g[id^="patch"]'))
    .filter(p => p).map(p => p.getBoundingClientRect());
  const meet = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  return {
    legend: legends.length > 0,
    scale: svg.querySelector('g#colorbar') !== null,
    named: svg.querySelector('g#points') !== null,
    covers: legends.some(l => areas.some(a => meet(l, a))),
  };
})"""


def _chart_keys(page) -> list[dict]:
    return page.eval_on_selector_all("svg", _CHART_KEYS)


def test_every_chart_with_colours_has_a_legend_that_covers_no_data(open_page, browser):
    keys = _chart_keys(open_page("suites/toy.html"))
    assert len(keys) >= 10
    for key in keys:
        assert key["legend"] or key["scale"] or key["named"], "a legend, a colour bar, or points named one by one"
        assert not key["covers"], "the legend is outside every axes"
    panels = {name: Band(0, [0.0, 1.0], [0.0, 1.0], [-0.5, 0.5], [0.5, 1.5], [0.0, 0.9]) for name in "abcd"}
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_content(f"<figure style='width:48rem'>{band_chart(panels, 'time', 'y', 'track')}</figure>")
    (band,) = _chart_keys(page)
    page.close()
    assert band["legend"] and not band["covers"], "the panels' legend is below them"
    assert any(key["scale"] for key in keys), "a heat map's colours are read on its colour bar"


_OVERFLOW = """() => [...document.querySelectorAll('table')].map(table => {
  const box = table.closest('.scroll') || table;
  const rect = box.getBoundingClientRect();
  const hint = box.previousElementSibling;
  return {
    inside: rect.left >= 0 && rect.right <= window.innerWidth,
    wider: box.scrollWidth > box.clientWidth + 1,
    scrolls: ['auto', 'scroll'].includes(getComputedStyle(box).overflowX),
    hinted: !!hint && hint.classList.contains('scroll-hint') && !hint.hidden,
    doc: !!table.closest('.doc'),
  };
})"""


def _fits(page) -> list[dict]:
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280, "the page itself never scrolls sideways"
    tables = page.evaluate(_OVERFLOW)
    for table in tables:
        assert table["inside"], "each table's box is within the viewport"
        if table["wider"]:
            assert table["scrolls"] and (table["hinted"] or table["doc"]), "wider tables scroll in a box, said so"
    return tables


def test_no_table_overflows_a_laptop_screen(open_page):
    for path in ("index.html", "entries/method-good.html", "docs/index.html", "docs/attribution-method.html"):
        assert _fits(open_page(path)), path
    page = open_page("suites/toy.html")
    assert not any(table["wider"] for table in _fits(page)), "one task's columns fit"
    page.select_option("select[data-task-filter]", "*")
    assert any(table["wider"] and table["hinted"] for table in _fits(page)), "every task's columns scroll, said so"
    assert page.problems == []


def test_plugin_docs_render(open_page):
    page = open_page("docs/index.html")
    assert page.inner_text("h1") == "Writing a reliabench plugin" and page.locator(".doc table tr").count() > 10
    page.click("text=Attribution method")
    assert page.url.endswith("docs/attribution-method.html") and page.locator(".doc pre code").count() >= 1
    assert page.problems == []
