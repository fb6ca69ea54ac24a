"""The pandas edge (docs/library.md): the library does what the CLI does."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import leadtool
from leadtool.cli import app

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "leads.csv"


def test_load_keeps_text() -> None:
    df = leadtool.load(str(SAMPLE))
    assert len(df) == 40
    assert all(isinstance(v, str) for v in df["zip" if "zip" in df else "x_source"].tolist())
    assert "00123" in df["x_source"].tolist() and "NA" in df["x_source"].tolist()


def test_library_merge_equals_cli(tmp_path: Path) -> None:
    df = leadtool.load([str(SAMPLE)])
    plan = leadtool.plan_merge(df)
    assert list(plan.groups.columns[:3]) == ["group", "size", "reasons"]
    assert {"group", "column", "before", "after", "source", "composed"} <= set(plan.changes.columns)
    merged = leadtool.apply_merge(df, plan)
    leadtool.write(merged, str(tmp_path / "lib.csv"))
    result = CliRunner().invoke(app, ["merge", str(SAMPLE), "-o", str(tmp_path / "cli.csv"), "--yes", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lib.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()
    assert len(merged) == len(df) - sum(len(m) for m in plan.groups["merged"])


def test_any_dataframe_works() -> None:
    plain = pd.DataFrame({"Email": ["A@x.com", "a@X.com ", None], "Opportunity": ["a", "b", "c"],
                          "Created on": ["2024-02-01", "2024-01-01", ""]})
    groups = leadtool.find_groups(plain)
    assert groups["id"].tolist() == ["2", "1"] and groups["head"].tolist() == [True, False]
    merged = leadtool.merge_records(plain)
    assert merged["Opportunity"].tolist() == ["b", "c"]  # the older record (row 2) is kept, in place


def test_check_and_undo(tmp_path: Path) -> None:
    report = leadtool.check_records(leadtool.load(str(SAMPLE)))
    assert report["valid"] is False and report["stats"]["duplicate_groups"] == 8
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["merge", str(SAMPLE), "-o", str(out), "--yes", "--quiet"])
    assert result.exit_code == 0, result.output
    restored = leadtool.undo(str(out) + ".audit.jsonl", leadtool.load(str(out)))
    leadtool.write(restored, str(tmp_path / "restored.csv"))
    assert (tmp_path / "restored.csv").read_bytes() == SAMPLE.read_bytes()


def test_email_key_export() -> None:
    assert leadtool.email_key("Name <NaMe@DoMaIn.CoM>") == "name@domain.com"


def test_library_convert_equals_cli(tmp_path: Path) -> None:
    df = leadtool.load(str(SAMPLE))
    converted = leadtool.convert_leads(df, all=True, salespersons=["Ann"], now="2024-06-01 12:00:00")
    leadtool.write(converted, str(tmp_path / "lib.csv"))
    result = CliRunner().invoke(app, ["convert", str(SAMPLE), "-o", str(tmp_path / "cli.csv"), "--all",
                                      "--salesperson", "Ann", "--now", "2024-06-01 12:00:00", "--yes", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lib.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()


def test_audit_lines_are_the_logs_merge_events(tmp_path: Path) -> None:
    import json

    lines = leadtool.audit_lines(leadtool.plan_merge(leadtool.load(str(SAMPLE))), at="2024-06-01T12:00:00Z")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["merge", str(SAMPLE), "-o", str(out), "--yes", "--quiet"])
    assert result.exit_code == 0, result.output
    logged = [json.loads(line) for line in Path(f"{out}.audit.jsonl").read_text().splitlines()[1:]]
    events = [json.loads(line) for line in lines]
    for event in logged + events:
        event["at"] = "AT"
        for rec in event["records"].values():
            rec["file"] = "FILE"  # the library's frame has no file of its own
    assert events == logged


def test_write_merge_writes_what_the_cli_writes(tmp_path: Path) -> None:
    plan = leadtool.plan_merge(leadtool.load(str(SAMPLE)))
    leadtool.write_merge(plan, str(tmp_path / "lib.csv"))
    result = CliRunner().invoke(app, ["merge", str(SAMPLE), "-o", str(tmp_path / "cli.csv"), "--yes", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lib.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()
    audit = (tmp_path / "lib.csv.audit.jsonl").read_text().splitlines()
    assert len(audit) == 1 + len(plan.groups) and '"event": "run"' in audit[0]


def test_apply_merge_reads_its_dataframe() -> None:
    df = leadtool.load(str(SAMPLE))
    plan = leadtool.plan_merge(df)
    edited = df.copy()
    edited.loc[edited.index[-1], "x_source"] = "edited after planning"
    merged = leadtool.apply_merge(edited, plan)
    assert merged["x_source"].tolist()[-1] == "edited after planning"
    try:
        leadtool.apply_merge(df.iloc[::-1], plan)
    except leadtool.LeadtoolError as exc:
        assert "other records" in str(exc)
    else:
        raise AssertionError("a plan applied to other records must be refused")


def test_submodules_are_not_shadowed() -> None:
    import leadtool.check
    import leadtool.convert
    import leadtool.merge

    assert callable(leadtool.convert.plan_convert) and callable(leadtool.merge.plan_merge)
    assert callable(leadtool.check.check_records)
