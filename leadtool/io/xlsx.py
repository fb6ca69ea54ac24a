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
- a cell of another kind than the rest of its column (`n/a` typed among dates) as its text
  (dates there as `YYYY-MM-DD HH:MM:SS`, booleans `true`/`false`);
- empty cells, and error cells (`#N/A`), as the empty string.
The frame's columns are named `c0`, `c1`, ... like the CSV reader's; the headers (first row)
are returned as written, duplicates and blanks included.

Writing writes every value as a text cell, so what was read comes back unchanged (`00123`,
`1.50`, `2023-05-04`): xlsxwriter makes the workbook around an empty sheet, whose rows are made
column-wise in polars exactly as xlsxwriter would write them (tests/io/test_xlsx.py compares).
Kept: the values, the header row, the column order, the sheet name. Not kept: all-empty rows at
the very end of the sheet, styles, number formats, cell types (numbers and dates come back as
text cells), formulas (their last computed value is kept), other sheets, column widths.
"""

from __future__ import annotations

import io
import logging
import mmap
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import polars as pl

from ..errors import InputError, UsageError
from ..records import FileFormat, Source

#: what `sniff_binary` looks at
SNIFF_BYTES = 4096

#: Excel's limits: the text of one cell, the rows (header included) and columns of a sheet
MAX_CELL = 32767
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384


def sheet_names(path: str | Path) -> list[str]:
    """The workbook's sheet names, in order."""
    return list(_open(path).sheet_names)


def _open(path: str | Path, data: bytes | None = None):
    import fastexcel  # imported here: only Excel inputs pay for it

    # fastexcel logs through Python's logging ("Could not determine dtype for column 3, falling
    # back to string" for an empty column): not the user's business
    logging.getLogger("fastexcel").setLevel(logging.ERROR)
    try:
        return fastexcel.read_excel(str(path) if data is None else data)
    except Exception as exc:  # fastexcel raises its own error classes, all Exceptions
        raise InputError(f"cannot read as an Excel workbook: {' '.join(str(exc).split())}",
                         file=str(path)) from None


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
    _, headers, frame = read_sheet(path, sheet)
    return headers, frame


#: a name fastexcel may have made from a repeated header (`Email_1`)
_RENAMED = re.compile(r"_\d+$")


def _load(book, name: str) -> tuple[pl.DataFrame, list[str], pl.DataFrame | None, list[int]]:
    """The typed cells below the header, the header cells as written, and (for the columns of
    a sheet that mixes kinds of cells in one column) their cells as text. calamine parses the
    whole sheet at each load, so the usual sheet is loaded once: its headers are the column
    names when fastexcel made none up (blank or repeated headers: read again as text), and a
    column can only have dropped a cell of another kind when strict typing fails."""
    import fastexcel

    try:
        sheet = book.load_sheet(name, header_row=0, schema_sample_rows=None, dtype_coercion="strict")
        strict = True
    except fastexcel.UnsupportedColumnTypeCombinationError:
        sheet = book.load_sheet(name, header_row=0, schema_sample_rows=None)
        strict = False
    infos = sheet.available_columns()
    body = sheet.to_polars()
    if all(c.column_name_from == "looked_up" and not _RENAMED.search(c.name) for c in infos):
        headers = [c.name for c in infos]
    else:
        head = book.load_sheet(name, header_row=None, n_rows=1, dtypes="string").to_polars()
        headers = ["" if v is None else str(v) for v in head.row(0)] if head.height else []
    # a typed column drops the cells of another kind (a text "n/a" among dates): such columns
    # are read again as text, and their dropped cells taken from there
    mixed = [] if strict else [i for i, col in enumerate(body.iter_columns())
                               if col.dtype not in (pl.String, pl.Null) and col.null_count()]
    as_text = (book.load_sheet(name, header_row=0, use_columns=mixed, dtypes="string").to_polars()
               if mixed else None)
    return body, headers, as_text, mixed


def read_sheet(path: str | Path, sheet: str | None = None,
               data: bytes | None = None) -> tuple[str, list[str], pl.DataFrame]:
    """`read_xlsx`, with the name of the sheet read; `data`: the workbook's bytes (standard
    input), `path` then only names it in errors."""
    book = _open(path, data)
    names = list(book.sheet_names)
    if sheet is not None and sheet not in names:
        listed = ", ".join(repr(n) for n in names)
        raise InputError(f"no sheet named {sheet!r} (sheets: {listed})", file=str(path))
    if not names:
        raise InputError("the workbook has no sheet", file=str(path))
    name = names[0] if sheet is None else sheet
    try:
        body, headers, as_text, mixed = _load(book, name)
    except Exception as exc:
        raise InputError(f"cannot read sheet {name!r}: {' '.join(str(exc).split())}", file=str(path)) from None
    if not headers:
        return name, [], pl.DataFrame()
    width = max(len(headers), body.width)
    headers += [""] * (width - len(headers))
    columns = [_as_text(body.to_series(i)).alias(f"c{i}") for i in range(body.width)]
    for k, i in enumerate(mixed if as_text is not None else ()):
        dropped = body.to_series(i).is_null()
        columns[i] = columns[i].zip_with(~dropped, as_text.to_series(k).fill_null("")).alias(f"c{i}")
    columns += [pl.Series(f"c{i}", [""] * body.height, dtype=pl.String) for i in range(body.width, width)]
    frame = pl.DataFrame(columns) if columns else pl.DataFrame()
    return name, headers, frame


def write_xlsx(path: str | Path | IO[bytes], headers: Sequence[str], frame: pl.DataFrame | Iterable[pl.DataFrame],
               sheet: str = "Sheet1", name: str | None = None) -> None:
    """Write the header row and every value as text cells (see the module's note on what is
    kept) to a path or a binary file object; `frame` may come as slices of rows. Values longer
    than Excel allows in a cell are an error naming the cell (and `name`, else the path).

    xlsxwriter makes the workbook around an empty sheet; the sheet's rows are made here,
    column by column in polars, as xlsxwriter's `constant_memory` mode writes them (inline
    strings, escaped alike): its Python call per cell took 7 us, 20 s for 100,000 rows of 31
    columns (benchmarks/README.md)."""
    shown = name if name is not None else str(path)
    parts = [frame] if isinstance(frame, pl.DataFrame) else frame
    if len(headers) > MAX_COLUMNS:
        raise InputError(f"{len(headers):,} columns do not fit an Excel sheet ({MAX_COLUMNS:,} at most); "
                         "write a CSV file", file=shown)
    letters = [_column_letters(c) for c in range(len(headers))]
    names = [f"c{i}" for i in range(len(headers))]
    with tempfile.TemporaryFile() as rows:
        span = _Span()
        head = pl.DataFrame([pl.Series(n, [h], dtype=pl.String) for n, h in zip(names, headers, strict=True)])
        rows.write(_rows_xml(_checked_text(head, headers, shown, 0), letters, 1, span))
        r = 1
        for part in parts:
            if part.width != len(headers):
                raise ValueError(f"{len(headers)} headers for {part.width} columns")
            if r + part.height > MAX_ROWS:
                raise InputError(f"more than {MAX_ROWS - 1:,} records do not fit an Excel sheet; write a CSV file",
                                 file=shown)
            text = _checked_text(part, headers, shown, r)
            text = text.select(pl.nth(i).alias(n) for i, n in enumerate(names))
            rows.write(_rows_xml(text, letters, r + 1, span))
            r += part.height
        _package(path, sheet, span.ref(letters), rows)


def _column_letters(index: int) -> str:
    """A column's letters: 0 is A, 26 is AA."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


class _Span:
    """The sheet's used range, as xlsxwriter's <dimension> gives it (the cells with a value)."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.cols: list[int] = []

    def add(self, text: pl.DataFrame, first_row: int) -> None:
        filled = text.select(pl.all() != "")
        used = [i for i, any_ in enumerate(filled.select(pl.all().any()).row(0)) if any_]
        if used:
            self.cols += [used[0], used[-1]]
            rows = filled.select(pl.any_horizontal(pl.all())).to_series().arg_true()
            self.rows += [first_row + int(rows[0]), first_row + int(rows[-1])]

    def ref(self, letters: list[str]) -> str:
        if not self.rows:
            return "A1"
        first = f"{letters[min(self.cols)]}{min(self.rows)}"
        last = f"{letters[max(self.cols)]}{max(self.rows)}"
        return first if first == last else f"{first}:{last}"


#: characters Excel writes as `_xHHHH_` (and a literal `_xHHHH_` is escaped as `_x005F_xHHHH_`)
_ESCAPED = [chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0xFFFE, 0xFFFF]]


def _escaped(col: pl.Series) -> pl.Expr:
    """A column's values as the text of an inline string element (xlsxwriter's escaping)."""
    out = pl.col(col.name).str.replace_all(r"(_x[0-9a-fA-F]{4}_)", "_x005F${1}")
    if col.str.contains(r"[\x00-\x08\x0b-\x1f\x{FFFE}\x{FFFF}]").any():
        for ch in _ESCAPED:
            out = out.str.replace_all(ch, f"_x{ord(ch):04X}_", literal=True)
    return out


def _rows_xml(text: pl.DataFrame, letters: list[str], first_row: int, span: _Span) -> bytes:
    """The <row> elements of a slice of rows (a row without a value has none)."""
    if not text.height or not text.width:
        return b""
    span.add(text, first_row)
    number = pl.int_range(first_row, first_row + text.height, dtype=pl.Int64).cast(pl.String)
    cells = []
    for letter, col in zip(letters, text.iter_columns(), strict=True):
        value = _escaped(col)
        preserve = pl.when(value.str.contains(r"^\s|\s$")).then(pl.lit(' xml:space="preserve"')).otherwise(pl.lit(""))
        xml = (value.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
               .str.replace_all(">", "&gt;", literal=True))
        cells.append(pl.when(pl.col(col.name) != "").then(pl.concat_str(
            pl.lit(f'<c r="{letter}'), number, pl.lit('" t="inlineStr"><is><t'), preserve, pl.lit(">"), xml,
            pl.lit("</t></is></c>"))))
    row = pl.concat_str(cells, ignore_nulls=True)
    rows = text.select(pl.when(row != "").then(pl.concat_str(pl.lit('<row r="'), number, pl.lit('">'), row,
                                                             pl.lit("</row>"))).alias("x"))
    return rows.get_column("x").drop_nulls().str.join("").item().encode("utf-8")


def _package(path: str | Path | IO[bytes], sheet: str, ref: str, rows: IO[bytes]) -> None:
    """The workbook: xlsxwriter's files for a workbook of one empty sheet, the sheet's XML
    given its rows and used range."""
    import xlsxwriter
    from xlsxwriter.exceptions import InvalidWorksheetName

    skeleton = io.BytesIO()
    book = xlsxwriter.Workbook(skeleton, {"constant_memory": True})
    try:
        book.add_worksheet(sheet[:31] or "Sheet1")
    except InvalidWorksheetName:  # a name another program allows and Excel does not
        book.add_worksheet("Sheet1")
    book.close()
    target = str(path) if isinstance(path, (str, Path)) else path
    with zipfile.ZipFile(skeleton) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info, data)
                continue
            xml = data.decode("utf-8").replace('<dimension ref="A1"/>', f'<dimension ref="{ref}"/>', 1)
            if not rows.seek(0, 2):  # no cell: the empty sheet as it is
                out.writestr(info, xml.encode("utf-8"))
                continue
            rows.seek(0)
            before, after = xml.split("<sheetData/>", 1)
            with out.open(info, "w", force_zip64=True) as entry:
                entry.write(f"{before}<sheetData>".encode())
                shutil.copyfileobj(rows, entry, 1 << 20)
                entry.write(f"</sheetData>{after}".encode())


def _checked_text(frame: pl.DataFrame, headers: Sequence[str], shown: str, first_row: int) -> pl.DataFrame:
    """The values as text; one too long for a cell is an error naming its sheet row and column."""
    text = frame.select(pl.all().cast(pl.String).fill_null(""))
    too_long = text.select(pl.all().str.len_chars().max()).row(0) if text.height else ()
    for i, longest in enumerate(too_long):
        if longest is not None and longest > MAX_CELL:
            row = text.to_series(i).str.len_chars().arg_max()
            raise InputError(f"a value of {longest} characters does not fit an Excel cell ({MAX_CELL} at most)",
                             file=shown, line=first_row + (row or 0) + 1, column=headers[i])
    return text


def xlsx_bytes(headers: Sequence[str], frames: pl.DataFrame | Iterable[pl.DataFrame], sheet: str,
               name: str) -> bytes:
    """A workbook of one sheet as bytes (for an output written atomically and hashed)."""
    buffer = io.BytesIO()
    write_xlsx(buffer, headers, frames, sheet=sheet, name=name)
    return buffer.getvalue()


def read_workbook(path: str, data: bytes | mmap.mmap, kind: str, sheet: str | None) -> tuple[Source, pl.DataFrame]:
    """One input that `workbook_kind` recognised, as `io.reading.read_file` gives a file: its
    source (no bytes to copy: every record is written anew) and its frame of text."""
    name, headers, frame = read_sheet(path, sheet, data=None if path != "-" else bytes(data))
    if not headers:
        raise InputError(f"sheet {name!r} is empty (not even a header row)", file=path)
    fmt = FileFormat(kind="xlsx", workbook=kind, sheet=name)
    return Source(path=path, fmt=fmt, headers=headers, columns=[], rows=frame.height), frame


# --------------------------------------------------------------------------- recognising
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS = b"application/vnd.oasis.opendocument.spreadsheet"
#: the workbook stream of an .xls file (Excel 97 and later; Excel 5's), named in UTF-16 in
#: the compound file's directory
_XLS_STREAMS = ("Workbook".encode("utf-16-le"), "Book\0".encode("utf-16-le"))


def workbook_kind(data: bytes | mmap.mmap) -> str | None:
    """`xlsx`, `xlsb`, `ods` or `xls` when the bytes are a workbook fastexcel reads, judged by
    content whatever the file's name: a ZIP archive holding `xl/workbook.xml` (.xlsx, .xlsm),
    `xl/workbook.bin` (.xlsb) or an OpenDocument spreadsheet's `mimetype`, or an OLE2 compound
    file holding a `Workbook` (or `Book`) stream. None for anything else."""
    head = bytes(data[:8])
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as archive:
                names = set(archive.namelist())
                if "xl/workbook.xml" in names:
                    return "xlsx"
                if "xl/workbook.bin" in names:
                    return "xlsb"
                if "mimetype" in names and archive.read("mimetype").strip().startswith(_ODS):
                    return "ods"
                return None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, KeyError, EOFError):
            # a damaged archive: a workbook when it says so early on (fastexcel then says
            # what is wrong with it)
            return "xlsx" if b"xl/" in bytes(data[:SNIFF_BYTES]) else None
    if head == _OLE2:
        return "xls" if any(data.find(name) >= 0 for name in _XLS_STREAMS) else None
    return None


def refuse_binary(data: bytes | mmap.mmap, path: str) -> None:
    """A binary file that is not a workbook is one line naming what it looks like, before any
    decoder calls it text in a wrong encoding."""
    looks = not_text(data)
    if looks is not None:
        raise InputError(f"looks like {looks}, not a CSV, JSON or Excel file", file=path)


def refuse_for_spark(data: bytes | mmap.mmap, path: str) -> None:
    """A file Spark's CSV reader would take as text though it is not: a workbook (read by the
    local engine only) or another binary file, refused in one line."""
    if workbook_kind(data) is not None:
        raise UsageError(f"{path}: Excel workbooks are read by the local engine only: merge without --engine spark")
    refuse_binary(data, path)


def not_text(data: bytes | mmap.mmap) -> str | None:
    """What a binary file that is not a workbook (`workbook_kind`) looks like, for the error
    that refuses it ("a PDF document"); None when it may be text (UTF-16 text included: the
    decoder reads or names it)."""
    looks = sniff_binary(bytes(data[:SNIFF_BYTES]))
    if looks is None or looks.startswith("UTF-16"):
        return None
    if looks.startswith(("a ZIP archive", "an Excel workbook", "an OpenDocument")):
        return "a ZIP archive without a workbook in it"
    if looks.startswith("an old Excel workbook"):
        if data.find("EncryptedPackage".encode("utf-16-le")) >= 0:
            return "a password-protected Office file (save it again without a password)"
        return "an OLE2 compound file (an old Office document) without a workbook in it"
    return looks


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


#: magic numbers a text file may start with ("ORCID,Name"): binary only with control bytes
_SHORT = {b"ORC", b"BZh"}
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f]")


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
        if head.startswith(magic) and (magic not in _SHORT or _CONTROL.search(head)):
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
