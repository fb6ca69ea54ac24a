"""Text a user controls, as it is shown: literally. Values, ids, headers, paths, option values and
messages become `rich.text.Text` (never parsed as markup: `[red]x[/]` is shown as typed), on one
line, with control characters made visible; only our own labels carry a style."""

from __future__ import annotations

import sys
from typing import Any

from rich.text import Text

from ..errors import printable


def glyph(symbol: str, fallback: str) -> str:
    """`symbol` where standard output can show it, else its ASCII `fallback`
    (`PYTHONIOENCODING=ascii`, an old code page)."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        symbol.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return fallback
    return symbol


def short(value: Any, width: int = 40) -> str:
    """Line breaks shown as ⏎, other control characters escaped, long values cut with …;
    None is empty."""
    text = "" if value is None else str(value)
    mark = glyph("⏎", "|")
    text = printable(text.replace("\r\n", mark).replace("\n", mark).replace("\r", mark))
    if len(text) <= width:
        return text
    dots = glyph("…", "...")
    return text[: max(width - len(dots), 0)] + dots


def cell(value: Any, width: int = 40, style: str = "") -> Text:
    """A value in a table cell: `short`, literal."""
    return Text(short(value, width), style=style)


def literal(value: Any, style: str = "") -> Text:
    """A user's text in a message (a path, an id, an option value): whole, literal, one line."""
    return Text(printable("" if value is None else str(value)), style=style)


def styled(text: str, style: str) -> Text:
    """One of our own labels with its style."""
    return Text(text, style=style)


def line(*parts: str | Text | tuple[str, str]) -> Text:
    """A message of several parts: plain strings and (text, style) pairs are ours, Text parts
    are whatever `literal`/`cell` made of a user's text; nothing is parsed as markup."""
    return Text.assemble(*parts)


def warning(*parts: str | Text) -> Text:
    return line(("warning:", "yellow"), " ", *parts)


def note(*parts: str | Text) -> Text:
    return line(("note:", "yellow"), " ", *parts)


def error(message: str) -> Text:
    return line(("error:", "bold red"), " ", literal(message))
