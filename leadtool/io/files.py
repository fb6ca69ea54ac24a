"""Output files: atomic replacement, file modes, and paths that must not overwrite each other."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from ..errors import UsageError


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


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[IO[bytes]]:
    """A file handle whose content appears at `path` only when the block succeeds."""
    if path == "-":
        sys.stdout.flush()  # text printed before comes first
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if target.exists() and not target.is_file():  # /dev/null, a pipe: never replace it
        with target.open("wb") as handle:
            yield handle
        return
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{path}: the folder {str(folder)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, new_file_mode(target))  # mkstemp makes 0600 files; an output is an ordinary file
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise



def refuse_overwrite(outputs: Sequence[str | None], inputs: Sequence[str]) -> None:
    """An input file is never overwritten, and every output has a folder to go to: checked
    before anything is read or written."""
    real = set()
    for p in inputs:
        if p != "-":
            with contextlib.suppress(OSError):
                real.add(os.path.realpath(p))
    for out in outputs:
        if out and out != "-" and os.path.realpath(out) in real:
            raise UsageError(f"{out}: refusing to overwrite an input file; choose another -o")
        folder = os.path.dirname(out) if out and out != "-" else ""
        if folder and not os.path.isdir(folder):
            raise UsageError(f"{out}: the folder {folder!r} does not exist")
