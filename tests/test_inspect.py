"""`leadtool inspect` on the bundled samples: their known content (see samples/make_samples.py)."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLES

LEADS_COUNTS = {
    "rows": 40, "leads": 22, "opportunities": 18, "archived": 2, "won_or_closed": 4,
    "empty_emails": 6, "invalid_emails": 3, "duplicate_groups": 8,
    "records_in_duplicate_groups": 17,
}


def test_inspect_text(cli) -> None:
    result = cli("inspect", SAMPLES / "leads.csv")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "leads.csv" in out
    assert "CSV (comma)" in out and "every field quoted" in out
    assert "22 / 18" in out  # leads / opportunities
    assert "8 (17 records)" in out  # duplicate email groups
    for header, fld in [("email_from", "email_from"), ("tag_ids", "tag_ids")]:
        assert any(header in line and fld in line for line in out.splitlines())
    assert any("x_source" in line and "unmapped" in line for line in out.splitlines())
    assert result.stderr == ""


def test_inspect_json_counts(cli) -> None:
    result = cli("inspect", SAMPLES / "leads.csv", "--format", "json")
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.stdout)
    assert {k: summary[k] for k in LEADS_COUNTS} == LEADS_COUNTS
    assert summary["format"] == "CSV (comma)" and summary["quoting"] == "all"
    assert summary["encoding"] == "utf-8"
    mapping = {m["header"]: m["field"] for m in summary["mapping"]}
    assert mapping["email_from"] == "email_from" and mapping["x_source"] is None
    assert len(mapping) == 21


@pytest.mark.parametrize(("name", "fmt", "encoding"), [
    ("leads_cp1252.csv", "CSV (semicolon)", "cp1252"),
    ("leads.json", "JSON", "utf-8"),
    ("leads.jsonl", "JSON Lines", "utf-8"),
])
def test_variants_have_the_same_counts(cli, name: str, fmt: str, encoding: str) -> None:
    result = cli("inspect", SAMPLES / name, "--format", "json")
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.stdout)
    assert summary["format"] == fmt and summary["encoding"] == encoding
    assert {k: summary[k] for k in LEADS_COUNTS} == LEADS_COUNTS


def test_cp1252_labels_are_mapped(cli) -> None:
    result = cli("inspect", SAMPLES / "leads_cp1252.csv", "--format", "json")
    mapping = {m["header"]: m["field"] for m in json.loads(result.stdout)[0]["mapping"]}
    assert mapping["Email"] == "email_from" and mapping["Opportunity"] == "name"
    assert mapping["Created on"] == "create_date" and mapping["Source"] is None


def test_inspect_several_files(cli) -> None:
    result = cli("inspect", SAMPLES / "leads.csv", SAMPLES / "customers.csv", "--format", "json")
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.stdout)
    assert first["rows"] == 40 and second["rows"] == 8
    assert second["file"].endswith("customers.csv")


def test_inspect_missing_among_several(cli) -> None:
    result = cli("inspect", SAMPLES / "leads.csv", SAMPLES / "nope.csv")
    assert result.exit_code == 2
    assert "nope.csv" in result.stderr and result.stdout == ""
