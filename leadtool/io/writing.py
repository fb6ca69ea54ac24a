"""Records to bytes in the format of the first input (or a given one), written atomically.

A record whose values are those it was read with (they hash as they did) is written as the bytes
it was read from, line ending and the blank lines after it included; consecutive ones are one
slice of the file. Only the others (a merged head, a converted lead, a record restored from an
audit log, a record of a file in another style) are encoded, in the file's style, and keep their
own line ending. The header line, an array's brackets, a trailing end-of-file mark come from the
first file as they were. A file read without spans (a pandas DataFrame, an Excel sheet) is
encoded whole.
"""

from __future__ import annotations

import codecs
import itertools
import mmap
import operator
from collections.abc import Iterable, Iterator
from typing import Any

import polars as pl

from ..errors import UsageError
from ..records import HASH, KEPT_ROWS, KIND_PREFIX, LOADED, RAW, RAW_END, FileFormat, Records, Source, value_hash
from .csv_write import csv_body, csv_bytes, csv_header_line, csv_row_texts
from .decode import BOM, UTF8_NAMES
from .files import atomic_output, staged, unencodable
from .json_write import array_sep, json_bytes, object_texts
from .multiline import SPREAD_RECORD, output_multi, spread, spread_texts
from .spans import bytes_at, release, text_stop
from .xlsx import xlsx_bytes

_CHUNK = 1 << 22  # small pieces are gathered into chunks of about this many bytes
_STYLE = ("kind", "delimiter", "quoting", "newline", "json_indent", "json_item_sep", "json_key_sep",
          "json_ascii", "json_pad", "json_array_sep")


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in UTF8_NAMES


def _copyable(source: Source, fmt: FileFormat, columns: list[str], headers: list[str]) -> bool:
    """Whether the source's records can be copied into this output: it has its bytes, the
    output has its columns and headers, and is written in its style (its own, or one equal
    to it: a file in another style is encoded in the output's)."""
    if source.columns != columns or source.headers != headers or source.spans is None or not source.spans.ready():
        return False
    return source.fmt is fmt or all(getattr(source.fmt, a) == getattr(fmt, a) for a in _STYLE)


def copies_every_record(records: Records, fmt: FileFormat) -> bool:
    """Whether every file's records can be copied into this output (none is encoded for its
    file's columns or style: only those whose values changed are)."""
    headers = [records.headers[c] for c in records.columns]
    return all(_copyable(s, fmt, records.columns, headers) for s in records.sources)


def copies_records(records: Records, fmt: FileFormat | None = None) -> bool:
    """Whether writing copies any record's bytes (else the records are encoded whole)."""
    fmt = fmt or records.sources[0].fmt
    names = (records.frame.collect_schema().names() if isinstance(records.frame, pl.LazyFrame)
             else records.frame.columns)
    headers = [records.headers[c] for c in records.columns]
    return LOADED in names and _copyable(records.sources[0], fmt, records.columns, headers)


def encode_chunks(records: Records, fmt: FileFormat | None = None) -> Iterator[bytes | memoryview]:
    """The output bytes as UTF-8 (io.write re-encodes them for another encoding), in the format
    of the first input unless `fmt` is given (a workbook's records as CSV text: io.write makes
    workbooks)."""
    fmt = fmt or records.sources[0].fmt
    if fmt.kind == "xlsx":
        fmt = FileFormat()
    if copies_records(records, fmt):
        copied = _copied_chunks(records, fmt)
        if copied is not None:
            yield from copied
            return
    if isinstance(records.frame, pl.LazyFrame):
        records = records.with_frame(records.frame.collect())
    yield from _encoded_chunks(records, fmt)


def _encoded_chunks(records: Records, fmt: FileFormat) -> Iterator[bytes]:
    """Every record encoded (nothing to copy)."""
    headers = [records.headers[c] for c in records.columns]
    if fmt.kind == "csv":
        chunks = csv_bytes(_lines(records, fmt), headers, fmt)
    else:
        chunks = json_bytes(records.frame, records.columns, headers, fmt)
    first = True
    pending = b""
    for chunk in chunks:
        if first and fmt.bom:
            chunk = BOM + chunk
        first = False
        if pending:
            yield pending
        pending = chunk
    footer = footer_bytes(records, fmt)
    if fmt.kind == "csv" and not fmt.final_newline and not footer and pending.endswith(fmt.newline.encode()):
        pending = pending[: -len(fmt.newline)]
    yield pending
    if footer:
        yield footer


def _multi(records: Records, fmt: FileFormat) -> list[str]:
    """The columns a CSV or workbook output spreads over lines (Odoo's x2many sub-fields, io.multiline)."""
    return output_multi(records.sources, records.columns) if fmt.kind in ("csv", "xlsx") else []


def _lines(records: Records, fmt: FileFormat) -> pl.DataFrame | pl.LazyFrame:
    """The data columns, one row per line of the output (a record may be several)."""
    multi = _multi(records, fmt)
    frame = records.frame.select(records.columns)
    return spread(frame, records.columns, multi).drop(SPREAD_RECORD) if multi else frame


def footer_bytes(records: Records, fmt: FileFormat) -> bytes:
    """The first input's report footer (io.footers) as it was, blank lines before it included:
    what an encoded CSV output ends with (a copying writer copies it with the file's tail)."""
    source = records.sources[0] if records.sources else None
    if fmt.kind != "csv" or source is None or not source.footer or source.spans is None:
        return b""
    spans = source.spans
    if not spans.ready():
        return b""
    return bytes(spans.raw[int(spans.starts[-1]):text_stop(spans.raw, spans.text_start)])


# ----------------------------------------------------------------------------- copying
def _row_places(records: Records, frame: pl.DataFrame, fmt: FileFormat, columns: list[str],
                headers: list[str]) -> pl.DataFrame:
    """Per output row: the copyable source it comes from (null: none), where it lies there
    (start, end of its text, next: where the next record of its file starts) and whether it is
    clean (its values are those it was read with)."""
    n = frame.height
    loaded = frame.get_column(LOADED)
    parts: list[pl.DataFrame] = []
    hashes: dict[tuple[str, ...], pl.Series | None] = {}
    kinds = [c for c in frame.columns if c.startswith(KIND_PREFIX)]
    for k, source in enumerate(records.sources):
        spans = source.spans
        if spans is None or not _copyable(source, fmt, columns, headers) or not len(spans):
            continue  # (_copyable finds a file's records when that was left for later)
        key = tuple(spans.hashed)
        if key not in hashes:
            hashes[key] = (value_hash(frame, spans.hashed) if all(c in frame.columns for c in key) else None)
        now = hashes[key]
        if now is None:
            continue
        mine = ((loaded >= spans.first) & (loaded < spans.first + len(spans))).fill_null(False)
        every = bool(mine.all())
        rows = pl.int_range(n, eager=True, dtype=pl.UInt32) if every else mine.arg_true()
        if not len(rows):
            continue
        local = (loaded if every else loaded.gather(rows)).cast(pl.Int64) - spans.first
        same = (spans.hashes().gather(local) == (now if every else now.gather(rows))).fill_null(False)
        extra = [c for c in kinds if c not in key] if fmt.kind != "csv" else []
        if extra:  # a JSON kind the file did not have is a change too
            unchanged = frame.select(pl.all_horizontal(pl.col(extra).is_null())).to_series()
            same = same & (unchanged if every else unchanged.gather(rows))
        parts.append(pl.DataFrame({
            "row": rows, "src": pl.repeat(k, len(rows), dtype=pl.Int32, eager=True),
            "start": spans.starts.gather(local), "end": spans.ends.gather(local),
            "next": spans.starts.gather(local + 1), "clean": same}))
        if every:
            return parts[0].drop("row")
    schema = {"src": pl.Int32, "start": pl.Int64, "end": pl.Int64, "next": pl.Int64, "clean": pl.Boolean}
    every_row = pl.DataFrame({"row": pl.int_range(n, eager=True, dtype=pl.UInt32)})
    if not parts:
        return every_row.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in schema.items()).with_columns(
            pl.col("clean").fill_null(False)).drop("row")
    found = pl.concat(parts)
    return (every_row.join(found, on="row", how="left", maintain_order="left")
            .with_columns(pl.col("clean").fill_null(False)).drop("row"))


_ROWS = 1 << 16  # output rows handled at a time: the writer's memory does not grow with the file


def _batches(frame: pl.DataFrame | pl.LazyFrame) -> Iterator[tuple[pl.DataFrame, bool]]:
    """The frame in slices of rows, each with whether it is the last. A lazy query is streamed:
    no merged copy of the records is ever held whole (merge's says which rows of which frame it
    keeps: they are gathered a slice at a time, which costs less memory than polars' batches)."""
    kept = getattr(frame, KEPT_ROWS, None)
    parts: Iterable[pl.DataFrame]
    if kept is not None:
        whole, rows = kept
        parts = (whole[rows.slice(at, _ROWS)] for at in range(0, len(rows), _ROWS))
    elif isinstance(frame, pl.DataFrame):
        parts = frame.iter_slices(_ROWS)
    else:
        parts = frame.collect_batches(chunk_size=_ROWS, engine="streaming")
    held: pl.DataFrame | None = None
    for part in parts:
        if not part.height:
            continue
        if held is not None:
            yield held, False
        held = part
    if held is not None:
        yield held, True


def _copied_chunks(records: Records, fmt: FileFormat) -> Iterator[bytes | memoryview] | None:
    """The output with clean records copied; None when the first file cannot lend its header
    (an output of no records from a file that had some: encoded whole)."""
    spans = records.sources[0].spans
    assert spans is not None
    batches = _batches(records.frame)
    first = next(batches, None)
    if first is None and len(spans):
        return None
    return _copied(records, fmt, first, batches)


def _copied(records: Records, fmt: FileFormat, first: tuple[Any, ...] | None,
            rest: Iterator[tuple[Any, ...]]) -> Iterator[bytes | memoryview]:
    """The header, the rows' chunks, the file's tail. A batch is (rows, whether it is the last)
    or, from a caller that knows the places (`_batch_chunks`), (changed rows, last, places)."""
    spans = records.sources[0].spans
    assert spans is not None
    raws = [s.spans.raw if s.spans is not None else b"" for s in records.sources]
    views = [memoryview(raw) for raw in raws]
    if fmt.bom:
        yield BOM
    yield views[0][spans.text_start:spans.head_end]
    if first is not None:
        for batch, last, *known in itertools.chain([first], rest):  # one slice of rows in memory at a time
            yield from _batch_chunks(records, fmt, batch, last, raws, views, places=known[0] if known else None)
    yield views[0][int(spans.starts[-1]):]


def _batch_chunks(records: Records, fmt: FileFormat, frame: pl.DataFrame, is_last: bool,
                  raws: list[bytes | mmap.mmap], views: list[memoryview], places: pl.DataFrame | None = None
                  ) -> Iterator[bytes | memoryview]:
    """The chunks of one slice of output rows. A caller that knows the rows' `places` (as
    `_row_places` gives them) gives them, and `frame` holds then only the values of the rows that
    are not clean, in order (a bounded merge's last pass: no need to parse untouched records)."""
    columns = records.columns
    headers = [records.headers[c] for c in columns]
    changed = places is not None
    if places is None:
        places = _row_places(records, frame, fmt, columns, headers)
    n = places.height
    lines = fmt.kind != "json"
    default_sep = fmt.newline if lines else array_sep(fmt)
    clean = places.get_column("clean")
    own = (places.get_column("src").is_not_null() & (places.get_column("next") > places.get_column("end"))
           ).fill_null(False)
    last = (pl.int_range(n, eager=True, dtype=pl.Int64) == n - 1) & is_last
    if lines and fmt.final_newline:
        # a row's own line ending (and the blank lines after it); a record without one gets
        # the file's; the last row ends as the file did
        use_own, use_text = own, ~own
    else:  # the file's last line has no ending; an array's last object no separator
        use_own, use_text = own & ~last, ~own & ~last
    if lines:
        # an encoded record's ending that is the file's own is part of its text, so that
        # encoded records that follow each other are one piece
        standard = use_own & ~clean & _is_sep(raws, places, default_sep)
        use_own, use_text = use_own & ~standard, use_text | standard
    dirty = (~clean).arg_true()
    texts = pl.Series([], dtype=pl.String)
    if len(dirty):
        if changed:
            verbatim, raw_end = (pl.repeat(False, n, dtype=pl.Boolean, eager=True),
                                 pl.repeat(None, n, dtype=pl.String, eager=True))
        else:
            verbatim, raw_end = _verbatim(records, frame, clean, last, lines and fmt.final_newline)
        use_own, use_text = use_own & ~verbatim, use_text & ~raw_end.is_not_null()
        ending = (pl.when(pl.lit(raw_end.gather(dirty)).is_not_null()).then(pl.lit(raw_end.gather(dirty)))
                  .when(pl.lit(use_text.gather(dirty))).then(pl.lit(default_sep)).otherwise(pl.lit("")))
        encoded = _texts(frame if changed else frame[dirty], columns, headers, fmt, _multi(records, fmt))
        if verbatim.any():
            encoded = encoded.zip_with(~verbatim.gather(dirty), frame.get_column(RAW).gather(dirty))
        texts = pl.DataFrame({"t": encoded}).select(pl.concat_str(pl.col("t"), ending)).to_series()
    sep_text = len(texts)
    texts = pl.concat([texts, pl.Series([default_sep], dtype=pl.String)])
    text_at = pl.repeat(None, n, dtype=pl.Int64, eager=True).scatter(dirty, pl.int_range(len(dirty), eager=True))
    flags = pl.DataFrame({"own": use_own, "text": use_text, "at": text_at})
    both = pl.concat([places, flags], how="horizontal")
    # first piece: a clean row's bytes (with its own ending when it keeps it), or a changed
    # row's text (with its ending when it is the file's or its own text's)
    first = both.select(
        pl.when("clean").then(pl.col("src")).otherwise(-1).cast(pl.Int32).alias("src"),
        pl.when("clean").then(pl.col("start")).otherwise(pl.col("at")).cast(pl.Int64).alias("a"),
        pl.when(pl.col("clean") & pl.col("own")).then(pl.col("next"))
        .when("clean").then(pl.col("end")).otherwise(0).cast(pl.Int64).alias("b"))
    # second piece: a clean row's ending when it does not keep its own, a changed row's own
    # ending when it is not the file's (none: -2)
    second = both.select(
        pl.when(pl.col("clean") & pl.col("text")).then(-1)
        .when(~pl.col("clean") & pl.col("own")).then(pl.col("src")).otherwise(-2).cast(pl.Int32).alias("src"),
        pl.when(pl.col("clean")).then(sep_text).otherwise(pl.col("end")).cast(pl.Int64).alias("a"),
        pl.when(pl.col("clean")).then(0).otherwise(pl.col("next")).cast(pl.Int64).alias("b"))
    if (second.get_column("src") == -2).all():
        pieces = first
    else:
        slot = pl.int_range(2 * n, eager=True, dtype=pl.Int64)
        pieces = pl.concat([first, second])[slot // 2 + (slot % 2) * n]  # first, second, first, ...
    pieces = pieces.filter((pl.col("src") == -1) | ((pl.col("src") >= 0) & (pl.col("b") > pl.col("a"))))
    yield from _runs(pieces, raws, views, texts)


def _verbatim(records: Records, frame: pl.DataFrame, clean: pl.Series, last: pl.Series,
              keep_last_end: bool) -> tuple[pl.Series, pl.Series]:
    """Rows written as the text they carry (RAW, set by undo for a restored record) because their
    values still hash as HASH says; and, per row, that text's own ending where it is written
    (null: none of its own)."""
    n = frame.height
    none = pl.repeat(None, n, dtype=pl.String, eager=True)
    spans = records.sources[0].spans
    if RAW not in frame.columns or HASH not in frame.columns or spans is None or not all(
            c in frame.columns for c in spans.hashed):
        return pl.repeat(False, n, dtype=pl.Boolean, eager=True), none
    verbatim = (~clean & frame.get_column(RAW).is_not_null()
                & (frame.get_column(HASH) == value_hash(frame, spans.hashed))).fill_null(False)
    end = frame.get_column(RAW_END) if RAW_END in frame.columns else none
    has_end = verbatim & end.is_not_null() & (end.str.len_bytes() > 0)
    if not keep_last_end:  # the last row ends as the file did
        has_end = has_end & ~last
    return verbatim, end.zip_with(has_end.fill_null(False), none)


def original_texts(records: Records, frame: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each row's text as it was in its file and what followed it there (RAW, RAW_END; null for a
    row without bytes): what an audit log keeps so that undo can put a restored record back
    byte for byte (set both on the restored row and HASH to `content_hash`)."""
    frame = records.frame if frame is None else frame
    assert isinstance(frame, pl.DataFrame)
    raw = pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias(RAW)
    end = raw.alias(RAW_END)
    if LOADED not in frame.columns:
        return pl.DataFrame([raw, end])
    loaded = frame.get_column(LOADED)
    for source in records.sources:
        spans = source.spans
        if spans is None or not spans.ready() or not len(spans):
            continue
        rows = ((loaded >= spans.first) & (loaded < spans.first + len(spans))).fill_null(False).arg_true()
        if not len(rows):
            continue
        local = (loaded.gather(rows).cast(pl.Int64) - spans.first).to_list()
        starts, ends = spans.starts.to_list(), spans.ends.to_list()
        text = [bytes(spans.raw[starts[i]:ends[i]]).decode("utf-8") for i in local]
        after = [bytes(spans.raw[ends[i]:starts[i + 1]]).decode("utf-8") for i in local]
        raw = raw.scatter(rows, pl.Series(text, dtype=pl.String))
        end = end.scatter(rows, pl.Series(after, dtype=pl.String))
    return pl.DataFrame([raw, end])


def content_hash(records: Records, frame: pl.DataFrame) -> pl.Series:
    """The hash the writer compares a RAW row's HASH with: its values now."""
    spans = records.sources[0].spans
    return value_hash(frame, spans.hashed if spans is not None else list(records.columns))


def _texts(frame: pl.DataFrame, columns: list[str], headers: list[str], fmt: FileFormat,
           multi: list[str] | None = None) -> pl.Series:
    if fmt.kind == "csv" and multi:  # a record over several lines, as Odoo wrote it (io.multiline)
        lines = spread(frame, columns, multi)
        assert isinstance(lines, pl.DataFrame)
        return spread_texts(csv_row_texts(lines, columns, fmt), lines.get_column(SPREAD_RECORD), fmt.newline)
    if fmt.kind == "csv":
        return csv_row_texts(frame, columns, fmt)
    return object_texts(frame, columns, headers, fmt)


def _is_sep(raws: list[bytes | mmap.mmap], places: pl.DataFrame, sep: str) -> pl.Series:
    """Whether each row's own ending (end..next) is exactly `sep` (a line ending: one or two bytes)."""
    want = sep.encode("utf-8")
    out = pl.repeat(False, places.height, dtype=pl.Boolean, eager=True)
    if len(want) not in (1, 2):
        return out
    size = places.get_column("next") - places.get_column("end")
    for k, raw in enumerate(raws):
        rows = ((places.get_column("src") == k) & (size == len(want)) & ~places.get_column("clean")
                ).fill_null(False).arg_true()
        if not len(rows):
            continue
        at = places.get_column("end").gather(rows)
        same = bytes_at(raw, at) == want[0]
        if len(want) == 2:
            same = same & (bytes_at(raw, at + 1) == want[1])
        out = out.scatter(rows, same)
    return out


def _runs(pieces: pl.DataFrame, raws: list[bytes | mmap.mmap], views: list[memoryview],
          texts: pl.Series) -> Iterator[bytes | memoryview]:
    """The pieces as chunks. The encoded texts are one string, encoded once: every piece is then
    a slice, of a file or of that string; slices that follow each other are one; small ones are
    joined into chunks of about _CHUNK bytes. The slices are made by `map` over the offsets (no
    Python statement per piece); a file's pages are released once copied."""
    blob = texts.str.join("").item().encode("utf-8") if len(texts) else b""
    size = texts.str.len_bytes().cast(pl.Int64)
    text_end = size.cum_sum()
    text_start = text_end - size
    own = len(views)  # the source number of the encoded texts
    is_text = pl.col("src") == -1
    at = pl.when(is_text).then(pl.col("a")).otherwise(0)  # a text's number (other pieces: any)
    pieces = pieces.with_columns(
        pl.when(is_text).then(own).otherwise(pl.col("src")).cast(pl.Int32).alias("src"),
        pl.when(is_text).then(pl.lit(text_start).gather(at)).otherwise(pl.col("a")).alias("a"),
        pl.when(is_text).then(pl.lit(text_end).gather(at)).otherwise(pl.col("b")).alias("b"))
    src, a, b = pl.col("src"), pl.col("a"), pl.col("b")
    new = ((src != src.shift(1)) | (a != b.shift(1))).fill_null(True)
    firsts = pieces.select(new).to_series().arg_true()
    lasts = pl.concat([firsts.slice(1).cast(pl.Int64) - 1, pl.Series([pieces.height - 1], dtype=pl.Int64)])
    runs = pl.DataFrame({"src": pieces.get_column("src").gather(firsts), "start": pieces.get_column("a").gather(firsts),
                         "stop": pieces.get_column("b").gather(lasts)})
    every = [*views, memoryview(blob)]
    sources = map(every.__getitem__, runs.get_column("src").to_list())
    slices = map(slice, runs.get_column("start").to_list(), runs.get_column("stop").to_list())
    parts: list[memoryview] = list(map(operator.getitem, sources, slices))
    # chunks: a long stretch of unchanged records alone (written from the file itself), the
    # others joined until about _CHUNK bytes
    length = pl.col("stop") - pl.col("start")
    before = length.cum_sum() - length
    cut = runs.select((length >= _CHUNK) | (length >= _CHUNK).shift(1, fill_value=False)
                      | (before // _CHUNK != before.shift(1) // _CHUNK).fill_null(True)).to_series()
    bounds = [*cut.arg_true().to_list(), len(parts)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        yield parts[lo] if hi == lo + 1 else b"".join(parts[lo:hi])
    for k, raw in enumerate(raws):
        kept = runs.filter(pl.col("src") == k)
        if isinstance(raw, mmap.mmap) and kept.height:
            release(raw, int(kept.get_column("start").min()), int(kept.get_column("stop").max()))


# ----------------------------------------------------------------------------- files
def _in_encoding(chunks: Iterable[bytes | memoryview], encoding: str, path: str) -> Iterator[bytes | memoryview]:
    """UTF-8 chunks as bytes of the output's encoding (a chunk may end inside a character)."""
    if _is_utf8(encoding):
        yield from chunks
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0  # before the piece: an unwritable character is named with its line
    for chunk in chunks:
        for at in range(0, len(chunk), _CHUNK):
            text = decoder.decode(chunk[at:at + _CHUNK])
            try:
                yield text.encode(encoding)
            except UnicodeEncodeError as exc:
                raise unencodable(exc, encoding, path, lines) from None
            lines += text.count("\n")


_OTHER_BOOKS = (".xlsm", ".xlsb", ".xls", ".ods")


def output_format(records: Records, path: str, fmt: FileFormat | None = None) -> FileFormat:
    """The format an output is written in: a workbook when its name ends in `.xlsx` (keeping
    the sheet name of a workbook input), else `fmt` or the first input's; a workbook input
    written under another name is JSON or JSON Lines by the name's extension, else a CSV file
    (UTF-8, comma, quoted where needed, `\r\n`).
    `path` may be a staging file: the name the user gave decides."""
    entry = staged(path)
    name = (entry.target if entry is not None else path).lower()
    fmt = fmt or records.sources[0].fmt
    if name.endswith(".xlsx"):
        return FileFormat(kind="xlsx", workbook="xlsx", sheet=fmt.sheet if fmt.kind == "xlsx" else "Sheet1")
    if fmt.kind != "xlsx":
        return fmt
    if name.endswith(_OTHER_BOOKS):  # a workbook's records as CSV under such a name: a trap
        shown = entry.target if entry is not None else path
        raise UsageError(f"{shown}: leadtool writes workbooks as .xlsx only; name the output .xlsx or .csv")
    if name.endswith((".jsonl", ".ndjson")):
        return FileFormat(kind="jsonl", newline="\n")
    if name.endswith(".json"):
        return FileFormat(kind="json", newline="\n", json_indent=2, json_item_sep=",")
    return FileFormat()


def _write_xlsx(records: Records, path: str, fmt: FileFormat) -> None:
    """Every record as a row of text cells, in slices (`_batches`); the workbook is made in
    memory, then written as any output is (atomically, hashed when the run wants its digest)."""
    entry = staged(path)
    name = entry.target if entry is not None else path
    headers = [records.headers[c] for c in records.columns]
    multi = _multi(records, fmt)  # Odoo's layout: a record over several rows (io.multiline)
    frames = (spread(batch, records.columns, multi).drop(SPREAD_RECORD) if multi else batch.select(records.columns)
              for batch, _ in _batches(records.frame))
    data = xlsx_bytes(headers, frames, fmt.sheet or "Sheet1", name)
    with atomic_output(path) as handle:
        handle.write(data)


def write(records: Records, path: str, fmt: FileFormat | None = None) -> None:
    """Write records atomically (temp file in the same folder, then rename). `records.frame`
    may be a lazy query (`merge.merge_query`): a CSV file in UTF-8 with nothing to copy is
    streamed from it."""
    fmt = output_format(records, path, fmt)
    if fmt.kind == "xlsx":
        _write_xlsx(records, path, fmt)
        return
    streamed = fmt.kind == "csv" and _is_utf8(fmt.encoding) and path != "-" and not copies_records(records, fmt)
    if streamed:
        # polars writes straight into the file: no copy of the whole output in memory
        with atomic_output(path) as handle:
            head = csv_header_line([records.headers[c] for c in records.columns], fmt)
            handle.write((BOM if fmt.bom else b"") + head.encode("utf-8"))
            csv_body(_lines(records, fmt), fmt, handle)
            footer = footer_bytes(records, fmt)
            if footer:  # a report's footer lines come after the records, as they were
                handle.write(footer)
            elif not fmt.final_newline:  # the input's last line had no line ending
                handle.flush()
                end = handle.tell()
                if end >= len(fmt.newline):
                    handle.truncate(end - len(fmt.newline.encode()))
        return
    with atomic_output(path) as handle:
        for chunk in _in_encoding(encode_chunks(records, fmt), fmt.encoding, path):
            handle.write(chunk)
