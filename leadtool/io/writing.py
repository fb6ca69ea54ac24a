"""Records to bytes in the format of the first input (or a given one), written atomically."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from ..records import FileFormat, Records
from .csv_write import csv_body, csv_bytes, csv_header_line
from .decode import BOM, UTF8_NAMES
from .files import atomic_output, unencodable
from .json_write import json_bytes


def encode_chunks(records: Records, fmt: FileFormat | None = None) -> Iterator[bytes]:
    """The output bytes, in the format of the first input unless `fmt` is given."""
    fmt = fmt or records.sources[0].fmt
    headers = [records.headers[c] for c in records.columns]
    if fmt.kind == "csv":
        chunks = csv_bytes(records.frame.select(records.columns), headers, fmt)
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
    if fmt.kind == "csv" and not fmt.final_newline and pending.endswith(fmt.newline.encode()):
        pending = pending[: -len(fmt.newline)]
    yield pending


def write(records: Records, path: str, fmt: FileFormat | None = None) -> None:
    """Write records atomically (temp file in the same folder, then rename). `records.frame`
    may be a lazy query (`merge.merge_query`): a CSV file in UTF-8 is streamed from it."""
    fmt = fmt or records.sources[0].fmt
    encoding = fmt.encoding
    utf8 = encoding.lower().replace("_", "-") in UTF8_NAMES
    streamed = fmt.kind == "csv" and utf8 and path != "-"
    if isinstance(records.frame, pl.LazyFrame) and not streamed:
        records = records.with_frame(records.frame.collect())
    if streamed:
        # polars writes straight into the file: no copy of the whole output in memory
        with atomic_output(path) as handle:
            head = csv_header_line([records.headers[c] for c in records.columns], fmt)
            handle.write((BOM if fmt.bom else b"") + head.encode("utf-8"))
            csv_body(records.frame.select(records.columns), fmt, handle)
            if not fmt.final_newline:  # the input's last line had no line ending
                handle.flush()
                end = handle.tell()
                if end >= len(fmt.newline):
                    handle.truncate(end - len(fmt.newline.encode()))
        return
    lines = 0  # before the chunk: an unwritable character is named with its line
    with atomic_output(path) as handle:
        for chunk in encode_chunks(records, fmt):
            if not utf8:
                try:
                    chunk = chunk.decode("utf-8").encode(encoding)
                except UnicodeEncodeError as exc:
                    raise unencodable(exc, encoding, path, lines) from None
                lines += chunk.count(b"\n")
            handle.write(chunk)

