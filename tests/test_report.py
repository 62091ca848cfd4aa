"""Comparison reports on real stored results: the leaderboard's numbers, paired differences, both formats, a baseline.

One small real grid (the toy suite, a twin of it, and a method whose scores move with the seed, so paired
differences have spread) is run once into a database; a second run with a changed plugin version and seed set
is the baseline comparison's "after".
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES, cli_runner
from scipy import stats as scipy_stats
from test_site import EVIL, _evil_cell, browser  # noqa: F401 (browser: the site tests' chromium fixture)

from harness import stats
from harness.grid import plan_grid
from harness.leaderboard import OVERALL, leaderboard, load_slice, rank_slice
from harness.plugins import load_registry
from harness.publish.report import code, markdown_text, render
from harness.report import Comparison, Verdict, compare_databases, compare_entries
from harness.runner import run_cells
from harness.scores import NO_INDEX, ScoreRows
from harness.store import Store

EXTRA = textwrap.dedent(
    '''
    """A method whose scores move with the seed's first noise draw, a twin of the toy suite, and a method only in it."""

    import dataclasses

    from harness import MethodSpec, hookimpl
    from reliabench_local_plugins.toy import TOY, Offset, Scorer


    class Jitter:
        def __init__(self, offset, scale):
            self.offset, self.scale = offset, scale

        def scores(self, noise):
            return noise + self.offset + self.scale * noise[0]


    @hookimpl
    def register_suites(register):
        register(dataclasses.replace(TOY, name="twin", title="Twin suite"))


    @hookimpl
    def register_methods(register):
        register(MethodSpec("jitter", Scorer, "{version}", lambda: Jitter({offset}, {scale}), description="jitter"))
        register(MethodSpec("lonely", Scorer, "1", lambda: Offset(0.2), description="only in twin"))
    '''
)
HOSTILE = EVIL + " | `@octocat` [x](http://evil) \x1b[31m"
TASKS = ("small", "tiny-data")
SEEDS = (0, 1, 2)


def _run(root: Path, db: Path, version: str, offset: float, scale: float, seeds, hostile: bool = False) -> None:
    """Run toy (good, fair, jitter) and twin (good, lonely) at ``seeds`` into ``db``, jitter as given."""
    plugins = root / f"plugins-{version}"
    plugins.mkdir()
    (plugins / "extra.py").write_text(EXTRA.format(version=version, offset=offset, scale=scale))
    registry = load_registry([FIXTURES, plugins], defaults=False)
    cells = plan_grid(registry, ["toy"], methods=["good", "fair", "jitter"], seeds=seeds)
    cells += plan_grid(registry, ["twin"], methods=["good", "lonely"], seeds=seeds)
    with Store(db) as store:
        run_cells(registry, cells, store, show_progress=False)
        if hostile:  # a name no plugin should get away with, in every task and seed
            n = 8
            rows = ScoreRows(
                np.array(["score"] * n, dtype=object),
                np.arange(n, dtype=np.int32),
                np.full(n, np.nan),
                np.full(n, NO_INDEX, np.int32),
                np.full(n, NO_INDEX, np.int32),
                np.linspace(-1, 1, n) + 0.1,
            )
            evil = [
                dataclasses.replace(
                    _evil_cell(f"hostile-{task}-{seed}", "ok"), entry=HOSTILE, method=HOSTILE, task=task, seed=seed
                )
                for task in TASKS
                for seed in seeds
            ]
            store.write_cells([(cell, rows) for cell in evil])


@pytest.fixture(scope="module")
def dbs(tmp_path_factory) -> dict[str, Path]:
    """'old': jitter version 1 at seeds 0-2 (and a hostile entry); 'new': jitter version 2, another offset and
    scale, at seeds 0-3."""
    root = tmp_path_factory.mktemp("report")
    found = {"old": root / "old.duckdb", "new": root / "new.duckdb"}
    _run(root, found["old"], "1", 0.6, 0.3, SEEDS, hostile=True)
    _run(root, found["new"], "2", 0.8, 0.6, (*SEEDS, 3))
    return found


@pytest.fixture(scope="module")
def report(dbs):
    with Store(dbs["old"], read_only=True) as store:
        return compare_entries(store, ["jitter", "good"])


def _seed_values(db: Path, entry: str) -> pd.DataFrame:
    """Seed values computed here from the raw scores: task × seed, the mean of each seed's samples."""
    with Store(db, read_only=True) as store:
        scores = store.results("toy")
    rows = scores[(scores["entry"] == entry) & (scores["metric"] == "score")]
    return rows.groupby(["task", "seed"])["value"].mean().unstack("seed")


def _t(differences: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, 95% t interval and p of paired differences, straight from scipy."""
    mean, n = differences.mean(), len(differences)
    half = scipy_stats.t.ppf(0.975, n - 1) * differences.std(ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half, scipy_stats.ttest_1samp(differences, 0).pvalue


def test_estimates_and_differences_are_the_leaderboards(report, dbs):
    (suite,) = report.suites
    assert suite.suite == "toy" and report.not_compared == {"twin": ["good"]}, "twin has only one of them"
    assert suite.entries == ["good", "jitter"], "best estimate first"
    assert suite.conditions == [OVERALL, *TASKS]
    with Store(dbs["old"], read_only=True) as store:
        board = leaderboard(store, "toy")
        ranked = rank_slice(load_slice(store, "toy"))
    board = board[board["metric"] == "score"].set_index(["task", "entry"])
    for condition in suite.conditions:
        for entry in suite.entries:
            row, estimate = board.loc[(condition, entry)], suite.estimate("score", condition, entry)
            assert (estimate.value.mean, estimate.value.low, estimate.value.high) == (
                row["mean"],
                row["ci_low"],
                row["ci_high"],
            )
            assert (estimate.rank_low, estimate.rank_high, estimate.n_seeds) == (
                row["rank_low"],
                row["rank_high"],
                3,
            )
    good, jitter = _seed_values(dbs["old"], "good"), _seed_values(dbs["old"], "jitter")
    by_condition = {task: (good.loc[task], jitter.loc[task]) for task in TASKS}
    by_condition[OVERALL] = (good.mean(axis=0), jitter.mean(axis=0))  # seed by seed, the mean over tasks
    for condition, (a, b) in by_condition.items():
        comparison = suite.difference("score", condition, "good", "jitter")
        mean, low, high, p = _t((a - b).to_numpy())
        d = comparison.difference
        assert (d.mean, d.low, d.high, d.pvalue) == pytest.approx((mean, low, high, p), rel=1e-9)
        assert comparison.seeds == list(SEEDS) and d.n_seeds == 3
        ranking = ranked.overall if condition == OVERALL else ranked.per_task[condition]
        i, j = ranking.entries.index("good"), ranking.entries.index("jitter")
        assert d.pvalue == pytest.approx(ranking.pvalues[i, j], rel=1e-12), "the leaderboard's own paired test"
    assert {m["metric"] for m in suite.metrics} == {"score", "total"} and suite.metrics[0]["metric"] == "score"


def test_verdict_line_is_decided_by_the_interval_and_honest_about_seeds(report):
    (suite,) = report.suites
    (verdict,) = suite.verdicts
    d = suite.difference("score", OVERALL, "good", "jitter").difference
    assert verdict.comparison.difference == d and verdict.family == 1
    assert verdict.resolved == d.excludes_zero == (d.pvalue <= 0.05)
    line = verdict.sentence()
    assert f"difference good − jitter = {d.mean:+.4g} [{d.low:.4g}, {d.high:.4g}] over 3 shared seeds" in line
    if verdict.resolved:
        assert line.startswith("good is better than jitter on score (overall, higher is better)")
        assert line.endswith("resolved at 95%.")
    else:
        assert line.startswith("good's estimate is better than jitter's") and "not resolved at 95%" in line
        assert "with 3 seeds, differences smaller than about" in line


def test_three_entries_are_decided_together_and_one_seed_resolves_nothing():
    unresolved = stats.Difference(0.1, -0.2, 0.4, 3, 0.3)
    one_seed = stats.Difference(0.1, float("nan"), float("nan"), 1, float("nan"))
    lines = [
        Verdict("score", OVERALL, True, "a", "b", Comparison("score", OVERALL, d, [0]), False, 3).sentence()
        for d in (unresolved, one_seed, stats.Difference(0.5, 0.1, 0.9, 3, 0.03))
    ]
    assert "not resolved at 95% (the interval includes 0; with 3 seeds, differences smaller than about 0.3" in lines[0]
    assert "a and b share 1 seed, so there is no interval" in lines[1] and "Run at least 3 seeds" in lines[1]
    assert "the interval excludes 0, but not after Holm's adjustment for the 3 comparisons" in lines[2]


def test_markdown_pastes_into_a_pull_request(report):
    text = render(report, "md")
    (suite,) = report.suites
    assert text.startswith("# reliabench report: `jitter` vs `good`")
    assert "<" not in text.replace("<=", ""), "no HTML"
    assert f"- {suite.verdicts[0].sentence(code)}" in text
    good = suite.estimate("score", OVERALL, "good").value
    assert f"| `score` ↑ | {good.mean:.4g} [{good.low:.4g}, {good.high:.4g}], rank " in text
    d = suite.difference("score", "small", "good", "jitter").difference
    assert "| `score` ↑ | `small` |" in text
    assert f"| {d.mean:+.4g} [{d.low:.4g}, {d.high:.4g}] | 3 (0, 1, 2) |" in text
    tables = [line for line in text.splitlines() if line.startswith("|")]
    assert len(tables) > 12 and all(line.endswith("|") for line in tables)
    assert "## `twin`" not in text and "- `twin`: only `good` of the named entries is in it." in text
    assert "| `total` ↑ | `overall` |" in text and "| `total` ↑ | `small` |" not in text, "others: the headline only"
    assert "Every metric on every task, plots and cell keys: in the HTML variant" in text


def _outside_code(markdown: str) -> str:
    """The Markdown with every code span removed."""
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", markdown)


def test_hostile_names_are_code_spans_in_markdown_and_text_in_html(dbs):
    with Store(dbs["old"], read_only=True) as store:
        hostile = compare_entries(store, ["good", HOSTILE], suite="toy")
    text = render(hostile, "md")
    assert "\x1b" not in text and "\\x1b[31m" in text
    rest = _outside_code(text)
    assert "<img" not in rest and "@octocat" not in rest and "](http" not in rest, "nothing renders or mentions"
    for table in re.findall(r"(?:^\|.*\|\n)+", text, flags=re.M):
        cells = [len(re.findall(r"(?<!\\)\|", line)) for line in table.splitlines()]
        assert len(set(cells)) == 1, f"every row of a table has as many cells as its header: {table}"
    assert markdown_text("*a* <b> [c](d) | @e") == "\\*a\\* \\<b\\> \\[c\\](d) \\| \\@e"
    html = render(hostile, "html")
    assert EVIL not in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "\x1b" not in html


def test_baseline_compares_each_entry_new_minus_old(dbs):
    with Store(dbs["old"], read_only=True) as old, Store(dbs["new"], read_only=True) as new:
        result = compare_databases(old, new, suite="toy")
    (suite,) = result.suites
    assert suite.entries == ["good", "jitter", "fair"] and suite.only_old == [HOSTILE]
    assert suite.unchanged == ["good", "fair"], "same plugin, same seeds: the same numbers"
    assert {"entry": "jitter", "side": "method", "what": "version", "old": "1", "new": "2"} in suite.changed_versions
    assert {row["entry"] for row in suite.changed_versions} == {"jitter"}, "its plugin's folder changed too"
    old_values, new_values = _seed_values(dbs["old"], "jitter"), _seed_values(dbs["new"], "jitter")
    assert list(new_values.columns) == [0, 1, 2, 3]
    for condition in suite.conditions:
        a, b = (
            (new_values.loc[condition], old_values.loc[condition])
            if condition != OVERALL
            else (new_values.mean(axis=0), old_values.mean(axis=0))
        )
        change = suite.change("score", condition, "jitter")
        assert change.seeds == list(SEEDS), "paired over the seeds both have"
        expected = _t((a - b).dropna().to_numpy())
        d = change.difference
        assert (d.mean, d.low, d.high, d.pvalue) == pytest.approx(expected, rel=1e-9)
    verdicts = {v.first: v for v in suite.verdicts}
    assert verdicts["good"].sentence().startswith("good: new and old are identical on score")
    jitter = verdicts["jitter"]
    assert jitter.family == 1, "comparisons equal at every seed are certain, not tested"
    assert jitter.resolved == (jitter.comparison.difference.pvalue <= 0.05)
    said = "jitter changed for the better on score" if jitter.resolved else "jitter: no change resolved on score"
    assert jitter.sentence().startswith(said)
    markdown = render(result, "md")
    assert "| `jitter` | method | version | `1` | `2` |" in markdown
    assert "**Unchanged**: identical at every shared seed on every metric and task: `good`, `fair`." in markdown
    assert "| `jitter` | `score` ↑ | `overall` |" in markdown and "| `good` | `score`" not in markdown
    assert "<h3>Versions that changed</h3>" in render(result, "html")


@pytest.fixture
def cli(dbs, capsys):
    return cli_runner(dbs["old"], capsys)


def test_cli_writes_both_formats_and_prints_the_verdicts(cli, dbs, tmp_path):
    code_, out = cli("report", "good", "jitter", "--db", str(dbs["old"]), "--out", str(tmp_path / "r.md"))
    assert code_ == 0 and "toy: good" in out and "report written:" in out
    assert (tmp_path / "r.md").read_text().startswith("# reliabench report: `good` vs `jitter`")
    code_, out = cli("report", "good", HOSTILE, "--db", str(dbs["old"]), "--out", str(tmp_path / "h.md"))
    assert code_ == 0 and "\x1b" not in out and "\\x1b[31m" in out, "plugin text is literal on the terminal"
    code_, out = cli(
        "report", "--baseline", str(dbs["old"]), "--db", str(dbs["new"]), "--out", str(tmp_path / "b.html")
    )
    assert code_ == 0 and "toy: jitter" in out and (tmp_path / "b.html").read_text().startswith("<!doctype html>")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("good", "jiter"), "no stored entry named 'jiter'; did you mean 'jitter'?"),
        (("good", "lonely", "--suite", "toy"), "no entry of suite 'toy' named 'lonely'"),
        (("good", "jitter", "--suite", "tyo"), "did you mean 'toy'"),
        (("jitter", "lonely"), "jitter, lonely share no suite (jitter is in toy; lonely is in twin)"),
        (("good", "lonely", "--suite", "twin", "--by", "model"), "suite 'twin' has no model side to compare"),
        (("good",), "name at least two entries"),
        (("good", "jitter", "--out", "report.txt"), "must end in .html (a self-contained page) or .md"),
    ],
)
def test_bad_input_is_one_clear_line(cli, dbs, tmp_path, args, says):
    out_args = () if "--out" in args else ("--out", str(tmp_path / "r.md"))
    code_, out = cli("report", *args, "--db", str(dbs["old"]), *out_args)
    assert code_ == 2 and says in " ".join(out.split()) and "Traceback" not in out


def test_missing_databases_are_clear(cli, dbs, tmp_path):
    code_, out = cli("report", "good", "jitter", "--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "r.md"))
    assert code_ == 2 and "no results database" in out
    code_, out = cli("report", "--baseline", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "r.md"))
    assert code_ == 2 and "does not exist" in out


def test_html_report_in_a_browser(browser, report, tmp_path):  # noqa: F811
    path = tmp_path / "report.html"
    path.write_text(render(report, "html"))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests, problems = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(path.as_uri())
    verdicts = page.locator("li.verdict").all_inner_texts()
    assert len(verdicts) == 1 and "good − jitter" in verdicts[0] and "over 3 shared seeds" in verdicts[0]
    assert ("not resolved" in verdicts[0]) != report.suites[0].verdicts[0].resolved
    overflowing = page.evaluate(
        "() => [...document.querySelectorAll('table')].filter(t => t.getBoundingClientRect().right > innerWidth).length"
    )
    assert overflowing == 0 and page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.locator("svg").count() == 2, "the estimates and the differences, inline"
    assert requests == [path.as_uri()] and problems == [], "self-contained: nothing else is loaded"
    page.close()
