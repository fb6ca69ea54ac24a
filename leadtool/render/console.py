"""Where output goes: consoles for people (stdout, or stderr when data goes to stdout), JSON for
scripts, and a reader that leaves early (`| head`) ending quietly."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import IO, Any

from rich.console import Console


def discard(stream: IO[str] | None = None) -> None:
    """The reader of a stream went away (`leadtool ... | head`): what is left of the output
    goes nowhere, so that the command ends with its own exit code."""
    stream = stream or sys.stdout
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


@contextlib.contextmanager
def reader_may_leave() -> Iterator[None]:
    """Printing a report whose exit code matters (check): a reader that leaves early does
    not turn an invalid dataset into exit 0."""
    try:
        yield
    except BrokenPipeError:
        discard()


class _Console(Console):
    def on_broken_pipe(self) -> None:  # rich's own exits 1
        discard(self.file)


def make_console(stderr: bool = False, quiet: bool = False) -> Console:
    return _Console(stderr=stderr, quiet=quiet, highlight=False, soft_wrap=False)


def err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def dump_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2)


def print_json(obj: Any) -> None:
    sys.stdout.write(dump_json(obj) + "\n")
