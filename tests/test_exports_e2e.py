"""The exports of tests/fixtures/exports/ run end to end through the command line, as a new user
runs them (no config, no --map): inspect recognises the system or the language, dupes finds the
groups of the truth file in head order, merge keeps the oldest record of each and leaves the
closed and placeholder records alone, undo gives the input back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from leadtool.records import Records

HERE = Path(__file__).resolve().parent / "fixtures" / "exports"

#: the CSV exports this phase reads (xlsx, Odoo's multi-line records and UTF-16 text come with
#: the reading work of issue 14)
CSV_EXPORTS = ["odoo_en.csv", "odoo_fr.csv", "hubspot_contacts.csv", "zoho_leads.csv", "pipedrive_people.csv",
               "salesforce_lead.csv", "salesforce_report_us.csv", "salesforce_report_uk.csv", "odoo_multiline.csv"]


def truth(name: str) -> dict:
    return json.loads((HERE / f"{name}.truth.json").read_text(encoding="utf-8"))


def rows(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def data_rows(name: str) -> list[list[str]]:
    """The input's header and records (a footer line has one cell, not the header's)."""
    enc = truth(name).get("encoding", "utf-8-sig")
    table = rows(HERE / name, "cp1252" if enc == "cp1252" else "utf-8-sig")
    return [table[0], *[r for r in table[1:] if len(r) == len(table[0])]]


@pytest.mark.parametrize("name", CSV_EXPORTS)
def test_inspect_recognises_the_system_or_language(cli, name):
    t = truth(name)
    result = cli("inspect", HERE / name, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)[0]
    assert doc["preset"] == t["preset"]
    assert doc["preset_detected"] == (t["preset"] is not None)
    if "language" in t:
        assert doc["language"] == t["language"]
    assert doc["won_or_closed"] == len(t.get("closed", []))
    # footer lines are not records (salesforce reports: 10 records, 5 footer lines)
    assert (doc["rows"], doc["footer_lines"]) == (t["records"], len(t.get("footer", [])))
    assert set(doc["placeholder_keys"]) == set(t.get("placeholders", []))
    if t.get("date_order"):
        assert doc["dates"].startswith("day first" if t["date_order"] == "dmy" else "month first")
    text = " ".join(cli("inspect", HERE / name).stdout.split())
    if t["preset"]:
        assert "looks like" in text and f"preset {t['preset']}" in text
    if t.get("language"):
        assert "French (fr)" in text


@pytest.mark.parametrize("name", CSV_EXPORTS)
def test_dupes_finds_the_known_groups_in_head_order(cli, name):
    t = truth(name)
    result = cli("dupes", HERE / name, "--format", "csv")
    assert result.exit_code == 0, result.output
    found: dict[str, list[str]] = {}
    for row in csv.DictReader(io.StringIO(result.stdout)):
        found.setdefault(row["group"], []).append(row["id"])
    assert list(found.values()) == t["groups"]
    grouped = {i for ids in found.values() for i in ids}
    assert not grouped & set(t.get("closed", []))


@pytest.mark.parametrize("name", CSV_EXPORTS)
def test_merge_keeps_the_oldest_and_undo_gives_the_input_back(cli, tmp_path, name):
    t = truth(name)
    out, audit, back = tmp_path / "out.csv", tmp_path / "out.csv.audit.jsonl", tmp_path / "back.csv"
    result = cli("merge", HERE / name, "-o", out, "--yes")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    merges = [e for e in events if e["event"] == "merge"]
    assert [e["head"] for e in merges] == t["heads"]
    assert [[e["head"], *e["merged"]] for e in merges] == t["groups"]
    # the columns are the input's: a composed contact name is never written
    enc = "cp1252" if t.get("encoding") == "cp1252" else "utf-8-sig"
    assert rows(out, enc)[0] == data_rows(name)[0]
    result = cli("undo", audit, "--input", out, "-o", back)
    assert result.exit_code == 0, result.output
    # blank lines and report footers included: undo gives every file back byte for byte
    assert back.read_bytes() == (HERE / name).read_bytes()


def test_salesforce_lead_export_maps_job_title_and_composes_the_name(cli, tmp_path):
    from leadtool.io import load
    from leadtool.match.normalize import contact_name_expr

    t = truth("salesforce_lead.csv")
    records: Records = load([str(HERE / "salesforce_lead.csv")])  # cp1252, told from its bytes
    assert records.headers[records.col("function")] == "Title"  # the job title, not the salutation
    assert records.headers[records.col("title")] == "Salutation"
    names = records.frame.select(contact_name_expr(records).alias("n"), "__lt_id")
    got = dict(zip(names["__lt_id"].to_list(), names["n"].to_list(), strict=True))
    for rid, name in t["contact_name"].items():
        assert got[rid] == name
    # the placeholder address of five people at four companies joins none of them
    result = cli("dupes", HERE / "salesforce_lead.csv", "--format", "json")
    reasons = [r for g in json.loads(result.stdout)["groups"] for r in g["reasons"]]
    assert not any(k in r for r in reasons for k in t["placeholders"])


def test_ambiguous_report_needs_a_date_order(cli, tmp_path):
    name = "salesforce_report_ambiguous.csv"
    t = truth(name)
    for command in (["dupes"], ["merge", "-o", str(tmp_path / "o.csv"), "--yes"], ["check"]):
        result = cli(command[0], HERE / name, *command[1:])
        assert result.exit_code == 2, result.output
        assert "--date-order dmy or --date-order mdy" in result.stderr and t["example"] in result.stderr
        assert not (tmp_path / "o.csv").exists()
    result = cli("dupes", HERE / name, "--date-order", "dmy", "--format", "csv")
    assert result.exit_code == 0, result.output
    heads = [r["id"] for r in csv.DictReader(io.StringIO(result.stdout)) if r["head"] == "true"]
    # Carla Diaz: 01/02/2023 (1 February, day first) before 11/02/2023
    assert heads == ["00Q5e000000105AbCAAA"]
    result = cli("dupes", HERE / name, "--date-order", "mdy", "--format", "csv")
    heads = [r["id"] for r in csv.DictReader(io.StringIO(result.stdout)) if r["head"] == "true"]
    assert heads == ["00Q5e000000105AbCAAA"]  # 1 January before 2 November: the same head
    inspect = json.loads(cli("inspect", HERE / name, "--format", "json").stdout)[0]
    assert inspect["dates"].startswith("ambiguous")


def test_french_export_converts_with_french_words(cli, tmp_path):
    out = tmp_path / "out.csv"
    result = cli("convert", HERE / "odoo_fr.csv", "--ids", "__export__.crm_lead_8_f1bbcd88", "--customer", "none",
                 "--now", "2024-01-01 00:00:00", "-o", out, "--yes", "--no-dedupe")
    assert result.exit_code == 0, result.output
    table = {r[0]: r for r in rows(out)}
    header = rows(out)[0]
    assert table["__export__.crm_lead_8_f1bbcd88"][header.index("Type")] == "Opportunité"
