"""The last pass of a bounded merge: the inputs are read again in order, chunk by chunk; each
head takes its merged values, merged-away records are left out, and the rows go to the same
writer as in memory (`io.writing`): untouched records as the bytes they were read from, heads
encoded in the file's style. The audit log is the run line followed by the partitions' events,
in group order."""

from __future__ import annotations

import os
from collections.abc import Iterator

import polars as pl

from ..audit.events import unsealed_run_line
from ..io.csv_write import csv_body, csv_header_line
from ..io.decode import BOM
from ..io.files import atomic_output
from ..io.writing import _copied, copies_records
from ..records import LOADED, Records
from .chunks import Inputs, iter_known_chunks
from .partitions import AT_STAND_IN, Planned

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
        lo = int(away.search_sorted(first, side="left"))
        hi = int(away.search_sorted(first + frame.height, side="left"))
        if hi > lo:
            gone = away.slice(lo, hi - lo).cast(pl.Int64) - first
            keep = pl.Series([True], dtype=pl.Boolean).extend_constant(True, frame.height - 1).scatter(gone, False)
            frame = frame.filter(keep)
        yield from frame.iter_slices(_ROWS)


def _with_last(parts: Iterator[pl.DataFrame]) -> Iterator[tuple[pl.DataFrame, bool]]:
    held: pl.DataFrame | None = None
    for part in parts:
        if not part.height:
            continue
        if held is not None:
            yield held, False
        held = part
    if held is not None:
        yield held, True


def write_output(inputs: Inputs, planned: Planned, records: Records, path: str) -> None:
    """The merged output at `path` (a staging file), as `io.write` would write the merged records."""
    fmt = records.sources[0].fmt
    batches = _with_last(_rows(inputs, planned, records.columns))
    with atomic_output(path) as handle:
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


def write_audit_parts(path: str, header: dict, parts: list[str], at: str) -> None:
    """The run line, then each partition's events with the run's time put in."""
    stand_in = ('{"event":"merge","at":"' + AT_STAND_IN + '"').encode()
    actual = ('{"event":"merge","at":"' + at + '"').encode()
    assert len(stand_in) == len(actual)
    with atomic_output(path) as handle:
        handle.write(unsealed_run_line(header).encode("utf-8"))
        for part in parts:
            if not os.path.exists(part):
                continue
            with open(part, "rb") as src:
                rest = b""
                while block := src.read(1 << 24):
                    block = rest + block
                    cut = block.rfind(b"\n") + 1  # an event's start is never split by a block
                    handle.write(block[:cut].replace(stand_in, actual))
                    rest = block[cut:]
                handle.write(rest.replace(stand_in, actual))
