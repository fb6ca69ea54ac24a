"""Undo (docs/audit.md#undo): every sample format comes back byte for byte after merge and after
convert; an edited merged file undoes what it can and names the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadtool.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
runner = CliRunner()


@pytest.mark.parametrize("name", ["leads.csv", "leads_cp1252.csv", "leads.json", "leads.jsonl"])
@pytest.mark.parametrize("command", [["merge"], ["convert", "--all", "--now", "2024-06-01 12:00:00"]])
def test_undo_restores_every_sample(name: str, command: list[str], tmp_path: Path) -> None:
    out = tmp_path / f"out_{name}"
    restored = tmp_path / f"restored_{name}"
    result = runner.invoke(app, [command[0], str(SAMPLES / name), "-o", str(out), "--yes", "--quiet", *command[1:]])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() != (SAMPLES / name).read_bytes()  # the run changed something
    result = runner.invoke(app, ["undo", f"{out}.audit.jsonl", "--input", str(out), "-o", str(restored)])
    assert result.exit_code == 0, result.output
    assert restored.read_bytes() == (SAMPLES / name).read_bytes()


def test_audit_events_have_the_spec_fields(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    runner.invoke(app, ["merge", str(SAMPLES / "leads.csv"), "-o", str(out), "--yes", "--quiet"])
    events = [json.loads(line) for line in Path(f"{out}.audit.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "run"
    merges = [e for e in events if e["event"] == "merge"]
    assert len(merges) == 8
    for e in events:
        assert {"event", "at", "version"} <= set(e)
        assert e["at"].endswith("Z") and len(e["at"]) == 20
    for e in merges:
        assert {"group", "reason", "head", "merged", "changes", "records"} <= set(e)
        assert set(e["records"]) == {e["head"], *e["merged"]}
        for change in e["changes"].values():
            assert set(change) == {"before", "after", "source"}


def test_edited_merged_file_undoes_what_it_can(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,name,email_from,create_date\n1,A,a@x.com,2024-01-01\n2,B,a@x.com,2024-01-02\n"
                   "3,C,c@x.com,2024-01-03\n4,D,d@x.com,2024-01-04\n")
    out = tmp_path / "out.csv"
    runner.invoke(app, ["merge", str(src), "-o", str(out), "--yes", "--quiet"])
    assert out.read_text() == "id,name,email_from,create_date\n1,A,a@x.com,2024-01-01\n3,C,c@x.com,2024-01-03\n" \
        "4,D,d@x.com,2024-01-04\n"
    out.write_text("id,name,email_from,create_date\n1,A,a@x.com,2024-01-01\n4,D,d@x.com,2024-01-04\n")  # 3 deleted
    restored = tmp_path / "restored.csv"
    result = runner.invoke(app, ["undo", f"{out}.audit.jsonl", "--input", str(out), "-o", str(restored), "--force"])
    assert result.exit_code == 0
    assert "edited after the merge" in result.stderr
    lines = restored.read_text().splitlines()
    # the merged-away record is back; the edited-away one stays away; a record unknown to the
    # audit log stays right after the record before it in the merged file
    assert lines == ["id,name,email_from,create_date", "1,A,a@x.com,2024-01-01", "4,D,d@x.com,2024-01-04",
                     "2,B,a@x.com,2024-01-02"]


def test_undo_bad_audit_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "run", "inputs": [{"file": "x.csv", "rows": 1}], "columns": ["id"]}\nnot json\n')
    out = tmp_path / "o.csv"
    out.write_text("id\n1\n")
    result = runner.invoke(app, ["undo", str(bad), "--input", str(out), "-o", str(tmp_path / "r.csv")])
    assert result.exit_code == 2
    assert "bad.jsonl: line 2" in result.stderr and "Traceback" not in result.output


def test_edited_merged_file_keeps_new_records_where_they_stand(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,name,email_from,create_date\n1,A,a@x.com,2024-01-01\n2,B,a@x.com,2024-01-02\n"
                   "3,C,c@x.com,2024-01-03\n")
    out = tmp_path / "out.csv"
    assert runner.invoke(app, ["merge", str(src), "-o", str(out), "--yes", "--quiet"]).exit_code == 0
    # rows added at the top, in the middle and at the end; the merged head edited
    out.write_text("id,name,email_from,create_date\n7,N1,n@x.com,\n8,N2,n@x.com,\n"
                   "1,A edited,a@x.com,2024-01-01\n9,N3,n@x.com,\n3,C,c@x.com,2024-01-03\n10,N4,n@x.com,\n")
    restored = tmp_path / "restored.csv"
    result = runner.invoke(app, ["undo", f"{out}.audit.jsonl", "--input", str(out), "-o", str(restored), "--force"])
    assert result.exit_code == 0, result.output
    assert restored.read_text().splitlines() == [
        "id,name,email_from,create_date",
        "7,N1,n@x.com,", "8,N2,n@x.com,",  # before every record the log knows: they stay first
        "1,A,a@x.com,2024-01-01",  # the head gets its original values back
        # records the log does not know (new ones, and 3, which no merge touched) stay right
        # after the known record before them
        "9,N3,n@x.com,", "3,C,c@x.com,2024-01-03", "10,N4,n@x.com,",
        "2,B,a@x.com,2024-01-02",  # the merged-away record, at its original row (2), after row 1's run
    ]


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_merge_events_are_the_same_whatever_the_batch(batch: int) -> None:
    """The audit log is built a batch of records at a time; batches may end inside a group."""
    from leadtool.audit.merge_events import merge_event_chunks
    from leadtool.io import load
    from leadtool.match.groups import find_groups
    from leadtool.merge import plan_merge

    records = load([str(SAMPLES / "leads.json")])
    plan = plan_merge(records, find_groups(records))
    whole = "".join(c.str.join("").item() for c in merge_event_chunks(records, plan, "2024-01-01T00:00:00Z"))
    parts = list(merge_event_chunks(records, plan, "2024-01-01T00:00:00Z", batch=batch))
    assert len(parts) > 1 and "".join(c.str.join("").item() for c in parts) == whole
    lines = whole.split("\n")[:-1]
    assert len(lines) == plan.merged_groups.height
    assert all(json.loads(line)["event"] == "merge" for line in lines)


def test_record_table_across_batches_and_key_sets() -> None:
    from leadtool.audit.read import _Places, _RecordTable
    from leadtool.records import HEAD_FLAG, ID, KIND_PREFIX, LINE, ROW, SRC

    run = {"inputs": [{"file": "a.csv", "rows": 2}, {"file": "b.json", "rows": 2}], "columns": []}
    table = _RecordTable(_Places("log.jsonl", run, 1), batch=2)
    table.add({"head": "1", "merged": ["2"], "records": {
        "1": {"file": "a.csv", "row": 1, "values": {"name": "A", "email_from": "a@x"}},
        "2": {"file": "a.csv", "input": 0, "row": 2, "values": {"name": "B", "email_from": "a@x"}}}}, 2)
    table.add({"head": "3", "merged": ["4"], "records": {  # another file: a column the first lacks, and kinds
        "3": {"file": "b.json", "row": 1, "values": {"email_from": "c@x", "score": "10"}, "kinds": {"score": "r"}},
        "4": {"file": "b.json", "row": 2, "values": {"email_from": "c@x", "is_head": "x"}}}}, 3)
    frame = table.table()
    assert frame.columns == [ID, HEAD_FLAG, SRC, ROW, LINE, "name", "email_from", "score", "is_head",
                             f"{KIND_PREFIX}score"]
    assert frame.rows() == [
        ("1", True, 0, 1, 2, "A", "a@x", None, None, None),
        ("2", False, 0, 2, 2, "B", "a@x", None, None, None),
        ("3", True, 1, 1, 3, None, "c@x", "10", None, "r"),
        ("4", False, 1, 2, 3, None, "c@x", None, "x", None),
    ]


def test_undo_with_data_columns_named_like_helpers(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,is_head,file,email_from,name\n1,h,f,a@x.com,\n2,,g,a@x.com,Bo\n3,x,y,b@x.com,C\n")
    out, restored = tmp_path / "out.csv", tmp_path / "back.csv"
    assert runner.invoke(app, ["merge", str(src), "-o", str(out), "--yes", "--quiet"]).exit_code == 0
    assert out.read_bytes() == b"id,is_head,file,email_from,name\n1,h,f,a@x.com,Bo\n3,x,y,b@x.com,C\n"
    result = runner.invoke(app, ["undo", f"{out}.audit.jsonl", "--input", str(out), "-o", str(restored)])
    assert result.exit_code == 0, result.output
    assert restored.read_bytes() == src.read_bytes()


def test_edited_merged_file_without_a_head_or_a_column(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,name,email_from,city\n1,A,a@x.com,\n2,B,a@x.com,Gent\n3,C,c@x.com,Liège\n")
    out = tmp_path / "out.csv"
    assert runner.invoke(app, ["merge", str(src), "-o", str(out), "--yes", "--quiet"]).exit_code == 0
    assert out.read_text() == "id,name,email_from,city\n1,A,a@x.com,Gent\n3,C,c@x.com,Liège\n"
    # the head (1) deleted, and the city column dropped, after the merge
    out.write_text("id,name,email_from\n3,C,c@x.com\n")
    restored = tmp_path / "restored.csv"
    result = runner.invoke(app, ["undo", f"{out}.audit.jsonl", "--input", str(out), "-o", str(restored), "--force"])
    assert result.exit_code == 0, result.output
    assert "head '1' is not in the merged file; restored from the audit log" in result.stderr
    # the group comes back whole from the log; the column comes back in its place (empty where
    # only the merged file could say); 3, unknown to the log with no known record before it,
    # stays first
    assert restored.read_text().splitlines() == [
        "id,name,email_from,city", "3,C,c@x.com,", "1,A,a@x.com,", "2,B,a@x.com,Gent"]
