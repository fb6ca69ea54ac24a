"""Output files (docs/merge.md#one-transaction): temporary files that never outlive the run,
atomic replacement, file modes, write errors named by the path the user gave, and paths that
must not overwrite each other."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .. import signals
from ..errors import InputError, LeadtoolError, UsageError
from .digest import Digest, HashingWriter


class OutputError(LeadtoolError, OSError):
    """An output file cannot be written (full disk, a folder, a read-only place); an OSError
    too, for callers of the library that catch those."""


def unencodable(exc: UnicodeEncodeError, encoding: str, path: str, lines_before: int) -> InputError:
    """A value the output's encoding cannot hold (a value of the inputs: an InputError): the
    character, its line and the text around it. The output keeps the first input's encoding
    (docs/formats.md#writing-files)."""
    text = exc.object
    start = text.rfind("\n", 0, exc.start) + 1
    end = text.find("\n", exc.start)
    line = text[start:end if end >= 0 else len(text)].rstrip("\r")
    at = exc.start - start
    near = line if len(line) <= 60 else ("..." if at > 30 else "") + line[max(0, at - 30):at + 30] + "..."
    char = text[exc.start]
    return InputError(f"line {lines_before + text.count(chr(10), 0, exc.start) + 1}: cannot write {char!r} "
                       f"(U+{ord(char):04X}, in {near!r}) in {encoding}, the encoding of the first input; "
                       "give a UTF-8 file first, or change that value", file=path)


def os_reason(exc: OSError) -> str:
    """An OSError as the few words a person needs ("No space left on device"), also when it
    comes from polars' writer as text ("[Errno 28] No space left on device")."""
    return exc.strerror or re.sub(r"^\[Errno \d+\] ", "", str(exc)) or type(exc).__name__


# --------------------------------------------------------------------------- temporary files
@dataclass
class _Temp:
    target: str  # the path the user gave: errors name it, never the temporary file
    staging: bool = False  # publish renames it; atomic_output writes into it as it is


_lock = threading.Lock()
_temps: dict[str, _Temp] = {}  # every temporary file of this process not yet renamed or removed
_digests: dict[str, Digest] = {}  # paths whose writer hashes what it writes (`digest_of`)


def new_temp(folder: str, target: str, suffix: str, *, staging: bool = False) -> str:
    """A new empty file in `folder`, registered so that it is removed whatever ends the run."""
    name = os.path.basename(target.rstrip("/")) or "output"
    with signals.deferred(), _lock:
        try:
            fd, path = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=folder or ".")
        except OSError as exc:  # a read-only folder or file system, no space for one more file
            raise OutputError(f"cannot write: {os_reason(exc)}", file=target) from None
        _temps[path] = _Temp(target, staging)
    os.close(fd)
    return path


@contextlib.contextmanager
def digest_of(path: str) -> Iterator[Digest]:
    """The digest of what `atomic_output(path)` writes inside the block (a staging file,
    `-` or a device), computed as it is written."""
    digest = _digests[path] = Digest()
    try:
        yield digest
    finally:
        _digests.pop(path, None)


def discard(path: str) -> None:
    """Remove a temporary file (if it is still there) and forget it."""
    with signals.deferred(), _lock:
        _temps.pop(path, None)
        with contextlib.suppress(OSError):
            os.unlink(path)


def move_onto_temp(source: str, path: str) -> None:
    """`source` renamed onto the temporary file `path` while it is still the run's: a writer in a
    second thread may finish after the run has ended in an error and removed its temporary files,
    and must not bring one back."""
    with signals.deferred(), _lock:
        if path not in _temps:
            raise OutputError("the run ended before this file was written", file=path)
        os.replace(source, path)


def rename_into_place(path: str, target: str) -> None:
    """The temporary file becomes `target` (atomically) and is forgotten."""
    with signals.deferred(), _lock:
        os.replace(path, target)
        _temps.pop(path, None)


def remove_leftovers() -> None:
    """Every temporary file still registered (a run that ended early): removed."""
    with _lock:
        for path in list(_temps):
            with contextlib.suppress(OSError):
                os.unlink(path)
        _temps.clear()


def staged(path: str) -> _Temp | None:
    return _temps.get(path)


# --------------------------------------------------------------------------- writing
def new_file_mode(target: Path) -> int:
    """The mode of the file being replaced, else what `open()` would give (0666 less the umask)."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    return 0o666 & ~_UMASK


def _read_umask() -> int:
    # os.umask can only be read by setting it: done once, at import, before any thread runs
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def is_device(path: str) -> bool:
    """A path that exists and is not a regular file or a folder (/dev/null, a pipe): written
    to, never replaced."""
    with contextlib.suppress(OSError):
        mode = os.stat(path).st_mode
        return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)
    return False


@contextlib.contextmanager
def _named_errors(target: str) -> Iterator[None]:
    """An OSError while writing becomes one line naming the path the user gave."""
    try:
        yield
    except LeadtoolError as exc:  # said already; named by the target, not a temporary file
        if exc.file in _temps:
            raise type(exc)(exc.message, file=_temps[exc.file].target, line=exc.line, column=exc.column) from None
        raise
    except OSError as exc:
        raise OutputError(f"cannot write: {os_reason(exc)}", file=target) from None


def _hashed(handle: IO[bytes], digest: Digest | None, path: str | None) -> Iterator[IO[bytes]]:
    if digest is None:
        yield handle
        return
    writer = HashingWriter(handle, digest)
    try:
        yield writer  # type: ignore[misc]
    finally:
        writer.close()
    writer.finish(path)


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[IO[bytes]]:
    """A file handle whose content appears at `path` only when the block succeeds. A staging
    file of `publish` is written into as it is (it is already private; publish renames it),
    through a `HashingWriter` when its digest is wanted."""
    entry = staged(path)
    digest = _digests.get(path)
    if entry is not None and entry.staging:
        with _named_errors(entry.target):
            # no O_CREAT: a staging file removed meanwhile (an interrupted run) is not made again
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            with os.fdopen(fd, "wb") as handle:
                yield from _hashed(handle, digest, path)
                handle.flush()
                os.fsync(handle.fileno())
        return
    if path == "-":
        sys.stdout.flush()  # text printed before comes first
        yield from _hashed(sys.stdout.buffer, digest, None)
        sys.stdout.buffer.flush()
        return
    check_output_path(path)
    if is_device(path):  # /dev/null, a pipe: never replace it
        with _named_errors(path), open(path, "wb") as handle:
            yield from _hashed(handle, digest, None)
        return
    tmp = new_temp(os.path.dirname(path), path, ".tmp")
    try:
        with _named_errors(path):
            os.chmod(tmp, new_file_mode(Path(path)))  # mkstemp makes 0600 files; an output is an ordinary file
            with open(tmp, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            rename_into_place(tmp, path)
    finally:
        discard(tmp)


# --------------------------------------------------------------------------- paths
def check_output_path(path: str, option: str = "-o") -> None:
    """An output path that can be written: not empty, not a folder, its folder existing."""
    if path == "":
        raise UsageError(f"{option} '': an empty path; give a file name")
    if path == "-":
        return
    if os.path.isdir(path) or path.endswith(("/", os.sep)):
        raise OutputError("is a folder, not a file", file=path)
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        raise UsageError(f"{path}: the folder {folder!r} does not exist")


def _real(path: str) -> str:
    return os.path.realpath(path)


Named = tuple[str, str | None]  # (the option that names a file, its path)


def _named(items: Sequence[Named | str | None], option: str) -> list[Named]:
    return [item if isinstance(item, tuple) else (option, item) for item in items]


def refuse_overwrite(outputs: Sequence[Named | str | None], inputs: Sequence[Named | str | None]) -> None:
    """Before anything is read or written: every output path can be written, no output is an
    input, and no two outputs are one file (real paths compared; a device such as /dev/null
    may take several). `-` (standard input or output) never collides with a file, and only
    one output may go to standard output. Paths come with the option that names them, or alone."""
    inputs = _named(inputs, "FILE")
    given_outputs = [(opt, p) for opt, p in _named(outputs, "-o") if p is not None]
    for opt, p in given_outputs:
        check_output_path(p, opt)
    for opt, p in [*given_outputs, *inputs]:
        if p == "":
            raise UsageError(f"{opt} '': an empty path; give a file name")
    real_inputs: dict[str, tuple[str, str]] = {}
    for opt, p in inputs:
        if p is not None and p != "-":
            real_inputs.setdefault(_real(p), (opt, p))
    to_stdout = [opt for opt, p in given_outputs if p == "-"]
    if len(to_stdout) > 1:
        raise UsageError(f"{' and '.join(f'{o} -' for o in to_stdout)} would all write to standard output; "
                         "give files")
    seen: dict[str, tuple[str, str]] = {}
    for opt, p in given_outputs:
        if p == "-" or is_device(p):
            continue
        real = _real(p)
        if real in real_inputs:
            in_opt, in_path = real_inputs[real]
            what = "an input file" if in_opt == "FILE" else f"the {in_opt} file"
            raise UsageError(f"{p}: refusing to overwrite {what} ({in_path}); choose another {opt}")
        if real in seen:
            first_opt, first = seen[real]
            raise UsageError(f"{opt} {p} and {first_opt} {first} are the same file: one would overwrite "
                             "the other; choose another path")
        seen[real] = (opt, p)
