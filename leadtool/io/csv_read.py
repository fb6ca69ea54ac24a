"""CSV parsing: the delimiter sniffed, the header and quoting style seen, polars for the body
and Python's csv module as the exact fallback that also locates errors."""

from __future__ import annotations

import csv
import functools
import io
import mmap
import re
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from ..errors import InputError
from ..records import FileFormat
from .decode import SNIFF_BYTES, count_byte, utf8_text

DELIMITERS = (",", ";", "\t", "|")


@functools.lru_cache(maxsize=8)
def _cell_regex(delimiter: str) -> re.Pattern[str]:
    d = re.escape(delimiter)
    # a quoted cell (and anything after its closing quote), or an unquoted one
    return re.compile(rf'"((?:[^"]|"")*)"([^{d}\r\n]*)|([^{d}\r\n]*)')


def _first_records(text: str, delimiter: str, limit: int = 2, complete: bool = False,
                   junk: list[bool] | None = None,
                   ) -> tuple[list[list[tuple[str, bool]]], str, int]:
    """Tokenize the first records: cells with whether each was quoted, the line ending and
    the number of newlines in the header. Only looks at the sniffing window; `complete`
    says the window is the whole file (its last record may lack a line ending)."""
    records: list[list[tuple[str, bool]]] = []
    cells: list[tuple[str, bool]] = []
    newline = "\n"
    header_newlines = 0
    match = _cell_regex(delimiter).match
    i, n = 0, len(text)
    while i < n and len(records) < limit:
        if text[i] == '"':
            m = match(text, i)
            if m.group(1) is None:  # a quote that is never closed (or closes past the window)
                cells.append((text[i + 1:].replace('""', '"'), True))
                break
            raw = m.group(1)
            if not records:
                header_newlines += raw.count("\n")
            cells.append((raw.replace('""', '"') + m.group(2), True))
            if junk is not None and m.group(2):  # text after a closing quote: not RFC 4180
                junk.append(True)
        else:
            m = match(text, i)
            cells.append((m.group(3), False))
            if junk is not None and '"' in m.group(3):  # a quote inside an unquoted cell
                junk.append(True)
        j = m.end()
        if j >= n:
            break
        ch = text[j]
        if ch == delimiter:
            i = j + 1
            if i >= n:
                cells.append(("", False))
            continue
        if ch == "\r" and j + 1 < n and text[j + 1] == "\n":
            if not records:
                newline = "\r\n"
            j += 1
        records.append(cells)
        cells = []
        i = j + 1
    if cells and len(records) < limit and (complete or not records):
        records.append(cells)
    return records, newline, header_newlines


def _header_counts(head: str) -> dict[str, int]:
    """How often each candidate splits the header line, outside quotes."""
    counts = dict.fromkeys(DELIMITERS, 0)
    in_quotes = False
    for ch in head:
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes:
            if ch in "\r\n":
                break
            if ch in counts:
                counts[ch] += 1
    return counts


def sniff_delimiter(head: str, complete: bool = False) -> str:
    """The candidate that gives every one of the first records the same number of cells
    (more than one preferred), then one that leaves no stray quote (text after a closing
    quote, a quote inside an unquoted cell), then the
    one that splits the header line most often."""
    counts = _header_counts(head)

    def score(d: str) -> tuple[bool, bool, bool, int, int]:
        junk: list[bool] = []
        records = _first_records(head, d, limit=20, complete=complete, junk=junk)[0]
        # blank lines (one empty unquoted cell) say nothing about the delimiter
        sizes = {len(r) for r in records if r != [("", False)]}
        consistent = len(sizes) == 1
        return (consistent and sizes != {1}, not junk, consistent, counts[d],
                -DELIMITERS.index(d))

    best = max(DELIMITERS, key=score)
    return best if counts[best] or score(best)[0] else ","


def _python_csv_rows(text: str, path: str, fmt: FileFormat, ncols: int) -> list[list[str]]:
    """The exact but slow reader: used when polars refuses a file, to either read it or say
    precisely which line is wrong."""
    class Dialect(csv.excel):
        delimiter = fmt.delimiter
        strict = True

    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), Dialect)
    start = 1
    try:
        for row in reader:
            if row:
                if len(row) > ncols:
                    raise InputError(f"{len(row)} cells but the header has {ncols}", file=path,
                                     line=start)
                rows.append(row + [""] * (ncols - len(row)))
            start = reader.line_num + 1
    except csv.Error as exc:
        msg = str(exc)
        if "unexpected end of data" in msg:
            raise InputError("unterminated quoted value (a \" is never closed)", file=path,
                             line=start) from None
        # not strictly RFC 4180 (a stray quote inside a value): read it the lenient way
        lenient = list(csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter))
        rows = []
        for k, row in enumerate(lenient):
            if row:
                if len(row) > ncols:
                    raise InputError(f"{len(row)} cells but the header has {ncols}", file=path,
                                     line=k + 1) from None
                rows.append(row + [""] * (ncols - len(row)))
    return rows[1:]


def read_csv(data: bytes | mmap.mmap, text: str | None, path: str,
              fmt: FileFormat) -> tuple[list[str], pl.DataFrame, int]:
    head_text = (text[:SNIFF_BYTES] if text is not None
                 else data[:SNIFF_BYTES].decode("utf-8", errors="ignore"))
    if head_text.startswith("\ufeff"):
        head_text = head_text[1:]
    complete = len(text if text is not None else data) <= SNIFF_BYTES
    if not fmt.delimiter:
        fmt.delimiter = sniff_delimiter(head_text, complete)
    first, fmt.newline, header_newlines = _first_records(
        head_text, fmt.delimiter, limit=1 << 30, complete=complete)
    if not first:
        raise InputError("no header line", file=path)
    headers = [c for c, _ in first[0]]
    quoted = [q for rec in first for _, q in rec]
    fmt.quoting = "all" if quoted and all(quoted) else "minimal"
    raw = data if text is None else text.encode("utf-8")
    fmt.final_newline = raw[-1:] == b"\n"
    ncols = len(headers)
    frame: pl.DataFrame | None = None
    # an odd number of quotes leaves a value open, which polars would not report: they are
    # counted on one core while polars parses on the others (its result is dropped if so)
    with ThreadPoolExecutor(max_workers=1) as pool:
        odd_quotes = pool.submit(lambda: count_byte(raw, ord('"')) % 2 == 1)
        try:
            frame = pl.read_csv(
                path if isinstance(raw, mmap.mmap) else raw,  # a mapped file: polars maps it itself
                has_header=False, infer_schema=False, separator=fmt.delimiter,
                empty_string_is_null=False, truncate_ragged_lines=False, raise_if_empty=False,
                new_columns=[f"c{i}" for i in range(ncols)] if ncols else None,
            )
        except (Exception, pl.exceptions.PanicException):  # polars refused: find out why, or read it the exact way
            frame = None
        if odd_quotes.result() or (frame is not None and frame.width != ncols):
            frame = None
    if frame is None:
        full = text if text is not None else utf8_text(data)
        rows = _python_csv_rows(full.lstrip("\ufeff"), path, fmt, ncols)
        cols = {f"c{i}": [r[i] for r in rows] for i in range(ncols)}
        frame = pl.DataFrame(cols, schema=dict.fromkeys(cols, pl.String))
    else:
        frame = frame.slice(1).rechunk()  # parsed in pieces: gathers and writes want one chunk
        if any(frame.null_count().row(0)):  # rows with fewer cells than the header
            frame = frame.with_columns(pl.all().fill_null(""))
    return headers, frame, header_newlines

