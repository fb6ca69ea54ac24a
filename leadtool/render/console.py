"""Where output goes: consoles for people (stdout, or stderr when data goes to stdout), documents
for scripts, and a reader that leaves early (`| head`) or a stream closed from the start (`>&-`)
ending quietly, with the command's own exit code.

The consoles never parse markup or emoji codes: a value `[red]x[/]` or `:smile:` is printed as
typed. Our own styling is built as `rich.text.Text` (render/text.py)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from typing import IO, Any

from rich.console import Console

from ..errors import LeadtoolError

#: what a stream does with a character its encoding cannot hold (`PYTHONIOENCODING=ascii`)
UNENCODABLE = "backslashreplace"


class OutputError(LeadtoolError):
    """Standard output cannot be written (`> /dev/full`, a full disk)."""


class _StandardOutput(io.RawIOBase):
    """File descriptor 1, whose failed write is a one-line error naming standard output (a
    reader that went away stays a BrokenPipeError: that one ends quietly)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data: Any) -> int:
        try:
            return os.write(self._fd, data)
        except (BrokenPipeError, BlockingIOError, InterruptedError):
            raise
        except OSError as exc:
            raise OutputError(f"cannot write: {exc.strerror or exc}", file="standard output") from None


def open_standard_streams() -> None:
    """Called first thing: a standard stream the caller closed (`leadtool check x.csv >&-`) is
    given the null device, so that what would go to it goes nowhere and no file opened later
    takes its descriptor (and receives what was meant for the terminal). People's text that the
    stream's encoding cannot hold is escaped (`\\xe9`) rather than an error."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if sys.stdin is None:
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 (lives as long as the process)
    if sys.stdout is None:
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.fileno() == 1:
        sys.stdout.flush()
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_StandardOutput(1)), encoding=sys.stdout.encoding,
                                      errors=sys.stdout.errors, line_buffering=sys.stdout.line_buffering,
                                      write_through=sys.stdout.write_through)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors=UNENCODABLE)  # type: ignore[union-attr]


def discard(stream: IO[str] | None = None) -> None:
    """The reader of a stream went away (`leadtool ... | head`): what is left of the output
    goes nowhere, so that the command ends with its own exit code."""
    stream = stream or sys.stdout
    with contextlib.suppress(OSError, ValueError, AttributeError):
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
    def on_broken_pipe(self) -> None:  # rich's own points stdout at the null device and exits 1
        self.quiet = True
        discard(self.file)


def quiet_broken_pipes() -> None:
    """typer prints help and usage errors with consoles of its own: they too end quietly when
    the reader goes away (`leadtool --help | head -1`) instead of exiting 1."""
    Console.on_broken_pipe = _Console.on_broken_pipe  # type: ignore[method-assign]


def _console(stderr: bool, quiet: bool = False, soft_wrap: bool = False) -> Console:
    return _Console(stderr=stderr, quiet=quiet, markup=False, emoji=False, highlight=False,
                    soft_wrap=soft_wrap)


def make_console(stderr: bool = False, quiet: bool = False) -> Console:
    """Tables, previews and summaries."""
    return _console(stderr, quiet)


def err_console() -> Console:
    """Errors, warnings and `wrote ...` lines: one line each however long."""
    return _console(True, soft_wrap=True)


@contextlib.contextmanager
def stdout_bytes() -> Iterator[IO[bytes]]:
    """Standard output for a document (JSON, CSV, workflow commands): UTF-8 bytes whatever
    the locale, after whatever text was printed before."""
    sys.stdout.flush()
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text-only stream (a test's StringIO)
        yield _TextBytes(sys.stdout)
        return
    yield out
    out.flush()


class _TextBytes:
    """A text stream taking UTF-8 bytes."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, data: bytes) -> int:
        return self.stream.write(data.decode("utf-8"))


def dump_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2)


def print_json(obj: Any) -> None:
    with stdout_bytes() as out:
        out.write((dump_json(obj) + "\n").encode("utf-8", UNENCODABLE))
