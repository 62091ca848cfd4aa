"""Text from plugins and the database, made safe to show on a terminal.

Names, descriptions, versions and error messages are other people's strings: on
a terminal they must read as what they are. They are never parsed as rich markup
(``[/bold]`` would crash the command, ``[red]`` would vanish), and control
characters (ANSI escapes, carriage returns, C1 codes) are shown as their escapes
(``\\x1b``, ``\\u202e``) instead of moving the cursor, recolouring or clearing
the screen, or hiding and reordering text (zero-width and bidirectional controls).
"""

from __future__ import annotations

import math
import re

from rich.text import Text

_INVISIBLE = "\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"  # zero-width and bidi controls
_CONTROLS = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
_CONTROLS_AND_NEWLINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def visible(value: object, multiline: bool = False) -> str:
    """``str(value)`` with every control character written as its escape; newlines kept only if ``multiline``."""
    pattern = _CONTROLS if multiline else _CONTROLS_AND_NEWLINE
    return pattern.sub(_escape, str(value))


def plain(*parts: object | tuple[object, str], multiline: bool = False) -> Text:
    """A rich ``Text`` of ``parts``, each shown literally; a ``(value, style)`` pair is styled, never parsed."""
    text = Text()
    for part in parts:
        value, style = part if isinstance(part, tuple) else (part, "")
        text.append(visible(value, multiline), style=style)
    return text


def rounded(mean: float, low: float, high: float) -> str:
    """``mean [low, high]`` to the interval's precision: two significant digits of its half-width, so a
    board shows no digit its seeds cannot support (0.9124 [0.9018, 0.923] reads 0.912 [0.902, 0.923])."""
    half = (high - low) / 2
    if not math.isfinite(half):  # one seed: no interval
        return f"{mean:.4g} [—, —]"
    if half <= 0:
        return f"{mean:.4g} [{low:.4g}, {high:.4g}]"
    decimals = 1 - math.floor(math.log10(half))
    if max(abs(mean), abs(low), abs(high)) >= 1e6 or decimals > 6:
        return f"{mean:.2e} [{low:.2e}, {high:.2e}]"
    shown = [f"{round(v, decimals) + 0.0:.{max(decimals, 0)}f}" for v in (mean, low, high)]  # + 0.0: no "-0.0"
    return f"{shown[0]} [{shown[1]}, {shown[2]}]"


def columns_that_fit(widths: dict[str, int], essential: list[str], width: int, gap: int = 3) -> list[str]:
    """The essential columns, then the others in order while the table stays within ``width`` characters
    (each column costs its width plus ``gap`` for padding and rules)."""
    chosen = list(essential)
    used = sum(widths[c] + gap for c in chosen) + 1
    for column in widths:
        if column not in chosen and used + widths[column] + gap <= width:
            chosen.append(column)
            used += widths[column] + gap
    return [c for c in widths if c in chosen]
