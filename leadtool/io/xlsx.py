"""Excel files: read a sheet as text, write a sheet of text, and name what a binary file is.

Reading uses fastexcel (calamine underneath; it reads .xlsx, .xlsm, .xlsb, .xls and .ods). It
loads a 100,000-row sheet into Arrow in Rust, about three times as fast as python-calamine,
whose cells come back as Python objects (benchmarks/README.md has the figures).

Every cell becomes the text it stands for, like a CSV cell (docs/formats.md):
- text cells as they are (`00123` stays `00123`, line breaks kept);
- whole numbers without `.0` (`42`), other numbers in their shortest form (`1.5`); number
  formats (currency signs, thousands separators, percent, decimals shown) are not applied;
- dates and date-times in ISO form: `YYYY-MM-DD HH:MM:SS`, or `YYYY-MM-DD` for a column whose
  every value is at midnight (Excel stores both as one kind of number);
- booleans as Excel shows them: `TRUE`, `FALSE`; in a column that mixes booleans with other
  kinds of cells they read `true`/`false`;
- empty cells, and error cells (`#N/A`), as the empty string.
The frame's columns are named `c0`, `c1`, ... like the CSV reader's; the headers (first row)
are returned as written, duplicates and blanks included.

Writing uses xlsxwriter and writes every value as a text cell, so what was read comes back
unchanged (`00123`, `1.50`, `2023-05-04`). Kept: the values, the header row, the column order,
the sheet name. Not kept: all-empty rows at the very end of the sheet, styles, number formats,
cell types (numbers and dates come back as text cells), formulas (their last computed value is
kept), other sheets, column widths.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from ..errors import InputError

#: what `sniff_binary` looks at
SNIFF_BYTES = 4096

#: Excel's limit on the text of one cell
MAX_CELL = 32767


def sheet_names(path: str | Path) -> list[str]:
    """The workbook's sheet names, in order."""
    return list(_open(path).sheet_names)


def _open(path: str | Path):
    import fastexcel  # imported here: only Excel inputs pay for it

    try:
        return fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own error classes, all Exceptions
        raise InputError(f"cannot read as an Excel workbook: {exc}", file=str(path)) from None


def _midnight_only(col: pl.Series) -> bool:
    values = col.drop_nulls()
    return values.len() > 0 and bool((values.dt.truncate("1d") == values).all())


def _as_text(col: pl.Series) -> pl.Series:
    """One typed column from the sheet as the text its cells stand for."""
    dtype = col.dtype
    if dtype == pl.String:
        out = col
    elif dtype == pl.Null:
        out = pl.Series(col.name, [None] * col.len(), dtype=pl.String)
    elif dtype == pl.Boolean:
        out = col.replace_strict({True: "TRUE", False: "FALSE"}, return_dtype=pl.String)
    elif dtype.is_float():
        whole = col.is_finite() & (col == col.round(0)) & (col.abs() < 2.0 ** 63)
        out = pl.select(pl.when(whole).then(col.cast(pl.Int64, strict=False).cast(pl.String))
                        .otherwise(col.cast(pl.String))).to_series()
    elif dtype.is_integer():
        out = col.cast(pl.String)
    elif dtype == pl.Date:
        out = col.dt.strftime("%Y-%m-%d")
    elif isinstance(dtype, pl.Datetime):
        fmt = "%Y-%m-%d" if _midnight_only(col) else "%Y-%m-%d %H:%M:%S"
        out = col.dt.strftime(fmt)
    else:  # durations, times
        out = col.cast(pl.String)
    return out.fill_null("").alias(col.name)


def read_xlsx(path: str | Path, sheet: str | None = None) -> tuple[list[str], pl.DataFrame]:
    """The headers (first row) and the cells below them, all text, of the first sheet or the
    sheet named `sheet`. An unknown sheet name is an error listing the sheets."""
    book = _open(path)
    names = list(book.sheet_names)
    if sheet is not None and sheet not in names:
        listed = ", ".join(repr(n) for n in names)
        raise InputError(f"no sheet named {sheet!r} (sheets: {listed})", file=str(path))
    if not names:
        raise InputError("the workbook has no sheet", file=str(path))
    target = sheet if sheet is not None else 0
    try:
        head = book.load_sheet(target, header_row=None, n_rows=1, dtypes="string").to_polars()
        body = book.load_sheet(target, header_row=0, schema_sample_rows=None).to_polars()
    except Exception as exc:
        raise InputError(f"cannot read sheet {(names[0] if sheet is None else sheet)!r}: {exc}",
                         file=str(path)) from None
    if head.height == 0:
        return [], pl.DataFrame()
    headers = ["" if v is None else str(v) for v in head.row(0)]
    width = max(len(headers), body.width)
    headers += [""] * (width - len(headers))
    columns = [_as_text(body.to_series(i)).alias(f"c{i}") for i in range(body.width)]
    columns += [pl.Series(f"c{i}", [""] * body.height, dtype=pl.String) for i in range(body.width, width)]
    frame = pl.DataFrame(columns) if columns else pl.DataFrame()
    return headers, frame


def write_xlsx(path: str | Path, headers: Sequence[str], frame: pl.DataFrame, sheet: str = "Sheet1") -> None:
    """Write the header row and every value as text cells (see the module's note on what is
    kept). Values longer than Excel allows in a cell are an error naming the cell."""
    import xlsxwriter

    if frame.width != len(headers):
        raise ValueError(f"{len(headers)} headers for {frame.width} columns")
    text = frame.select(pl.all().cast(pl.String).fill_null(""))
    too_long = text.select(pl.all().str.len_chars().max()).row(0) if text.height else ()
    for i, longest in enumerate(too_long):
        if longest is not None and longest > MAX_CELL:
            row = text.to_series(i).str.len_chars().arg_max()
            raise InputError(f"a value of {longest} characters does not fit an Excel cell ({MAX_CELL} at most)",
                             file=str(path), line=row + 2, column=headers[i])
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                           "strings_to_formulas": False, "strings_to_urls": False})
    try:
        write = book.add_worksheet(sheet[:31] or "Sheet1").write_string
        for c, header in enumerate(headers):
            if header != "":
                write(0, c, header)
        # xlsxwriter takes one cell per call: this loop is the writer's cost (benchmarks/README.md)
        for r, row in enumerate(text.rows(), start=1):
            for c, value in enumerate(row):
                if value:
                    write(r, c, value)
    finally:
        book.close()


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls, OLE2 compound file)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"ARROW1", "an Arrow IPC file"),
    (b"Obj\x01", "an Avro file"),
    (b"ORC", "an ORC file"),
)


def sniff_binary(data: bytes) -> str | None:
    """What a binary file looks like, for an error message ("looks like an Excel workbook
    (.xlsx)"); None when it looks like text, which the text readers then judge."""
    head = bytes(data[:SNIFF_BYTES])
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        if b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet" in head:
            return "an OpenDocument spreadsheet (.ods)"
        if b"xl/" in head:
            return "an Excel workbook (.xlsx)"
        if b"word/" in head:
            return "a Word document (.docx)"
        return "a ZIP archive (an .xlsx workbook is one)"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"):
        return "UTF-16 text (Excel's \"Unicode text\" export)"
    if len(head) >= 8:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) >= len(odd) * 0.4 and even.count(0) == 0:
            return "UTF-16 text without a byte order mark (little-endian)"
        if even.count(0) >= len(even) * 0.4 and odd.count(0) == 0:
            return "UTF-16 text without a byte order mark (big-endian)"
    return None
