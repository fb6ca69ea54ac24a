"""Progress on stderr for the long steps, only for a person watching a terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console


@contextlib.contextmanager
def steps(enabled: bool) -> Iterator[Callable[[str], None]]:
    """`step("reading")` names the step under way; a spinner shows it when enabled."""
    if not enabled:
        yield lambda _name: None
        return
    console = Console(stderr=True)
    with console.status("starting") as status:
        yield lambda name: status.update(f"{name}…")
