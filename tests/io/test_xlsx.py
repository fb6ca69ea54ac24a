"""Excel sheets read as text and written back; binary files named by their magic bytes."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import sqlite3

import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadtool.errors import InputError
from leadtool.io.xlsx import MAX_CELL, read_xlsx, sheet_names, sniff_binary, write_xlsx


@pytest.fixture
def typed_book(tmp_path):
    """A workbook as Odoo's export dialog and Excel users make them: typed cells."""
    path = tmp_path / "typed.xlsx"
    book = xlsxwriter.Workbook(str(path))
    first = book.add_worksheet("Leads")
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp_fmt = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    money = book.add_format({"num_format": "#,##0.00 €"})
    headers = ["id", "Name", "Email", "Created on", "Day", "Revenue", "Active", "Zip", "Email", "", "Notes"]
    first.write_row(0, 0, headers)
    rows = [
        (1, "Jane", "jane@example.com", dt.datetime(2023, 5, 4, 10, 22), dt.datetime(2023, 5, 4), 1500.0, True,
         "00123", "jane@home.example", "x", "line 1\nline 2"),
        (2, "Jo", "", dt.datetime(2023, 5, 5, 0, 0, 1), dt.datetime(2023, 5, 6), 2.5, False, "7", "", "", ""),
    ]
    for r, (i, name, email, stamp, day, rev, active, zip_, email2, blank, notes) in enumerate(rows, start=1):
        first.write_number(r, 0, i)
        first.write_string(r, 1, name)
        if email:
            first.write_string(r, 2, email)
        first.write_datetime(r, 3, stamp, stamp_fmt)
        first.write_datetime(r, 4, day, date_fmt)
        first.write_number(r, 5, rev, money)
        first.write_boolean(r, 6, active)
        first.write_string(r, 7, zip_)
        if email2:
            first.write_string(r, 8, email2)
        if blank:
            first.write_string(r, 9, blank)
        if notes:
            first.write_string(r, 10, notes)
    second = book.add_worksheet("Other")
    second.write_row(0, 0, ["a", "b"])
    second.write_row(1, 0, ["1", "2"])
    book.close()
    return path


def test_cells_read_as_the_text_they_stand_for(typed_book):
    headers, frame = read_xlsx(typed_book)
    assert headers == ["id", "Name", "Email", "Created on", "Day", "Revenue", "Active", "Zip", "Email", "", "Notes"]
    assert frame.columns == [f"c{i}" for i in range(11)]
    assert frame.rows() == [
        ("1", "Jane", "jane@example.com", "2023-05-04 10:22:00", "2023-05-04", "1500", "TRUE", "00123",
         "jane@home.example", "x", "line 1\nline 2"),
        ("2", "Jo", "", "2023-05-05 00:00:01", "2023-05-06", "2.5", "FALSE", "7", "", "", ""),
    ]
    assert all(dtype == pl.String for dtype in frame.dtypes)


def test_named_sheet_and_missing_sheet(typed_book):
    assert sheet_names(typed_book) == ["Leads", "Other"]
    headers, frame = read_xlsx(typed_book, sheet="Other")
    assert headers == ["a", "b"] and frame.rows() == [("1", "2")]
    with pytest.raises(InputError, match="no sheet named 'Missing' \\(sheets: 'Leads', 'Other'\\)"):
        read_xlsx(typed_book, sheet="Missing")


def test_not_a_workbook_is_a_one_line_error(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("id,name\n1,x\n")
    with pytest.raises(InputError, match="cannot read as an Excel workbook"):
        read_xlsx(path)


def test_round_trip_keeps_every_value_as_written(typed_book, tmp_path):
    headers, frame = read_xlsx(typed_book)
    out = tmp_path / "out.xlsx"
    write_xlsx(out, headers, frame, sheet="Leads")
    assert sheet_names(out) == ["Leads"]
    again_headers, again = read_xlsx(out)
    assert again_headers == headers
    assert again.equals(frame)


_CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20) | st.sampled_from(
    ["00123", "1.50", "TRUE", "=1+1", "2023-05-04", "1e5", " lead ", "http://x.example", "-0", "NA"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=1, max_size=6))
def test_written_text_reads_back_unchanged(tmp_path, rows):
    names = [f"c{i}" for i in range(3)]
    frame = pl.DataFrame({n: [r[i] for r in rows] for i, n in enumerate(names)}, schema=dict.fromkeys(names, pl.String))
    out = tmp_path / "prop.xlsx"
    write_xlsx(out, ["a", "b", "c"], frame)
    _, again = read_xlsx(out)
    # every value comes back exactly; only all-empty rows at the very end are not kept
    kept = len(rows)
    while kept and not any(rows[kept - 1]):
        kept -= 1
    assert again.rows() == frame.head(kept).rows()


def test_too_long_value_names_the_cell(tmp_path):
    frame = pl.DataFrame({"c0": ["ok", "x" * (MAX_CELL + 1)]})
    with pytest.raises(InputError, match="does not fit an Excel cell"):
        write_xlsx(tmp_path / "long.xlsx", ["Notes"], frame)


def test_sniff_binary_names_formats(typed_book, tmp_path):
    assert sniff_binary(typed_book.read_bytes()) == "an Excel workbook (.xlsx)"
    assert sniff_binary(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100).startswith("an old Excel workbook (.xls")
    assert sniff_binary(b"%PDF-1.7\n...") == "a PDF document"
    assert sniff_binary(gzip.compress(b"id,name\n")) == "a gzip archive"
    buf = io.BytesIO()
    pl.DataFrame({"a": [1]}).write_parquet(buf)
    assert sniff_binary(buf.getvalue()) == "a Parquet file"
    db = tmp_path / "x.db"
    with sqlite3.connect(db) as con:
        con.execute("create table t (a)")
    assert sniff_binary(db.read_bytes()) == "an SQLite database"
    assert sniff_binary("id\tname\r\n1\tJé\r\n".encode("utf-16")).startswith("UTF-16 text")
    no_bom = "id\tname\r\n1\tJé\r\n".encode("utf-16-le")
    assert sniff_binary(no_bom) == "UTF-16 text without a byte order mark (little-endian)"
    assert sniff_binary(b"PK\x03\x04" + b"\0" * 26 + b"word/document.xml") == "a Word document (.docx)"


def test_sniff_binary_leaves_text_alone():
    assert sniff_binary(b"id,name,email\n1,Jane,jane@example.com\n") is None
    assert sniff_binary("Id,Description\n1,caf\xe9 \x00 notes\n".encode("cp1252")) is None  # NUL inside a cp1252 cell
    assert sniff_binary(b"") is None


def _xlsxwriter_sheet(headers: list[str], frame: pl.DataFrame) -> bytes:
    """The sheet XML xlsxwriter writes cell by cell (constant_memory: inline strings)."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"constant_memory": True, "strings_to_numbers": False,
                                     "strings_to_formulas": False, "strings_to_urls": False})
    write = book.add_worksheet("Leads").write_string
    for c, header in enumerate(headers):
        if header:
            write(0, c, header)
    for r, row in enumerate(frame.rows(), start=1):
        for c, value in enumerate(row):
            if value:
                write(r, c, value)
    book.close()
    import zipfile

    return zipfile.ZipFile(buf).read("xl/worksheets/sheet1.xml")


_TRICKY = st.sampled_from(["a", " ", "\t", "\n", "\r", "&", "<", ">", '"', "_x000D_", "_X00aF_", "\x00", "\x01",
                           "\x1f", "\x0b", "é", "€", "\u00a0", "\u2028", "\ufffe", "\uffff", "=1+1", "00123",
                           "\U0001f600"])
_TRICKY_TEXT = st.lists(_TRICKY, max_size=4).map("".join)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 60).flatmap(lambda n: st.tuples(
    st.lists(_TRICKY_TEXT, min_size=n, max_size=n),
    st.lists(st.lists(_TRICKY_TEXT, min_size=n, max_size=n), max_size=6))))
def test_sheet_xml_is_what_xlsxwriter_writes(table):
    """The rows made column-wise in polars are byte for byte xlsxwriter's own (escaping of
    control characters and `_xHHHH_`, whitespace kept, used range, column letters past Z)."""
    import zipfile

    headers, rows = table
    names = [f"c{i}" for i in range(len(headers))]
    frame = pl.DataFrame([pl.Series(n, [r[i] for r in rows], dtype=pl.String) for i, n in enumerate(names)])
    buf = io.BytesIO()
    write_xlsx(buf, headers, frame, sheet="Leads")
    assert zipfile.ZipFile(buf).read("xl/worksheets/sheet1.xml") == _xlsxwriter_sheet(headers, frame)


def test_written_in_slices_as_whole(tmp_path):
    frame = pl.DataFrame({"c0": [str(i) for i in range(10)], "c1": ["x" if i % 3 else "" for i in range(10)]})
    whole, sliced = tmp_path / "whole.xlsx", tmp_path / "sliced.xlsx"
    write_xlsx(whole, ["id", "v"], frame)
    write_xlsx(sliced, ["id", "v"], frame.iter_slices(3))
    assert read_xlsx(sliced)[0] == ["id", "v"] and read_xlsx(sliced)[1].equals(frame)
    import zipfile

    sheet = "xl/worksheets/sheet1.xml"
    assert zipfile.ZipFile(sliced).read(sheet) == zipfile.ZipFile(whole).read(sheet)


def test_text_that_looks_like_rich_text_xml_stays_text(tmp_path):
    frame = pl.DataFrame({"c0": ["<r>x</r>", "<r><t>y</t></r>", "a & b <c>"]})
    write_xlsx(tmp_path / "rich.xlsx", ["Notes"], frame)
    assert read_xlsx(tmp_path / "rich.xlsx")[1].equals(frame)
