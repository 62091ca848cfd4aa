"""Charts rendered to inline SVG at build time, so pages show numbers without JavaScript."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

if TYPE_CHECKING:
    from harness.publish.content import Band

ACCENT = "#3b82f6"
MUTED = "#8b93a1"
# what the accent and muted colours of an interval chart mean (its ``meaning``)
MAY_BE_BEST = ("rank set includes 1: may be the best", "rank set excludes 1")
RESOLVED = ("interval excludes 0: resolved", "interval includes 0")
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


def _key(axes, handles: list, **placement) -> None:
    """A legend outside the axes (above them unless ``placement`` says otherwise), so it never covers data."""
    where = {"loc": "lower left", "bbox_to_anchor": (0.0, 1.02), "ncol": len(handles)} | placement
    axes.legend(handles=handles, fontsize=7, frameon=False, borderaxespad=0.0, **where)


def _dot(colour: str, label: str, **style) -> Line2D:
    return Line2D([], [], ls="none", marker="o", ms=5, color=colour, label=_label(label), **style)


def interval_chart(
    labels: list[str],
    means: list[float],
    lows: list[float],
    highs: list[float],
    highlighted: list[bool],
    xlabel: str,
    meaning: tuple[str, str],
    reference: float | None = None,
) -> str:
    """Estimates with interval bars, the first at the top; ``highlighted`` ones in the accent colour.

    ``meaning`` names the two colours in the legend (accent, muted), e.g. whether an entry's rank set
    includes 1. ``reference`` draws a vertical line there: 0 for differences.
    """
    height = max(1.6, 0.26 * len(labels) + 0.8)
    figure, axes = plt.subplots(figsize=(6.4, height))
    positions = list(range(len(labels)))[::-1]
    if reference is not None:
        axes.axvline(reference, color=MUTED, lw=0.8, ls="--")
    colours = [ACCENT if best else MUTED for best in highlighted]
    errors = [[m - lo for m, lo in zip(means, lows, strict=True)], [hi - m for m, hi in zip(means, highs, strict=True)]]
    axes.errorbar(means, positions, xerr=errors, fmt="none", ecolor=MUTED, elinewidth=1.2, capsize=2)
    axes.scatter(means, positions, c=colours, s=18, zorder=3)
    axes.set_yticks(positions, [_label(label) for label in labels])
    axes.set_xlabel(_label(xlabel))
    axes.grid(axis="x", color=MUTED, alpha=0.25)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    used = sorted(set(highlighted), reverse=True)
    _key(axes, [_dot(ACCENT if flag else MUTED, meaning[0 if flag else 1]) for flag in used])
    return _svg(figure, axes)


def critical_difference_chart(labels: list[str], mean_ranks: list[float], cd: float, title: str) -> str:
    """Mean ranks on one axis (best on the left); a bar joins each maximal run of entries within ``cd``."""
    order = sorted(range(len(labels)), key=lambda i: (mean_ranks[i], labels[i]))
    ranks = [mean_ranks[i] for i in order]
    runs = []
    for start in range(len(ranks)):
        stop = max(j for j in range(start, len(ranks)) if ranks[j] - ranks[start] <= cd)
        if stop > start and not any(a <= start and stop <= b for a, b in runs):
            runs.append((start, stop))
    figure, axes = plt.subplots(figsize=(6.4, 1.2 + 0.22 * len(labels) + 0.12 * len(runs)))
    k = len(labels)
    for row, i in enumerate(order):
        y = -(row + 1)
        axes.plot([ranks[row], ranks[row]], [0, y], color=MUTED, lw=0.8)
        axes.text(k + 0.6, y, _label(labels[i]), va="center", fontsize=8)
        axes.plot([ranks[row], k + 0.5], [y, y], color=MUTED, lw=0.5, alpha=0.5)
        axes.plot([ranks[row]], [0], "o", color=ACCENT, ms=4)
    for level, (start, stop) in enumerate(runs):
        y = 0.35 + 0.25 * level
        axes.plot([ranks[start] - 0.03, ranks[stop] + 0.03], [y, y], color=ACCENT, lw=3, solid_capstyle="round")
    top = 0.6 + 0.25 * len(runs)
    axes.plot([1, 1 + cd], [top, top], color=MUTED, lw=1.5)
    axes.text(1 + cd / 2, top + 0.15, f"critical difference {cd:.2f}", ha="center", fontsize=7)
    axes.set_xlim(0.8, k + 0.5 + max(2.0, 0.09 * max(len(label) for label in labels)))
    axes.set_ylim(-(k + 0.8), top + 0.5)
    axes.set_xticks(range(1, k + 1))
    axes.set_yticks([])
    axes.set_title(_label(title), fontsize=8, color=MUTED)
    for side in ("left", "right", "bottom"):
        axes.spines[side].set_visible(False)
    axes.xaxis.set_ticks_position("top")
    key = [_dot(ACCENT, "an entry's mean rank")]
    if runs:
        key.append(Line2D([], [], color=ACCENT, lw=3, label="not told apart"))
    _key(axes, key, loc="upper left", bbox_to_anchor=(0.0, -0.02))
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
        if marks and label in marks and marks[label] in steps:
            at = steps.index(marks[label])
            axes.plot([marks[label]], [values[at]], "o", mfc="none", ms=7, color=line.get_color())
    axes.set_xlabel(_label(xlabel))
    axes.set_ylabel(_label(ylabel))
    axes.set_title(_label(title), fontsize=9, color=MUTED)
    axes.grid(color=MUTED, alpha=0.25)
    handles, _ = axes.get_legend_handles_labels()
    if marks:
        handles.append(_dot(MUTED, "enters its last phase", mfc="none", ms=7))
    _key(axes, handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), ncol=1)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _svg(figure, axes)


def band_chart(panels: Mapping[str, Band], xlabel: str, ylabel: str, title: str) -> str:
    """One small panel per run, titled by its key, in the given order (a grid of up to 3 columns, shared axes).

    Each panel shades the band, draws the values as a line and the reference as small black dots.
    A band belongs to one run, so runs are set side by side rather than averaged or overlaid.
    """
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    figure, grid = plt.subplots(rows, columns, figsize=(6.4, 1.8 * rows + 0.8), sharex=True, sharey=True, squeeze=False)
    shown = list(grid.flat)[: len(panels)]
    legend: dict[str, object] = {}
    for i, (axes, (label, band)) in enumerate(zip(shown, panels.items(), strict=True)):
        if band.lower is not None and band.upper is not None:
            axes.fill_between(band.steps, band.lower, band.upper, color=ACCENT, alpha=0.25, lw=0, label="band")
        axes.plot(band.steps, band.values, color=ACCENT, linewidth=1.2, label="values")
        if band.reference is not None:
            axes.plot(band.steps, band.reference, "o", color="black", ms=1.6, mew=0, label="reference")
        axes.set_title(_label(label), fontsize=8, color=MUTED)
        axes.grid(color=MUTED, alpha=0.25)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        if i + columns >= len(panels):  # the lowest panel of its column: a hidden one may be below it
            axes.tick_params(labelbottom=True)
            axes.set_xlabel(_label(xlabel))
        if i % columns == 0:
            axes.set_ylabel(_label(ylabel))
        handles, labels = axes.get_legend_handles_labels()
        legend.update(zip(labels, handles, strict=True))
    for axes in list(grid.flat)[len(panels) :]:
        axes.set_visible(False)
    figure.suptitle(_label(title), fontsize=9, color=MUTED)
    figure.legend(
        list(legend.values()),
        list(legend),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=3,
        fontsize=7,
        frameon=False,
    )  # below the panels, never over a run
    return _svg(figure, *shown)


def stacked_bar_chart(labels: list[str], parts: list[str], shares: list[list[float | None]], xlabel: str) -> str:
    """One horizontal bar per label (the first at the top), split into ``parts`` in order; a legend names them.

    ``shares[i][j]`` is part ``j`` of bar ``i``; a None part is left out of its bar.
    """
    height = max(1.6, 0.26 * len(labels) + 0.8, 0.17 * len(parts) + 0.8)
    figure, axes = plt.subplots(figsize=(6.4, height))
    positions = list(range(len(labels)))[::-1]
    colours = matplotlib.colormaps["tab10"]
    for j, part in enumerate(parts):
        lefts, widths, ys = [], [], []
        for y, bar in zip(positions, shares, strict=True):
            if bar[j] is not None:
                lefts.append(sum(v for v in bar[:j] if v is not None))
                widths.append(bar[j])
                ys.append(y)
        axes.barh(ys, widths, left=lefts, height=0.7, color=colours(j % colours.N), label=_label(part))
    axes.set_yticks(positions, [_label(label) for label in labels])
    axes.set_ylim(-0.6, len(labels) - 0.4)
    axes.set_xlabel(_label(xlabel))
    axes.grid(axis="x", color=MUTED, alpha=0.25)
    axes.set_axisbelow(True)
    _key(axes, axes.get_legend_handles_labels()[0], loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=1)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _svg(figure, axes)


def scatter_chart(points: Mapping[str, tuple[float, float]], xlabel: str, ylabel: str, title: str) -> str:
    """One point per label at (x, y), named beside it: e.g. each entry's mean of one metric against another's.

    Names are placed one by one, the most isolated points first: each at the nearest free place around its point
    (inside the frame, over no point and no name placed before), joined to it by a thin line when it had to move
    away; where nothing is free, right of the point.
    """
    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    xs, ys = [x for x, _ in points.values()], [y for _, y in points.values()]
    axes.scatter(xs, ys, color=ACCENT, s=18, zorder=3, gid="points")
    axes.set_xlabel(_label(xlabel))
    axes.set_ylabel(_label(ylabel))
    axes.set_title(_label(title), fontsize=9, color=MUTED)
    axes.grid(color=MUTED, alpha=0.25)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.margins(0.12)
    figure.tight_layout()
    _name_points(figure, axes, list(points), np.column_stack([xs, ys]))
    return _svg(figure, axes)


# where a scatter point's name is tried: distances (points) from it, nearest first, and directions (degrees)
_RADII = (5.0, 12.0, 20.0, 30.0, 42.0, 56.0, 72.0, 90.0, 110.0)
_ANGLES = (0, 180, 90, 270, 30, 150, 210, 330, 60, 120, 240, 300)


def _name_points(figure, axes, labels: list[str], xy: np.ndarray) -> None:
    """Annotate each point with its label where it hides nothing (greedy; see :func:`scatter_chart`)."""
    renderer = figure.canvas.get_renderer()
    scale = figure.dpi / 72  # points to pixels
    frame = axes.get_window_extent(renderer)
    centres = axes.transData.transform(xy)
    gaps = np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    crowd = (gaps < 30 * scale).sum(axis=1)
    placed: list[tuple[float, float, float, float]] = []
    for i in sorted(range(len(labels)), key=lambda i: (crowd[i], i)):
        probe = axes.text(0, 0, _label(labels[i]), fontsize=7)
        box = probe.get_window_extent(renderer)
        width, height = box.width, box.height
        probe.remove()
        others = np.delete(centres, i, axis=0)
        chosen = None
        for radius in _RADII:
            for angle in _ANGLES:
                dx, dy = radius * np.cos(np.radians(angle)), radius * np.sin(np.radians(angle))
                ha = "left" if dx > 0.5 else "right" if dx < -0.5 else "center"
                va = "bottom" if dy > 0.5 else "top" if dy < -0.5 else "center"
                x0 = centres[i, 0] + dx * scale - {"left": 0, "center": width / 2, "right": width}[ha]
                y0 = centres[i, 1] + dy * scale - {"bottom": 0, "center": height / 2, "top": height}[va]
                x1, y1 = x0 + width, y0 + height
                if x0 < frame.x0 or x1 > frame.x1 or y0 < frame.y0 or y1 > frame.y1:
                    continue
                pad = 3 * scale
                if ((others > [x0 - pad, y0 - pad]) & (others < [x1 + pad, y1 + pad])).all(axis=1).any():
                    continue
                if any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in placed):
                    continue
                chosen = (radius, (dx, dy), ha, va, (x0, y0, x1, y1))
                break
            if chosen:
                break
        if chosen is None:  # nowhere free: right of the point, over whatever is there
            x0, y0 = centres[i, 0] + _RADII[0] * scale, centres[i, 1] - height / 2
            chosen = (_RADII[0], (_RADII[0], 0.0), "left", "center", (x0, y0, x0 + width, y0 + height))
        radius, offset, ha, va, extent = chosen
        leader = {"arrowstyle": "-", "color": MUTED, "lw": 0.5, "shrinkA": 0, "shrinkB": 3}
        axes.annotate(
            _label(labels[i]),
            tuple(xy[i]),
            xytext=offset,
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=7,
            arrowprops=leader if radius > _RADII[0] else None,
        )
        placed.append(extent)


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
    figure.colorbar(image, ax=grid.ravel().tolist(), shrink=0.8, label="value (blank: none)").ax.set_gid("colorbar")
    return _save(figure)


def _svg(figure, *axes) -> str:
    for one in axes:
        one.patch.set_alpha(0)
    figure.tight_layout()
    return _save(figure)


def _save(figure) -> str:
    """The figure as SVG, cropped to what is drawn: legends set outside the axes are kept."""
    figure.patch.set_alpha(0)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]
