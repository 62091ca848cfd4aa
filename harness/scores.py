"""Check what a suite's ``evaluate`` returned and turn it into rows of the ``scores`` table.

Plugins return numbers in natural shapes (a float, a per-sample array, a curve,
a matrix); anything undeclared, misshapen or non-finite is rejected here with a
reason that names the metric, so the cell fails alone and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


def _rows(metric: Metric, value: Any) -> dict[str, np.ndarray]:
    """The columns (sample, step, row, col, value) for one metric's value."""
    steps = None
    if metric.shape == "curve" and isinstance(value, Curve):
        steps, values = _array(metric, value.steps), _array(metric, value.values)
        if steps.ndim != 1 or steps.shape != values.shape:
            raise ScoreError(f"curve {metric.name!r} needs 1-D steps and values of equal length")
        _check_finite(metric, steps)
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
        columns["step"] = steps.astype(np.float64) if steps is not None else np.arange(n, dtype=np.float64)
    elif metric.shape == "matrix":
        rows, cols = np.indices(values.shape)
        columns["row"], columns["col"] = _indices(n, rows.ravel()[keep]), _indices(n, cols.ravel()[keep])
    return {**columns, "value": np.ma.getdata(values).ravel()[keep].astype(np.float64)}


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
