"""Files to Records: each file parsed, its headers mapped to fields, several files taken
together in the order given, and every record given its id."""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from ..errors import InputError, UsageError
from ..fields import FieldMap
from ..recognition import PresetChoice, recognise
from ..records import (
    HIDDEN_PREFIX,
    ID,
    KIND_PREFIX,
    LOADED,
    PLACEHOLDER,
    ROW,
    SRC,
    FileFormat,
    Records,
    Source,
    Spans,
    value_hash,
)
from .csv_read import read_csv
from .decode import BOM, SNIFF_BYTES, NotUTF8, decode, is_blank, map_file, read_bytes, utf8_text, whole
from .json_read import read_json, sniff_json_layout
from .multiline import fold
from .spans import text_stop
from .xlsx import read_workbook, refuse_binary, workbook_kind


def _detect_kind(path: str, text: str) -> str:
    lower = path.lower()
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".csv", ".tsv", ".tab", ".psv")):
        return "csv"  # a CSV whose first header happens to start with '{' or '['
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        return "jsonl"
    return "csv"


def read_file(path: str, *, encoding: str | None = None, delimiter: str | None = None,
              data: bytes | None = None, sheet: str | None = None) -> tuple[Source, pl.DataFrame]:
    """Parse one file into a frame with columns c0..cN-1 (and JSON kind columns); the source
    keeps the file's bytes (as UTF-8) and where each record lies in them. A workbook (first
    sheet, or `sheet`) is recognised by its bytes, whatever its name; another binary file is
    refused by what it looks like."""
    view = map_file(path) if data is None else None
    if data is None:
        data = view if view is not None else read_bytes(path)
    book = workbook_kind(data)
    if book is not None:
        return read_workbook(path, data, book, sheet)
    refuse_binary(data, path)
    if is_blank(data):
        raise InputError("empty file (not even a header line)", file=path)
    try:
        return _parse(data, *decode(data, path, encoding, lazy=True), path, delimiter)
    except NotUTF8:  # the window was UTF-8, the rest is not: cp1252, or a precise error
        data = whole(data)
        return _parse(data, *decode(data, path, encoding), path, delimiter)


def _parse(data: bytes | mmap.mmap, text: str | None, enc: str, bom: bool, path: str,
           delimiter: str | None) -> tuple[Source, pl.DataFrame]:
    fmt = FileFormat(encoding=enc, bom=bom, delimiter=delimiter or "")
    # the parsers and the writer work on UTF-8: a file in another encoding is re-encoded once
    raw = data if text is None else text.encode("utf-8")
    begin = len(BOM) if text is None and bom else 0
    head = raw[begin:begin + SNIFF_BYTES].decode("utf-8", "ignore")
    fmt.kind = "csv" if delimiter else _detect_kind(path, head)  # type: ignore[assignment]
    if fmt.kind == "csv":
        parsed = read_csv(raw, begin, path, fmt)
        headers, frame = parsed.headers, parsed.frame
        records, head_end, tail_start = parsed.records, parsed.head_end, parsed.tail_start
        source = Source(path=path, fmt=fmt, headers=headers, columns=[], rows=frame.height,
                        header_newlines=parsed.header_newlines, skipped_lines=parsed.skipped_lines,
                        footer=parsed.footer, footer_line=parsed.footer_line)
        if parsed.locate is not None:
            source.spans = Spans(raw=raw, text_start=begin, locate=parsed.locate)
    else:
        stop = text_stop(raw, begin)
        full = utf8_text(raw[begin:stop]) if text is None else text[:len(text) - (len(raw) - stop)]
        sniff_json_layout(full, fmt)
        headers, frame, records, head_end, tail_start = read_json(full, raw, begin, stop, path, fmt)
        source = Source(path=path, fmt=fmt, headers=headers, columns=[], rows=frame.height)
    if records is not None:
        source.spans = Spans(raw=raw, text_start=begin, head_end=head_end,
                             starts=pl.concat([records.starts, pl.Series([tail_start], dtype=pl.Int64)]),
                             ends=records.ends)
    return source, frame


def _special(name: str) -> bool:
    """Names polars' `pl.col` would not take literally (`*`, `^regex$`), and hidden names."""
    return (name == "*" or (name.startswith("^") and name.endswith("$"))
            or name.startswith(HIDDEN_PREFIX))


def _unique(name: str, taken: set[str]) -> str:
    """The internal column name of a header: the header itself when it is free and safe."""
    base = name if name else "(blank)"
    if base not in taken and name and not _special(name):
        return base
    k = 2
    while f"{base}#{k}" in taken:
        k += 1
    return f"{base}#{k}"


class _Columns:
    """The output's columns, the union of the files' in order of first appearance: a file's
    header joins the column of the same field (else the same header text), so an "Email"
    column and an `email_from` column become one; a repeated or blank header is its own. A
    field's further columns (several mapped to it) join by their header text."""

    def __init__(self) -> None:
        self.columns: list[str] = []
        self.headers: dict[str, str] = {}
        self.fields: dict[str, str] = {}
        self.more: dict[str, list[str]] = {}  # a field's further columns
        self._by_key: dict[str, str] = {}  # field or header text -> internal column

    def add(self, source: Source, file_fields: dict[int, str], raw: pl.DataFrame) -> dict[str, str]:
        """Take in one file's headers (setting `source.columns`); returns the renaming of its
        parsed columns (c0.., and their JSON kinds) to the internal names."""
        seen_in_file: set[str] = set()
        rename: dict[str, str] = {}
        for i, header in enumerate(source.headers):
            fld = file_fields.get(i)
            key = f"field:{fld}" if fld and f"field:{fld}" not in seen_in_file else f"header:{header}"
            if key in seen_in_file or not header:
                key = f"{key}#{i}"
            seen_in_file.add(key)
            col = self._by_key.get(key)
            if col is None:
                col = _unique(header, set(self.columns))
                self._by_key[key] = col
                self.columns.append(col)
                self.headers[col] = header
            if fld and fld not in self.fields:
                self.fields[fld] = col
            elif fld and col != self.fields[fld] and col not in self.more.get(fld, ()):
                self.more.setdefault(fld, []).append(col)
            source.columns.append(col)
            rename[f"c{i}"] = col
            if f"{KIND_PREFIX}c{i}" in raw.columns:
                rename[f"{KIND_PREFIX}c{i}"] = f"{KIND_PREFIX}{col}"
        return rename


def _preset_opportunities(source: Source) -> bool:
    """A file whose preset says its records are opportunities (deals) and that has no type."""
    found = source.recognition
    return (found is not None and found.preset is not None and found.preset.preset.records == "opportunity"
            and "type" not in found.fields.values())


def _check_load_options(paths: Sequence[str], delimiter: str | None) -> None:
    if not paths:
        raise UsageError("no input file given")
    if list(paths).count("-") > 1:
        raise UsageError("standard input ('-') can be given only once")
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise UsageError(f"--delimiter {delimiter!r}: expected one character (or tab), not a quote or line break")


def load(paths: Sequence[str], *, encoding: str | None = None, delimiter: str | None = None,
         mapping: FieldMap | None = None, opportunities: Sequence[str] = (),
         preset: PresetChoice | None = None, sheet: str | None = None) -> Records:
    """Read one or more exports into one Records, in the order given (files given only with
    `opportunities` come last, as do the files whose preset says their records are
    opportunities); each record remembers its file and data row. `sheet`: the sheet read
    from every workbook (default: its first)."""
    _check_load_options(paths, delimiter)
    frames: list[pl.DataFrame] = []
    sources: list[Source] = []
    columns = _Columns()
    opp_files = {str(p) for p in opportunities}
    all_paths = list(paths) + [p for p in opportunities if p not in paths]
    loaded = 0
    for index, path in enumerate(all_paths):
        source, raw = read_file(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
        source.recognition = recognise(source.headers, mapping, preset)
        raw = fold(source, raw)  # Odoo's continuation lines: part of the record before them
        if _preset_opportunities(source):
            opp_files.add(path)
        rename = columns.add(source, source.recognition.fields, raw)
        frame = raw.rename(rename)
        frame = frame.drop(PLACEHOLDER) if PLACEHOLDER in frame.columns else frame
        frame = frame.with_columns(
            pl.lit(index, dtype=pl.UInt32).alias(SRC),
            pl.int_range(1, raw.height + 1, dtype=pl.UInt32).alias(ROW),
        )
        if source.spans is not None:
            frame = _with_origin(frame, source, loaded)
        loaded += raw.height
        frames.append(frame)
        sources.append(source)
    if sheet is not None and not any(s.fmt.kind == "xlsx" for s in sources):
        raise UsageError(f"--sheet {sheet!r}: no input is a workbook (Excel or OpenDocument)")
    if len(frames) > 1:  # a column missing from a file is empty for its records
        frame = pl.concat(frames, how="diagonal_relaxed")
        frame = frame.with_columns(pl.col(c).fill_null("") for c in columns.columns)
    else:
        frame = frames[0]
    records = Records(frame=frame, columns=columns.columns, headers=columns.headers, sources=sources,
                      fields=columns.fields, more_columns=columns.more,
                      opportunity_sources=frozenset(k for k, p in enumerate(all_paths) if p in opp_files))
    return with_ids(records)


def fallback_labels(sources: Sequence[Source]) -> list[str]:
    """The FILE of each input in the fallback id `FILE:N`: its file name, unless another
    input of that name is another file (a/x.csv, b/x.csv): then its path as first given. The
    same file given twice gets one label: its records are the same records seen twice."""
    real = [s.path if s.path == "-" else os.path.realpath(s.path) for s in sources]
    first = {r: sources[k].path for k, r in reversed(list(enumerate(real)))}
    names = {r: sources[k].name for k, r in enumerate(real)}
    clash = {r for r in names if sum(1 for n in names.values() if n == names[r]) > 1}
    return [first[r] if r in clash else names[r] for r in real]


_HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadtool-hash")


def _with_origin(frame: pl.DataFrame, source: Source, loaded: int) -> pl.DataFrame:
    """Each record's key to its bytes (LOADED); a hash of its values as read is made in the
    background (the writer copies the bytes of a record whose values hash the same, io.writing;
    commands that write nothing never wait for it)."""
    spans = source.spans
    assert spans is not None
    kinds = [k for c in source.columns if (k := f"{KIND_PREFIX}{c}") in frame.columns]
    spans.first = loaded
    spans.hashed = [*dict.fromkeys(source.columns), *kinds]
    as_read = frame.select(spans.hashed) if spans.hashed else frame.select(pl.repeat(0, pl.len()))
    spans.pending = _HASHING.submit(value_hash, as_read, spans.hashed)
    return frame.with_columns(pl.int_range(loaded, loaded + frame.height, dtype=pl.UInt32).alias(LOADED))


def with_ids(records: Records) -> Records:
    """The id of each record: its `id` cell, else its data row number (`FILE:N` when several
    files were given, docs/groups.md#repeated-ids)."""
    several = len(records.sources) > 1
    row = pl.col(ROW).cast(pl.String)
    labels = fallback_labels(records.sources)
    fallback = ((pl.col(SRC).replace_strict(list(range(len(labels))), labels, return_dtype=pl.String) + ":" + row)
                if several else row)
    id_col = records.col("id")
    if id_col:
        blank = records.frame.select(pl.col(id_col).str.contains(r"^\s*$").alias("b")).get_column("b")
        if not blank.any():
            # the usual case, every record has an id: the column itself, no per-row work (a
            # Series, not an expression, so that polars does not copy the frame into one chunk)
            return records.with_frame(records.frame.with_columns(records.frame.get_column(id_col).alias(ID)))
        expr = pl.when(blank).then(fallback).otherwise(pl.col(id_col))
    else:
        expr = fallback
    return records.with_frame(records.frame.with_columns(expr.alias(ID)))

