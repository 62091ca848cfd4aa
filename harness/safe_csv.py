"""CSV that a spreadsheet opens as data: no plugin-supplied string can run as a formula.

Spreadsheets treat a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return as a formula (``=HYPERLINK(...)`` in a method version would be a live link).
Following OWASP's advice, such string cells get a leading ``'``; numbers stay numbers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: object) -> object:
    """A string a spreadsheet would evaluate, prefixed with ``'``; anything else as it is."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def to_csv(frame: pd.DataFrame, path: Path | None = None) -> str | None:
    """``frame.to_csv(path, index=False)`` with its string cells neutralised; the text when ``path`` is None."""
    safe = frame.copy()
    for column in frame.select_dtypes(include=["object", "string"]).columns:
        safe[column] = frame[column].map(neutralised)
    return safe.to_csv(path, index=False)
