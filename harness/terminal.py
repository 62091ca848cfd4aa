"""Text from plugins and the database, made safe to show on a terminal.

Names, descriptions, versions and error messages are other people's strings: on
a terminal they must read as what they are. They are never parsed as rich markup
(``[/bold]`` would crash the command, ``[red]`` would vanish), and control
characters (ANSI escapes, carriage returns, C1 codes) are shown as their escapes
(``\\x1b``, ``\\u202e``) instead of moving the cursor, recolouring or clearing
the screen, or hiding and reordering text (zero-width and bidirectional controls).
"""

from __future__ import annotations

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
