"""CSV parsing: the delimiter sniffed, the header and quoting style seen, the records found in the
bytes (io.spans), polars for the body of a large file and Python's csv module for a small one
and as the exact fallback that also locates errors."""

from __future__ import annotations

import functools
import mmap
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl

from ..errors import InputError
from ..records import FileFormat, value_hash
from . import spans
from .decode import SNIFF_BYTES, NotUTF8, utf8_text
from .footers import footer_cells, footer_rows, one_cell_line
from .spans import (
    Lines,
    ReaderError,
    csv_lines_by_quotes,
    csv_rows_by_reader,
    line_of,
    line_table,
    text_stop,
)

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
        elif ch == "\r" and not records:
            newline = "\r"
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


@dataclass
class CsvFile:
    """A parsed CSV file: its header cells, one frame row per record (c0..cN-1) and where each
    record lies in the bytes."""

    headers: list[str]
    frame: pl.DataFrame
    header_newlines: int
    records: Lines | None  # the records' lines (blank lines and the header left out)
    head_end: int  # where the first record starts (or, without records, where the header line ends)
    tail_start: int  # where the bytes after the last record's line ending begin
    skipped_lines: list[tuple[int, int]] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)  # the report footer lines' cells (io.footers)
    footer_line: int = 0  # the line where the footer starts
    # without `records`: finds them when a writer first needs them (None: they cannot be told)
    locate: Callable[[pl.Series], tuple[int, pl.Series, pl.Series] | None] | None = None
    # every line-record (header and blank lines included), when the caller asked for them
    # (`read_csv(..., with_lines=True)`) and the quoting is plain RFC 4180
    lines: Lines | None = None


_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
# empty lines before the header (a line of spaces would be a header of one blank cell)
_LEADING_BLANK_LINES = re.compile(r"(?:\r\n|\r|\n)*")


def _quoting(first: list[list[tuple[str, bool]]]) -> str:
    """`all` when every cell of the first records is quoted; `nonnumeric` when every cell but
    numbers is (a header quoted whole, some numbers bare: Python's QUOTE_NONNUMERIC). Blank
    lines are not records: they say nothing of the style."""
    first = [rec for rec in first if rec != [("", False)]]
    quoted = [q for rec in first for _, q in rec]
    if quoted and all(quoted):
        return "all"
    bare = [c for rec in first[1:] for c, q in rec if not q]
    if first and all(q for _, q in first[0]) and bare and all(_NUMBER.match(c) for c in bare):
        return "nonnumeric"
    return "minimal"


def _polars_rows(raw: bytes | mmap.mmap, path: str, stop: int, delimiter: str, ncols: int) -> pl.DataFrame | None:
    """polars' parse of every line-record (None when it refuses the file)."""
    whole_file = stop == len(raw)
    try:
        frame = pl.read_csv(
            # a mapped file: polars maps it itself; a trailing ^Z is left out
            path if isinstance(raw, mmap.mmap) and whole_file else raw if whole_file else raw[:stop],
            has_header=False, infer_schema=False, separator=delimiter,
            empty_string_is_null=False, truncate_ragged_lines=False, raise_if_empty=False,
            new_columns=[f"c{i}" for i in range(ncols)],
        )
    except (Exception, pl.exceptions.PanicException):  # polars refused: the exact reader says why
        return None
    return frame if frame.width == ncols else None


def _reader_rows(raw: bytes | mmap.mmap, begin: int, stop: int, delimiter: str,
                 path: str) -> tuple[list[list[str]], Lines]:
    """Python's csv module, strict RFC 4180 first, else as leniently as Excel reads (a stray
    quote kept, text after a closing quote joined to the value)."""
    text = utf8_text(raw[begin:stop])
    table = line_table(raw, begin, stop)
    try:
        return csv_rows_by_reader(text, table, delimiter, strict=True)
    except ReaderError as exc:
        if "unexpected end of data" in str(exc):
            raise InputError("unterminated quoted value (a \" is never closed)", file=path,
                             line=exc.line) from None
    return csv_rows_by_reader(text, table, delimiter, strict=False)


def read_csv(raw: bytes | mmap.mmap, begin: int, path: str, fmt: FileFormat, *, with_lines: bool = False) -> CsvFile:
    """Parse the UTF-8 bytes `raw` (the text starts at `begin`, after a byte order mark):
    records end at line breaks outside quotes; blank lines and a trailing ^Z are not records.
    `with_lines`: the caller wants every record's place now (`CsvFile.lines`), not when a writer asks."""
    stop = text_stop(raw, begin)
    head_text = raw[begin:begin + SNIFF_BYTES].decode("utf-8", errors="ignore")
    head_text = head_text[_LEADING_BLANK_LINES.match(head_text).end():]
    complete = stop - begin <= SNIFF_BYTES
    if not fmt.delimiter:
        fmt.delimiter = sniff_delimiter(head_text, complete)
    first, fmt.newline, header_newlines = _first_records(
        head_text, fmt.delimiter, limit=1 << 30, complete=complete)
    if not first:
        raise InputError("no header line", file=path)
    headers = [c for c, _ in first[0]]
    fmt.quoting = _quoting(first)  # type: ignore[assignment]
    ncols = len(headers)
    frame: pl.DataFrame | None = None
    rows: list[list[str]] | None = None
    lines: Lines | None = None
    known: Lines | None = None  # csv_lines_by_quotes' answer, when found beside polars
    if stop - begin >= spans.NUMPY_FROM:
        # an odd number of quotes leaves a value open and a bare CR ends a line, neither of
        # which polars would see: they are looked for on one core while polars parses on the others
        # (when the caller wants the records' places now, they are found there instead: found,
        # they say that the quotes pair up and that no bare CR ends a line)
        with ThreadPoolExecutor(max_workers=1) as pool:
            found = pool.submit(csv_lines_by_quotes, raw, begin, stop, fmt.delimiter) if with_lines else None
            odd = None if with_lines else pool.submit(spans.quotes_and_bare_returns, raw, begin, stop)
            frame = _polars_rows(raw, path, stop, fmt.delimiter, ncols)
            if found is not None:
                known = found.result()
                quotes, bare = (0, False) if known is not None else spans.quotes_and_bare_returns(raw, begin, stop)
            else:
                assert odd is not None
                quotes, bare = odd.result()
            if quotes % 2 or bare:
                frame = None
        if frame is not None and not _may_be_blank(frame, ncols).any():
            # no line can be blank: polars' rows are the records, and where each lies in the
            # bytes is found only if a writer asks (commands that write nothing never do)
            later = _later(raw, begin, stop, fmt, headers, frame, header_newlines)
            later.lines = known
            return later
        if frame is not None:  # the records' places, which must agree with polars' rows
            lines = known if known is not None else csv_lines_by_quotes(raw, begin, stop, fmt.delimiter)
            if lines is None or frame.height != len(lines):
                frame = None
    if frame is None:
        rows, lines = _reader_rows(raw, begin, stop, fmt.delimiter, path)
    assert lines is not None
    # blank: an empty line, or in a file of several columns a line of spaces and tabs (in a
    # file of one column that is a value)
    sizes = lines.ends - lines.starts
    spaces = r"^[ \t]*$" if ncols > 1 else r"^$"
    if frame is not None:
        # a first cell that is the whole line (no delimiter, no quotes) of white space only
        first_cell = frame.get_column("c0").fill_null("")
        alone = (first_cell.str.len_bytes().cast(pl.Int64) == sizes).arg_true()
        blank = pl.repeat(False, len(lines), dtype=pl.Boolean, eager=True)
        if len(alone):
            blank = blank.scatter(alone, first_cell.gather(alone).str.contains(spaces))
    else:
        assert rows is not None
        blank = pl.Series([not r or (len(r) == 1 and re.match(spaces, r[0]) is not None
                                     and len(r[0].encode()) == n)
                           for r, n in zip(rows, sizes.to_list(), strict=True)], dtype=pl.Boolean)
    kept = (~blank).arg_true()
    if not len(kept):
        raise InputError("no header line", file=path)
    header_at = int(kept[0])
    at = kept.slice(1)
    if rows is not None:
        for k in at.to_list():
            if len(rows[k]) > ncols:
                raise InputError(f"{len(rows[k])} cells but the header has {ncols}", file=path,
                                 line=_line_number(raw, int(lines.starts[k])))
        body = [rows[k] + [""] * (ncols - len(rows[k])) for k in at.to_list()]
        cols = {f"c{i}": [r[i] for r in body] for i in range(ncols)}
        frame = pl.DataFrame(cols, schema=dict.fromkeys(cols, pl.String))
    else:
        assert frame is not None
        frame = frame.slice(1) if header_at == 0 and len(at) == frame.height - 1 else frame[at]
        frame = frame.rechunk()  # parsed in pieces: gathers and writes want one chunk
        if any(frame.null_count().row(0)):  # rows with fewer cells than the header
            frame = frame.with_columns(pl.all().fill_null(""))
    footer: list[str] = []
    footer_line = 0
    cut = footer_rows(frame, at, lambda k: one_cell_line(
        utf8_text(raw[int(lines.starts[int(at[k])]):int(lines.ends[int(at[k])])]), fmt.delimiter))
    if cut < frame.height:  # report footer lines: not records, left in the bytes after the last one
        footer = footer_cells(frame.slice(cut))
        footer_line = _line_number(raw, int(lines.starts[int(at[cut])]))
        frame, at = frame.slice(0, cut), at.slice(0, cut)
    records = lines.take(at)
    header_stop = int(lines.stops[header_at])
    tail = int(records.stops[-1]) if len(at) else header_stop
    # a footer is copied as it was: the records before it end with their line ending
    fmt.final_newline = bool(footer) or bool(lines.stops[-1] > lines.ends[-1])
    return CsvFile(headers=headers, frame=frame, header_newlines=header_newlines, records=records,
                   head_end=int(records.starts[0]) if len(at) else header_stop, tail_start=tail,
                   skipped_lines=_skipped(blank, at), footer=footer, footer_line=footer_line, lines=known)


def _may_be_blank(frame: pl.DataFrame, ncols: int) -> pl.Series:
    """Rows that could be blank lines: every cell empty but a first one of white space."""
    spaces = r"^[ \t]*$" if ncols > 1 else r"^$"
    rest = [pl.col(c).fill_null("") == "" for c in frame.columns[1:]]
    return frame.select(pl.all_horizontal(pl.col("c0").fill_null("").str.contains(spaces), *rest)).to_series()


def _later(raw: bytes | mmap.mmap, begin: int, stop: int, fmt: FileFormat, headers: list[str],
           frame: pl.DataFrame, header_newlines: int) -> CsvFile:
    """A file without blank lines: the header is polars' first row, the records the others."""
    lines_seen = frame.height
    body = frame.slice(1).rechunk()  # parsed in pieces: gathers and writes want one chunk
    if any(body.null_count().row(0)):  # rows with fewer cells than the header
        body = body.with_columns(pl.all().fill_null(""))
    fmt.final_newline = raw[stop - 1:stop] in (b"\n", b"\r")

    def locate(read: pl.Series) -> tuple[int, pl.Series, pl.Series] | None:
        lines = csv_lines_by_quotes(raw, begin, stop, fmt.delimiter)
        if lines is None:  # not plain RFC 4180 (polars read it leniently): Python's reader knows
            lines = _by_reader(raw, begin, stop, fmt.delimiter, read)
        if lines is None or len(lines) != lines_seen:
            return None  # the records are encoded, not copied
        head_end = int(lines.starts[1]) if len(lines) > 1 else int(lines.stops[0])
        tail = int(lines.stops[-1])
        return head_end, pl.concat([lines.starts.slice(1), pl.Series([tail], dtype=pl.Int64)]), lines.ends.slice(1)

    return CsvFile(headers=headers, frame=body, header_newlines=header_newlines, records=None, head_end=0,
                   tail_start=0, locate=locate)


def _by_reader(raw: bytes | mmap.mmap, begin: int, stop: int, delimiter: str, read: pl.Series) -> Lines | None:
    """The line-records as Python's csv module finds them, when its records hold the values
    that were read (`read`: their hashes), else None."""
    try:
        rows, lines = _reader_rows(raw, begin, stop, delimiter, "")
    except (InputError, NotUTF8):
        return None
    body = rows[1:]
    width = max((len(r) for r in rows), default=0)
    if len(body) != len(read) or not rows or width > len(rows[0]):
        return None
    ncols = len(rows[0])
    padded = [r + [""] * (ncols - len(r)) for r in body]
    frame = pl.DataFrame({f"c{i}": [r[i] for r in padded] for i in range(ncols)},
                         schema={f"c{i}": pl.String for i in range(ncols)})
    return lines if (value_hash(frame, frame.columns) == read).all() else None


def _line_number(raw: bytes | mmap.mmap, offset: int) -> int:
    return raw[:offset].count(b"\n") + 1 if isinstance(raw, bytes) else line_of(raw, offset)


def _skipped(blank: pl.Series, records: pl.Series) -> list[tuple[int, int]]:
    """(data row, blank lines before it) where the count grows: line numbers count blank lines."""
    if not blank.any():
        return []
    before = blank.cast(pl.Int64).cum_sum().gather(records)
    grows = before != before.shift(1, fill_value=0)
    rows = pl.int_range(1, len(records) + 1, eager=True)
    return list(zip(rows.filter(grows).to_list(), before.filter(grows).to_list(), strict=True))
