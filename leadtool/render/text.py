"""Values as they fit in a table cell: one line, at most `width` characters."""

from __future__ import annotations

from typing import Any


def short(value: Any, width: int = 40) -> str:
    """Line breaks shown as ⏎, long values cut with …; None is empty."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"
