"""Charts rendered to inline SVG at build time, so pages show numbers without JavaScript."""

from __future__ import annotations

import io

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ACCENT = "#3b82f6"
MUTED = "#8b93a1"
plt.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text: smaller files, and the page's font
        "svg.hashsalt": "reliabench",  # identical SVG for identical numbers
        "font.size": 9,
        "axes.edgecolor": MUTED,
        "axes.labelcolor": MUTED,
        "xtick.color": MUTED,
        "ytick.color": MUTED,
        "text.color": MUTED,
    }
)


def _label(text: str) -> str:
    """Plugin text is shown literally: '$' would otherwise start matplotlib mathtext."""
    return text.replace("$", r"\$")


def interval_chart(
    labels: list[str], means: list[float], lows: list[float], highs: list[float], groups: list[int], xlabel: str
) -> str:
    """Estimates with 95% CI bars, best at the top; alternate tie groups alternate colour."""
    height = max(1.6, 0.26 * len(labels) + 0.8)
    figure, axes = plt.subplots(figsize=(6.4, height))
    positions = list(range(len(labels)))[::-1]
    colours = [ACCENT if g % 2 else "#f59e0b" for g in groups]
    errors = [[m - lo for m, lo in zip(means, lows, strict=True)], [hi - m for m, hi in zip(means, highs, strict=True)]]
    axes.errorbar(means, positions, xerr=errors, fmt="none", ecolor=MUTED, elinewidth=1.2, capsize=2)
    axes.scatter(means, positions, c=colours, s=18, zorder=3)
    axes.set_yticks(positions, [_label(label) for label in labels])
    axes.set_xlabel(_label(xlabel))
    axes.grid(axis="x", color=MUTED, alpha=0.25)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _svg(figure, axes)


def curve_chart(
    series: dict[str, tuple[list[float], list[float]]],
    xlabel: str,
    ylabel: str,
    title: str,
    shade_until: float | None = None,
    marks: dict[str, float] | None = None,
) -> str:
    """One line per entry along a step axis (mean over seeds), for curve metrics such as a gap along training.

    ``shade_until`` shades the first phase; ``marks`` puts a ring where each entry enters its last phase.
    """
    figure, axes = plt.subplots(figsize=(6.4, 3.2))
    if shade_until is not None:
        axes.axvspan(
            min(min(s) for s, _ in series.values()), shade_until, color=MUTED, alpha=0.15, lw=0, label="first phase"
        )
    for label, (steps, values) in series.items():
        (line,) = axes.plot(steps, values, linewidth=1.4, label=_label(label))
        if marks and label in marks:
            at = steps.index(marks[label])
            axes.plot([marks[label]], [values[at]], "o", mfc="none", ms=7, color=line.get_color())
    axes.set_xlabel(_label(xlabel))
    axes.set_ylabel(_label(ylabel))
    axes.set_title(_label(title), fontsize=9, color=MUTED)
    axes.grid(color=MUTED, alpha=0.25)
    axes.legend(fontsize=7, frameon=False, ncol=2)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _svg(figure, axes)


def matrix_chart(matrices: dict[str, np.ndarray], title: str, row_label: str, col_label: str) -> str:
    """One heat map per entry on a shared colour scale; missing cells (NaN) stay blank."""
    columns = min(4, len(matrices))
    rows = -(-len(matrices) // columns)
    figure, grid = plt.subplots(rows, columns, figsize=(1.7 * columns + 1.0, 1.7 * rows + 0.6), squeeze=False)
    finite = [m[np.isfinite(m)] for m in matrices.values()]
    low, high = min(float(f.min()) for f in finite), max(float(f.max()) for f in finite)
    image = None
    for axes, (label, matrix) in zip(grid.flat, matrices.items(), strict=False):
        image = axes.imshow(np.ma.masked_invalid(matrix), vmin=low, vmax=high, cmap="viridis", aspect="auto")
        axes.set_title(_label(label), fontsize=8, color=MUTED)
        axes.set_xticks([])
        axes.set_yticks([])
    for axes in list(grid.flat)[len(matrices) :]:
        axes.set_visible(False)
    grid[-1][0].set_xlabel(_label(col_label))
    grid[-1][0].set_ylabel(_label(row_label))
    figure.suptitle(_label(title), fontsize=9, color=MUTED)
    figure.colorbar(image, ax=grid.ravel().tolist(), shrink=0.8)
    figure.patch.set_alpha(0)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _svg(figure, axes) -> str:
    figure.patch.set_alpha(0)
    axes.patch.set_alpha(0)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]
