"""Odoo's multi-line records (docs/formats.md#odoo-multi-line-records): continuation lines of an
x2many sub-field are part of the record before them when read, and a record written anew is
spread back over lines as Odoo wrote it; untouched records keep their bytes, undo its input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from leadtool.check.lines import line_numbers
from leadtool.io import load
from leadtool.io.multiline import SPREAD_RECORD, spread, spread_texts
from leadtool.recognition import recognise
from leadtool.records import ID

EXPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "exports"
ODOO = EXPORTS / "odoo_multiline.csv"
TRUTH = json.loads((EXPORTS / "odoo_multiline.csv.truth.json").read_text(encoding="utf-8"))
HEADER = '"ID","Opportunity","Email","Created on","Tags/Tag Name"\n'


def tags_of(path: Path) -> dict[str, str]:
    records = load([str(path)])
    frame = records.frame
    return dict(zip(frame.get_column(ID).to_list(), frame.get_column(records.col("tag_ids")).to_list(),
                    strict=True))


@pytest.mark.parametrize("header", ["Tags/Tag Name", "Tags", "tag_ids/name", "tag_ids/id", "tag_ids",
                                    "Étiquettes/Nom de l'étiquette", "Tags/External ID"])
def test_odoo_sub_field_labels_are_tags(header):
    assert recognise(["ID", header, "Email"]).fields[1] == "tag_ids"


def test_a_slash_with_spaces_is_not_a_sub_field():
    assert 1 not in recognise(["ID", "Company / Tags", "Email"]).fields


def test_continuation_lines_are_folded_into_their_record():
    records = load([str(ODOO)])
    source = records.sources[0]
    assert len(records) == TRUTH["records"] and source.rows == 5 and source.multiline == 2
    assert tags_of(ODOO) == TRUTH["tags"]
    # line numbers count the continuation lines: the records start on lines 2, 5, 6, 8 and 9
    assert line_numbers(records).to_list() == [2, 5, 6, 8, 9]


def test_inspect_says_how_many_records_spanned_lines(cli):
    result = cli("inspect", ODOO, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)[0]
    assert (doc["rows"], doc["multiline_records"], doc["footer_lines"]) == (5, 2, 0)
    assert ["Tags/Tag Name", "tag_ids"] in [[m["header"], m["field"]] for m in doc["mapping"]]
    text = " ".join(cli("inspect", ODOO).stdout.split())
    assert "rows 5 multiline records 2 (continuation lines folded in)" in text
    assert "multiline records" not in cli("inspect", EXPORTS / "odoo_en.csv").stdout


def test_merge_unites_tags_spreads_them_back_and_undo_gives_the_input_back(cli, tmp_path):
    out, back = tmp_path / "out.csv", tmp_path / "back.csv"
    result = cli("merge", ODOO, "-o", out, "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in (tmp_path / "out.csv.audit.jsonl").read_text().splitlines()]
    assert [e["head"] for e in events if e["event"] == "merge"] == TRUTH["heads"]
    merged = tags_of(out)
    for head, tags in TRUTH["merged_tags"].items():
        assert merged[head] == tags
    text = out.read_text(encoding="utf-8")
    # a head's tags one a line, as Odoo writes them; the untouched record is its own bytes
    assert ('"__export__.crm_lead_2_3c6ef362","Acme - 50 licences","jane@acme.example","2023-02-15 08:30:00",'
            '"Software"\n"","","","","VIP"\n"","","","","Training"\n"","","","","Website"\n') in text
    assert '"__export__.crm_lead_8_f1bbcd88","Delta demo","dan@delta.example","2023-02-02 10:10:10",""\n' in text
    assert len(text.splitlines()) == 1 + 4 + 3 + 1
    result = cli("undo", tmp_path / "out.csv.audit.jsonl", "--input", out, "-o", back)
    assert result.exit_code == 0, result.output
    assert back.read_bytes() == ODOO.read_bytes()


def test_a_file_written_anew_keeps_the_layout(cli, tmp_path):
    # convert appends columns: every record is encoded, each spread over its lines
    out, back = tmp_path / "conv.csv", tmp_path / "back.csv"
    result = cli("convert", ODOO, "--all", "--customer", "none", "--no-dedupe", "--now", "2024-01-01 00:00:00",
                 "-o", out, "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 9 and lines[2] == '"","","","","VIP","","",""'
    assert tags_of(out) == TRUTH["tags"]
    result = cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", back, "--quiet")
    assert result.exit_code == 0, result.output
    assert back.read_bytes() == ODOO.read_bytes()


def test_bounded_merge_gives_the_same_bytes(cli, tmp_path):
    memory, bounded = tmp_path / "m.csv", tmp_path / "b.csv"
    assert cli("merge", ODOO, "-o", memory, "--yes", "--quiet").exit_code == 0
    result = cli("merge", ODOO, "-o", bounded, "--yes", "--memory-limit", "1M")
    assert result.exit_code == 0, result.output
    assert "merged in memory" in result.stderr
    assert bounded.read_bytes() == memory.read_bytes()


def test_blank_lines_and_a_leading_continuation(tmp_path):
    # a continuation-like first record stays a record; blank lines among the lines are kept
    path = tmp_path / "o.csv"
    path.write_text(HEADER + '"","","","","Lone"\n"1","A","a@x.example","2023-01-01 00:00:00","T1"\n\n'
                    '"","","","","T2"\n"2","B","b@x.example","2023-01-02 00:00:00",""\n', encoding="utf-8")
    records = load([str(path)])
    assert records.frame.get_column("Tags/Tag Name").to_list() == ["Lone", "T1,T2", ""]
    assert line_numbers(records).to_list() == [2, 3, 6]


def test_two_x2many_columns_of_different_lengths(cli, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text('"ID","Email","Tags/Tag Name","Activities/Summary"\n'
                    '"1","a@x.example","T1","Call"\n"","","T2",""\n"","","","Mail"\n'
                    '"2","a@x.example","T3",""\n', encoding="utf-8")
    records = load([str(path)])
    frame = records.frame
    assert frame.get_column("Tags/Tag Name").to_list() == ["T1,T2", "T3"]
    assert frame.get_column("Activities/Summary").to_list() == ["Call,Mail", ""]
    out = tmp_path / "out.csv"
    assert cli("merge", path, "-o", out, "--yes", "--quiet").exit_code == 0
    assert out.read_text(encoding="utf-8") == ('"ID","Email","Tags/Tag Name","Activities/Summary"\n'
                                               '"1","a@x.example","T1","Call"\n"","","T2","Mail"\n'
                                               '"","","T3",""\n')


def test_another_crms_export_is_never_folded(tmp_path):
    path = tmp_path / "sf.csv"
    path.write_text('"Lead ID","Email","Created Date","Lead Source/Detail"\n"1","a@x.example","5/4/2023",""\n'
                    '"","","","Web"\n', encoding="utf-8")
    records = load([str(path)])
    assert records.sources[0].recognition.preset is not None
    assert len(records) == 2 and records.sources[0].multiline == 0


def test_a_large_file_is_folded_and_copied(cli, tmp_path):
    # over a MiB, no blank line: polars parses it and the record places are found when folding
    path = tmp_path / "big.csv"
    body = "".join(f'"{i}","Name {i}","p{i % 5000}@x.example","2023-01-01 00:00:00","A"\n"","","","","B"\n'
                   for i in range(15_000))
    path.write_text(HEADER + body, encoding="utf-8")
    assert path.stat().st_size > 1 << 20
    records = load([str(path)])
    assert len(records) == 15_000 and records.sources[0].multiline == 15_000
    assert set(records.frame.get_column("Tags/Tag Name").unique().to_list()) == {"A,B"}
    out, back = tmp_path / "out.csv", tmp_path / "back.csv"
    assert cli("merge", path, "-o", out, "--yes", "--quiet").exit_code == 0
    assert len(load([str(out)])) == 5000
    assert cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", back, "--quiet").exit_code == 0
    assert back.read_bytes() == path.read_bytes()


def test_spread_is_the_inverse_of_the_fold():
    frame = pl.DataFrame({"id": ["1", "2"], "tags": ["a,b,c", ""]})
    lines = spread(frame, ["id", "tags"], ["tags"])
    assert lines.drop(SPREAD_RECORD).rows() == [("1", "a"), ("", "b"), ("", "c"), ("2", "")]
    texts = pl.Series(["1;a", ";b", ";c", "2;"])
    assert spread_texts(texts, lines.get_column(SPREAD_RECORD), "\r\n").to_list() == ["1;a\r\n;b\r\n;c", "2;"]


def test_slash_headers_without_an_x2many_field_are_not_odoo_layout(tmp_path):
    # `N/A` and `Yes/No` have the Field/Sub field form but no tags column: every line is a record
    path = tmp_path / "o.csv"
    path.write_text('N/A,Yes/No,Email\nx,,a@x.example\n,,\n ,,\n,y,\n', encoding="utf-8")
    records = load([str(path)])
    assert records.frame.height == 4
    assert records.frame.get_column("N/A").to_list() == ["x", "", " ", ""]


def test_an_odoo_workbook_over_several_rows(cli, tmp_path):
    """Odoo's XLSX export lays x2many sub-fields out as its CSV does: folded on reading, spread
    back over rows in a workbook output, and undo gives back every cell."""
    from leadtool.io.xlsx import read_xlsx, write_xlsx

    table = pl.read_csv(ODOO, infer_schema=False).fill_null("")
    book, out, back = tmp_path / "odoo.xlsx", tmp_path / "merged.xlsx", tmp_path / "back.xlsx"
    write_xlsx(book, table.columns, table)
    assert tags_of(book) == TRUTH["tags"]
    summary = json.loads(cli("inspect", book, "--format", "json").stdout)[0]
    assert summary["rows"] == TRUTH["records"] and summary["multiline_records"] == 2
    assert cli("merge", book, "-o", out, "--yes", "--quiet").exit_code == 0
    assert {k: v for k, v in tags_of(out).items() if k in TRUTH["merged_tags"]} == TRUTH["merged_tags"]
    rows = read_xlsx(out)[1].rows()
    assert rows[0][-1] == "Software" and rows[1] == ("", "", "", "", "VIP")  # one value a row, as Odoo
    assert cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", back).exit_code == 0
    assert read_xlsx(back)[1].equals(read_xlsx(book)[1])
