"""The last pass of a bounded merge: the output in input order, chunk by chunk; merged-away
records are left out, each head takes its merged values, and the rows go to the same writer as
in memory (`io.writing`): untouched records as the bytes they were read from, heads encoded in
the file's style. When every file's records can be copied, nothing is parsed again: the first
pass kept where each record lies and the hash of its values, and only the heads whose values
changed are encoded. The audit log is the run line followed by the partitions' events, in
group order."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TypeVar

import polars as pl

from ..io.csv_write import csv_body, csv_header_line
from ..io.decode import BOM
from ..io.files import atomic_output, move_onto_temp
from ..io.writing import _copied, copies_every_record, copies_records
from ..records import LOADED, Records, value_hash
from .chunks import Inputs, iter_known_chunks
from .partitions import Planned

T = TypeVar("T")
_ROWS = 1 << 16  # rows handed to the writer at a time, as io.writing does


def _rows(inputs: Inputs, planned: Planned, columns: list[str]) -> Iterator[pl.DataFrame]:
    """The output rows, a chunk at a time: heads merged, merged-away records left out."""
    away = planned.away
    for number, chunk in enumerate(iter_known_chunks(inputs)):
        frame = chunk.records.frame
        if not frame.height:
            continue
        first = int(frame.get_column(LOADED)[0])
        heads = planned.heads_of(number)
        if heads is not None and heads.height:
            at = heads.get_column(LOADED).cast(pl.Int64) - first
            frame = frame.with_columns(frame.get_column(c).clone().scatter(at, heads.get_column(c)) for c in columns)
        keep = _kept(away, first, frame.height)
        yield from (frame if keep is None else frame.filter(keep)).iter_slices(_ROWS)


def _kept(away: pl.Series, first: int, n: int) -> pl.Series | None:
    """Which of the places first..first+n are not merged away (None: all of them)."""
    lo = int(away.search_sorted(first, side="left"))
    hi = int(away.search_sorted(first + n, side="left"))
    if hi == lo:
        return None
    gone = away.slice(lo, hi - lo).cast(pl.Int64) - first
    return pl.repeat(True, n, dtype=pl.Boolean, eager=True).scatter(gone, False)


def _changed_heads(planned: Planned, number: int, records: Records, f: int) -> pl.DataFrame:
    """Chunk `number`'s heads whose merged values are not those they were read with (the
    others are copied, as the writer would find), in input order."""
    heads = planned.heads_of(number)
    if heads is None or not heads.height:
        return pl.DataFrame(schema={LOADED: pl.Int64, **{c: pl.String for c in records.columns}})
    spans = records.sources[f].spans
    assert spans is not None
    heads = heads.with_columns(pl.col(LOADED).cast(pl.Int64)).sort(LOADED)
    read = spans.hashes().gather(heads.get_column(LOADED) - spans.first)
    return heads.filter((value_hash(heads, spans.hashed) != read).fill_null(True)).select(LOADED, *records.columns)


def _copy_batches(inputs: Inputs, planned: Planned, records: Records) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """The output rows a slice at a time, as the writer's places (file, bytes, clean) and the
    values of the rows that are not clean."""
    first = 0
    number = 0
    for f, file in enumerate(inputs.files):
        spans = records.sources[f].spans
        assert spans is not None
        for n in file.rows:
            changed = _changed_heads(planned, number, records, f)
            at = changed.get_column(LOADED)
            kept = pl.int_range(first, first + n, dtype=pl.Int64, eager=True)
            keep = _kept(planned.away, first, n)
            kept = kept if keep is None else kept.filter(keep)
            first += n
            number += 1
            for lo in range(0, len(kept), _ROWS):
                part = kept.slice(lo, _ROWS)
                local = part - spans.first
                a = int(at.search_sorted(part[0], side="left"))
                b = int(at.search_sorted(part[-1], side="right"))
                clean = pl.repeat(True, len(part), dtype=pl.Boolean, eager=True)
                if b > a:
                    clean = clean.scatter(part.search_sorted(at.slice(a, b - a)), False)
                places = pl.DataFrame({"src": pl.repeat(f, len(part), dtype=pl.Int32, eager=True),
                                       "start": spans.starts.gather(local), "end": spans.ends.gather(local),
                                       "next": spans.starts.gather(local + 1), "clean": clean})
                yield places, changed.slice(a, b - a).drop(LOADED)


def _with_last(items: Iterator[T]) -> Iterator[tuple[T, bool]]:
    """Each item with whether it is the last."""
    held: list[T] = []
    for item in items:
        if held:
            yield held.pop(), False
        held.append(item)
    if held:
        yield held.pop(), True


def write_output(inputs: Inputs, planned: Planned, records: Records, path: str) -> None:
    """The merged output at `path` (a staging file), as `io.write` would write the merged records."""
    fmt = records.sources[0].fmt
    batches = _with_last(part for part in _rows(inputs, planned, records.columns) if part.height)
    with atomic_output(path) as handle:
        if copies_every_record(records, fmt):
            known = ((changed, last, places)
                     for (places, changed), last in _with_last(_copy_batches(inputs, planned, records)))
            for piece in _copied(records, fmt, next(known, None), known):
                handle.write(piece)
            return
        if copies_records(records, fmt):
            first = next(batches, None)
            for piece in _copied(records, fmt, first, batches):
                handle.write(piece)
            return
        # nothing to copy (the first file's columns are not the output's): every row encoded
        head = csv_header_line([records.headers[c] for c in records.columns], fmt)
        handle.write((BOM if fmt.bom else b"") + head.encode("utf-8"))
        for batch, _ in batches:
            csv_body(batch.select(records.columns), fmt, handle)
        if not fmt.final_newline:
            handle.flush()
            end = handle.tell()
            if end >= len(fmt.newline):
                handle.truncate(end - len(fmt.newline.encode()))


def write_audit(path: str, run_line: bytes, planned: Planned, at: str) -> None:
    """The audit log at `path` (a staging file): the run line, then the partitions' events.
    When they were written with this run line and time, on the same file system, the file
    planning wrote is moved into place: no copy of what may be gigabytes. Else it is copied
    with the run's time put in for the stand-in."""
    if (planned.at == at and planned.audit_head == run_line and os.path.exists(planned.audit)
            and os.stat(planned.audit).st_dev == os.stat(path).st_dev):
        os.chmod(planned.audit, os.stat(path).st_mode)
        move_onto_temp(planned.audit, path)
        return
    stand_in = ('{"event":"merge","at":"' + planned.at + '"').encode()
    actual = ('{"event":"merge","at":"' + at + '"').encode()
    assert len(stand_in) == len(actual)
    with atomic_output(path) as handle, open(planned.audit, "rb") as src:
        handle.write(run_line)
        src.seek(len(planned.audit_head))
        rest = b""
        while block := src.read(1 << 24):
            block = rest + block
            cut = block.rfind(b"\n") + 1  # an event's start is never split by a block
            handle.write(block[:cut].replace(stand_in, actual))
            rest = block[cut:]
        handle.write(rest.replace(stand_in, actual))
