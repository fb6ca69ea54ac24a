"""An output's digest is computed as it is written (leadtool.io.digest): the same as hashing the
file afterwards, also when the writer cuts its last line ending or writes some other way."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from leadtool.io.digest import Digest, HashingWriter, input_digest


def _written(path: Path, steps) -> Digest:
    digest = Digest()
    with path.open("wb") as handle:
        writer = HashingWriter(handle, digest)
        for step in steps:
            step(writer)
        writer.finish(str(path))
    return digest


@pytest.mark.parametrize("steps", [
    [lambda w: w.write(b"a,b\r\n" * 1000)],
    [lambda w: w.write(b"x"), lambda w: w.write(memoryview(b"yz" * 100)), lambda w: w.write(bytearray(b"!"))],
    [lambda w: w.write(b"a\n" * 100), lambda w: w.truncate(w.tell() - 1)],  # the final newline cut
    [lambda w: w.write(b"a\n" * 100), lambda w: w.truncate(10)],  # cut far back: read again
    [lambda w: w.write(b"abc" * 100), lambda w: w.seek(0), lambda w: w.write(b"X")],  # rewritten: read again
    [lambda w: w.writelines([b"1\n", b"2\n"])],
    [],
])
def test_the_digest_is_the_files(tmp_path: Path, steps) -> None:
    path = tmp_path / "out.csv"
    digest = _written(path, steps)
    data = path.read_bytes()
    assert (digest.hexdigest, digest.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert input_digest(str(path)) == (digest.hexdigest, digest.size)


def test_input_digest_of_what_is_not_a_file(tmp_path: Path) -> None:
    from leadtool.errors import InputError

    with pytest.raises(InputError, match="no such file"):
        input_digest(str(tmp_path / "missing.csv"))
    with pytest.raises(InputError, match="is a directory"):
        input_digest(str(tmp_path))


def test_large_pieces_written_and_hashed_in_second_threads_keep_their_order(tmp_path):
    import mmap

    source = tmp_path / "source.bin"
    blob = bytes(range(256)) * 40_000  # ~10 MB
    source.write_bytes(blob)
    out = tmp_path / "out.bin"
    digest = Digest()
    with open(source, "rb") as src, open(out, "wb") as handle:
        raw = mmap.mmap(src.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(raw)
        writer = HashingWriter(handle, digest)
        pieces = [view[0:3_000_000], b"x" * 10, bytes(blob[:2_000_000]), view[5_000_000:9_000_000],
                  bytearray(b"y" * 1_500_000), view[9_000_000:]]
        expected = b"".join(bytes(p) for p in pieces)
        for piece in pieces:
            writer.write(piece)
        writer.finish(str(out))
        del view, pieces, piece
        raw.close()
    assert out.read_bytes() == expected  # large pieces are written in a second thread, in order
    assert digest.hexdigest == hashlib.sha256(out.read_bytes()).hexdigest()
    assert digest.size == out.stat().st_size


def test_an_error_of_the_writing_thread_is_raised_to_the_writer() -> None:
    """A large piece is written in a second thread: its error (a full disk) must still end the
    write, at the latest when the writer is closed."""
    import io

    class Full(io.BytesIO):
        def write(self, data) -> int:
            raise OSError(28, "No space left on device")

    writer = HashingWriter(Full(), Digest())
    with pytest.raises(OSError, match="No space left"):
        writer.write(b"x" * (2 << 20))
        writer.close()
