"""Ctrl-C, SIGTERM and SIGHUP: each ends a run the same way, files cleaned up (docs/merge.md#outputs).

Python runs a signal handler in the main thread, between two bytecodes, wherever that thread
is: an exception raised there can leave a lock of `threading` held (a worker then blocks on it
for ever) or skip the line that would remove a temporary file. So the code that must not be cut
(creating and renaming temporary files, waiting for writer threads) runs inside `deferred()`,
where a signal is only noted; it checks `pending()` where stopping is safe, and the signal
takes effect when the block ends. Blocking signals with `pthread_sigmask` would not do: it
masks one thread, and polars' worker threads still receive them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A run ended by a signal; a KeyboardInterrupt, so that Ctrl-C and SIGTERM/SIGHUP take
    one path (`signum` gives the exit code 128 + signum)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_installed = False  # the command line's handlers are in place for the whole run
_depth = 0  # nesting of deferred() in the main thread
_pending: int | None = None  # a signal noted inside deferred(), not yet acted on
_received: int | None = None  # the first signal of the run
_in_place = False  # the command line's outputs are in place: a signal no longer interrupts it


def _handler(signum: int, frame: FrameType | None) -> None:
    global _pending, _received
    if _received is None:
        _received = signum
    if _in_place:  # the run is done but for its last words: it ends as it would have
        return
    if _depth:
        if _pending is None:
            _pending = signum
        return
    raise Interrupted(signum)


def install() -> None:
    """The command line: SIGINT, SIGTERM and SIGHUP raise `Interrupted` (main thread only)."""
    global _installed
    for sig in HANDLED:
        signal.signal(sig, _handler)
    _installed = True


def outputs_in_place() -> None:
    """The command line's outputs were put in place (`io.publish`): the run has done what it
    was asked, and a signal from now on (or one noted while they were renamed) no longer ends
    it as interrupted. Exit 130 then always means that the old files are still there."""
    global _in_place, _pending
    if _installed:
        _in_place = True
        _pending = None


def received() -> int | None:
    """The first signal this process received through these handlers, if any."""
    return _received


def exit_code(code: int) -> int:
    """A run interrupted by SIGTERM or SIGHUP exits 128 + the signal's number (130 stays
    Ctrl-C's), as a shell reports a process that the signal ended."""
    if code == 128 + signal.SIGINT and _received in (signal.SIGTERM, signal.SIGHUP):
        return 128 + _received
    return code


def pending() -> int | None:
    """A signal that arrived inside the current deferred() block."""
    return _pending


def raise_pending() -> None:
    """Act on a noted signal now (the caller has made its state safe)."""
    global _pending
    signum, _pending = _pending, None
    if signum is not None:
        raise Interrupted(signum)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Signals arriving inside are noted, not raised; the first one takes effect when the
    outermost block ends (unless the block acted on it with `raise_pending`). Outside the
    command line (the library), the caller's own handlers are put back afterwards and the
    signal is handed to them. Elsewhere than in the main thread this does nothing: handlers
    only ever run in the main thread."""
    global _depth, _pending
    if not _in_main_thread():  # handlers run in the main thread only: nothing to defer here
        yield
        return
    previous: dict[int, Any] = {}
    if not _installed and _depth == 0:
        for sig in HANDLED:
            with contextlib.suppress(ValueError, OSError):
                previous[sig] = signal.signal(sig, _handler)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            for sig, old in previous.items():
                signal.signal(sig, old)
            signum, _pending = _pending, None
            if signum is not None:
                _deliver(signum, previous.get(signum, _handler))


def _deliver(signum: int, handler: Any) -> None:
    """A noted signal, to the handler that was in place (ours raises `Interrupted`)."""
    if handler is _handler:
        raise Interrupted(signum)
    if handler is signal.default_int_handler:
        raise KeyboardInterrupt
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), signum)
