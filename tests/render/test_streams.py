"""The standard streams as a hostile caller leaves them, in a real process: standard output
closed (`>&-`), a reader that leaves (`| head -1`), a full device (`> /dev/full`), an ASCII-only
locale (`PYTHONIOENCODING=ascii`), and a person at a terminal answering the confirmation."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import SAMPLES

LEADS = str(SAMPLES / "leads.csv")
CUSTOMERS = str(SAMPLES / "customers.csv")  # a valid dataset for check
NOW = "2024-06-01 12:00:00"
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "COLUMNS")}


def commands(tmp: Path) -> list[tuple[list[str], int]]:
    """Every command with each way it prints, and its own exit code."""
    merged = tmp / "m.csv"
    subprocess.run([sys.executable, "-m", "leadtool", "merge", LEADS, "-o", str(merged), "--yes", "--quiet"],
                   check=True, env=ENV)
    return [
        (["inspect", LEADS], 0), (["inspect", LEADS, "--format", "json"], 0),
        (["dupes", LEADS], 0), (["dupes", LEADS, "--format", "json"], 0), (["dupes", LEADS, "--format", "csv"], 0),
        (["merge", LEADS, "-o", str(tmp / "o.csv"), "--yes", "--audit", str(tmp / "o.jsonl")], 0),
        (["merge", LEADS, "-o", "-", "--audit", str(tmp / "s.jsonl"), "--yes"], 0),
        (["convert", LEADS, "--all", "-o", str(tmp / "c.csv"), "--yes", "--now", NOW], 0),
        (["convert", LEADS, "--all", "-o", "-", "--audit", str(tmp / "cs.jsonl"), "--yes", "--now", NOW], 0),
        (["undo", f"{merged}.audit.jsonl", "--input", str(merged), "-o", str(tmp / "u.csv")], 0),
        (["undo", f"{merged}.audit.jsonl", "--input", str(merged), "-o", "-"], 0),
        (["check", LEADS], 1), (["check", LEADS, "--format", "json"], 1), (["check", LEADS, "--format", "github"], 1),
        (["check", CUSTOMERS], 0), (["check", CUSTOMERS, "--format", "json"], 0),
        (["--help"], 0), (["merge", "--help"], 0),
    ]


def leadtool(args: list[str], env: dict[str, str] | None = None, closed: str = "",
             **kwargs) -> subprocess.CompletedProcess[bytes]:
    """`leadtool ARGS`; `closed` is a shell redirection closing a stream first (`>&-`)."""
    line = [sys.executable, "-m", "leadtool", *args]
    if closed:
        line = ["sh", "-c", f'exec "$@" {closed}', "sh", *line]
    kwargs.setdefault("capture_output", "stdout" not in kwargs)
    return subprocess.run(line, timeout=120, env=env or ENV, **kwargs)


def each(function, items):
    """`function` over `items`, a few processes at a time (each start of Python costs a second)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(function, items))


def test_a_closed_standard_output_ends_quietly_with_the_commands_own_code(tmp_path: Path) -> None:
    cases = commands(tmp_path)
    for (args, code), proc in zip(cases, each(lambda c: leadtool(c[0], closed=">&-"), cases), strict=True):
        assert proc.returncode == code, (args, proc.stderr)
        assert proc.stdout == b"" and b"Traceback" not in proc.stderr and b"error" not in proc.stderr, args


def test_closed_standard_input_and_error() -> None:
    proc = leadtool(["check", "-"], closed="<&-")
    assert proc.returncode == 2 and proc.stderr.decode().count("\n") == 1, proc.stderr
    assert b"empty file" in proc.stderr
    proc = leadtool(["check", LEADS, "--format", "json"], closed="2>&-")
    assert proc.returncode == 1 and json.loads(proc.stdout)["valid"] is False


def test_a_reader_that_leaves_at_once_does_not_change_the_exit_code(tmp_path: Path) -> None:
    """`leadtool ... | head -1` for every command: the reader takes one line and goes away."""

    def head_1(args: list[str]) -> tuple[int, bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "leadtool", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=ENV)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        return proc.wait(timeout=120), err

    cases = commands(tmp_path)
    for (args, code), (returned, err) in zip(cases, each(lambda c: head_1(c[0]), cases), strict=True):
        assert returned == code, (args, err)
        assert b"Traceback" not in err and b"error" not in err, (args, err)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_standard_output_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """`leadtool ... > /dev/full`: one line naming standard output, exit 2, and a merge or
    convert whose preview could not be shown writes nothing."""
    cases = [args for args, _ in commands(tmp_path) if args[0] != "undo" or args[-1] == "-"]
    with open("/dev/full", "wb") as full:
        done = each(lambda args: leadtool(args, stdout=full, stderr=subprocess.PIPE), cases)
    for args, proc in zip(cases, done, strict=True):
        assert proc.returncode == 2, (args, proc.stderr)
        last = proc.stderr.decode().strip().split("\n")[-1]
        assert last == "error: standard output: cannot write: No space left on device", (args, last)
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "c.csv").exists()


def test_an_ascii_locale_prints_what_it_can(tmp_path: Path) -> None:
    """`PYTHONIOENCODING=ascii`: people's text escapes what ASCII cannot hold (`L\\xe9a`) and our
    glyphs fall back to ASCII; documents (JSON, CSV, workflow commands) stay UTF-8, byte for byte
    what a UTF-8 locale gets; nothing ends as an internal error."""
    ascii_env = {**ENV, "PYTHONIOENCODING": "ascii"}
    cases = commands(tmp_path)
    in_ascii = each(lambda c: leadtool(c[0], env=ascii_env), cases)
    in_utf8 = each(lambda c: leadtool(c[0]), cases)
    for (args, code), proc, utf8 in zip(cases, in_ascii, in_utf8, strict=True):
        assert proc.returncode == code, (args, proc.stderr)
        assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr, (args, proc.stderr)
        if "--format" in args or "-" in args:
            assert proc.stdout == utf8.stdout, args
        else:
            proc.stdout.decode("ascii")  # nothing else reaches the terminal
    table = leadtool(["dupes", LEADS, "--limit", "all"], env={**ascii_env, "COLUMNS": "300"}).stdout.decode("ascii")
    assert "L\\xe9a" in table and "* 41" in table
    missing = leadtool(["inspect", str(tmp_path / "nosuch\u00e9.csv")], env=ascii_env)
    assert missing.returncode == 2 and missing.stderr.decode("ascii").endswith("nosuch\\xe9.csv: no such file\n")


def test_check_max_problems_0_shows_no_library_warning() -> None:
    proc = leadtool(["check", LEADS, "--max-problems", "0"])
    assert proc.returncode == 1 and proc.stderr == b""
    assert b"(0 shown; 0 listed; --max-problems all lists them all)" in b" ".join(proc.stdout.split())
    from leadtool.check import check_records
    from leadtool.io import load

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check_records(load([LEADS]), max_problems=0)
    assert report.problems == [] and report.stats["problems"] > 0


def test_a_library_warning_reaches_only_verbose(monkeypatch: pytest.MonkeyPatch, recwarn) -> None:
    from typer.testing import CliRunner

    import leadtool.cli as cli

    real = cli.check_records

    def noisy(*args, **kwargs):
        warnings.warn("a library's own worry", UserWarning, stacklevel=1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "check_records", noisy)
    assert CliRunner().invoke(cli.app, ["check", CUSTOMERS]).exit_code == 0
    assert not [w for w in recwarn if "worry" in str(w.message)]
    assert CliRunner().invoke(cli.app, ["check", CUSTOMERS, "--verbose"]).exit_code == 0
    assert [w for w in recwarn if "worry" in str(w.message)]


# ----------------------------------------------------------------------------- the confirmation
class Terminal:
    """`leadtool ARGS` with a pseudo-terminal as its controlling terminal (Ctrl-C is a SIGINT
    from the terminal, as for a person)."""

    def __init__(self, *args: str) -> None:
        import pty

        self.master, slave = pty.openpty()
        become_terminal_owner = ("import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                                 "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")
        self.proc = subprocess.Popen([sys.executable, "-c", become_terminal_owner, "-m", "leadtool", *args],
                                     stdin=slave, stdout=slave, stderr=slave, env=ENV)
        os.close(slave)
        self.seen = b""

    def read_until(self, needle: bytes, timeout: float = 60) -> bytes:
        end = time.monotonic() + timeout
        while needle not in self.seen and time.monotonic() < end:
            if select.select([self.master], [], [], 0.1)[0]:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:
                    break
        return self.seen

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait(self, timeout: float) -> int:
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            self.read_until(b"\0", 0.1)
        if self.proc.poll() is None:
            self.proc.kill()
            pytest.fail(f"still waiting after {timeout} s: {self.seen!r}")
        self.read_until(b"\0", 0.2)
        os.close(self.master)
        return self.proc.returncode


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pseudo-terminal")
@pytest.mark.parametrize(("keys", "code", "said"), [
    (b"\x03", 130, b"interrupted"),  # Ctrl-C: at once, not at the next Enter
    (b"\x04", 1, b"declined: nothing written"),  # Ctrl-D: the end of input
    (b"n\n", 1, b"declined: nothing written"),
    (b"maybe\ny\n", 0, b"please answer y or n"),
    (b"\n", 0, b"wrote"),
])
def test_the_confirmation(tmp_path: Path, keys: bytes, code: int, said: bytes) -> None:
    out = tmp_path / "o[red].csv"
    term = Terminal("merge", LEADS, "-o", str(out), "--no-progress")
    assert b"? [Y/n]: " in term.read_until(b"? [Y/n]: ")
    assert f"Write {out} and {out}.audit.jsonl?".encode() in term.seen
    started = time.monotonic()
    term.type(keys)
    assert term.wait(timeout=10) == code, term.seen
    assert time.monotonic() - started < 5
    assert said in term.seen
    assert out.exists() == (code == 0) and Path(f"{out}.audit.jsonl").exists() == (code == 0)
