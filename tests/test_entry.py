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
