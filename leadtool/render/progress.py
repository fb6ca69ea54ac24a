"""Progress on stderr for the long steps, only for a person watching a terminal; with
--verbose, how long each step took (where the time goes on a big file)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from rich.console import Console


@contextlib.contextmanager
def steps(enabled: bool, timings: bool = False) -> Iterator[Callable[[str], None]]:
    """`step("reading")` names the step under way; a spinner shows it when enabled."""
    console = Console(stderr=True)
    current: list[tuple[str, float]] = []

    def finish() -> None:
        if timings and current:
            name, start = current.pop()
            console.print(f"[dim]{name}: {time.perf_counter() - start:.2f} s[/]", highlight=False)

    def step(name: str, update: Callable[[str], None] | None = None) -> None:
        finish()
        current.append((name, time.perf_counter()))
        if update:
            update(f"{name}…")

    if not enabled:
        yield step
    else:
        with console.status("starting") as status:
            yield lambda name: step(name, status.update)
    finish()
