"""Errors a user can act on: each message names the problem and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UsageError(Exception):
    """Bad input from the user; the CLI prints the message without a traceback."""


def unknown_name(category: str, name: str, known: Iterable[str]) -> str:
    """'no model named x' plus the closest known names, or the full list when few."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    message = f"no {category} named {name!r}"
    if close:
        return message + f"; did you mean {' or '.join(repr(c) for c in close)}?"
    if not known:
        return message + f"; no {category}s are registered (see `reliabench plugins`)"
    listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return message + f"; known {category}s: {listed}"
