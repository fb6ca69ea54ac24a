"""A run's files as one transaction (docs/merge.md#outputs): the output, the audit log and any
other file of the run (convert's customers) are written to staging files beside their targets
(the output and the rest at the same time: polars releases the GIL, so they use both cores),
the audit log is sealed with the output's digest, and only then are they renamed into place,
all of them or none. A signal or an error at any moment leaves every target as it was or every
one replaced, and no staging file behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from .. import signals
from ..errors import LeadtoolError
from ..records import Records
from .digest import Digest
from .files import (
    OutputError,
    check_output_path,
    digest_of,
    discard,
    is_device,
    new_file_mode,
    new_temp,
    os_reason,
    rename_into_place,
)
from .writing import write

Writer = Callable[[str], None]  # writes one file's content to the path it is given


@dataclass
class _Part:
    """One file of the run: where it goes and where it is staged."""

    target: str  # as given; '-' is standard output
    staging: str | None = None  # None: written straight to the target (stdout, a device)

    @property
    def replaces(self) -> bool:
        """A regular file (or none yet) that the staging file replaces by a rename."""
        return self.staging is not None and not (self.target == "-" or is_device(self.target))


def _stage(target: str) -> _Part:
    """A staging file beside the target (same file system: the rename is atomic); for a
    device, in the temporary folder (its content is copied into the device at the end)."""
    if target == "-" or is_device(target):
        return _Part(target, new_temp(tempfile.gettempdir(), target, ".staging", staging=True))
    return _Part(target, new_temp(os.path.dirname(target), target, ".staging", staging=True))


def write_run(make_records: Callable[[], Records], output: str, audit: str, write_audit: Writer,
              seal: Callable[[str, Digest], None], others: Sequence[tuple[str, Writer]] = (),
              writer: Callable[[Records, str], None] | None = None) -> Records:
    """Write `make_records()` (the apply step) to `output` with `writer` (default: io.write), `write_audit` and
    every other writer to its own target, then `seal(audit_staging, output_digest)`, then
    publish them all; returns the records written."""
    for path in (output, audit, *(p for p, _ in others)):
        check_output_path(path)
    parts: list[_Part] = []
    try:
        out = _Part(output) if output == "-" or is_device(output) else _stage(output)
        parts.append(out)
        side = [_stage(audit), *(_stage(path) for path, _ in others)]
        parts += side
        writers = [write_audit, *(w for _, w in others)]
        out_path = out.staging or out.target
        with digest_of(out_path) as digest:
            records = _write_all(make_records, out_path,
                                 [(w, p.staging or p.target) for w, p in zip(writers, side, strict=True)], writer)
        seal(side[0].staging or "", digest)
        _publish(parts)
    except LeadtoolError as exc:  # named by the path the user gave, not by a staging file
        staged = {p.staging: p.target for p in parts if p.staging}
        if exc.file in staged:
            raise type(exc)(exc.message, file=staged[exc.file], line=exc.line, column=exc.column) from None
        raise
    finally:
        for part in parts:
            if part.staging:
                discard(part.staging)
    return records


def _write_all(make_records: Callable[[], Records], out_path: str,
               side: list[tuple[Writer, str]], writer: Callable[[Records, str], None] | None = None) -> Records:
    """The output in one thread, the other files one after the other in a second; the main
    thread waits with signals deferred (an exception raised inside a lock of `threading` can
    hang the process), and stops at the first signal or error."""
    result: list[Records] = []

    def build_and_write() -> None:
        records = make_records()
        (writer or write)(records, out_path)
        result.append(records)

    def write_side() -> None:
        for writer, path in side:
            writer(path)

    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="leadtool-write")
    try:
        with signals.deferred():
            futures: list[Future[None]] = [pool.submit(write_side), pool.submit(build_and_write)]
            while True:
                done, running = wait(futures, timeout=0.05, return_when=FIRST_EXCEPTION)
                if signals.pending() is not None:
                    signals.raise_pending()
                for future in done:
                    if future.exception() is not None:
                        raise future.exception()  # type: ignore[misc]
                if not running:
                    break
    finally:
        # never wait for a writer that is still busy: its staging file is removed by the
        # caller, and the process does not wait for it either (the command line ends with
        # os._exit; the library's caller gets the error at once)
        pool.shutdown(wait=False, cancel_futures=True)
    return result[0]


def _publish(parts: list[_Part]) -> None:
    """Every staging file into place, with signals deferred; when one rename fails, the ones
    done are taken back (the replaced files were kept under a second name by a hard link)."""
    with signals.deferred():
        if signals.pending() is not None:
            signals.raise_pending()
        done: list[tuple[_Part, str | None]] = []  # (part, the old file's second name)
        try:
            for part in parts:
                if part.staging is None:
                    continue
                if not part.replaces:
                    _copy_into(part)
                    continue
                os.chmod(part.staging, new_file_mode(Path(part.target)))
                done.append((part, _keep_old(part.target)))
                rename_into_place(part.staging, part.target)
        except OSError as exc:
            failed = part.target
            for old_part, old in reversed(done):
                _take_back(old_part.target, old)
            raise OutputError(f"cannot write: {os_reason(exc)}; nothing was changed", file=failed) from None
        finally:
            for _, old in done:
                if old is not None:
                    discard(old)
        for folder in dict.fromkeys(os.path.dirname(os.path.abspath(p.target)) for p, _ in done):
            _sync_folder(folder)
        signals.outputs_in_place()  # a signal noted meanwhile no longer says the run was interrupted


def _keep_old(target: str) -> str | None:
    """A second name (hard link) for the file about to be replaced, None when there is none
    or the file system has no hard links."""
    if not os.path.isfile(target):
        return None
    old = new_temp(os.path.dirname(target), target, ".old")
    try:
        os.unlink(old)
        os.link(target, old)
    except OSError:
        discard(old)
        return None
    return old


def _take_back(target: str, old: str | None) -> None:
    """Undo one rename: the old file back, or the new one removed when there was none."""
    with contextlib.suppress(OSError):
        if old is None:
            os.unlink(target)
        else:
            rename_into_place(old, target)


def _copy_into(part: _Part) -> None:
    """A device target (a pipe, /dev/null) gets the staged bytes written into it."""
    assert part.staging is not None
    with open(part.staging, "rb") as src:
        if part.target == "-":
            shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
            sys.stdout.buffer.flush()
            return
        with open(part.target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


def _sync_folder(folder: str) -> None:
    """The renames on disk too (a crash just after the run keeps them)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
