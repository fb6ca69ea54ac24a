"""`leadtool convert` (docs/convert.md): Odoo's lead-to-opportunity tests adapted to files, through the
CLI and the library. Expectations are written out in full."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadtool.config import parse_config
from leadtool.convert import ConvertOptions, apply_convert, opportunity_word, plan_convert, select_leads
from leadtool.errors import UsageError
from leadtool.io import load
from tests.conftest import assert_one_line_error

NOW = "2024-06-01 12:00:00"
HEADER = ["id", "name", "type", "active", "contact_name", "partner_name", "email_from", "user_id",
          "team_id", "stage_id", "probability", "create_date", "date_conversion"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def events(path: Path, kind: str | None = None) -> list[dict]:
    out = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [e for e in out if kind is None or e["event"] == kind]


def lead(i: int, **values: str) -> list[str]:
    row = {"id": str(i), "name": f"L{i}", "type": "lead", "active": "True", "contact_name": "",
           "partner_name": "", "email_from": "", "user_id": "", "team_id": "", "stage_id": "",
           "probability": "10", "create_date": f"2024-01-0{min(i, 9)} 10:00:00", "date_conversion": ""}
    row.update(values)
    return [row[h] for h in HEADER]


@pytest.fixture
def six_leads(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "leads.csv", HEADER, [lead(i, email_from=f"l{i}@example.com") for i in range(1, 7)])


# ----------------------------------------------------------------------------- assignment
def test_round_robin_of_four_salespersons_over_six_leads(cli, six_leads: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = cli("convert", six_leads, "-o", out, "--all", "--customer", "none", "--now", NOW,
                 *[a for s in ("S1", "S2", "S3", "S4") for a in ("--salesperson", s)])
    assert result.exit_code == 0, result.output
    rows = read_rows(out)
    assert [(r["name"], r["user_id"]) for r in rows] == [
        ("L1", "S1"), ("L2", "S2"), ("L3", "S3"), ("L4", "S4"), ("L5", "S1"), ("L6", "S2")]
    assert {r["type"] for r in rows} == {"opportunity"}
    assert {r["date_conversion"] for r in rows} == {NOW}
    assert {r["stage_id"] for r in rows} == {"New"}


def test_only_empty_salespersons_filled_without_force(cli, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "leads.csv", HEADER, [
        lead(1), lead(2, user_id="Mitchell Admin"), lead(3), lead(4, user_id="Marc Demo"), lead(5), lead(6)])
    out = tmp_path / "out.csv"
    args = ["convert", src, "-o", out, "--all", "--customer", "none", "--now", NOW, "--team", "Europe",
            "--salesperson", "S1", "--salesperson", "S2"]
    assert cli(*args).exit_code == 0
    rows = read_rows(out)
    assert [(r["user_id"], r["team_id"]) for r in rows] == [
        ("S1", "Europe"), ("Mitchell Admin", ""), ("S2", "Europe"), ("Marc Demo", ""),
        ("S1", "Europe"), ("S2", "Europe")]
    out2 = tmp_path / "forced.csv"
    assert cli(*args[:3], out2, *args[4:], "--force-assignment").exit_code == 0
    assert [r["user_id"] for r in read_rows(out2)] == ["S1", "S2", "S1", "S2", "S1", "S2"]


def test_team_without_salesperson_set_on_every_converted_lead(cli, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "leads.csv", HEADER, [lead(1, user_id="Ann"), lead(2, team_id="Old")])
    out = tmp_path / "out.csv"
    assert cli("convert", src, "-o", out, "--all", "--customer", "none", "--team", "Europe").exit_code == 0
    assert [(r["user_id"], r["team_id"]) for r in read_rows(out)] == [("Ann", "Europe"), ("", "Europe")]


def test_unknown_salesperson_is_taken_as_a_name(cli, six_leads: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = cli("convert", six_leads, "-o", out, "--ids", "3", "--customer", "none",
                 "--salesperson", "Nobody We Know")
    assert result.exit_code == 0, result.output
    rows = read_rows(out)
    assert rows[2]["user_id"] == "Nobody We Know"
    assert rows[2]["type"] == "opportunity"
    assert [r["type"] for i, r in enumerate(rows) if i != 2] == ["lead"] * 5


# ----------------------------------------------------------------------------- skips and stages
def test_won_and_archived_leads_are_skipped_with_a_reason(cli, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "leads.csv", HEADER, [
        lead(1), lead(2, probability="100"), lead(3, active="False"), lead(4, probability="100,0")])
    out = tmp_path / "out.csv"
    result = cli("convert", src, "-o", out, "--ids", "1,2,3", "--ids", "4", "--customer", "none",
                 "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "skip: won" in result.stdout and "skip: archived" in result.stdout
    rows = read_rows(out)
    assert [r["type"] for r in rows] == ["opportunity", "lead", "lead", "lead"]
    assert [r["date_conversion"] for r in rows] == [NOW, "", "", ""]
    audit = Path(str(out) + ".audit.jsonl")
    assert [(e["id"], e["reason"]) for e in events(audit, "skip")] == [("2", "won"), ("3", "archived"),
                                                                       ("4", "won")]
    assert [e["id"] for e in events(audit, "convert")] == ["1"]


def test_all_takes_open_leads_only_without_skip_events(cli, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "leads.csv", HEADER, [
        lead(1), lead(2, probability="100"), lead(3, active="false"), lead(4, type="opportunity")])
    out = tmp_path / "out.csv"
    assert cli("convert", src, "-o", out, "--all", "--customer", "none", "--now", NOW).exit_code == 0
    assert [r["date_conversion"] for r in read_rows(out)] == [NOW, "", "", ""]
    assert events(Path(str(out) + ".audit.jsonl"), "skip") == []


def test_empty_stage_gets_the_teams_first_stage_existing_stage_kept(cli, tmp_path: Path) -> None:
    cfg = tmp_path / "leadtool.toml"
    cfg.write_text('[teams."Direct Sales"]\nstages = ["Qualified", "Won"]\n\n'
                   '[stages]\norder = ["Incoming", "Proposition"]\n', encoding="utf-8")
    src = write_csv(tmp_path / "leads.csv", HEADER, [
        lead(1, team_id="Direct Sales"), lead(2, team_id="Direct Sales", stage_id="Proposition"),
        lead(3, team_id="Other"), lead(4)])
    out = tmp_path / "out.csv"
    assert cli("convert", src, "-o", out, "--all", "--customer", "none", "--config", cfg).exit_code == 0
    assert [r["stage_id"] for r in read_rows(out)] == ["Qualified", "Proposition", "Incoming", "Incoming"]
    out2 = tmp_path / "out2.csv"
    assert cli("convert", src, "-o", out2, "--all", "--customer", "none", "--team", "Direct Sales",
               "--config", cfg).exit_code == 0
    assert [r["stage_id"] for r in read_rows(out2)] == ["Qualified", "Proposition", "Qualified", "Qualified"]


def test_stage_default_is_new_without_config(six_leads: Path) -> None:
    records = load([str(six_leads)])
    plan = plan_convert(records, ConvertOptions(ids=["1"], customer="none", now=NOW))
    assert plan.targets.get_column("stage").to_list() == ["New"]


# ----------------------------------------------------------------------------- leads mode
def test_team_with_leads_mode_off_is_converted_without_ids(cli, tmp_path: Path) -> None:
    cfg = tmp_path / "leadtool.toml"
    cfg.write_text('[teams."Direct Sales"]\nuse_leads = false\n', encoding="utf-8")
    src = write_csv(tmp_path / "leads.csv", HEADER, [
        lead(1, team_id="Direct Sales"), lead(2, team_id="Europe"), lead(3, team_id="Direct Sales", active="0")])
    out = tmp_path / "out.csv"
    result = cli("convert", src, "-o", out, "--customer", "none", "--config", cfg, "--now", NOW)
    assert result.exit_code == 0, result.output
    assert [r["type"] for r in read_rows(out)] == ["opportunity", "lead", "lead"]
    audit = Path(str(out) + ".audit.jsonl")
    assert [(e["id"], e["reason"]) for e in events(audit, "skip")] == [("3", "archived")]


def test_leads_disabled_globally_converts_every_team_without_its_own_setting(tmp_path: Path) -> None:
    cfg = parse_config({"leads": {"enabled": False}, "teams": {"Europe": {"use_leads": True}}})
    src = write_csv(tmp_path / "leads.csv", HEADER, [lead(1, team_id="Europe"), lead(2, team_id="Asia"), lead(3)])
    chosen = select_leads(load([str(src)]), config=cfg)
    assert chosen.get_column("id").to_list() == ["2", "3"]
    assert chosen.get_column("origin").to_list() == ["team", "team"]


def test_nothing_selected_is_a_usage_error(cli, six_leads: Path, tmp_path: Path) -> None:
    assert_one_line_error(cli("convert", six_leads, "-o", tmp_path / "o.csv"), "--ids or --all")


# ----------------------------------------------------------------------------- merge first
def test_lead_and_older_opportunity_same_email_become_one_opportunity(cli, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "leads.csv", HEADER, [
        lead(5, email_from="Jane@Example.com", contact_name="Jane", create_date="2024-03-01 09:00:00"),
        lead(9, type="opportunity", email_from="jane@example.COM", stage_id="Qualified",
             create_date="2023-11-20 08:00:00", date_conversion="2023-11-21 08:00:00", probability="40"),
        lead(7, email_from="other@example.com")])
    out = tmp_path / "out.csv"
    result = cli("convert", src, "-o", out, "--ids", "5", "--customer", "none", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "merge into 9" in result.stdout
    rows = read_rows(out)
    assert [(r["id"], r["type"], r["contact_name"], r["stage_id"], r["date_conversion"]) for r in rows] == [
        ("9", "opportunity", "Jane", "Qualified", "2023-11-21 08:00:00"),
        ("7", "lead", "", "", "")]
    audit = Path(str(out) + ".audit.jsonl")
    kinds = [e["event"] for e in events(audit)]
    assert kinds == ["run", "merge", "convert"]
    merge = events(audit, "merge")[0]
    assert (merge["head"], merge["merged"], merge["reason"]) == ("9", ["5"], ["email:jane@example.com"])
    conv = events(audit, "convert")[0]
    assert conv["id"] == "9" and conv["file"] == str(src) and conv["row"] == 2
    assert conv["customer"] is None


def test_merged_head_without_date_conversion_gets_the_run_time(cli, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "leads.csv", HEADER, [
        lead(1, email_from="a@x.com"), lead(2, email_from="A@X.com", create_date="2023-01-01 00:00:00")])
    out = tmp_path / "out.csv"
    assert cli("convert", src, "-o", out, "--ids", "1", "--customer", "none", "--now", NOW).exit_code == 0
    assert [(r["id"], r["type"], r["date_conversion"]) for r in read_rows(out)] == [("2", "opportunity", NOW)]


def test_no_dedupe_converts_without_merging(cli, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "leads.csv", HEADER, [
        lead(1, email_from="a@x.com"), lead(2, email_from="a@x.com", type="opportunity")])
    out = tmp_path / "out.csv"
    assert cli("convert", src, "-o", out, "--ids", "1", "--customer", "none", "--no-dedupe").exit_code == 0
    assert [(r["id"], r["type"]) for r in read_rows(out)] == [("1", "opportunity"), ("2", "opportunity")]


def test_same_customer_is_merged_first(tmp_path: Path) -> None:
    header = [*HEADER, "partner_id"]
    src = write_csv(tmp_path / "leads.csv", header, [
        [*lead(1), "Acme"], [*lead(2, type="opportunity", create_date="2020-01-01 00:00:00"), "Acme"]])
    records = load([str(src)])
    plan = plan_convert(records, ConvertOptions(ids=["1"], customer="none", now=NOW))
    assert plan.leads.select("id", "action", "into").rows() == [("1", "merge", "2"), ("2", "convert", None)]


# ----------------------------------------------------------------------------- columns, formats
def test_missing_columns_are_appended_and_named_in_the_preview(cli, tmp_path: Path) -> None:
    src = tmp_path / "leads.csv"
    src.write_bytes(b"name,email_from\r\nA,a@x.com\r\nB,b@x.com\r\n")
    out = tmp_path / "out.csv"
    result = cli("convert", src, "-o", out, "--ids", "2", "--salesperson", "S1", "--team", "EU",
                 "--customer", "create", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "columns added at the end: type, date_conversion, partner_id, user_id, team_id, stage_id" in \
        " ".join(result.stdout.split())
    assert out.read_bytes() == (
        b"name,email_from,type,date_conversion,partner_id,user_id,team_id,stage_id\r\n"
        b"A,a@x.com,lead,,,,,\r\n"
        b"B,b@x.com,opportunity,2024-06-01 12:00:00,B,S1,EU,New\r\n")


def test_type_written_the_way_the_file_writes_types(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "leads.csv", HEADER, [lead(1, type="Lead"), lead(2, type="Lead")])
    records = load([str(src)])
    assert opportunity_word(records) == "Opportunity"
    out = apply_convert(records, plan_convert(records, ConvertOptions(ids=["2"], customer="none", now=NOW)))
    assert out.frame.get_column("type").to_list() == ["Lead", "Opportunity"]


def test_json_input_keeps_its_format(cli, tmp_path: Path) -> None:
    src = tmp_path / "leads.json"
    src.write_text('[{"id": 1, "name": "A", "type": "lead", "user_id": false, "stage_id": false}]\n',
                   encoding="utf-8")
    out = tmp_path / "out.json"
    assert cli("convert", src, "-o", out, "--all", "--customer", "none", "--salesperson", "S1",
               "--now", NOW).exit_code == 0
    assert out.read_text(encoding="utf-8") == (
        '[{"id": 1, "name": "A", "type": "opportunity", "user_id": "S1", "stage_id": "New", '
        '"date_conversion": "2024-06-01 12:00:00"}]\n')


# ----------------------------------------------------------------------------- audit and undo
def test_convert_then_undo_gives_the_input_byte_for_byte(cli, samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = cli("convert", samples / "leads.csv", "-o", out, "--all", "--salesperson", "S1",
                 "--salesperson", "S2", "--force-assignment", "--team", "EU",
                 "--customers", samples / "customers.csv", "--customers-out", tmp_path / "cust.csv",
                 "--now", NOW)
    assert result.exit_code == 0, result.output
    audit = Path(str(out) + ".audit.jsonl")
    kinds = [e["event"] for e in events(audit)]
    assert kinds[0] == "run" and set(kinds) == {"run", "merge", "convert", "create_customer"}
    assert kinds.index("convert") > max(i for i, k in enumerate(kinds) if k == "merge")
    # --now sets date_conversion only: the audit's clock is the run's wall clock
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    for event in events(audit):
        at = datetime.strptime(event["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert started - timedelta(minutes=5) <= at <= datetime.now(UTC) and "version" in event
    assert {e["changes"]["date_conversion"]["after"] for e in events(audit, "convert")} == {NOW}
    restored = tmp_path / "restored.csv"
    undo = cli("undo", audit, "--input", out, "-o", restored)
    assert undo.exit_code == 0, undo.output
    assert restored.read_bytes() == (samples / "leads.csv").read_bytes()
    created = [e["id"] for e in events(audit, "create_customer")]
    assert created and ", ".join(created[:3]) in " ".join(undo.stderr.split())


def test_convert_then_undo_with_appended_columns(cli, tmp_path: Path) -> None:
    src = tmp_path / "leads.csv"
    original = b"name;email_from\nA;a@x.com\nB;b@x.com\nC;A@X.com\n"
    src.write_bytes(original)
    out = tmp_path / "out.csv"
    assert cli("convert", src, "-o", out, "--all", "--salesperson", "S1", "--now", NOW).exit_code == 0
    assert out.read_bytes() == (b"name;email_from;type;date_conversion;user_id;stage_id\n"
                                b"A;a@x.com;opportunity;2024-06-01 12:00:00;S1;New\n"
                                b"B;b@x.com;opportunity;2024-06-01 12:00:00;S1;New\n")
    restored = tmp_path / "restored.csv"
    assert cli("undo", str(out) + ".audit.jsonl", "--input", out, "-o", restored).exit_code == 0
    assert restored.read_bytes() == original


def test_dry_run_writes_nothing(cli, six_leads: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = cli("convert", six_leads, "-o", out, "--all", "--dry-run", "--customers-out", tmp_path / "c.csv")
    assert result.exit_code == 0
    assert "dry run" in result.stdout
    assert list(tmp_path.iterdir()) == [six_leads]


def test_stdout_output_needs_an_audit_file(cli, six_leads: Path, tmp_path: Path) -> None:
    assert_one_line_error(cli("convert", six_leads, "-o", "-", "--all"), "--audit")
    audit = tmp_path / "a.jsonl"
    result = cli("convert", six_leads, "-o", "-", "--all", "--customer", "none", "--audit", audit)
    assert result.exit_code == 0
    assert result.stdout.startswith("id,name,type")
    assert len(events(audit, "convert")) == 6


# ----------------------------------------------------------------------------- bad input
def test_ids_naming_no_record(cli, six_leads: Path, tmp_path: Path) -> None:
    assert_one_line_error(cli("convert", six_leads, "-o", tmp_path / "o.csv", "--ids", "1,99"), "99")


def test_config_with_an_unknown_key(cli, six_leads: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[teams."Direct Sales"]\nuse_lead = false\n', encoding="utf-8")
    assert_one_line_error(cli("convert", six_leads, "-o", tmp_path / "o.csv", "--all", "--config", cfg),
                          "use_lead")


def test_bad_option_values(cli, six_leads: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    assert_one_line_error(cli("convert", six_leads, "-o", out, "--all", "--customer", "maybe"), "--customer")
    assert_one_line_error(cli("convert", six_leads, "-o", out, "--all", "--now", "2024-06-01"), "--now")
    assert_one_line_error(cli("convert", six_leads, "-o", six_leads, "--all"), "overwrite")
    with pytest.raises(UsageError):
        plan_convert(load([str(six_leads)]), ConvertOptions(all=True, salespersons=[" "]))


# ----------------------------------------------------------------------------- scale
def test_twenty_thousand_rows_every_lead_accounted_for(tmp_path: Path) -> None:
    header = ["id", "name", "type", "active", "contact_name", "partner_name", "email_from", "user_id",
              "stage_id", "probability", "create_date"]
    rows = []
    for i in range(1, 20_001):
        rows.append([str(i), f"Lead {i}", "lead" if i % 3 else "opportunity", "False" if i % 97 == 0 else "True",
                     f"Contact {i % 7000}", f"Company {i % 500}" if i % 2 else "",
                     f"person{i % 9000}@example.com", "" if i % 4 else "Ann", "",
                     "100" if i % 89 == 0 else "10", f"2024-01-01 {i % 24:02d}:00:00"])
    src = write_csv(tmp_path / "big.csv", header, rows)
    records = load([str(src)])
    start = time.perf_counter()
    plan = plan_convert(records, ConvertOptions(all=True, salespersons=["S1", "S2"], now=NOW))
    out = apply_convert(records, plan)
    elapsed = time.perf_counter() - start
    assert elapsed < 20
    open_leads = {str(i) for i in range(1, 20_001) if i % 3 and i % 97 and i % 89}
    converted = set(plan.targets.get_column("id").to_list())
    merged = dict(plan.leads.filter(plan.leads["action"] == "merge").select("id", "into").rows())
    assert open_leads <= converted | set(merged)
    assert set(merged.values()) <= converted
    assert out.frame.height == 20_000 - len(merged)


def test_opportunity_named_by_ids_is_skipped_unless_a_merge_takes_it_in(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "leads.csv", HEADER, [
        lead(1, type="opportunity", email_from="solo@x.com"),
        lead(2, type="opportunity", email_from="pair@x.com", create_date="2020-01-01 00:00:00"),
        lead(3, email_from="PAIR@x.com")])
    records = load([str(src)])
    plan = plan_convert(records, ConvertOptions(ids=["1", "2", "3"], customer="none", now=NOW))
    assert plan.leads.select("id", "action", "into", "reason").rows() == [
        ("1", "skip", None, "already an opportunity"), ("2", "convert", None, None), ("3", "merge", "2", None)]


def test_file_without_email_column(cli, tmp_path: Path) -> None:
    src = tmp_path / "leads.csv"
    src.write_bytes(b"id,name,type\n1,X,lead\n")
    out = tmp_path / "out.csv"
    result = cli("convert", src, "-o", out, "--all", "--customer", "create", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (b"id,name,type,date_conversion,partner_id,stage_id\n"
                                b"1,X,opportunity,2024-06-01 12:00:00,X,New\n")


def test_head_option_chooses_the_record_kept_by_the_merge_first(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,type,name,email_from,create_date,stage_id,probability\n"
                   "1,lead,Old lead,a@x.com,2024-01-01,,10\n2,opportunity,Newer opp,a@x.com,2024-02-01,Qualified,20\n")
    records = load([str(src)])

    def kept(head: str) -> list[str]:
        plan = plan_convert(records, ConvertOptions(all=True, customer="none", now=NOW, head=head))
        return apply_convert(records, plan).frame.get_column("id").to_list()

    assert kept("oldest") == ["1"]  # the record created first (docs/merge.md#the-head)
    assert kept("odoo") == ["2"]  # Odoo's ranking: the opportunity before the lead
    with pytest.raises(UsageError, match="--head 'bad'"):
        kept("bad")
