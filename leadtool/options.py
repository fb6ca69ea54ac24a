"""Option values as users write them: comma lists (`--by email,phone`, repeated or not) and
counts (`--limit 50`, `--limit all`). One parser each, for the command line and the config."""

from __future__ import annotations

from collections.abc import Iterable

from .errors import UsageError


def comma_list(values: Iterable[str], *, lower: bool = False) -> list[str]:
    """`--x a,b --x c` gives `[a, b, c]`: parts stripped, blanks dropped, each kept once."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip().lower() if lower else part.strip()
            if part and part not in out:
                out.append(part)
    return out


def parse_count(value: str, option: str) -> int | None:
    """`--limit 50` / `--limit all` (None)."""
    if value.strip().lower() == "all":
        return None
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise UsageError(f"{option} {value!r}: expected a number (0 or more) or 'all'")
    return n

