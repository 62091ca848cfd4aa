"""Check what a suite's ``evaluate`` returned and turn it into rows of the ``scores`` table.

Plugins return numbers in natural shapes (a float, a per-sample array, a curve,
a matrix); anything undeclared, misshapen or non-finite is rejected here with a
reason that names the metric, so the cell fails alone and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

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


def _rows(metric: Metric, value: Any) -> dict[str, np.ndarray]:
    """The columns (sample, step, row, col, value) for one metric's value."""
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
    n = values.size
    none_i = np.full(n, np.nan)
    columns = {"sample": none_i, "step": none_i, "row": none_i, "col": none_i}
    if metric.shape == "sample":
        columns["sample"] = np.arange(n, dtype=np.float64)
    elif metric.shape == "curve":
        columns["step"] = steps if isinstance(value, Curve) else np.arange(n, dtype=np.float64)
    elif metric.shape == "matrix":
        rows, cols = np.indices(values.shape)
        keep = ~np.ma.getmaskarray(values).ravel()
        columns = {
            "sample": none_i[keep],
            "step": none_i[keep],
            "row": rows.ravel()[keep].astype(np.float64),
            "col": cols.ravel()[keep].astype(np.float64),
        }
        return {**columns, "value": np.ma.getdata(values).ravel()[keep]}
    return {**columns, "value": values.ravel()}


def to_frame(suite: Suite, cell_key: str, result: Any) -> pd.DataFrame:
    """Validate ``result`` against the suite's metrics; return its rows for the store."""
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
    frame = pd.DataFrame(
        {
            "cell_key": cell_key,
            "metric": np.repeat(np.array(names, dtype=object), sizes),
            **{c: np.concatenate([p[c] for p in parts]) for c in ("sample", "step", "row", "col", "value")},
        }
    )
    for column in ("sample", "row", "col"):
        frame[column] = frame[column].astype("Int32")
    return frame
