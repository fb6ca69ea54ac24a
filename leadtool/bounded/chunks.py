"""The inputs of a bounded run, read a slice at a time: each CSV file is mapped, cut at record
boundaries into chunks of about a given size, and each chunk is parsed by the same reader as a
whole file (`io.csv_read.read_csv`, its header line put in front), so that its values are those
the in-memory path reads. What `io.reading.load` finds once for all records (the columns of
several files, the fields, the record places in the bytes, the hashes of the values as read)
is found here chunk by chunk and kept per file in a few bytes a record."""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import polars as pl

from ..errors import InputError
from ..fields import FieldMap
from ..io.behind import result
from ..io.csv_read import read_csv
from ..io.decode import BOM, SNIFF_BYTES, NotUTF8, decode
from ..io.footers import ends_with_one_cell
from ..io.multiline import x2many_positions
from ..io.reading import _Columns, _preset_opportunities, with_ids
from ..io.spans import csv_lines_by_quotes, gather, np_module, release, text_stop
from ..io.xlsx import refuse_binary, workbook_kind
from ..recognition import PresetChoice, recognise
from ..records import LOADED, PLACEHOLDER, ROW, SRC, FileFormat, Records, Source, Spans

T = TypeVar("T")


class NotBounded(Exception):
    """An input the bounded path does not read (another encoding or format, quoting that only
    an exact reader splits into records): the run takes the in-memory path. `layout`: a UTF-8
    CSV file whose layout (a report footer, records over several lines) the passes leave to it."""

    def __init__(self, message: str, layout: bool = False) -> None:
        super().__init__(message)
        self.layout = layout


def why(exc: NotBounded) -> str:
    """What the note on falling back to memory adds to the reason."""
    return ": the passes leave it to the in-memory reader" if exc.layout else ": the passes read UTF-8 CSV files only"


@dataclass
class CsvInput:
    """One mapped CSV file: its text (`begin`..`stop`), its header line (`begin`..`header_stop`)
    and the chunk boundaries `cuts` (record starts; the last is `stop`)."""

    path: str
    raw: mmap.mmap
    begin: int
    stop: int
    header_stop: int
    cuts: list[int]
    fmt: FileFormat
    source: Source
    rows: list[int] = field(default_factory=list)  # records per chunk, known after the first pass

    def chunk_bytes(self, k: int) -> bytes:
        """Chunk k as a file of its own: the header line, then its records."""
        lo, hi = self.cuts[k], self.cuts[k + 1]
        head = self.raw[self.begin:self.header_stop] if k else b""
        start = self.begin if k == 0 else lo
        with memoryview(self.raw) as view:  # one copy (not a slice, then the slice behind the header)
            data = b"".join((head, view[start:hi]))
        release(self.raw, start, hi)
        return data

    def offset(self, k: int) -> int:
        """Added to a place in chunk k's bytes, it gives the place in the file."""
        return self.begin if k == 0 else self.cuts[k] - (self.header_stop - self.begin)

    @property
    def chunks(self) -> int:
        return len(self.cuts) - 1


_WINDOW = 1 << 20  # bytes looked at a time for the record end after a wanted cut


def _next_record_end(view: Any, at: int, parity: int, stop: int) -> int:
    """Just after the first line feed at or after `at` that is outside quotes, given the parity
    of the quotes before `at` (`stop` when there is none)."""
    np = np_module()
    window = 1 << 13
    while at < stop:
        piece = view[at:min(at + window, stop)]
        window = min(window * 2, _WINDOW)
        quotes = np.flatnonzero(piece == 34)
        feeds = np.flatnonzero(piece == 10)
        outside = feeds[((np.searchsorted(quotes, feeds) + parity) & 1) == 0]
        if len(outside):
            return at + int(outside[0]) + 1
        parity = (parity + len(quotes)) & 1
        at += len(piece)
    return stop


def _record_cuts(raw: mmap.mmap, begin: int, stop: int, size: int) -> tuple[int, list[int]]:
    """The end of the header line and chunk boundaries about `size` bytes apart, each just after
    a line feed outside quotes (an even number of quotes before it). An odd number of quotes in
    the file, or a quote inside an unquoted value, leaves the record ends to an exact reader:
    `NotBounded`. Only the quotes are counted over the whole file; line feeds are looked for
    just after each wanted cut."""
    np = np_module()
    view = np.frombuffer(raw, dtype=np.uint8)
    step = 1 << 26

    def quotes(lo: int, hi: int, bytes_: Any) -> int:
        count = 0
        for at in range(lo, hi, step):
            count += int(np.count_nonzero(bytes_[at:min(at + step, hi)] == 34))
            release(raw, at, min(at + step, hi))
        return count

    cuts: list[int] = []
    try:
        header_stop = _next_record_end(view, begin, 0, stop)
        want = max(begin + size, header_stop + 1)
        counted, parity = begin, 0  # the parity of the quotes before `counted`
        while want < stop:  # a cut: the first record end at or after want
            parity = (parity + quotes(counted, want - 1, view)) & 1
            counted = want - 1
            cut = _next_record_end(view, counted, parity, stop)
            if cut < stop:
                cuts.append(cut)
            want = cut + size
        parity = (parity + quotes(counted, stop, view)) & 1
    finally:
        del view
    if parity:
        raise NotBounded("an odd number of quotes")
    return header_stop, [header_stop, *cuts, stop]


def _mapped(path: str) -> mmap.mmap:
    """The file's bytes, mapped: only the slice being read is ever resident."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            raise InputError("empty file (not even a header line)", file=path)
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def open_csv(path: str, index: int, chunk_size: int, encoding: str | None, delimiter: str | None,
             mapping: FieldMap | None, preset: PresetChoice | None) -> CsvInput:
    """A CSV file mapped and cut into chunks; its format, header and fields read from its start."""
    lower = path.lower()
    if path == "-" or lower.endswith((".json", ".jsonl", ".ndjson")):
        raise NotBounded("not a CSV file")
    raw = _mapped(path)
    if workbook_kind(raw) is not None:  # by content, whatever the name
        raise NotBounded("an Excel workbook")
    refuse_binary(raw, path)
    _, enc, bom = decode(raw, path, encoding, lazy=True)
    if enc != "utf-8" or (encoding and encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig")):
        raise NotBounded("not UTF-8")
    begin = len(BOM) if bom else 0
    head = bytes(raw[begin:begin + SNIFF_BYTES]).lstrip(b"\r\n")
    if head[:1] in (b"[", b"{") and not lower.endswith((".csv", ".tsv", ".tab", ".psv")):
        raise NotBounded("a JSON file")
    stop = text_stop(raw, begin)
    header_stop, cuts = _record_cuts(raw, begin, stop, chunk_size)
    if not raw[begin:header_stop].strip(b" \t\r\n"):
        raise NotBounded("blank lines before the header")
    fmt = FileFormat(encoding="utf-8", bom=bom, delimiter=delimiter or "")
    first = bytes(raw[begin:cuts[1]])
    try:
        parsed = read_csv(first, 0, path, fmt)
    except NotUTF8:
        raise NotBounded("not UTF-8") from None
    source = Source(path=path, fmt=fmt, headers=parsed.headers, columns=[], header_newlines=parsed.header_newlines)
    source.recognition = recognise(source.headers, mapping, preset)
    if x2many_positions(source):  # records over several lines: a chunk may cut one
        raise NotBounded("Odoo multi-line records (x2many sub-field columns)", layout=True)
    return CsvInput(path, raw, begin, stop, header_stop, cuts, fmt, source)


@dataclass
class Inputs:
    """Every input of the run, and what `load` would know of them taken together."""

    files: list[CsvInput]
    columns: _Columns
    opportunity_sources: frozenset[int]
    sources: list[Source]
    renames: list[dict[str, str]]

    def meta(self) -> Records:
        """The records' description without records (an empty frame)."""
        schema = {c: pl.String for c in self.columns.columns}
        return Records(frame=pl.DataFrame(schema=schema), columns=self.columns.columns,
                       headers=self.columns.headers, sources=self.sources, fields=self.columns.fields,
                       more_columns=self.columns.more, opportunity_sources=self.opportunity_sources)

    def chunk_list(self) -> list[tuple[int, int]]:
        """(file, chunk) in input order."""
        return [(f, k) for f, file in enumerate(self.files) for k in range(file.chunks)]


def open_inputs(paths: Sequence[str], chunk_size: int, *, encoding: str | None = None,
                delimiter: str | None = None, mapping: FieldMap | None = None,
                opportunities: Sequence[str] = (), preset: PresetChoice | None = None) -> Inputs:
    """The files mapped and described, in `load`'s order (files given only with `opportunities` last)."""
    if list(paths).count("-"):
        raise NotBounded("standard input")
    opp_files = {str(p) for p in opportunities}
    all_paths = list(paths) + [p for p in opportunities if p not in paths]
    columns = _Columns()
    files: list[CsvInput] = []
    renames = []
    for index, path in enumerate(all_paths):
        if not os.path.isfile(path):
            raise NotBounded("not a regular file")
        file = open_csv(path, index, chunk_size, encoding, delimiter, mapping, preset)
        if _preset_opportunities(file.source):
            opp_files.add(path)
        renames.append(columns.add(file.source, file.source.recognition.fields, pl.DataFrame()))
        files.append(file)
    return Inputs(files, columns, frozenset(k for k, p in enumerate(all_paths) if p in opp_files),
                  [f.source for f in files], renames)


@dataclass
class Chunk:
    """One chunk's records as `load` gives them (every column of every file, hidden columns
    with their global values), and where each lies in its file."""

    file: int
    index: int
    records: Records
    starts: pl.Series  # per record, in the file's bytes
    ends: pl.Series
    tail: int  # where the bytes after the chunk's last record's line ending start
    final_newline: bool


def read_chunk(inputs: Inputs, f: int, k: int, loaded: int, row: int, check: bool = False) -> Chunk:
    """Chunk k of file f; `loaded` is its first record's place among all records, `row` its
    first record's data row in its file (1-based). `check`: the first pass makes sure that the
    records are where the parity of quotes says (else `NotBounded`), and finds where they lie
    (later passes know it: their chunks' `starts` and `ends` are empty)."""
    file = inputs.files[f]
    fmt = replace(file.fmt)
    try:
        data = file.chunk_bytes(k)
        parsed = read_csv(data, 0, file.path, fmt, with_lines=check)
    except NotUTF8:
        raise InputError("not valid UTF-8 (the bounded path reads UTF-8 only: give --memory-limit "
                         "large enough to read it in memory)", file=file.path) from None
    frame = parsed.frame
    if check and parsed.footer:
        raise NotBounded("report footer lines after the data", layout=True)
    if check and k == file.chunks - 1 and ends_with_one_cell(frame):  # a footer the last chunk may have cut
        raise NotBounded("a last line of one cell, perhaps a report footer", layout=True)
    if not check:
        starts = ends = pl.Series([], dtype=pl.Int64)
        tail = len(data)
    elif parsed.records is not None:
        if parsed.lines is None and csv_lines_by_quotes(data, 0, len(data), fmt.delimiter) is None:
            raise NotBounded("records that only an exact reader finds")
        starts, ends, tail = parsed.records.starts, parsed.records.ends, parsed.tail_start
    else:
        lines = parsed.lines if parsed.lines is not None else csv_lines_by_quotes(data, 0, len(data), fmt.delimiter)
        if lines is None or len(lines) != frame.height + 1:
            raise NotBounded("records that only an exact reader finds")
        starts, ends, tail = lines.starts.slice(1), lines.ends.slice(1), int(lines.stops[-1])
    shift = file.offset(k)
    n = frame.height
    records = _as_loaded(inputs, f, frame, pl.int_range(row, row + n, dtype=pl.UInt32, eager=True),
                         pl.int_range(loaded, loaded + n, dtype=pl.UInt32, eager=True))
    return Chunk(f, k, records, starts + shift, ends + shift, tail + shift, fmt.final_newline)


def _as_loaded(inputs: Inputs, f: int, frame: pl.DataFrame, rows: pl.Series, places: pl.Series) -> Records:
    """A parsed frame of file f's records as `load` gives them: the run's columns, the file,
    each record's data row and its place among all records, its id."""
    frame = frame.rename(inputs.renames[f])
    frame = frame.drop(PLACEHOLDER) if PLACEHOLDER in frame.columns else frame
    frame = frame.with_columns(pl.lit(f, dtype=pl.UInt32).alias(SRC), rows.alias(ROW), places.alias(LOADED))
    missing = [c for c in inputs.columns.columns if c not in frame.columns]
    if missing:  # a column missing from a file is empty for its records
        frame = frame.with_columns(pl.lit("", dtype=pl.String).alias(c) for c in missing)
    order = [*dict.fromkeys([*inputs.columns.columns, *frame.columns])]
    return with_ids(replace(inputs.meta(), frame=frame.select(order)))


def read_records(inputs: Inputs, f: int, places: pl.Series) -> Records | None:
    """Only the records of file f at `places` (ascending, among all records), once the first
    pass has found where each lies: their bytes, behind the header line, parsed as a file of
    their own. A CSV record's values come from its own bytes alone, so they are those the
    whole chunk's parse gives, at a fraction of the parsing (the grouped records are a
    minority). None, for the caller to parse the whole chunk, if the parse does not give one
    record per place (a last record that looks like a report footer)."""
    file = inputs.files[f]
    spans = file.source.spans
    assert spans is not None and spans.starts is not None
    local = places.cast(pl.Int64) - spans.first
    header = file.raw[file.begin:file.header_stop]
    data = gather(file.raw, spans.starts.gather(local).to_numpy(), spans.starts.gather(local + 1).to_numpy(), header)
    parsed = read_csv(data, 0, file.path, replace(file.fmt))
    if parsed.footer or parsed.frame.height != len(places):
        return None
    return _as_loaded(inputs, f, parsed.frame, (local + 1).cast(pl.UInt32), places.cast(pl.UInt32))


def file_spans(file: CsvInput, first: int, starts: list[pl.Series], ends: list[pl.Series], tail: int,
               hashes: list[pl.Series]) -> Spans:
    """A file's record places and value hashes, gathered chunk by chunk, as `io.writing` reads them."""
    done: Future[pl.Series] = Future()
    done.set_result(pl.concat(hashes) if hashes else pl.Series([], dtype=pl.UInt64))
    head_end = int(starts[0][0]) if starts and len(starts[0]) else file.header_stop
    all_starts = pl.concat([*starts, pl.Series([tail], dtype=pl.Int64)])
    return Spans(raw=file.raw, text_start=file.begin, head_end=head_end, starts=all_starts,
                 ends=pl.concat(ends) if ends else pl.Series([], dtype=pl.Int64), first=first,
                 hashed=[*dict.fromkeys(file.source.columns)], pending=done)


def read_ahead(chunks: Iterator[T]) -> Iterator[T]:
    """The chunks, each read in a second thread while the caller works on the one before:
    parsing (polars) overlaps the caller's work (polars, numpy, file writes), which all leave
    Python's lock. One chunk more is in memory."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadtool-read")
    try:
        future = pool.submit(next, chunks, None)
        while (chunk := result(future)) is not None:
            future = pool.submit(next, chunks, None)
            yield chunk
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def iter_chunks(inputs: Inputs) -> Iterator[Chunk]:
    """Every chunk in input order (the first pass: records per chunk are learnt here)."""
    loaded = 0
    for f, file in enumerate(inputs.files):
        row = 1
        file.rows = []
        for k in range(file.chunks):
            chunk = read_chunk(inputs, f, k, loaded, row, check=True)
            n = len(chunk.records)
            file.rows.append(n)
            loaded += n
            row += n
            yield chunk


def iter_known_chunks(inputs: Inputs) -> Iterator[Chunk]:
    """Every chunk again, once the records per chunk are known."""
    loaded = 0
    for f, file in enumerate(inputs.files):
        row = 1
        for k in range(file.chunks):
            yield read_chunk(inputs, f, k, loaded, row)
            loaded += file.rows[k]
            row += file.rows[k]
