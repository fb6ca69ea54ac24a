"""CSV writing in the input's own style (delimiter, quoting, line ending)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO

import polars as pl

from ..records import FileFormat


def csv_header_line(headers: list[str], fmt: FileFormat) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=fmt.delimiter, lineterminator=fmt.newline,
                        quoting=csv.QUOTE_ALL if fmt.quoting == "all" else csv.QUOTE_MINIMAL)
    writer.writerow(headers)
    return buf.getvalue()


def csv_body(frame: pl.DataFrame | pl.LazyFrame, fmt: FileFormat, sink: IO[bytes]) -> None:
    """The data lines, UTF-8, each ended by the file's line ending (a lazy frame is streamed)."""
    query = frame.lazy()
    width = len(query.collect_schema())
    if width == 0:
        return
    if fmt.quoting == "all":
        style = "always"
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

