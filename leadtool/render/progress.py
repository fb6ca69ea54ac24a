"""Progress on stderr for the long steps, only for a person watching a terminal; with
--verbose, how long each step took (where the time goes on a big file)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from rich.console import Console

from .console import err_console
from .text import glyph, line, literal


@contextlib.contextmanager
def steps(enabled: bool, timings: bool = False,
          console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """`step("reading")` names the step under way; a spinner shows it when enabled. A step's
    name is shown literally (a rich status would parse it as markup)."""
    console = console or err_console()
    current: list[tuple[str, float]] = []

    def finish() -> None:
        if timings and current:
            name, start = current.pop()
            console.print(line(literal(name, "dim"), (f": {time.perf_counter() - start:.2f} s", "dim")))

    def step(name: str, update: Callable[..., None] | None = None) -> None:
        finish()
        current.append((name, time.perf_counter()))
        if update:
            update(line(literal(name), glyph("…", "...")))

    if not enabled:
        yield step
    else:
        with console.status(literal("starting")) as status:
            yield lambda name: step(name, status.update)
    finish()
