"""Excel workbooks through every command (issue 14): recognised by their bytes whatever their
name, `--sheet`, `.xlsx` outputs, undo cell for cell; other binary files refused by what they
look like; NUL bytes inside the cells of a cp1252 file."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from conftest import SAMPLES, assert_one_line_error, groups_of

import leadtool
from leadtool.bounded import BoundedMerge, NotBounded
from leadtool.io.xlsx import read_xlsx, sheet_names, workbook_kind

EXPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "exports"
BOOKS = ["odoo_en.xlsx", "odoo_fr.xlsx"]


def truth(name: str) -> dict:
    return json.loads((EXPORTS / f"{name}.truth.json").read_text(encoding="utf-8"))


def ids_of(path: Path) -> list[str]:
    headers, frame = read_xlsx(path)
    return frame.get_column(f"c{headers.index('ID')}").to_list()


def two_sheets(path: Path) -> Path:
    """A workbook whose first sheet has no duplicates and whose second has one group."""
    book = xlsxwriter.Workbook(str(path))
    first = book.add_worksheet("Notes")
    first.write_row(0, 0, ["id", "Email", "Created on"])
    first.write_row(1, 0, ["1", "ann@a.example", "2024-01-01"])
    first.write_row(2, 0, ["2", "bob@b.example", "2024-01-02"])
    second = book.add_worksheet("Leads 2024")
    second.write_row(0, 0, ["id", "Email", "Created on", "Zip"])
    second.write_row(1, 0, ["10", "cy@c.example", "2024-03-01", "00123"])
    second.write_row(2, 0, ["11", "CY@c.example", "2024-02-01", ""])
    second.write_row(3, 0, ["12", "di@d.example", "2024-02-01", "7"])
    book.close()
    return path


# ----------------------------------------------------------------------------- the fixtures
@pytest.mark.parametrize("name", BOOKS)
def test_inspect_recognises_the_workbook(cli, name):
    t = truth(name)
    result = cli("inspect", EXPORTS / name, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)[0]
    assert doc["format"] == "Excel workbook (.xlsx), sheet 'Sheet1'"
    assert doc["rows"] == t["records"]
    assert doc["preset"] == t["preset"]
    if t.get("language"):
        assert doc["language"] == t["language"]
    assert doc["won_or_closed"] == len(t["closed"])
    assert set(doc["placeholder_keys"]) == set(t["placeholders"])
    text = cli("inspect", EXPORTS / name).stdout
    assert "Excel workbook (.xlsx), sheet 'Sheet1'" in text


@pytest.mark.parametrize("name", BOOKS)
def test_dupes_finds_the_known_groups(cli, name):
    assert groups_of(cli, EXPORTS / name) == truth(name)["groups"]


@pytest.mark.parametrize("name", BOOKS)
def test_merge_keeps_the_oldest_and_undo_restores_cell_for_cell(cli, tmp_path, name):
    t = truth(name)
    out, audit, back = tmp_path / "out.xlsx", tmp_path / "out.xlsx.audit.jsonl", tmp_path / "back.xlsx"
    result = cli("merge", EXPORTS / name, "-o", out, "--yes")
    assert result.exit_code == 0, result.output
    assert workbook_kind(out.read_bytes()) == "xlsx" and sheet_names(out) == ["Sheet1"]
    events = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    merges = [e for e in events if e["event"] == "merge"]
    assert [[e["head"], *e["merged"]] for e in merges] == t["groups"]
    away = {i for g in t["groups"] for i in g[1:]}
    original = ids_of(EXPORTS / name)
    assert ids_of(out) == [i for i in original if i not in away]
    # the records no rule changed keep every cell; the columns keep their order
    headers, before = read_xlsx(EXPORTS / name)
    out_headers, after = read_xlsx(out)
    assert out_headers == headers
    untouched = [k for k, i in enumerate(original) if i not in away and i not in t["heads"]]
    kept = [k for k, i in enumerate(ids_of(out)) if i not in t["heads"]]
    assert before[untouched].rows() == after[kept].rows()

    result = cli("undo", audit, "--input", out, "-o", back)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert read_xlsx(back)[0] == headers
    assert read_xlsx(back)[1].equals(before)
    assert sheet_names(back) == sheet_names(EXPORTS / name)


def test_merge_of_a_workbook_to_csv_writes_csv(cli, tmp_path):
    out, back = tmp_path / "out.csv", tmp_path / "back.xlsx"
    result = cli("merge", EXPORTS / "odoo_en.xlsx", "-o", out, "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"ID,Opportunity,Type,") and b"\r\n" in data
    table = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    merged, _ = read_xlsx(EXPORTS / "odoo_en.xlsx")
    assert table[0] == merged
    assert len(table) - 1 == truth("odoo_en.xlsx")["records"] - 3
    # undo of that CSV, written as a workbook, is the input's cells
    result = cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", back, "--quiet")
    assert result.exit_code == 0, result.output
    assert read_xlsx(back)[1].equals(read_xlsx(EXPORTS / "odoo_en.xlsx")[1])


@pytest.mark.parametrize("name", ["out.json", "out.jsonl"])
def test_merge_of_a_workbook_to_json_writes_json(cli, tmp_path, name):
    out, back = tmp_path / name, tmp_path / "back.xlsx"
    assert cli("merge", EXPORTS / "odoo_en.xlsx", "-o", out, "--yes", "--quiet").exit_code == 0
    text = out.read_text(encoding="utf-8")
    objects = json.loads(text) if name.endswith(".json") else [json.loads(line) for line in text.splitlines()]
    assert objects[0]["ID"] == "__export__.crm_lead_2_3c6ef362" and objects[0]["Created on"] == "2023-02-15 08:30:00"
    assert cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", back, "--quiet").exit_code == 0
    assert read_xlsx(back)[1].equals(read_xlsx(EXPORTS / "odoo_en.xlsx")[1])


def test_a_workbook_is_recognised_whatever_its_name(cli, tmp_path, runner):
    for name in ("leads.csv", "leads", "leads.json"):
        path = tmp_path / name
        shutil.copy(EXPORTS / "odoo_en.xlsx", path)
        assert groups_of(cli, path) == truth("odoo_en.xlsx")["groups"]
    result = cli("dupes", "-", "--format", "csv", input=(EXPORTS / "odoo_en.xlsx").read_bytes())
    assert result.exit_code == 0, result.output
    assert "__export__.crm_lead_2_3c6ef362" in result.stdout


def test_convert_and_check_read_workbooks(cli, tmp_path):
    out = tmp_path / "conv.xlsx"
    result = cli("convert", EXPORTS / "odoo_en.xlsx", "--all", "--customer", "none", "--now", "2024-01-01 00:00:00",
                 "-o", out, "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    def leads(path: Path) -> int:
        headers, frame = read_xlsx(path)
        return frame.get_column(f"c{headers.index('Type')}").to_list().count("Lead")

    assert leads(EXPORTS / "odoo_en.xlsx") > leads(out)
    back = tmp_path / "back.xlsx"
    result = cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", back, "--quiet")
    assert result.exit_code == 0, result.output
    assert read_xlsx(back)[1].equals(read_xlsx(EXPORTS / "odoo_en.xlsx")[1])
    # check: a problem is placed on its sheet row (the header is row 1)
    result = cli("check", EXPORTS / "odoo_en.xlsx", "--format", "github")
    assert result.exit_code == 1
    ids = ids_of(EXPORTS / "odoo_en.xlsx")
    row_of = {i: k + 2 for k, i in enumerate(ids)}
    first = next(line for line in result.stdout.splitlines() if line.startswith("::error"))
    rid = first.rsplit("(id ", 1)[1].rstrip(")")
    assert f"line={row_of[rid]}," in first


def test_audit_of_a_workbook_without_ids_names_file_and_row(cli, tmp_path):
    path = tmp_path / "noid.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("People")
    sheet.write_row(0, 0, ["Email", "Created on", "City"])
    sheet.write_row(1, 0, ["a@x.example", "2024-02-01", ""])
    sheet.write_row(2, 0, ["A@x.example", "2024-01-01", "Gent"])
    sheet.write_row(3, 0, ["b@x.example", "2024-01-01", "Luik"])
    book.close()
    other = tmp_path / "more.csv"
    other.write_text("Email,Created on,City\nb@x.example,2023-01-01,\n", encoding="utf-8")
    out = tmp_path / "out.xlsx"
    result = cli("merge", path, other, "-o", out, "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    merges = [json.loads(line) for line in (tmp_path / "out.xlsx.audit.jsonl").read_text().splitlines()][1:]
    assert [[m["head"], *m["merged"]] for m in merges] == [["noid.xlsx:2", "noid.xlsx:1"],
                                                          ["more.csv:1", "noid.xlsx:3"]]
    assert merges[0]["records"]["noid.xlsx:1"]["row"] == 1
    assert sheet_names(out) == ["People"]
    back = tmp_path / "back.xlsx"
    assert cli("undo", tmp_path / "out.xlsx.audit.jsonl", "--input", out, "-o", back, "--quiet").exit_code == 0
    _, restored = read_xlsx(back)
    assert restored.rows() == [("a@x.example", "2024-02-01", ""), ("A@x.example", "2024-01-01", "Gent"),
                               ("b@x.example", "2024-01-01", "Luik"), ("b@x.example", "2023-01-01", "")]


# ----------------------------------------------------------------------------- --sheet
def test_sheet_option_selects_a_sheet_on_every_command(cli, tmp_path):
    path = two_sheets(tmp_path / "two.xlsx")
    assert groups_of(cli, path) == []
    assert groups_of(cli, path, "--sheet", "Leads 2024") == [["11", "10"]]
    doc = json.loads(cli("inspect", path, "--sheet", "Leads 2024", "--format", "json").stdout)[0]
    assert doc["format"] == "Excel workbook (.xlsx), sheet 'Leads 2024'" and doc["rows"] == 3
    assert cli("check", path, "--sheet", "Leads 2024").exit_code == 1
    assert cli("check", path).exit_code == 0
    out = tmp_path / "out.xlsx"
    assert cli("merge", path, "--sheet", "Leads 2024", "-o", out, "--yes", "--quiet").exit_code == 0
    assert sheet_names(out) == ["Leads 2024"]  # the sheet's name is kept, the other sheet is not
    assert read_xlsx(out)[1].rows() == [("11", "CY@c.example", "2024-02-01", "00123"),
                                        ("12", "di@d.example", "2024-02-01", "7")]
    back = tmp_path / "back.xlsx"
    result = cli("undo", f"{out}.audit.jsonl", "--input", out, "--sheet", "Leads 2024", "-o", back, "--quiet")
    assert result.exit_code == 0, result.output
    assert read_xlsx(back)[1].equals(read_xlsx(path, sheet="Leads 2024")[1])
    conv = tmp_path / "conv.csv"
    result = cli("convert", path, "--sheet", "Leads 2024", "--all", "--customer", "none", "-o", conv, "--yes",
                 "--quiet")
    assert result.exit_code == 0, result.output


def test_unknown_sheet_is_a_one_line_error(cli, tmp_path):
    path = two_sheets(tmp_path / "two.xlsx")
    for command in (["inspect"], ["dupes"], ["check"], ["merge", "-o", str(tmp_path / "o.csv"), "--yes"],
                    ["convert", "--all", "-o", str(tmp_path / "o.csv"), "--yes"]):
        result = cli(command[0], path, "--sheet", "Leads", *command[1:])
        assert_one_line_error(result, str(path), "no sheet named 'Leads'", "'Notes', 'Leads 2024'")
    assert not (tmp_path / "o.csv").exists()
    result = cli("dupes", SAMPLES / "leads.csv", "--sheet", "Leads")
    assert_one_line_error(result, "--sheet 'Leads'", "no input is a workbook")


def test_library_reads_a_sheet_and_writes_a_workbook(tmp_path):
    path = two_sheets(tmp_path / "two.xlsx")
    df = leadtool.load(str(path), sheet="Leads 2024")
    assert list(df["Zip"]) == ["00123", "", "7"]
    assert len(leadtool.find_groups(df)) == 2
    leadtool.write(df, str(tmp_path / "copy.xlsx"))
    assert read_xlsx(tmp_path / "copy.xlsx")[1].equals(read_xlsx(path, sheet="Leads 2024")[1])
    assert sheet_names(tmp_path / "copy.xlsx") == ["Leads 2024"]


# ----------------------------------------------------------------------------- outputs
def test_csv_input_to_an_xlsx_output(cli, samples, tmp_path):
    out = tmp_path / "merged.xlsx"
    assert cli("merge", samples / "leads.csv", "-o", out, "--yes", "--quiet").exit_code == 0
    assert sheet_names(out) == ["Sheet1"]
    ref = tmp_path / "merged.csv"
    assert cli("merge", samples / "leads.csv", "-o", ref, "--yes", "--quiet").exit_code == 0
    table = list(csv.reader(io.StringIO(ref.read_bytes().decode("utf-8"), newline="")))
    headers, frame = read_xlsx(out)
    assert [headers, *[list(r) for r in frame.rows()]] == table
    back = tmp_path / "back.csv"
    assert cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", back, "--quiet").exit_code == 0
    assert list(csv.reader(io.StringIO(back.read_bytes().decode("utf-8"), newline=""))) == list(
        csv.reader(io.StringIO((samples / "leads.csv").read_bytes().decode("utf-8"), newline="")))


def test_other_workbook_names_are_refused_as_outputs_of_workbooks(cli, samples, tmp_path):
    for name in ("out.xlsm", "out.xls", "out.ods"):
        result = cli("merge", EXPORTS / "odoo_en.xlsx", "-o", tmp_path / name, "--yes", "--quiet")
        assert_one_line_error(result, name, ".xlsx")
        assert not list(tmp_path.iterdir())
    # a CSV input's output is the CSV file it always was, whatever its name
    assert cli("merge", samples / "leads.csv", "-o", tmp_path / "out.xls", "--yes", "--quiet").exit_code == 0
    assert cli("merge", samples / "leads.csv", "-o", tmp_path / "out.csv", "--yes", "--quiet").exit_code == 0
    assert (tmp_path / "out.xls").read_bytes() == (tmp_path / "out.csv").read_bytes()


# ----------------------------------------------------------------------------- other binary files
def _binaries(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    buf = io.BytesIO()
    pl.DataFrame({"a": [1]}).write_parquet(buf)
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("leads.csv", "id,email\n1,a@x.example\n")
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "WordDocument".encode("utf-16-le")
    return {
        "report.pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "a PDF document"),
        "logo.png": (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "a PNG image"),
        "leads.csv.gz": (gzip.compress(b"id,email\n1,a@x.example\n"), "a gzip archive"),
        "leads.zip": (plain.getvalue(), "a ZIP archive without a workbook"),
        "leads.parquet": (buf.getvalue(), "a Parquet file"),
        "letter.doc": (ole, "an OLE2 compound file"),
        "locked.xlsx": (ole + "EncryptedPackage".encode("utf-16-le"), "a password-protected Office file"),
    }


@pytest.mark.parametrize("command", ["inspect", "dupes", "check", "merge", "convert"])
def test_binary_files_are_named_not_decoded(cli, tmp_path, command):
    for name, (data, looks) in _binaries(tmp_path).items():
        path = tmp_path / name.replace(".", "_") if command == "check" else tmp_path / name
        path.write_bytes(data)
        extra = {"merge": ["-o", str(tmp_path / "o.csv"), "--yes"],
                 "convert": ["--all", "-o", str(tmp_path / "o.csv"), "--yes"]}.get(command, [])
        result = cli(command, path, *extra)
        assert_one_line_error(result, str(path), f"looks like {looks}", "not a CSV, JSON or Excel file")
        assert "decode" not in result.stderr and "UTF-8" not in result.stderr


def test_binary_file_under_memory_limit_and_as_undo_input(cli, tmp_path, samples):
    pdf = tmp_path / "big.csv"
    pdf.write_bytes(b"%PDF-1.7\n" + b"x" * 5000)
    result = cli("merge", pdf, "-o", tmp_path / "o.csv", "--yes", "--memory-limit", "20K")
    assert_one_line_error(result, "looks like a PDF document")
    merged = tmp_path / "m.csv"
    assert cli("merge", samples / "leads.csv", "-o", merged, "--yes", "--quiet").exit_code == 0
    result = cli("undo", f"{merged}.audit.jsonl", "--input", pdf, "-o", tmp_path / "b.csv", "--force")
    assert_one_line_error(result, "looks like a PDF document")


MANIFEST = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            '</manifest:manifest>')


def test_odf_spreadsheet_and_damaged_workbooks(cli, tmp_path):
    ods = tmp_path / "leads.ods"
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Leads">'
        + "".join("<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>' for v in row)
            + "</table:table-row>" for row in (["id", "Email"], ["1", "a@x.example"], ["2", "A@X.example"]))
        + "</table:table></office:spreadsheet></office:body></office:document-content>")
    with zipfile.ZipFile(ods, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", MANIFEST)
    doc = json.loads(cli("inspect", ods, "--format", "json").stdout)[0]
    assert doc["format"] == "OpenDocument spreadsheet (.ods), sheet 'Leads'"
    assert groups_of(cli, ods) == [["1", "2"]]
    # an .xls (OLE2 with a Workbook stream) that fastexcel cannot read: one line, no traceback
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "Workbook".encode("utf-16-le") + b"\0" * 64)
    assert workbook_kind(xls.read_bytes()) == "xls"
    assert_one_line_error(cli("inspect", xls), str(xls), "cannot read as an Excel workbook")
    truncated = tmp_path / "cut.xlsx"
    truncated.write_bytes((EXPORTS / "odoo_en.xlsx").read_bytes()[:3000])
    assert_one_line_error(cli("dupes", truncated), str(truncated), "cannot read as an Excel workbook")
    empty = tmp_path / "empty.xlsx"
    book = xlsxwriter.Workbook(str(empty))
    book.add_worksheet("Blank")
    book.close()
    assert_one_line_error(cli("inspect", empty), "sheet 'Blank' is empty")


def test_cells_of_another_kind_than_their_column_keep_their_text(tmp_path):
    import datetime as dt

    path = tmp_path / "mixed.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet.write_row(0, 0, ["id", "Created on", "Revenue", "Phone"])
    sheet.write_number(1, 0, 1)
    sheet.write_datetime(1, 1, dt.datetime(2023, 5, 4, 10, 22), stamp)
    sheet.write_number(1, 2, 1500.0)
    sheet.write_number(1, 3, 3225550101)
    sheet.write_number(2, 0, 2)
    sheet.write_string(2, 1, "n/a")
    sheet.write_string(2, 2, "TBD")
    sheet.write_formula(2, 3, "=NA()", None, "#N/A")
    book.close()
    _, frame = read_xlsx(path)
    assert frame.rows() == [("1", "2023-05-04 10:22:00", "1500", "3225550101"), ("2", "n/a", "TBD", "")]


# ----------------------------------------------------------------------------- bounded merge
def test_bounded_merge_falls_back_for_workbooks(cli, tmp_path):
    book = tmp_path / "looks_like.csv"
    shutil.copy(EXPORTS / "odoo_en.xlsx", book)
    with pytest.raises(NotBounded, match="Excel workbook"):
        BoundedMerge([str(book)], memory_limit=1 << 20, output=str(tmp_path / "o.csv"))
    with pytest.raises(NotBounded, match="Excel workbook"):
        BoundedMerge([str(SAMPLES / "leads.csv")], memory_limit=1 << 20,
                     output=str(tmp_path / "o.xlsx"))
    out, ref = tmp_path / "out.csv", tmp_path / "ref.csv"
    result = cli("merge", book, "-o", out, "--yes", "--memory-limit", "20K")
    assert result.exit_code == 0, result.output
    assert "merged in memory (an Excel workbook" in result.stderr
    assert cli("merge", book, "-o", ref, "--yes", "--quiet").exit_code == 0
    assert out.read_bytes() == ref.read_bytes()


# ----------------------------------------------------------------------------- NUL bytes
RICH = ('"Id","Description","Email"\r\n'
        '"1","Caf\xe9 \x00 notes \u2013 rich text","ann@x.example"\r\n'
        '"2","Second","bob@x.example"\r\n'
        '"3","Third \x00","ANN@x.example"\r\n').encode("cp1252")


def test_nul_bytes_inside_cp1252_cells_are_read(cli, tmp_path):
    path = tmp_path / "Opportunity.csv"
    path.write_bytes(RICH)
    doc = json.loads(cli("inspect", path, "--format", "json").stdout)[0]
    assert doc["encoding"] == "cp1252" and doc["rows"] == 3
    df = leadtool.load(str(path))
    assert list(df["Description"]) == ["Caf\xe9 \x00 notes \u2013 rich text", "Second", "Third \x00"]
    out, back = tmp_path / "out.csv", tmp_path / "back.csv"
    result = cli("merge", path, "-o", out, "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert b'"2","Second","bob@x.example"\r\n' in data  # an untouched record: its bytes
    assert "Caf\xe9 \x00 notes \u2013 rich text\n\nThird \x00".encode("cp1252") in data
    assert cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", back, "--quiet").exit_code == 0
    assert back.read_bytes() == RICH


def test_nul_bytes_inside_utf8_cells_and_utf16_still_refused(cli, tmp_path):
    path = tmp_path / "utf8.csv"
    data = RICH.decode("cp1252").encode("utf-8")
    path.write_bytes(data)
    out = tmp_path / "out.csv"
    assert cli("merge", path, "-o", out, "--yes", "--quiet").exit_code == 0
    assert cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", tmp_path / "b.csv", "--quiet").exit_code == 0
    assert (tmp_path / "b.csv").read_bytes() == data
    # UTF-16 without a byte order mark is a NUL beside every letter: still named, not read as cp1252
    wide = tmp_path / "wide.csv"
    wide.write_bytes("id,email\r\n1,caf\xe9@x.example\r\n".encode("utf-16-le"))
    assert_one_line_error(cli("inspect", wide), "--encoding utf-16-le")


def test_text_starting_like_a_magic_number_is_text(cli, tmp_path):
    path = tmp_path / "orcid"
    path.write_text("ORCID,Email\n0000-0001,a@x.example\n0000-0002,A@x.example\n", encoding="utf-8")
    assert groups_of(cli, path) == [["1", "2"]]


def test_too_many_rows_for_a_sheet_is_an_error_and_writes_nothing(cli, samples, tmp_path, monkeypatch):
    monkeypatch.setattr("leadtool.io.xlsx.MAX_ROWS", 20)
    out = tmp_path / "out.xlsx"
    result = cli("merge", samples / "leads.csv", "-o", out, "--yes", "--quiet")
    assert_one_line_error(result, str(out), "more than 19 records do not fit an Excel sheet")
    assert not list(tmp_path.iterdir())


def test_spark_engine_refuses_workbooks_before_starting(cli, tmp_path):
    book = tmp_path / "leads.csv"
    shutil.copy(EXPORTS / "odoo_en.xlsx", book)
    result = cli("merge", book, "-o", tmp_path / "o.csv", "--engine", "spark", "--yes")
    assert_one_line_error(result, str(book), "read by the local engine only")
    pdf = tmp_path / "r.csv"
    pdf.write_bytes(b"%PDF-1.7\n")
    assert_one_line_error(cli("merge", pdf, "-o", tmp_path / "o.csv", "--engine", "spark", "--yes"),
                          "looks like a PDF document")
    result = cli("merge", SAMPLES / "leads.csv", "-o", tmp_path / "o.csv", "--engine", "spark", "--sheet", "S")
    assert_one_line_error(result, "--sheet is not supported with --engine spark")


def test_inspect_gives_a_workbook_no_encoding(cli) -> None:
    path = Path(__file__).resolve().parents[1] / "fixtures" / "exports" / "odoo_en.xlsx"
    doc = json.loads(cli("inspect", path, "--format", "json").stdout)[0]
    assert doc["encoding"] is None and doc["delimiter"] is None
    table = cli("inspect", path).stdout
    assert "Excel workbook" in table and "encoding" not in table
