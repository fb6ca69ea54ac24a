"""Pausing Python's cycle collector while millions of small objects are built (parsed JSON):
they hold no cycles, yet each collection would scan them all again, which doubles the
parsing time."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
