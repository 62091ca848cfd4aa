"""Check what a suite's ``evaluate`` returned and turn it into rows of the ``scores`` table.

Plugins return numbers in natural shapes (a float, a per-sample array, a curve,
a matrix); anything undeclared, misshapen or non-finite is rejected here with a
reason that names the metric, so the cell fails alone and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from harness.registry import Curve, Metric, Suite


class ScoreError(ValueError):
    """The cell's result breaks the suite's declared contract."""


def _array(metric: Metric, value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ma.MaskedArray):
        return value
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ScoreError(f"metric {metric.name!r} is {type(value).__name__}, not a number or array") from None


def _check_finite(metric: Metric, values: np.ndarray) -> None:
    bad = ~np.isfinite(np.ma.getdata(values)) & ~np.ma.getmaskarray(values)
    if bad.any():
        where = np.argwhere(bad)[0].tolist()
        raise ScoreError(
            f"metric {metric.name!r} has {int(bad.sum())} non-finite value(s) (first at index {where}: "
            f"{np.ma.getdata(values)[tuple(where)]}); return finite numbers"
        )


NO_INDEX = -1  # the sample/row/col of a value that has none; stored as NULL

# The ``row`` code of each series a :class:`Curve` may carry besides its values, at the same
# steps. A curve's values keep ``row`` NO_INDEX (NULL), so curves without these store as before;
# readers of curve rows take the values with ``row IS NULL``.
CURVE_SERIES: Mapping[str, int] = MappingProxyType({"lower": 1, "upper": 2, "reference": 3})


@dataclass(frozen=True)
class ScoreRows:
    """A cell's validated scores as columns; cheap to build, pickle and append to the store."""

    metric: np.ndarray
    sample: np.ndarray
    step: np.ndarray
    row: np.ndarray
    col: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.value)


def _indices(n: int, index: np.ndarray | None = None) -> np.ndarray:
    return np.full(n, NO_INDEX, dtype=np.int32) if index is None else index.astype(np.int32)


def _curve_series(metric: Metric, curve: Curve, steps: np.ndarray) -> dict[str, np.ndarray]:
    """The band and reference ``curve`` carries, in :data:`CURVE_SERIES` order, checked against its steps."""
    given = {name: getattr(curve, name) for name in CURVE_SERIES if getattr(curve, name) is not None}
    if ("lower" in given) != ("upper" in given):
        has, lacks = ("lower", "upper") if "lower" in given else ("upper", "lower")
        raise ScoreError(f"curve {metric.name!r} has {has} but no {lacks}: give both bounds of its band, or neither")
    series: dict[str, np.ndarray] = {}
    for name, value in given.items():
        array = _array(metric, value)
        if array.shape != steps.shape or np.ma.getmaskarray(array).any():
            raise ScoreError(
                f"curve {metric.name!r}: {name} has shape {array.shape} but its steps {steps.shape}; "
                "give one (unmasked) value per step"
            )
        bad = ~np.isfinite(np.ma.getdata(array))
        if bad.any():
            at = int(np.argmax(bad))
            raise ScoreError(
                f"curve {metric.name!r}: {name} has {int(bad.sum())} non-finite value(s) (first at step "
                f"{steps[at]}); return finite numbers"
            )
        series[name] = np.ma.getdata(array).astype(np.float64)
    if "lower" in series:
        crossed = series["lower"] > series["upper"]
        if crossed.any():
            at = int(np.argmax(crossed))
            raise ScoreError(
                f"curve {metric.name!r}: lower > upper at {int(crossed.sum())} step(s) (first at step {steps[at]}: "
                f"{series['lower'][at]} > {series['upper'][at]}); a band's lower bound cannot exceed its upper"
            )
    return series


def _rows(metric: Metric, value: Any) -> dict[str, np.ndarray]:
    """The columns (sample, step, row, col, value) for one metric's value."""
    steps = None
    series: dict[str, np.ndarray] = {}
    if metric.shape == "curve" and isinstance(value, Curve):
        steps, values = _array(metric, value.steps), _array(metric, value.values)
        if steps.ndim != 1 or steps.shape != values.shape:
            raise ScoreError(f"curve {metric.name!r} needs 1-D steps and values of equal length")
        _check_finite(metric, steps)
        series = _curve_series(metric, value, steps)
        if series and np.ma.getmaskarray(values).any():
            raise ScoreError(f"curve {metric.name!r} has a band or reference, so its values cannot be masked")
    else:
        values = _array(metric, value)
    _check_finite(metric, values)
    expected_ndim = {"scalar": 0, "sample": 1, "curve": 1, "matrix": 2}[metric.shape]
    if values.ndim != expected_ndim:
        raise ScoreError(
            f"metric {metric.name!r} is declared {metric.shape} ({expected_ndim}-D) but the cell returned "
            f"shape {values.shape}"
        )
    if values.size == 0:
        raise ScoreError(f"metric {metric.name!r} is empty")
    keep = ~np.ma.getmaskarray(values).ravel()
    n = int(keep.sum())
    columns = {"sample": _indices(n), "step": np.full(n, np.nan), "row": _indices(n), "col": _indices(n)}
    if metric.shape == "sample":
        columns["sample"] = _indices(n, np.arange(n))
    elif metric.shape == "curve":
        steps = np.arange(values.size) if steps is None else np.ma.getdata(steps)
        columns["step"] = steps[keep].astype(np.float64)
    elif metric.shape == "matrix":
        rows, cols = np.indices(values.shape)
        columns["row"], columns["col"] = _indices(n, rows.ravel()[keep]), _indices(n, cols.ravel()[keep])
    parts = [{**columns, "value": np.ma.getdata(values).ravel()[keep].astype(np.float64)}]
    for name, extra in series.items():  # a band and reference: the same steps, told apart by their row code
        m = len(extra)
        code = np.full(m, CURVE_SERIES[name], dtype=np.int32)
        parts.append({"sample": _indices(m), "step": parts[0]["step"], "row": code, "col": _indices(m), "value": extra})
    return {c: np.concatenate([p[c] for p in parts]) for c in (*columns, "value")}


def validate(suite: Suite, result: Any) -> ScoreRows:
    """Check ``result`` against the suite's declared metrics; return its rows for the store."""
    if not isinstance(result, Mapping):
        raise ScoreError(f"evaluate returned {type(result).__name__}; it must return a mapping of metric name to value")
    if not result:
        raise ScoreError("evaluate returned no metrics")
    declared = {m.name: m for m in suite.metrics}
    names: list[str] = []
    parts: list[dict[str, np.ndarray]] = []
    for name, value in result.items():
        if name not in declared:
            raise ScoreError(
                f"evaluate returned metric {name!r}, which suite {suite.name!r} does not declare "
                f"(declared: {', '.join(declared)})"
            )
        names.append(name)
        parts.append(_rows(declared[name], value))
    sizes = [len(p["value"]) for p in parts]
    columns = {c: np.concatenate([p[c] for p in parts]) for c in ("sample", "step", "row", "col", "value")}
    return ScoreRows(metric=np.repeat(np.array(names, dtype=object), sizes), **columns)
