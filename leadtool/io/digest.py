"""The digest of an output (docs/audit.md#the-run-event): SHA-256 and size, computed while the
output is written (no second read of a large file), and of a file given to undo."""

from __future__ import annotations

import hashlib
import io
import mmap
import os
import sys
from typing import IO, Any

from ..errors import InputError
from .behind import Behind


class Digest:
    """SHA-256 and size of the bytes written through `HashingWriter`s into one file."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.size = 0
        self.hexdigest: str | None = None


def _unchanging(data: Any) -> bool:
    """Bytes, or a read-only view of bytes or of a file mapped for reading: nobody can change
    them while they wait to be hashed (a writer may reuse a buffer it wrote from)."""
    if isinstance(data, bytes):
        return True
    return (isinstance(data, memoryview) and data.readonly
            and isinstance(data.obj, bytes | mmap.mmap))


class HashingWriter:
    """A file handle that hashes the bytes as they are written, so that an output's digest
    costs no second read. The last `KEEP` bytes are hashed only at the end: a writer may cut
    the file's final line ending (`truncate`). Anything else (a seek, a cut further back)
    makes `finish` hash the file from disk instead. A large piece that cannot change is
    written in one second thread and hashed in another, in order: hashlib and the kernel's
    copy leave Python's lock, and on a machine where every new page of the page cache costs
    the kernel time (benchmarks/README.md), writing then overlaps the making of what comes next."""

    KEEP = 64
    LARGE = 1 << 20  # pieces at least this large are written and hashed in second threads
    AHEAD = 8  # large pieces waiting to be written, and to be hashed, at most

    def __init__(self, handle: IO[bytes], digest: Digest) -> None:
        self.handle = handle
        self.digest = digest
        self.tail = b""
        self.hashed = 0
        self.exact = True
        self._hashes = Behind("leadtool-hash", self.AHEAD)
        self._writes = Behind("leadtool-write", self.AHEAD)

    def _update(self, data: Any, later: bool = False) -> None:
        """Hash `data` after everything before it: a large piece that cannot change (`later`)
        in the hashing thread, in order."""
        if not later or len(data) < self.LARGE:
            self._hashes.drain()
            self.digest.sha.update(data)
            return
        self._hashes.submit(self.digest.sha.update, data)

    def close(self) -> None:
        """Wait for the second threads (they are done with every piece given)."""
        try:
            self._writes.close()
        finally:
            self._hashes.close()

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        unchanging = _unchanging(data)
        if unchanging and len(view) >= self.LARGE:
            self._writes.submit(self.handle.write, data)
        else:
            self._writes.drain()
            self.handle.write(data)
        if len(view) >= self.KEEP:
            self._update(self.tail)
            self._update(view[:-self.KEEP], later=unchanging)
            self.hashed += len(self.tail) + len(view) - self.KEEP
            self.tail = bytes(view[-self.KEEP:])
        else:
            self.tail += bytes(view)
            if len(self.tail) > self.KEEP:
                cut = len(self.tail) - self.KEEP
                self._update(self.tail[:cut])
                self.hashed += cut
                self.tail = self.tail[cut:]
        return len(view)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._writes.drain()
        self.handle.flush()

    def tell(self) -> int:
        self._writes.drain()
        return self.handle.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        self._writes.drain()
        self.exact = False
        return self.handle.seek(offset, whence)

    def truncate(self, size: int | None = None) -> int:
        self._writes.drain()
        size = self.tell() if size is None else size
        if self.hashed <= size <= self.hashed + len(self.tail):
            self.tail = self.tail[:size - self.hashed]
        else:
            self.exact = False
        return self.handle.truncate(size)

    def finish(self, path: str | None) -> None:
        """The digest of what was written. For a regular file (`path`), of the file as it now
        is on disk; for standard output or a device (None), of the bytes streamed."""
        self.close()
        self.handle.flush()
        size = self.hashed + len(self.tail)
        if path is None or (self.exact and os.fstat(self.handle.fileno()).st_size == size):
            self.digest.sha.update(self.tail)
            self.digest.size = size
        else:  # written some other way: read it back
            self.digest.sha = hashlib.sha256()
            self.digest.size = 0
            with open(path, "rb") as again:
                while block := again.read(1 << 20):
                    self.digest.sha.update(block)
                    self.digest.size += len(block)
        self.digest.hexdigest = self.digest.sha.hexdigest()


def input_digest(path: str) -> tuple[str, int]:
    """(SHA-256, size) of an input file. Standard input is read whole, and its bytes are
    given back as standard input to the reader that comes next."""
    if path == "-":
        data = sys.stdin.buffer.read()
        sys.stdin = io.TextIOWrapper(io.BytesIO(data))
        return hashlib.sha256(data).hexdigest(), len(data)
    sha = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                sha.update(block)
                size += len(block)
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", file=path) from None
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), file=path) from None
    return sha.hexdigest(), size
