"""The fixture exports agree with their truth files as far as the new building blocks go
(presets, translations, dates, placeholders, xlsx); end-to-end runs come with the wiring."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest

from leadtool.io.xlsx import read_xlsx, sniff_binary
from leadtool.match.dates import parse_dates
from leadtool.match.emails import email_key_expr
from leadtool.match.placeholders import is_placeholder
from leadtool.presets import detect
from leadtool.translations import detect_language

HERE = Path(__file__).resolve().parent / "fixtures" / "exports"
TRUTHS = sorted(HERE.glob("*.truth.json"))


def _truth(path: Path) -> tuple[str, dict]:
    return path.name[: -len(".truth.json")], json.loads(path.read_text(encoding="utf-8"))


def _table(name: str, truth: dict) -> tuple[list[str], list[list[str]]]:
    if name.endswith(".xlsx"):
        headers, frame = read_xlsx(HERE / name)
        return headers, [list(r) for r in frame.rows()]
    text = (HERE / name).read_bytes().decode(truth.get("encoding", "utf-8-sig"))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter="\t" if name.endswith(".txt") else ","))
    records = [r for r in rows[1:] if len(r) == len(rows[0])]  # footer lines have one cell
    return rows[0], records


@pytest.mark.parametrize("truth_path", TRUTHS, ids=lambda p: p.name)
def test_preset_and_language(truth_path):
    name, truth = _truth(truth_path)
    headers, rows = _table(name, truth)
    found = detect(headers)
    assert (found.preset.name if found else None) == truth["preset"]
    if "language" in truth:
        assert detect_language(headers) == truth["language"]
    if "lines" not in truth:
        assert len(rows) == truth["records"]


@pytest.mark.parametrize("name", ["salesforce_report_us.csv", "salesforce_report_uk.csv",
                                  "salesforce_report_ambiguous.csv"])
def test_report_dates(name):
    _, truth = _truth(HERE / f"{name}.truth.json")
    headers, rows = _table(name, truth)
    dates = parse_dates(pl.Series([r[headers.index("Created Date")] for r in rows]))
    assert dates.order == truth["date_order"]
    assert dates.ambiguous == ("error" in truth)
    assert dates.bad_count == 0


@pytest.mark.parametrize("truth_path", [p for p in TRUTHS if "placeholders" in p.read_text()], ids=lambda p: p.name)
def test_placeholders_are_flagged(truth_path):
    name, truth = _truth(truth_path)
    headers, rows = _table(name, truth)
    email_cols = [i for i, h in enumerate(headers) if "mail" in h.lower()]
    values = pl.Series([r[i] for r in rows for i in email_cols])
    keys = values.to_frame("v").select(email_key_expr(pl.col("v")).alias("k"))
    flagged = set(keys.filter(is_placeholder(pl.col("k")))["k"].to_list())
    assert flagged == set(truth["placeholders"])


def test_xlsx_exports_hold_what_the_csv_exports_hold():
    for lang in ("en", "fr"):
        _, csv_rows = _table(f"odoo_{lang}.csv", {})
        headers, xlsx_rows = _table(f"odoo_{lang}.xlsx", {})
        active = headers.index("Active" if lang == "en" else "Actif")
        for a, b in zip(csv_rows, xlsx_rows, strict=True):
            assert a[:active] == b[:active]
            assert a[active].lower() == b[active].lower()  # True (CSV) / TRUE (the boolean cell)


def test_binary_exports_are_named():
    assert sniff_binary((HERE / "odoo_en.xlsx").read_bytes()) == "an Excel workbook (.xlsx)"
    assert sniff_binary((HERE / "excel_unicode.txt").read_bytes()).startswith("UTF-16 text")
    assert sniff_binary((HERE / "salesforce_lead.csv").read_bytes()) is None  # text with one NUL byte
