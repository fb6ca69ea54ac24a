"""Where each record lies in its file's bytes (docs/formats.md#what-comes-back-byte-for-byte).

A record that no rule changes is written back as the bytes it was read from; finding those
bytes is this module's job. For CSV a record ends at a line break outside quotes; for JSON Lines
at a line break; in a JSON array each top-level object is a record. Large files are scanned
with numpy (a pass per byte value, no Python per record); small ones with Python's own tools,
which is faster than importing numpy for them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import mmap
import re
from dataclasses import dataclass
from typing import Any

import polars as pl

#: bytes from which numpy scans a file (importing numpy costs more than scanning less with re)
NUMPY_FROM = 1 << 20
EOF_MARK = 0x1A  # ^Z: DOS's end-of-file mark, which some exporters still append
_STEP = 1 << 24  # bytes compared at a time: no temporary larger than this


def np_module() -> Any:
    import numpy as np  # lazily: its import is slow for a command line

    return np


def text_stop(data: bytes | mmap.mmap, begin: int) -> int:
    """Where the text ends: before a run of ^Z at the very end (an end-of-file mark, not data)."""
    stop = len(data)
    while stop > begin and data[stop - 1] == EOF_MARK:
        stop -= 1
    return stop


def release(data: bytes | mmap.mmap, start: int, stop: int) -> None:
    """Pages of a mapped file that were read and are done with leave the process's resident
    set (the page cache keeps them): a scan or a copy of a large file does not count it twice."""
    if isinstance(data, mmap.mmap) and stop > start:
        first = start - start % mmap.PAGESIZE
        with contextlib.suppress(OSError, ValueError):
            data.madvise(mmap.MADV_DONTNEED, first, stop - first)


def quotes_and_bare_returns(data: bytes | mmap.mmap, begin: int, stop: int) -> tuple[int, bool]:
    """How many quotes data[begin:stop] holds, and whether a CR that no LF follows is among its
    bytes (polars reads a file whose lines a bare CR ends as one line)."""
    np = np_module()
    view = np.frombuffer(data, dtype=np.uint8)
    quotes, bare = 0, False
    try:
        for at in range(begin, stop, _STEP):
            piece = view[at:min(at + _STEP, stop)]
            quotes += int(np.count_nonzero(piece == 34))
            if not bare:
                cr = np.flatnonzero(piece == 13) + at
                bare = bool(((cr + 1 >= stop) | (view[np.minimum(cr + 1, stop - 1)] != 10)).any())
            release(data, at, at + len(piece))
    finally:
        del view
    return quotes, bare


def positions(data: bytes | mmap.mmap, byte: int, begin: int, stop: int) -> Any:
    """The offsets of one byte value in data[begin:stop] (numpy int64, ascending)."""
    return scan(data, (byte,), begin, stop)[0]


def scan(data: bytes | mmap.mmap, values: tuple[int, ...], begin: int, stop: int) -> list[Any]:
    """The offsets of each byte value in data[begin:stop] (numpy int64 arrays, ascending), in
    one pass over the data, a slice at a time (one buffer for the comparisons)."""
    np = np_module()
    view = np.frombuffer(data, dtype=np.uint8)
    found: list[list[Any]] = [[] for _ in values]
    try:
        buffer = np.empty(min(_STEP, max(stop - begin, 0)), dtype=bool)
        for at in range(begin, stop, _STEP):
            piece = view[at:min(at + _STEP, stop)]
            hits = buffer[:len(piece)]
            for value, out in zip(values, found, strict=True):
                np.equal(piece, value, out=hits)
                out.append(np.flatnonzero(hits) + at)
            release(data, at, at + len(piece))
    finally:
        del view  # a live view keeps a map from closing
    return [np.concatenate(out) if out else np.empty(0, dtype=np.int64) for out in found]


def byte_at(data: bytes | mmap.mmap, where: Any) -> Any:
    """The bytes at the given offsets (numpy uint8)."""
    np = np_module()
    view = np.frombuffer(data, dtype=np.uint8)
    try:
        return view[where]
    finally:
        del view


def gather(data: bytes | mmap.mmap, starts: Any, stops: Any, prefix: bytes = b"") -> bytes:
    """`prefix`, then the bytes of the ranges starts[i]..stops[i] (numpy int64, ascending, not
    overlapping) one after the other: one mask over the bytes they span, made by `np.repeat`
    (no Python per range), and one copy of what it selects. A mapped file's pages are released
    once read."""
    np = np_module()
    if not len(starts):
        return prefix
    apart = starts[1:] != stops[:-1]  # ranges that touch make one
    starts = np.concatenate([starts[:1], starts[1:][apart]])
    stops = np.concatenate([stops[:-1][apart], stops[-1:]])
    lo, hi = int(starts[0]), int(stops[-1])
    edges = np.empty(2 * len(starts), dtype=np.int64)
    edges[0::2], edges[1::2] = starts, stops
    inside = np.zeros(len(edges) - 1, dtype=bool)
    inside[0::2] = True
    view = np.frombuffer(data, dtype=np.uint8)
    try:
        return b"".join((prefix, view[lo:hi][np.repeat(inside, np.diff(edges))]))
    finally:
        del view  # a live view keeps a map from closing
        release(data, lo, hi)


def bytes_at(data: bytes | mmap.mmap, where: pl.Series) -> pl.Series:
    """The bytes at the given offsets, as a polars UInt8 Series."""
    if len(data) >= NUMPY_FROM:
        return pl.Series(byte_at(data, where.to_numpy()), dtype=pl.UInt8)
    return pl.Series([data[i] for i in where.to_list()], dtype=pl.UInt8)


@dataclass
class Lines:
    """Line-records of a CSV file (the header and blank lines included), in order: `starts`,
    `ends` (before the line ending) and `stops` (after it), as polars Int64 Series."""

    starts: pl.Series
    ends: pl.Series
    stops: pl.Series

    def __len__(self) -> int:
        return len(self.starts)

    @classmethod
    def of(cls, starts: Any, ends: Any, stops: Any) -> Lines:
        return cls(*(pl.Series(v, dtype=pl.Int64) for v in (starts, ends, stops)))

    def take(self, rows: pl.Series) -> Lines:
        return Lines(self.starts.gather(rows), self.ends.gather(rows), self.stops.gather(rows))


# ----------------------------------------------------------------------------- CSV
def _csv_marks(data: bytes | mmap.mmap, begin: int, stop: int) -> dict[str, Any]:
    """Quotes, LFs and CRs of data[begin:stop] with the byte before or after each that the
    record finder looks at, read while their slice of the file is in memory (a mapped file's
    pages are released slice by slice)."""
    np = np_module()
    view = np.frombuffer(data, dtype=np.uint8)
    found: dict[str, list[Any]] = {k: [] for k in ("q", "q_prev", "q_next", "lf", "lf_prev", "cr", "cr_next")}
    try:
        buffer = np.empty(min(_STEP, max(stop - begin, 0)), dtype=bool)
        for at in range(begin, stop, _STEP):
            piece = view[at:min(at + _STEP, stop)]
            hits = buffer[:len(piece)]
            for name, value in (("q", 34), ("lf", 10), ("cr", 13)):
                np.equal(piece, value, out=hits)
                where = np.flatnonzero(hits) + at
                found[name].append(where)
                if name != "cr":  # the byte before (a CR before an LF; what precedes a quote)
                    found[f"{name}_prev"].append(np.where(where > begin, view[np.maximum(where - 1, 0)], 10))
                if name != "lf":  # the byte after (an LF after a CR; what follows a quote)
                    found[f"{name}_next"].append(np.where(where + 1 < stop, view[np.minimum(where + 1, stop - 1)], 10))
            release(data, at, at + len(piece))
    finally:
        del view  # a live view keeps a map from closing
    return {k: np.concatenate(v) if v else np.empty(0, dtype=np.int64 if k in ("q", "lf", "cr") else np.uint8)
            for k, v in found.items()}


def csv_lines_by_quotes(data: bytes | mmap.mmap, begin: int, stop: int, delimiter: str) -> Lines | None:
    """The line-records of an RFC 4180 file from the parity of the quotes before each line
    break, or None when the quoting is not plain RFC 4180 (a quote inside an unquoted value,
    text after a closing quote, an odd number of quotes) or a bare CR ends a line: then only an
    exact reader knows where records end."""
    np = np_module()
    marks = _csv_marks(data, begin, stop)
    quotes = marks["q"]
    if len(quotes) % 2:
        return None
    if len(quotes):
        sep = ord(delimiter)
        opening, closing = quotes[0::2], quotes[1::2]
        before, after = marks["q_prev"][0::2], marks["q_next"][1::2]
        doubled = np.zeros(len(opening), dtype=bool)  # the second quote of a "" inside a value
        doubled[1:] = opening[1:] - 1 == closing[:-1]
        if not ((opening == begin) | (before == sep) | (before == 10) | (before == 13) | doubled).all():
            return None
        doubled = np.zeros(len(closing), dtype=bool)
        doubled[:-1] = closing[:-1] + 1 == opening[1:]
        if not ((closing + 1 >= stop) | (after == sep) | (after == 10) | (after == 13) | doubled).all():
            return None
    breaks, crlf = marks["lf"], marks["lf_prev"] == 13
    returns, follows = marks["cr"], marks["cr_next"]
    if len(quotes):
        outside = (np.searchsorted(quotes, breaks) & 1) == 0
        breaks, crlf = breaks[outside], crlf[outside]
        outside = (np.searchsorted(quotes, returns) & 1) == 0
        returns, follows = returns[outside], follows[outside]
    if ((returns + 1 >= stop) | (follows != 10)).any():  # a bare CR ends a line: the exact reader
        return None
    stops = breaks + 1
    ends = breaks - crlf
    starts = np.concatenate([[begin], stops]).astype(np.int64)
    if starts[-1] < stop:  # a last line without a line ending
        ends = np.concatenate([ends, [stop]])
        stops = np.concatenate([stops, [stop]])
    else:
        starts = starts[:-1]
    return Lines.of(starts, ends, stops)


def line_table(data: bytes | mmap.mmap, begin: int, stop: int) -> Lines:
    """Every physical line (ended by LF, CRLF or a bare CR, as Python's csv module splits them)."""
    if stop - begin >= NUMPY_FROM:
        np = np_module()
        lf, cr = scan(data, (10, 13), begin, stop)
        follows = cr + 1
        bare = cr[(follows >= stop) | (byte_at(data, np.minimum(follows, stop - 1)) != 10)]
        ends_lf = lf.copy()
        if len(lf):
            crlf = lf > begin
            crlf[crlf] = byte_at(data, lf[crlf] - 1) == 13
            ends_lf -= crlf
        ends = np.concatenate([ends_lf, bare])
        stops = np.concatenate([lf + 1, bare + 1])
        order = np.argsort(stops, kind="stable")
        ends, stops = ends[order], stops[order]
        starts = np.concatenate([[begin], stops])
        if starts[-1] < stop:
            ends, stops = np.concatenate([ends, [stop]]), np.concatenate([stops, [stop]])
        else:
            starts = starts[:-1]
        return Lines.of(starts, ends, stops)
    starts, ends, stops = [], [], []
    at = begin
    for m in re.finditer(rb"\r\n|\r|\n", data[begin:stop]):
        starts.append(at)
        ends.append(begin + m.start())
        at = begin + m.end()
        stops.append(at)
    if at < stop:
        starts.append(at)
        ends.append(stop)
        stops.append(stop)
    return Lines.of(starts, ends, stops)


class ReaderError(Exception):
    """csv.Error with the line where the record that failed starts."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def csv_rows_by_reader(text: str, lines: Lines, delimiter: str, strict: bool) -> tuple[list[list[str]], Lines]:
    """Python's csv module over the text: every record (a blank line is `[]`) and its place,
    taken from the physical lines each record consumed. Raises ReaderError (strict: on
    anything that is not RFC 4180)."""

    class Dialect(csv.excel):
        pass

    Dialect.delimiter = delimiter
    Dialect.strict = strict
    reader = csv.reader(io.StringIO(text, newline=""), Dialect)
    rows: list[list[str]] = []
    taken: list[int] = []  # lines consumed after each record
    try:
        for row in reader:
            rows.append(row)
            taken.append(reader.line_num)
    except csv.Error as exc:
        raise ReaderError(str(exc), (taken[-1] if taken else 0) + 1) from None
    last = pl.Series(taken, dtype=pl.Int64) - 1
    first = pl.Series([0, *taken[:-1]], dtype=pl.Int64)
    return rows, Lines(lines.starts.gather(first), lines.ends.gather(last), lines.stops.gather(last))


# ----------------------------------------------------------------------------- JSON
# a JSON string (skipped whole) or a structural character
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]:]', re.DOTALL)


@dataclass
class JsonShape:
    """What a scan of JSON text outside its strings finds: the top-level values at `level`
    (an array's objects at level 1, JSON Lines' objects at level 0) as (start, stop) offsets,
    the number of colons (one per key of every object, nested ones included) and how deep
    the brackets go."""

    starts: pl.Series
    stops: pl.Series
    colons: int
    depth: int
    deepest_at: int  # offset of the first bracket at the greatest depth


def json_shape(data: bytes | mmap.mmap, begin: int, stop: int, level: int) -> JsonShape:
    if stop - begin < NUMPY_FROM:
        return _json_shape_re(data, begin, stop, level)
    np = np_module()
    table = np.zeros(256, dtype=bool)
    for ch in b'"\\{}[]:':
        table[ch] = True
    view = np.frombuffer(data, dtype=np.uint8)
    marks_parts, kinds_parts = [], []
    try:
        for at in range(begin, stop, _STEP):
            piece = view[at:min(at + _STEP, stop)]
            found = np.flatnonzero(table[piece])
            kinds = piece[found]
            found += at
            # a quote is escaped when an odd run of backslashes precedes it
            quotes = np.flatnonzero(kinds == 34)
            run = np.zeros(len(quotes), dtype=np.int64)
            active = np.arange(len(quotes))
            back = 1
            while len(active):
                where = found[quotes[active]] - back
                hit = where >= begin
                hit[hit] = view[where[hit]] == 92
                active = active[hit]
                run[active] += 1
                back += 1
            keep = np.ones(len(found), dtype=bool)
            keep[quotes[(run & 1) == 1]] = False
            keep &= kinds != 92
            marks_parts.append(found[keep])
            kinds_parts.append(kinds[keep])
            release(data, at, at + len(piece))
    finally:
        del view
    marks = np.concatenate(marks_parts) if marks_parts else np.empty(0, dtype=np.int64)
    kinds = np.concatenate(kinds_parts) if kinds_parts else np.empty(0, dtype=np.uint8)
    real = marks[kinds == 34]
    outside = (kinds != 34) & ((np.searchsorted(real, marks) & 1) == 0)
    structural, signs = marks[outside], kinds[outside]
    colons = int((signs == 58).sum())
    brackets = structural[signs != 58]
    signs = signs[signs != 58]
    opening = (signs == 123) | (signs == 91)
    step = np.where(opening, 1, -1)
    depth = np.cumsum(step)
    before = depth - step
    objects = signs == 123
    starts = brackets[objects & (before == level)]
    stops = brackets[(signs == 125) & (depth == level)] + 1
    deepest = int(depth.max()) if len(depth) else 0
    where = int(brackets[int(depth.argmax())]) if len(depth) else begin
    return JsonShape(starts=pl.Series(starts, dtype=pl.Int64), stops=pl.Series(stops, dtype=pl.Int64),
                     colons=colons, depth=deepest, deepest_at=where)


def _json_shape_re(data: bytes | mmap.mmap, begin: int, stop: int, level: int) -> JsonShape:
    depth = deepest = colons = 0
    where = begin
    starts: list[int] = []
    stops: list[int] = []
    for m in _JSON_TOKENS.finditer(data, begin, stop):
        ch = data[m.start()]
        if ch == 34:
            continue
        if ch == 58:
            colons += 1
        elif ch in (123, 91):
            if ch == 123 and depth == level:
                starts.append(m.start())
            depth += 1
            if depth > deepest:
                deepest, where = depth, m.start()
        else:
            depth -= 1
            if ch == 125 and depth == level:
                stops.append(m.end())
    return JsonShape(starts=pl.Series(starts, dtype=pl.Int64), stops=pl.Series(stops, dtype=pl.Int64),
                     colons=colons, depth=deepest, deepest_at=where)


def line_of(data: bytes | mmap.mmap, offset: int) -> int:
    """The 1-based line of a byte offset."""
    if isinstance(data, bytes):
        return data.count(b"\n", 0, offset) + 1
    return bytes(data[:offset]).count(b"\n") + 1
