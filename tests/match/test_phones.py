"""`--by phone` (docs/groups.md#duplicate-groups): E.164 keys from phone and mobile, the record's country or
--default-region, and groups that close over email and phone together."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from leadtool.cli import app
from leadtool.match.phones import _region, e164

runner = CliRunner()

EXPORT = (
    "id,name,email_from,phone,mobile,country_id,create_date\n"
    "1,A,a@x.com,+32 2 555 01 01,,Belgium,2024-01-01\n"
    "2,B,b@x.com,02 555 01 01,,Belgium,2024-01-02\n"   # the same Brussels number, written locally
    "3,C,c@x.com,,0470 11 22 33,BE,2024-01-03\n"        # a mobile, the country as a code
    "4,D,d@x.com,+32470112233,,,2024-01-04\n"           # ... the same number as a phone
    "5,E,e@x.com,(202) 555-0101,,United States,2024-01-05\n"
    "6,F,f@x.com,202-555-0101,,,2024-01-06\n"           # no country: only with --default-region
    "7,G,g@x.com,not a number,,Belgium,2024-01-07\n"
    "8,H,a@x.com,,,,2024-01-08\n"                       # joins group 1 by email, not by phone
)


@pytest.mark.parametrize(("number", "region", "expected"), [
    ("+32 2 555 01 01", None, "+3225550101"),
    ("02 555 01 01", "BE", "+3225550101"),
    ("02 555 01 01", None, None),  # a local number needs a country
    ("(202) 555-0101", "US", "+12025550101"),
    ("not a number", "BE", None),
    ("12", "BE", None),  # too short to be a number there
    ("  ", "BE", None),
])
def test_e164(number: str, region: str | None, expected: str | None) -> None:
    assert e164(number, region) == expected


def test_region_from_country_name_code_or_default() -> None:
    assert _region("Belgium", None) == _region("be", None) == _region(" BE ", None) == "BE"
    assert _region("", "us") == _region("Atlantis", "us") == "US"
    assert _region("Atlantis", None) is None


def dupes(tmp_path: Path, *args: str) -> list[tuple[str, str, str]]:
    src = tmp_path / "leads.csv"
    src.write_text(EXPORT, encoding="utf-8")
    result = runner.invoke(app, ["dupes", str(src), "--format", "csv", *args])
    assert result.exit_code == 0, result.output
    rows = pl.read_csv(result.stdout.encode(), infer_schema=False)
    return list(rows.select("group", "id", "reasons").iter_rows())


def test_groups_by_phone_and_mobile(tmp_path: Path) -> None:
    assert dupes(tmp_path, "--by", "phone") == [
        ("1", "1", "phone:+3225550101"), ("1", "2", "phone:+3225550101"),
        ("2", "3", "phone:+32470112233"), ("2", "4", "phone:+32470112233"),
    ]


def test_default_region_for_records_without_country(tmp_path: Path) -> None:
    assert [r for r in dupes(tmp_path, "--by", "phone", "--default-region", "US") if r[0] == "3"] == [
        ("3", "5", "phone:+12025550101"), ("3", "6", "phone:+12025550101")]


def test_email_and_phone_close_over_each_other(tmp_path: Path) -> None:
    rows = dupes(tmp_path, "--by", "email,phone")
    first = [r for r in rows if r[0] == "1"]
    assert [r[1] for r in first] == ["1", "2", "8"]  # 8 by email with 1, 2 by phone with 1
    assert first[0][2] == "email:a@x.com phone:+3225550101"


def test_merge_by_phone(tmp_path: Path) -> None:
    src, out = tmp_path / "leads.csv", tmp_path / "out.csv"
    src.write_text(EXPORT, encoding="utf-8")
    result = runner.invoke(app, ["merge", str(src), "-o", str(out), "--by", "phone", "--yes", "--quiet"])
    assert result.exit_code == 0, result.output
    ids = pl.read_csv(out, infer_schema=False).get_column("id").to_list()
    assert ids == ["1", "3", "5", "6", "7", "8"]  # 2 merged into 1, 4 into 3
