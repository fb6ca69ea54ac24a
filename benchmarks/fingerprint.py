"""Fingerprint every output of leadtool on the samples and a generated export, to prove that a
refactoring changes no byte: run it before and after, and compare the two listings.

    python benchmarks/fingerprint.py [--rows 100000] [--work DIR] > before.txt
    ... change the code ...
    python benchmarks/fingerprint.py [--rows 100000] [--work DIR] > after.txt
    diff before.txt after.txt

Each command's exit code, stdout, stderr and every file it writes are hashed (SHA-256). The
audit log's `at` (the wall clock) is the only thing blanked before hashing; paths are written
relative to the work folder so that two runs in different folders compare equal.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ["leads.csv", "leads.json", "leads.jsonl", "leads_cp1252.csv"]
_AT = re.compile(rb'"at": ?"[0-9T:Z-]+"')


def commands(rows: int) -> list[list[str]]:
    runs: list[list[str]] = []
    for f in SAMPLES:
        s = f"samples/{f}"
        runs += [
            ["inspect", s, "--no-progress"], ["inspect", s, "--format", "json"],
            ["dupes", s, "--no-progress"], ["dupes", s, "--format", "json"], ["dupes", s, "--format", "csv"],
            ["dupes", s, "--format", "csv", "--by", "email,phone,customer", "--include-closed"],
            ["merge", s, "-o", f"m_{f}", "--yes", "--no-progress"],
            ["merge", s, "-o", f"mo_{f}", "--yes", "--head", "odoo", "--by", "email,customer", "--no-progress"],
            ["undo", f"m_{f}.audit.jsonl", "--input", f"m_{f}", "-o", f"u_{f}"],
            ["check", s, "--format", "json"], ["check", s, "--format", "github"], ["check", s],
            ["convert", s, "-o", f"c_{f}", "--all", "--salesperson", "Ann", "--salesperson", "Bob", "--team",
             "Direct", "--customers", "samples/customers.csv", "--customers-out", f"cu_{f}", "--now",
             "2024-01-01 00:00:00", "--yes"],
            ["undo", f"c_{f}.audit.jsonl", "--input", f"c_{f}", "-o", f"cu2_{f}"],
        ]
    runs.append(["merge", "samples/leads.csv", "samples/leads.json", "-o", "multi.csv", "--yes"])
    if rows:
        runs += [
            ["merge", "big.csv", "-o", "big_m.csv", "--yes", "--no-progress"],
            ["undo", "big_m.csv.audit.jsonl", "--input", "big_m.csv", "-o", "big_u.csv"],
            ["dupes", "big.csv", "--format", "json"], ["check", "big.csv", "--format", "json"],
            ["convert", "big.csv", "-o", "big_c.csv", "--all", "--salesperson", "A", "--now",
             "2024-01-01 00:00:00", "--yes"],
        ]
    return runs


def digest(data: bytes) -> str:
    return hashlib.sha256(_AT.sub(b'"at":"X"', data)).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the generated export (0: none)")
    parser.add_argument("--work", help="folder to run in (default: a temporary one, removed after)")
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="leadtool-fingerprint-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(ROOT / "samples", work / "samples", dirs_exist_ok=True)
        if args.rows:
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--rows", str(args.rows),
                            "-o", str(work / "big.csv"), "--quiet"], check=True)
        before = {p for p in work.rglob("*") if p.is_file()}
        for argv in commands(args.rows):
            done = subprocess.run([sys.executable, "-m", "leadtool", *argv], cwd=work, capture_output=True)
            print(f"{done.returncode} {digest(done.stdout)} {digest(done.stderr)} leadtool {' '.join(argv)}")
        for path in sorted(p for p in work.rglob("*") if p.is_file() and p not in before):
            print(f"{digest(path.read_bytes())} {path.relative_to(work)}")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
