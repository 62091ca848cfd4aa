"""Lay out a comparison report: one self-contained HTML page (inline CSS and SVG) or Markdown for a pull request.

Both come from jinja2 templates beside the site's. The HTML is autoescaped like
the site. Markdown has no autoescape, so its environment escapes every value
itself (:func:`markdown_text`) unless a filter already made it Markdown; names
are code spans (:func:`code`), in which GitHub links, mentions and renders
nothing.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import jinja2
import markupsafe

from harness import stats
from harness.errors import UsageError
from harness.provenance import package_version
from harness.publish.charts import MAY_BE_BEST, RESOLVED, interval_chart
from harness.publish.site import environment
from harness.report import SIDE_WORDS, BaselineReport, Report, SuiteChange, SuiteComparison
from harness.terminal import visible

FORMATS = {".html": "html", ".md": "md"}
REPORTED_PROCEDURE = ("Seed values", "Estimate and interval", "Comparisons", "Rank and rank set", "Across tasks")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~!&#@])")


class Markdown(str):
    """Text that already is Markdown: written by the report, or plugin text put in a code span."""

    __slots__ = ()


def markdown_text(value: object) -> str:
    """Any other value as literal Markdown text: control characters escaped, markup characters backslashed."""
    if isinstance(value, Markdown):
        return value
    return _MARKDOWN_SPECIAL.sub(r"\\\1", visible(value))


def code(value: object) -> Markdown:
    """A name as a Markdown code span that survives a table cell ('|' escaped); '—' for none."""
    text = visible(value).replace("|", "\\|")
    if not text:
        return Markdown("—")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def output_format(out: Path) -> str:
    """'html' or 'md' from the file name; anything else is refused before any work is done."""
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"--out {out} must end in .html (a self-contained page) or .md (Markdown for a pull request), "
            f"not {out.suffix or 'no extension'!r}"
        )
    return fmt


def _html_text(value: object) -> object:
    """HTML is escaped by the environment; control characters are shown as escapes, as on the terminal."""
    return value if isinstance(value, markupsafe.Markup) else visible(value)


def _environment(fmt: str) -> jinja2.Environment:
    env = environment().overlay(finalize=_html_text)
    if fmt == "md":
        env = env.overlay(autoescape=False, finalize=markdown_text)
        env.filters["code"] = code
        env.filters["md"] = Markdown  # the report's own text (numbers, verdicts whose names are code spans)
        env.globals["code"] = code
    env.filters["signed"] = lambda v: "—" if v is None or v != v else f"{v:+.4g}"
    return env


def _estimate_chart(suite: SuiteComparison) -> str:
    """The entries' primary-metric estimates on the headline condition, as the leaderboard's chart draws them."""
    shown = [
        (entry, e) for entry in suite.entries if (e := suite.estimate(suite.primary_metric, suite.headline, entry))
    ]
    shown = [(entry, e) for entry, e in shown if e.value.mean is not None]
    if not shown:
        return ""
    better = "higher" if suite.metrics[0]["higher_is_better"] else "lower"
    return interval_chart(
        [visible(entry) for entry, _ in shown],
        [e.value.mean for _, e in shown],
        [e.value.low for _, e in shown],
        [e.value.high for _, e in shown],
        [e.rank_low == 1 for _, e in shown],
        visible(f"{suite.primary_metric} ({suite.headline}, {better} is better), mean, 95% t interval"),
        MAY_BE_BEST,
    )


def _difference_chart(labels: list[str], comparisons: list, xlabel: str) -> str:
    """Paired differences with their intervals and a line at 0; the resolved ones (interval off 0) highlighted."""
    shown = [(label, c) for label, c in zip(labels, comparisons, strict=True) if c is not None and c.difference.n_seeds]
    if not shown:
        return ""
    return interval_chart(
        [visible(label) for label, _ in shown],
        [c.difference.mean for _, c in shown],
        [c.difference.low for _, c in shown],
        [c.difference.high for _, c in shown],
        [c.difference.excludes_zero for _, c in shown],
        visible(xlabel),
        RESOLVED,
        reference=0.0,
    )


def _charts(report: Report | BaselineReport) -> dict[str, dict[str | tuple[str, str], str]]:
    """Per suite: the estimates chart and one differences chart per pair (key: the pair), or of every entry's
    change (key 'changes')."""
    charts: dict[str, dict[str | tuple[str, str], str]] = {}
    for suite in report.suites:
        metric = suite.primary_metric
        if isinstance(suite, SuiteChange):
            comparisons = [suite.change(metric, suite.headline, entry) for entry in suite.entries]
            charts[suite.suite] = {
                "changes": _difference_chart(
                    suite.entries, comparisons, f"new − old in {metric} ({suite.headline}), 95% paired t interval"
                )
            }
            continue
        charts[suite.suite] = {"estimates": _estimate_chart(suite)}
        for first, second in suite.pairs:
            comparisons = [suite.difference(metric, condition, first, second) for condition in suite.conditions]
            charts[suite.suite][(first, second)] = _difference_chart(
                suite.conditions, comparisons, f"{first} − {second} in {metric}, 95% paired t interval"
            )
    return charts


def render(report: Report | BaselineReport, fmt: str) -> str:
    """The report as HTML ('html') or GitHub Markdown ('md')."""
    env = _environment(fmt)
    context = {
        "report": report,
        "baseline": isinstance(report, BaselineReport),
        "procedure": [(title, text) for title, text in stats.PROCEDURE if title in REPORTED_PROCEDURE],
        "version": package_version("reliabench"),
        "side_words": SIDE_WORDS,
    }
    if fmt == "html":
        context["css"] = (resources.files("harness.publish") / "static" / "style.css").read_text()
        context["charts"] = _charts(report)
    return env.get_template(f"report.{fmt}").render(**context)


def write_report(report: Report | BaselineReport, out: Path) -> Path:
    """Write the report in the format its file name says; return the file."""
    text = render(report, output_format(out))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the report to {out}: {exc.strerror or exc}; pass another --out") from None
    return out
