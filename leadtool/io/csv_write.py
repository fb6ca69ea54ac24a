"""CSV writing in the input's own style (delimiter, quoting, line ending): whole files (rows with
no original bytes to copy) and single rows (the ones a rule changed)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import IO

import polars as pl

from ..records import FileFormat

# a number as Python's csv module writes one bare under QUOTE_NONNUMERIC
NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


def csv_header_line(headers: list[str], fmt: FileFormat) -> str:
    buf = io.StringIO()
    quoting = csv.QUOTE_MINIMAL if fmt.quoting == "minimal" else csv.QUOTE_ALL  # headers are text
    writer = csv.writer(buf, delimiter=fmt.delimiter, lineterminator=fmt.newline, quoting=quoting)
    writer.writerow(headers)
    return buf.getvalue()


def _quoted(value: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit('"'), value.str.replace_all('"', '""', literal=True), pl.lit('"'))


def _cell(value: pl.Expr, fmt: FileFormat, width: int) -> pl.Expr:
    """One value as the file writes it (polars' "necessary" quoting, which the whole-file
    writer uses: a delimiter, a quote or a line break inside; an empty value quoted only when
    it is a row's one cell, so that the row is not a blank line)."""
    if fmt.quoting == "all":
        return _quoted(value)
    if fmt.quoting == "nonnumeric":
        return pl.when(value.str.contains(NUMBER)).then(value).otherwise(_quoted(value))
    special = "[" + "".join(re.escape(c) for c in sorted({fmt.delimiter, '"', "\n", "\r"})) + "]"
    needs = value.str.contains(special)
    if width == 1:
        needs = needs | (value == "")
    return pl.when(needs).then(_quoted(value)).otherwise(value)


def csv_row_texts(frame: pl.DataFrame, columns: list[str], fmt: FileFormat) -> pl.Series:
    """Each row as the file writes it, without its line ending."""
    if not columns:
        return pl.Series([""] * frame.height, dtype=pl.String)
    cells = [_cell(pl.col(c), fmt, len(columns)) for c in columns]
    return frame.select(pl.concat_str(cells, separator=fmt.delimiter).alias("t")).get_column("t")


def csv_body(frame: pl.DataFrame | pl.LazyFrame, fmt: FileFormat, sink: IO[bytes]) -> None:
    """The data lines, UTF-8, each ended by the file's line ending (a lazy frame is streamed)."""
    query = frame.lazy()
    names = query.collect_schema().names()
    width = len(names)
    if width == 0:
        return
    if fmt.quoting == "all":
        style = "always"
    elif fmt.quoting == "nonnumeric":  # numbers bare, everything else quoted: made here, written as is
        style = "never"
        query = query.with_columns(_cell(pl.col(c), fmt, width).alias(c) for c in names)
    else:
        style = "necessary"
        if width > 1:  # polars quotes "" in this style; Python's csv does not
            query = query.with_columns(pl.when(pl.all() == "").then(None).otherwise(pl.all()).name.keep())
    query.sink_csv(sink, include_header=False, separator=fmt.delimiter,
                   line_terminator=fmt.newline, quote_style=style, null_value="")


def csv_bytes(frame: pl.DataFrame, headers: list[str], fmt: FileFormat) -> Iterator[bytes]:
    yield csv_header_line(headers, fmt).encode("utf-8")
    buf = io.BytesIO()
    csv_body(frame, fmt, buf)
    if buf.tell():
        yield buf.getvalue()
