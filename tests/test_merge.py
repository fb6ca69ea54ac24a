"""Merging (docs/merge.md): golden files for the field rules and head choice, run through the CLI."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import polars as pl
import pytest
from conftest import dupes_document
from typer.testing import CliRunner

from leadtool.cli import app
from leadtool.config import parse_config
from leadtool.io import load
from leadtool.match.groups import find_groups
from leadtool.merge import apply_merge, plan_merge

GOLDEN = Path(__file__).parent / "golden" / "merge"
UPDATE = os.environ.get("LEADTOOL_UPDATE_GOLDEN") == "1"
runner = CliRunner()


def normalized_audit(text: str) -> list[dict]:
    events = []
    for line in text.splitlines():
        event = json.loads(line)
        event["at"] = "AT"
        if event["event"] == "run":
            event["output"] = "OUT"
            for i in event["inputs"]:
                i["file"] = "FILE"
        for rec in (event.get("records") or {}).values():
            rec["file"] = "FILE"
        events.append(event)
    return events


@pytest.mark.parametrize("case", ["rules", "html", "heads", "closed"])
def test_golden_merge(case: str, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    audit = tmp_path / "out.audit.jsonl"
    result = runner.invoke(app, ["merge", str(GOLDEN / f"{case}.csv"), "-o", str(out),
                                 "--audit", str(audit), "--yes", "--quiet"])
    assert result.exit_code == 0, result.output
    expected_out = GOLDEN / f"{case}.expected.csv"
    expected_audit = GOLDEN / f"{case}.expected.audit.jsonl"
    if UPDATE:
        expected_out.write_bytes(out.read_bytes())
        expected_audit.write_text(audit.read_text())
    assert out.read_bytes() == expected_out.read_bytes()
    assert normalized_audit(audit.read_text()) == normalized_audit(expected_audit.read_text())


def merged_rows(path: Path, **kwargs) -> dict[str, dict[str, str]]:
    records = load([str(path)])
    plan = plan_merge(records, find_groups(records, **kwargs.pop("groups", {})), **kwargs)
    out = apply_merge(records, plan)
    return {r["__lt_id"]: r for r in out.frame.to_dicts()}


def test_field_rules_by_hand() -> None:
    rows = merged_rows(GOLDEN / "rules.csv")
    assert set(rows) == {"1", "4", "5", "6"}  # 2 and 3 merged into 1, empty emails left alone
    head = rows["1"]
    assert head["type"] == "opportunity"  # one record was an opportunity
    assert head["probability"] == "10" and head["create_date"] == "2024-01-01 09:00:00"
    assert head["date_conversion"] == ""  # the head's own value, even when empty
    assert head["contact_name"] == "Jane Doe"  # first non-empty in head order
    assert head["expected_revenue"] == "1500"  # a zero revenue counts as empty
    assert head["priority"] == "3"
    assert head["tag_ids"] == "vip, hot, cold"  # union, head's separator
    assert head["description"] == "First note\n\nSecond note\non two lines"  # blank-only skipped
    assert (head["street"], head["street2"], head["city"], head["zip"]) == ("Side St 2", "Box 3", "Brussels", "1000")
    assert head["x_notes"] == "from one"  # unknown columns: first non-empty


def test_html_descriptions_and_lost_reason() -> None:
    head = merged_rows(GOLDEN / "html.csv")["10"]
    assert head["description"] == "<p>first</p><br><br>  <p>second</p>"
    assert head["lost_reason_id"] == "Budget"  # head probability 0: first non-empty
    assert head["tag_ids"] == "a,b"  # no separator in the head's cell: the first cell that has one


def test_lost_reason_cleared_when_head_is_open(tmp_path: Path) -> None:
    f = tmp_path / "l.csv"
    f.write_text("id,email_from,probability,lost_reason_id,create_date\n"
                 "1,a@x.com,20,Budget,2024-01-01\n2,a@x.com,0,Timing,2024-01-02\n")
    assert merged_rows(f)["1"]["lost_reason_id"] == ""


def test_head_choice() -> None:
    rows = merged_rows(GOLDEN / "heads.csv")
    assert set(rows) == {"9", "100000", "30", "40"}


def test_odoo_head_ranking(tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_text("id,type,active,stage_id,probability,email_from,create_date\n"
                 "1,lead,True,New,90,a@x.com,2020-01-01\n"
                 "2,opportunity,True,New,10,a@x.com,2024-01-01\n"
                 "3,opportunity,True,Qualified,10,a@x.com,2024-01-01\n"
                 "4,opportunity,True,Qualified,30,a@x.com,2024-01-01\n")
    cfg = parse_config({"stages": {"order": ["New", "Qualified", "Won"]}})
    assert set(merged_rows(f, head="odoo", config=cfg)) == {"4"}
    assert set(merged_rows(f)) == {"1"}


def test_config_rules(tmp_path: Path) -> None:
    f = tmp_path / "c.csv"
    f.write_text("id,email_from,x_a,x_b,x_c,x_d,x_e,name,create_date\n"
                 "1,a@x.com,one,5,b,short,x,Head,2024-01-01\n"
                 "2,a@x.com,two,40,a,much longer,y,,2024-01-02\n"
                 "3,a@x.com,,7,c,mid,,Last,2024-01-03\n")
    cfg = parse_config({"merge": {"rules": {"x_a": "last", "x_b": "max", "x_c": "min", "x_d": "longest",
                                            "x_e": "concat", "name": "head"}}})
    head = merged_rows(f, config=cfg)["1"]
    assert (head["x_a"], head["x_b"], head["x_c"], head["x_d"], head["x_e"], head["name"]) == (
        "two", "40", "a", "much longer", "x\n\ny", "Head")


def test_plan_sources_and_merged_order() -> None:
    records = load([str(GOLDEN / "rules.csv")])
    plan = plan_merge(records, find_groups(records))
    g = plan.groups.row(0, named=True)
    assert (g["head"], g["merged"], g["reasons"]) == ("1", ["2", "3"], ["email:jane@example.com"])
    changes = {r["column"]: r for r in plan.changes.to_dicts()}
    assert changes["phone"]["source"] == ["2"] and not changes["phone"]["composed"]
    assert changes["tag_ids"]["source"] == ["1", "2", "3"] and changes["tag_ids"]["composed"]
    assert "id" not in changes and "probability" not in changes


def test_large_groups_are_listed_not_merged(tmp_path: Path) -> None:
    f = tmp_path / "big.csv"
    f.write_text("id,email_from\n" + "".join(f"{i},same@x.com\n" for i in range(1, 5)))
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["merge", str(f), "-o", str(out), "--yes", "--max-group", "3"])
    assert result.exit_code == 0
    assert "larger than --max-group" in result.stderr
    assert out.read_text() == f.read_text()
    result = runner.invoke(app, ["merge", str(f), "-o", str(out), "--yes", "--max-group", "3",
                                 "--allow-large-groups"])
    assert out.read_text() == "id,email_from\n1,same@x.com\n"


def test_manual_groups_and_groups_file(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text("id,name,email_from,active,create_date\n1,A,a@x.com,True,2024-01-02\n"
                 "2,B,b@x.com,False,2024-01-01\n3,C,c@x.com,True,2024-01-03\n4,D,d@x.com,True,2024-01-04\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["merge", str(f), "-o", str(out), "--yes", "--group", "1,2,3"])
    assert result.exit_code == 0, result.output
    assert [line.split(",")[0] for line in out.read_text().splitlines()] == ["id", "2", "4"]
    groups = tmp_path / "g.csv"
    groups.write_text("group,id\n7,3\n7,4\n")
    result = runner.invoke(app, ["merge", str(f), "-o", str(out), "--yes", "--groups", str(groups)])
    assert [line.split(",")[0] for line in out.read_text().splitlines()] == ["id", "1", "2", "3"]
    result = runner.invoke(app, ["merge", str(f), "-o", str(out), "--yes", "--group", "1,99"])
    assert result.exit_code == 2 and "99" in result.stderr and "Traceback" not in result.output


def test_dupes_csv_feeds_merge_groups(tmp_path: Path) -> None:
    result = runner.invoke(app, ["dupes", str(GOLDEN / "rules.csv"), "--format", "csv"])
    assert result.exit_code == 0
    rows = list(pl.read_csv(result.stdout.encode(), infer_schema=False).iter_rows(named=True))
    assert [(r["group"], r["id"], r["head"]) for r in rows] == [("1", "1", "true"), ("1", "2", "false"),
                                                                ("1", "3", "false")]
    groups = tmp_path / "g.csv"
    groups.write_text(result.stdout)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), "-o", str(a), "--yes"])
    runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), "-o", str(b), "--yes", "--by", "customer",
                        "--groups", str(groups)])
    assert a.read_bytes() == b.read_bytes()


def test_dupes_json_shape() -> None:
    result = runner.invoke(app, ["dupes", str(GOLDEN / "heads.csv"), "--format", "json"])
    doc = json.loads(result.stdout)
    assert doc["stats"] == {"records": 8, "groups": 4, "records_in_groups": 8, "large_groups": 0}
    first = doc["groups"][0]
    assert first["head"] == "9" and first["reasons"] == ["email:tie@example.com"]
    assert [r["id"] for r in first["records"]] == ["9", "10"]
    assert set(first["records"][0]) == {"id", "head", "file", "row", "name", "email_from", "partner_name",
                                        "create_date"}


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), "-o", str(out), "--dry-run"])
    assert result.exit_code == 0
    assert "1 groups, 2 records merged away, 4 records kept" in result.stdout
    assert "Jane Doe" in result.stdout  # the preview shows values
    assert not out.exists() and not Path(str(out) + ".audit.jsonl").exists()


def test_output_to_stdout_needs_audit(tmp_path: Path) -> None:
    result = runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), "-o", "-"])
    assert result.exit_code == 2 and "--audit" in result.stderr
    audit = tmp_path / "a.jsonl"
    result = runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), "-o", "-", "--audit", str(audit), "--quiet"])
    assert result.exit_code == 0
    assert result.stdout == (GOLDEN / "rules.expected.csv").read_text()
    assert audit.exists()


def test_refuses_to_overwrite_input(tmp_path: Path) -> None:
    f = tmp_path / "in.csv"
    f.write_text("id,email_from\n1,a@x.com\n2,a@x.com\n")
    result = runner.invoke(app, ["merge", str(f), "-o", str(f), "--yes"])
    assert result.exit_code == 2 and "overwrite" in result.stderr
    assert f.read_text() == "id,email_from\n1,a@x.com\n2,a@x.com\n"


def test_error_during_write_leaves_old_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old content\n")

    def broken(self, file=None, *args, **kwargs):  # the body writer dies half-way
        if hasattr(file, "write"):
            file.write(b"1,partial")
        raise OSError("disk full")

    monkeypatch.setattr(pl.LazyFrame, "sink_csv", broken)
    result = runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), "-o", str(out), "--yes"])
    assert result.exit_code != 0
    assert out.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temp or staging file


def test_failed_audit_log_leaves_old_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old content\n")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("leadtool.audit.log.write_audit", broken)
    result = runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), "-o", str(out), "--yes"])
    assert result.exit_code == 2 and "disk full" in result.stderr
    assert out.read_text() == "old content\n"  # the output is only renamed into place after the audit log
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_device_outputs_are_written_to_never_replaced(tmp_path: Path) -> None:
    """A named pipe as the audit log (any user can make one): written through, still a pipe."""
    import stat
    import threading

    fifo = tmp_path / "audit.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), "-o", "-", "--audit", str(fifo),
                                 "--no-progress", "--quiet"])
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert re.match(r"^id,name,type", result.stdout)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received and received[0].startswith(b'{"event": "run"')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.pipe"]


def test_output_keeps_the_replaced_files_mode(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    result = runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), "-o", str(out), "--yes", "--quiet"])
    assert result.exit_code == 0
    assert out.stat().st_mode & 0o777 == 0o640
    assert out.read_text() == (GOLDEN / "rules.expected.csv").read_text()


def test_missing_output_folder_is_refused_before_anything_runs(tmp_path: Path) -> None:
    for args in (["-o", str(tmp_path / "no" / "out.csv")],
                 ["-o", str(tmp_path / "out.csv"), "--audit", str(tmp_path / "no" / "a.jsonl")]):
        result = runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), *args, "--yes"])
        assert result.exit_code == 2
        assert "does not exist" in result.stderr and "group 1" not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []


def test_interrupt_while_writing_exits_130_and_leaves_no_partial_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old content\n")

    def interrupted(records, path, fmt=None):
        Path(path).write_text("1,partial")  # the staging file is half written when Ctrl-C comes
        raise KeyboardInterrupt

    monkeypatch.setattr("leadtool.io.publish.write", interrupted)
    result = runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), "-o", str(out), "--yes", "--quiet"])
    assert result.exit_code == 130
    assert out.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".audit.jsonl")) == ["out.csv"]


def test_verbose_prints_how_long_each_step_took(tmp_path: Path) -> None:
    result = runner.invoke(app, ["merge", str(GOLDEN / "rules.csv"), "-o", str(tmp_path / "o.csv"), "--yes",
                                 "--quiet", "--no-progress", "--verbose"])
    assert result.exit_code == 0
    steps = re.findall(r"^(\w[\w ,]*): \d+\.\d\d s$", result.stderr, flags=re.M)
    assert steps[:3] == ["reading", "grouping", "planning"] and len(steps) == 4


def test_dupes_json_text_escapes_as_json_dumps(tmp_path: Path) -> None:

    from leadtool.io import load
    from leadtool.match.groups import find_groups
    from leadtool.match.table import duplicate_table
    from leadtool.merge import ordered_members
    from leadtool.render.dupes import json_text
    src = tmp_path / "odd.csv"
    names = ["back\\slash", "ctl\x01\x1f", "line\u2028sep", "del\x7f", "emoji 😀", 'say "hi"', "tab\there"]
    rows = "".join(f'{i},"{n.replace(chr(34), chr(34) * 2)}",p{i % 2}@x.com\n' for i, n in enumerate(names, 1))
    src.write_text("id,name,email_from\n" + rows, encoding="utf-8")
    lonely = tmp_path / "lonely.csv"
    lonely.write_text("id,name,email_from\n1,a,a@x.com\n", encoding="utf-8")
    for path in (src, lonely):
        records = load([str(path)])
        found = find_groups(records)
        table = duplicate_table(records, found, ordered_members(records, found))
        assert json_text(records, found, table) == json.dumps(
            dupes_document(records, found, table), ensure_ascii=False, indent=2)


def test_dupes_table_marks_heads_and_limits_groups() -> None:
    result = runner.invoke(app, ["dupes", str(GOLDEN / "heads.csv"), "--limit", "2"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    for column in ("group", "reason", "id", "name", "email", "company", "created"):
        assert column in out
    assert "★ 9" in out and "  10 " in out and "★ 100000" in out  # the head of each group first
    assert "4 duplicate groups holding 8 of 8 records (first 2 shown; --limit all shows every group)" in out
    shown = runner.invoke(app, ["dupes", str(GOLDEN / "heads.csv"), "--limit", "all"], env={"COLUMNS": "160"})
    assert shown.stdout.count("★") == 4 and "first" not in shown.stdout


def test_dupes_table_marks_large_groups(tmp_path: Path) -> None:
    src = tmp_path / "big.csv"
    src.write_text("id,email_from\n" + "".join(f"{i},same@x.com\n" for i in range(1, 5)))
    result = runner.invoke(app, ["dupes", str(src), "--max-group", "3"], env={"COLUMNS": "160"})
    assert result.exit_code == 0 and "(large)" in result.stdout


@pytest.mark.parametrize(("command", "option"), [("dupes", "--limit"), ("merge", "--preview"),
                                                 ("convert", "--preview")])
def test_counts_are_checked_before_reading(tmp_path: Path, command: str, option: str) -> None:
    extra = {"merge": ["-o", str(tmp_path / "o.csv")], "convert": ["-o", str(tmp_path / "o.csv"), "--all"]}
    result = runner.invoke(app, [command, str(tmp_path / "missing.csv"), option, "some", *extra.get(command, [])])
    assert result.exit_code == 2
    assert f"{option} 'some': expected a number" in result.stderr and "internal error" not in result.stderr


def test_opportunities_file_without_type_column(tmp_path: Path) -> None:
    # docs/formats.md#field-recognition: a file without a type column holds leads, unless given with --opportunities
    leads, opps = tmp_path / "leads.csv", tmp_path / "opps.csv"
    leads.write_text("id,name,email_from,create_date\n1,Lead A,a@x.com,2024-01-01\n2,Lead B,b@x.com,2024-01-01\n")
    opps.write_text("id,name,email_from,create_date\n10,Opp A,a@x.com,2024-02-01\n")
    inspected = runner.invoke(app, ["inspect", str(leads), "--opportunities", str(opps), "--format", "json"])
    assert [(f["leads"], f["opportunities"]) for f in json.loads(inspected.stdout)] == [(2, 0), (0, 1)]

    def heads(*args: str) -> list[str]:
        result = runner.invoke(app, ["dupes", str(leads), "--opportunities", str(opps), "--format", "csv", *args])
        assert result.exit_code == 0, result.output
        return [row[1] for row in pl.read_csv(result.stdout.encode(), infer_schema=False).rows() if row[2] == "true"]

    assert heads() == ["1"]  # the oldest
    assert heads("--head", "odoo") == ["10"]  # Odoo's ranking: opportunities before leads


def test_include_closed(tmp_path: Path) -> None:
    # docs/groups.md#duplicate-groups: archived and won records join automatic groups only with --include-closed
    src = tmp_path / "c.csv"
    src.write_text("id,email_from,active,probability\n1,a@x.com,True,10\n2,a@x.com,False,10\n"
                   "3,a@x.com,True,100\n4,b@x.com,True,10\n5,b@x.com,no,0\n")

    def ids(*args: str) -> list[str]:
        result = runner.invoke(app, ["dupes", str(src), "--format", "csv", *args])
        assert result.exit_code == 0, result.output
        return pl.read_csv(result.stdout.encode(), infer_schema=False).get_column("id").to_list()

    assert ids() == []
    assert ids("--include-closed") == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize(("delimiter", "ok"), [(";", True), ("tab", True), ("\\t", True), (";;", False),
                                               ('"', False)])
def test_delimiter_option(tmp_path: Path, delimiter: str, ok: bool) -> None:
    sep = "\t" if "t" in delimiter else ";"
    src = tmp_path / "d.txt"
    src.write_text(f"id{sep}email_from{sep}note\n1{sep}a@x.com{sep}x,y\n2{sep}a@x.com{sep}z\n")
    result = runner.invoke(app, ["dupes", str(src), "--format", "csv", "--delimiter", delimiter])
    if ok:
        assert result.exit_code == 0 and result.stdout.count("email:a@x.com") == 2
    else:
        assert result.exit_code == 2 and "expected one character" in result.stderr


@pytest.mark.parametrize(("args", "needle"), [
    (["--max-group", "1"], "--max-group 1: expected 2 or more"),
    (["--map", "name="], "the header is missing"),
    (["--default-region", "XX", "--by", "phone"], "--default-region 'XX': expected a two-letter country code"),
])
def test_option_values_are_checked(args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["dupes", str(GOLDEN / "rules.csv"), *args])
    assert result.exit_code == 2 and needle in result.stderr and "internal error" not in result.stderr


def test_won_stages_from_the_config_are_closed(tmp_path: Path) -> None:
    # docs/formats.md#archived-and-won: won is a probability of 100, or a won stage: Odoo's
    # default `Won` (any language, any case) unless the config lists its own
    src, config, none = tmp_path / "w.csv", tmp_path / "leadtool.toml", tmp_path / "none.toml"
    src.write_text("id,email_from,stage_id,probability\n1,a@x.com,Won,80\n2,a@x.com,New,10\n"
                   "3,a@x.com,Qualified,20\n4,a@x.com, gagné ,20\n")
    config.write_text('[stages]\nwon = ["Qualified"]\n')
    none.write_text("[stages]\nwon = []\n")

    def ids(*args: str) -> list[str]:
        result = runner.invoke(app, ["dupes", str(src), "--format", "csv", *args])
        assert result.exit_code == 0, result.output
        return pl.read_csv(result.stdout.encode(), infer_schema=False).get_column("id").to_list()

    assert ids() == ["2", "3"]
    assert ids("--config", str(config)) == ["1", "2", "4"]
    assert ids("--config", str(none)) == ["1", "2", "3", "4"]
