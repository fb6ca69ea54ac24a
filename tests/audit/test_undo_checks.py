"""What undo checks before writing anything (docs/audit.md#what-undo-checks): the output is the
one the run wrote (its SHA-256 and size), the log is a leadtool audit log, every event is one
leadtool writes. Each refusal is one line naming the audit log (and its line), exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import assert_one_line_error
from typer.testing import CliRunner

from leadtool.cli import app

runner = CliRunner()
DATA = (b"id,name,email_from,create_date\n1,A,a@x.com,2024-01-01\n2,B,a@x.com,2024-01-02\n"
        b"3,C,c@x.com,2024-01-03\n4,D,c@x.com,2024-01-04\n5,E,e@x.com,2024-01-05\n")


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def merged(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(input, merged output, its audit log)."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(DATA)
    result = run("merge", src, "-o", out, "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    return src, out, Path(f"{out}.audit.jsonl")


def undo(audit: Path, given: Path, *extra: str):
    restored = audit.parent / "restored.csv"
    result = run("undo", audit, "--input", given, "-o", restored, *extra)
    if result.exit_code:
        assert not restored.exists()  # nothing written
        assert sorted(p.name for p in audit.parent.iterdir() if p.name.startswith(".")) == []
    return result


# ----------------------------------------------------------------------------- item 5
def test_the_input_given_instead_of_the_merged_file(merged) -> None:
    src, out, audit = merged
    line = assert_one_line_error(undo(audit, src), str(audit), "another file", "--force")
    assert f"that run wrote {out}" in line


def test_another_files_audit_log(merged, tmp_path: Path) -> None:
    _, out, audit = merged
    other = tmp_path / "other.csv"
    other.write_bytes(DATA.replace(b"E,e@x", b"F,e@x"))  # same size, other content
    other_out = tmp_path / "other-out.csv"
    assert run("merge", other, "-o", other_out, "--yes", "--quiet").exit_code == 0
    assert other_out.stat().st_size == out.stat().st_size
    assert_one_line_error(undo(audit, other_out), str(audit), "same size, other content")
    assert_one_line_error(undo(Path(f"{other_out}.audit.jsonl"), out), "other content")


def test_an_empty_audit_log_and_one_without_a_run_event(merged) -> None:
    _, out, audit = merged
    lines = audit.read_text(encoding="utf-8").splitlines(keepends=True)
    audit.write_text("")
    assert_one_line_error(undo(audit, out), str(audit), "no run event")
    assert_one_line_error(undo(audit, out, "--force"), str(audit), "no run event")
    audit.write_text("".join(lines[1:]))
    assert_one_line_error(undo(audit, out), f"{audit}: line 1", "before the run event")


def test_a_log_without_a_digest_needs_force(merged) -> None:
    src, out, audit = merged
    lines = audit.read_text(encoding="utf-8").splitlines(keepends=True)
    run_event = json.loads(lines[0])
    del run_event["output_sha256"], run_event["output_bytes"]
    audit.write_text(json.dumps(run_event) + "\n" + "".join(lines[1:]), encoding="utf-8")
    assert_one_line_error(undo(audit, out), "no digest", "--force")
    result = undo(audit, out, "--force")
    assert result.exit_code == 0 and "--force" in result.stderr
    assert (audit.parent / "restored.csv").read_bytes() == src.read_bytes()


def test_force_undoes_an_edited_output(merged) -> None:
    src, out, audit = merged
    out.write_bytes(out.read_bytes().replace(b"5,E,", b"5,F,"))
    assert_one_line_error(undo(audit, out), str(audit), "edited since?")
    result = undo(audit, out, "--force")
    assert result.exit_code == 0, result.output
    assert "undoing what can be undone (--force)" in result.stderr
    assert (audit.parent / "restored.csv").read_bytes() == src.read_bytes().replace(b"5,E,", b"5,F,")


def test_the_digest_is_of_the_bytes_written_to_stdout(tmp_path: Path) -> None:
    src, audit = tmp_path / "in.csv", tmp_path / "a.jsonl"
    src.write_bytes(DATA)
    result = run("merge", src, "-o", "-", "--audit", audit, "--yes", "--quiet")
    assert result.exit_code == 0
    saved = tmp_path / "saved.csv"
    saved.write_bytes(result.stdout_bytes)
    assert undo(audit, saved).exit_code == 0
    assert (tmp_path / "restored.csv").read_bytes() == DATA
    result = runner.invoke(app, ["undo", str(audit), "--input", "-", "-o", "-"], input=result.stdout_bytes)
    assert result.exit_code == 0 and result.stdout_bytes == DATA


# ----------------------------------------------------------------------------- item 16
def _edit(audit: Path, change: Callable[[list[dict]], list[dict] | None], raw: bool = False) -> None:
    events = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    changed = change(events)
    audit.write_text("".join(json.dumps(e) + "\n" for e in (changed if isinstance(changed, list) else events)),
                     encoding="utf-8")


def _merges(events: list[dict]) -> list[dict]:
    return [e for e in events if e["event"] == "merge"]


def _first_record(events: list[dict]) -> dict:
    return next(iter(_merges(events)[0]["records"].values()))


TAMPERED = {
    "row-not-a-number": (lambda ev: _first_record(ev).update(row="x"), 2, "'row' is 'x'"),
    "row-beyond-the-file": (lambda ev: _first_record(ev).update(row=99), 2, "row 99 is not in"),
    "row-zero": (lambda ev: _first_record(ev).update(row=0), 2, "row 0 is not in"),
    "unknown-file": (lambda ev: (_first_record(ev).pop("input"), _first_record(ev).update(file="zz.csv")), 2,
                     "'zz.csv' is not one of the run's inputs"),
    "input-out-of-range": (lambda ev: _first_record(ev).update(input=5), 2, "input 5"),
    "repeated-event": (lambda ev: ev + [_merges(ev)[0]], 4, "recorded again (first on line 2)"),
    "second-run-event": (lambda ev: ev + [ev[0]], 4, "a second run event"),
    "unknown-event": (lambda ev: ev + [{"event": "explode"}], 4, "unknown event 'explode'"),
    "head-not-a-record": (lambda ev: _merges(ev)[0].update(head="nobody"), 2, "head 'nobody'"),
    "record-dropped": (lambda ev: _merges(ev)[0]["records"].pop(_merges(ev)[0]["merged"][0]), 2,
                       "do not match its head and merged ids"),
    "values-not-text": (lambda ev: _first_record(ev)["values"].update(name={"a": 1}), 2, "is not text"),
    "values-not-an-object": (lambda ev: _first_record(ev).update(values=[1]), 2, "'values' is not an object"),
    "records-not-an-object": (lambda ev: _merges(ev)[0].update(records=[]), 2, "without its records"),
    "inputs-not-a-list": (lambda ev: ev[0].update(inputs="in.csv"), 1, "inputs are not a list"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_tampered_audit_log_is_one_line_naming_it_and_its_line(merged, case: str) -> None:
    _, out, audit = merged
    change, line, needle = TAMPERED[case]
    _edit(audit, change)
    for extra in ((), ("--force",)):  # --force is for edited outputs, never for broken logs
        assert_one_line_error(undo(audit, out, *extra), f"{audit}: line {line}:", needle)


def test_a_key_given_twice_in_records_is_refused(merged) -> None:
    """JSON keeps the last of two equal keys: the event then has a record less than it says."""
    _, out, audit = merged
    lines = audit.read_text(encoding="utf-8").splitlines(keepends=True)
    first = json.loads(lines[1])
    key, other = first["records"]
    lines[1] = lines[1].replace(json.dumps(other) + ":", json.dumps(key) + ":", 1)
    audit.write_text("".join(lines), encoding="utf-8")
    assert_one_line_error(undo(audit, out), f"{audit}: line 2:", "a record key given twice")


def test_a_repeated_convert_event_and_a_convert_event_of_no_input(tmp_path: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(DATA)
    assert run("convert", src, "--all", "-o", out, "--yes", "--quiet").exit_code == 0
    audit = Path(f"{out}.audit.jsonl")
    original = audit.read_text(encoding="utf-8")

    def converts(ev: list[dict]) -> list[dict]:
        return [e for e in ev if e["event"] == "convert"]

    _edit(audit, lambda ev: ev + [converts(ev)[0]])
    n = len(original.splitlines()) + 1
    assert_one_line_error(undo(audit, out), f"{audit}: line {n}:", "recorded again")
    audit.write_text(original, encoding="utf-8")
    _edit(audit, lambda ev: converts(ev)[0].update(row="2"))
    assert_one_line_error(undo(audit, out), "'row' is '2'")
    audit.write_text(original, encoding="utf-8")
    _edit(audit, lambda ev: converts(ev)[0].update(changes={"type": "x"}))
    assert_one_line_error(undo(audit, out), "convert event without its id or changes")


def test_an_audit_log_that_is_not_text_or_not_json(merged) -> None:
    _, out, audit = merged
    audit.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert_one_line_error(undo(audit, out), str(audit), "not UTF-8")
    audit.write_text('{"event": "run"' + "[" * 100_000 + "\n")
    assert_one_line_error(undo(audit, out), f"{audit}: line 1", "invalid JSON")
    audit.unlink()
    audit.mkdir()
    assert_one_line_error(undo(audit, out), str(audit), "folder")
