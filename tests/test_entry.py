"""The installed command (`leadtool.cli:run`) in a real process: exit codes and complete
output, although it leaves without tearing down the heap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import SAMPLES


def leadtool(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "leadtool", *args], capture_output=True, timeout=120)


def test_exit_codes_and_flushed_output(tmp_path: Path) -> None:
    found = leadtool("check", str(SAMPLES / "leads.csv"), "--format", "json", "--max-problems", "all")
    assert found.returncode == 1
    report = json.loads(found.stdout)  # the whole report arrived
    assert report["valid"] is False and len(report["problems"]) == report["stats"]["problems"]
    missing = leadtool("check", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and b"nope.csv" in missing.stderr and b"Traceback" not in missing.stderr
    assert leadtool("--version").returncode == 0
    assert leadtool("no-such-command").returncode == 2


def test_files_are_complete_when_the_process_ends(tmp_path: Path) -> None:
    out = tmp_path / "merged.csv"
    done = leadtool("merge", str(SAMPLES / "leads.csv"), "-o", str(out), "--yes", "--quiet")
    assert done.returncode == 0, done.stderr
    restored = tmp_path / "restored.csv"
    undone = leadtool("undo", f"{out}.audit.jsonl", "--input", str(out), "-o", str(restored))
    assert undone.returncode == 0, undone.stderr
    assert restored.read_bytes() == (SAMPLES / "leads.csv").read_bytes()


def _with_reader_leaving(*args: str) -> int:
    """Run the command with a reader that takes the first bytes and goes away (`| head -c 100`)."""
    proc = subprocess.Popen([sys.executable, "-m", "leadtool", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    proc.stdout.read(100)
    proc.stdout.close()
    return proc.wait(timeout=120)


def test_a_reader_that_leaves_early_does_not_change_the_exit_code(tmp_path: Path) -> None:
    """`leadtool ... | head`: the rest of the output goes nowhere and the command ends with its
    own exit code (rich alone would exit 1; a CI step's `check | head` must still fail)."""
    rows = "".join(f"{i},Name {i},dup{i % 2000}@x.com,notanumber\n" for i in range(1, 6001))
    path = tmp_path / "big.csv"
    path.write_text("id,name,email_from,probability\n" + rows, encoding="utf-8")
    for fmt in ("text", "json", "github"):
        assert _with_reader_leaving("check", str(path), "--format", fmt, "--limit", "all",
                                    "--max-problems", "all") == 1, fmt
    clean = tmp_path / "clean.csv"
    clean.write_text("id,name,email_from\n" + "".join(f"{i},{'x' * 50},p{i}@x.com\n" for i in range(20000)),
                     encoding="utf-8")
    assert _with_reader_leaving("check", str(clean), "--require", "name", "--format", "json") == 0
    for args in (("dupes", str(path)), ("dupes", str(path), "--format", "json"),
                 ("dupes", str(path), "--format", "csv"), ("inspect", str(path)),
                 ("merge", str(path), "-o", "-", "--audit", str(tmp_path / "a.jsonl"), "--yes", "--preview", "all")):
        assert _with_reader_leaving(*args) == 0, args


def test_the_command_being_run_is_the_only_one_built() -> None:
    """`run` gives typer only the command named on the line (building all six takes 24 ms at
    every start); its help and errors must read as with the whole app."""
    from typer.testing import CliRunner

    from leadtool.cli import app, app_for

    assert [c.callback.__name__ for c in app_for(["check", "x.csv"]).registered_commands] == ["check"]
    for args in ([], ["--help"], ["--version"], ["chek"], ["x.csv"]):
        assert app_for(args) is app
    runner = CliRunner()
    for args in (["check", "--help"], ["merge", "--help"], ["check"], ["dupes", "--nope", "x.csv"],
                 ["check", str(SAMPLES / "leads.csv"), "--format", "json"]):
        whole, one = runner.invoke(app, args), runner.invoke(app_for(args), args)
        assert (one.exit_code, one.output) == (whole.exit_code, whole.output), args


def test_a_panic_inside_polars_is_one_line_and_exit_2(monkeypatch) -> None:
    """pyo3's PanicException is a BaseException: it must still end as the one-line internal
    error (exit 2), not a traceback."""
    import polars as pl
    from conftest import assert_one_line_error
    from typer.testing import CliRunner

    import leadtool.cli as cli

    def panic(*args, **kwargs):
        raise pl.exceptions.PanicException("index out of bounds")

    monkeypatch.setattr(cli, "check_records", panic)
    result = CliRunner().invoke(cli.app, ["check", str(SAMPLES / "leads.csv")])
    assert_one_line_error(result, "internal error", "PanicException", "index out of bounds")


def test_an_internal_error_with_verbose_is_exit_2_after_its_traceback(monkeypatch) -> None:
    """--verbose adds the traceback; it does not change the exit code (it used to be 1)."""
    from typer.testing import CliRunner

    import leadtool.cli as cli

    def bug(*args, **kwargs):
        raise ZeroDivisionError("[/] division by zero")

    monkeypatch.setattr(cli, "check_records", bug)
    result = CliRunner().invoke(cli.app, ["check", str(SAMPLES / "leads.csv"), "--verbose"])
    assert result.exit_code == 2
    err = result.stderr.strip().split("\n")
    assert "Traceback (most recent call last):" in err and "in bug" in result.stderr
    assert err[-1] == "internal error: ZeroDivisionError: [/] division by zero"


def test_inspect_rejects_an_unknown_format(cli) -> None:
    """`inspect --format X` was the table; like every other --format it is an error now."""
    from conftest import assert_one_line_error

    assert_one_line_error(cli("inspect", SAMPLES / "leads.csv", "--format", "yaml"),
                          "--format 'yaml': expected text or json")
    assert cli("inspect", SAMPLES / "leads.csv", "--format", "json").exit_code == 0


def test_a_signal_while_the_app_is_built_is_interrupted_not_a_traceback() -> None:
    """SIGTERM after the handlers are in place but before the command runs (typer still
    building the app) ends the run as inside a command: `interrupted`, exit 128 + 15."""
    code = ("import os, signal, time\n"
            "import leadtool.cli as cli\n"
            "def building(argv):\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "    time.sleep(5)\n"
            "cli.app_for = building\n"
            "cli.run()\n")
    proc = subprocess.run([sys.executable, "-c", code, "inspect"], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr.strip()) == (143, "interrupted")
