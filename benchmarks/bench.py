"""Time leadtool end to end on generated exports: wall time and peak RSS of each command.

    python benchmarks/bench.py                       # 100k and 1M rows
    python benchmarks/bench.py --sizes 100000,1000000,5000000 --json results.json
    python benchmarks/bench.py --commands roundtrip,merge --repeat 3

Data files are generated with benchmarks/generate.py into benchmarks/data/ when missing
(`leads_100k.csv`, `leads_1m.csv`, `leads_5m.csv`, ...). Each command runs in a fresh
subprocess; its wall time is measured around the process and its peak resident memory is the
child's `ru_maxrss` from `os.wait4`. A command that fails (for example one that does not exist
yet) is reported as `n/a (exit code N: first line of stderr)`; it never stops the script.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
GENERATOR = HERE / "generate.py"

ROUNDTRIP = "from leadtool.io import load, write; import sys; write(load([sys.argv[1]]), sys.argv[2])"
# what check may take at most (issue 5): reading and grouping, with the same imports, the same
# BLAS setting and the same fast exit as the leadtool command
READ_GROUP = ("import os, sys; os.environ.setdefault('OPENBLAS_NUM_THREADS', '1'); "
              "import leadtool.cli; from leadtool.io import load; "
              "from leadtool.groups import find_groups; find_groups(load([sys.argv[1]])); os._exit(0)")
# the floor: polars alone reading every column as text and writing it back
POLARS = ("import polars as pl, sys; "
          "pl.read_csv(sys.argv[1], infer_schema=False).write_csv(sys.argv[2])")


@dataclass
class Command:
    name: str
    argv: list[str]          # {IN} and {OUT} are replaced
    ok_codes: tuple[int, ...]
    writes: bool             # produces {OUT} (and possibly {OUT}.audit.jsonl)


def leadtool_argv() -> list[str]:
    """The `leadtool` script installed next to this python, else the one on PATH, else
    `python -m leadtool`. Next to python first: on PATH, a version manager's shim (pyenv's
    is a bash script that runs `pyenv exec`) may come first and add 60 ms to every run."""
    beside = Path(sys.executable).with_name("leadtool")
    exe = str(beside) if beside.is_file() and os.access(beside, os.X_OK) else shutil.which("leadtool")
    return [exe] if exe else [sys.executable, "-m", "leadtool"]


def commands() -> dict[str, Command]:
    lt = leadtool_argv()
    return {
        "polars": Command("polars", [sys.executable, "-c", POLARS, "{IN}", "{OUT}"], (0,), True),
        "roundtrip": Command("roundtrip", [sys.executable, "-c", ROUNDTRIP, "{IN}", "{OUT}"],
                             (0,), True),
        "read+group": Command("read+group", [sys.executable, "-c", READ_GROUP, "{IN}"], (0,), False),
        "merge": Command("merge", [*lt, "merge", "{IN}", "-o", "{OUT}", "--yes", "--no-progress",
                                   "--quiet"], (0,), True),
        # exit code 1 means "invalid": the generated files do have duplicates
        "check": Command("check", [*lt, "check", "{IN}", "--format", "json"], (0, 1), False),
        "dupes": Command("dupes", [*lt, "dupes", "{IN}", "--format", "csv"], (0,), False),
    }


@dataclass
class Result:
    size_label: str
    rows: int
    file_mb: float
    command: str
    seconds: float | None
    peak_rss_mb: float | None
    exit_code: int
    status: str              # "ok" or "n/a (exit code N: ...)"
    output_mb: float | None = None
    runs: int = 1
    median: float | None = None


def label(rows: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def ensure_data(rows: int, seed: int, quote_all: bool) -> Path:
    suffix = "_quoted" if quote_all else ""
    path = DATA / f"leads_{label(rows)}{suffix}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, str(GENERATOR), "--rows", str(rows), "-o", str(path),
            "--seed", str(seed), "--truth", str(path.with_suffix(".truth.csv")), "--quiet"]
    if quote_all:
        argv.append("--quote-all")
    print(f"generating {path.name} ({rows:,} rows) ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    subprocess.run(argv, check=True)
    print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return path


def count_rows(path: Path) -> int:
    """Data rows (records, not lines: notes hold newlines), counted by polars."""
    import polars as pl

    return pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()


_BOX = re.compile(r"[\u2500-\u257f]")


def first_stderr_line(text: str) -> str:
    """The first informative line of stderr (typer's Usage/Try lines and error box skipped)."""
    for line in text.splitlines():
        line = _BOX.sub("", line).strip()
        if not line or line == "Error" or line.startswith(("Usage:", "Try '")):
            continue
        return line[:160]
    return "(no stderr)"


def run_once(argv: list[str]) -> tuple[float, float, int, str]:
    """(seconds, peak RSS MB, exit code, stderr) of one fresh child process."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    # ru_maxrss is in KiB on Linux, bytes on macOS
    rss = usage.ru_maxrss / (1 << 20) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return seconds, rss, proc.returncode, stderr


@dataclass
class Series:
    """One command's runs on one file."""

    cmd: Command
    argv: list[str]
    out: Path
    times: list[float]
    peak: float = 0.0
    code: int = 0
    output_mb: float | None = None
    failure: str | None = None

    def clean(self) -> None:
        for leftover in (self.out, Path(f"{self.out}.audit.jsonl")):
            leftover.unlink(missing_ok=True)

    def run(self) -> None:
        if self.failure:
            return
        self.clean()
        seconds, rss, self.code, stderr = run_once(self.argv)
        if self.code not in self.cmd.ok_codes:
            self.failure = f"n/a (exit code {self.code}: {first_stderr_line(stderr)})"
            return
        if self.cmd.writes and self.out.exists():
            self.output_mb = round(self.out.stat().st_size / 1e6, 1)
        self.times.append(seconds)
        self.peak = max(self.peak, rss)


def bench(cmds: list[Command], path: Path, rows: int, repeat: int, keep_output: bool) -> list[Result]:
    """Every command `repeat` times, in rounds (each command once per round), so that a busy
    moment of the machine falls on all of them alike rather than on one."""
    out_dir = DATA / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    file_mb = round(path.stat().st_size / 1e6, 1)
    series = []
    for cmd in cmds:
        out = out_dir / f"{path.stem}.{cmd.name}.csv"
        argv = [a.replace("{IN}", str(path)).replace("{OUT}", str(out)) for a in cmd.argv]
        series.append(Series(cmd, argv, out, []))
    for round_no in range(repeat):
        for s in series:
            s.run()
            took = f"{s.times[-1]:.2f} s" if not s.failure else s.failure
            print(f"{label(rows)}: {s.cmd.name} (run {round_no + 1}/{repeat}) {took}", file=sys.stderr, flush=True)
    results = []
    for s in series:
        if not keep_output:
            s.clean()
        if s.failure:
            results.append(Result(label(rows), rows, file_mb, s.cmd.name, None, None, s.code, s.failure))
            continue
        results.append(Result(label(rows), rows, file_mb, s.cmd.name, round(min(s.times), 2),
                              round(s.peak), s.code, "ok", s.output_mb, len(s.times),
                              round(statistics.median(s.times), 2)))
    return results


def print_table(results: list[Result]) -> None:
    head = f"{'size':>5} {'rows':>10} {'file MB':>8}  {'command':<10} {'seconds':>8} {'median':>7} " \
           f"{'peak RSS MB':>12}  status"
    print(head)
    print("-" * len(head))
    for r in results:
        secs = f"{r.seconds:.2f}" if r.seconds is not None else "-"
        rss = f"{r.peak_rss_mb:.0f}" if r.peak_rss_mb is not None else "-"
        status = r.status if r.status != "ok" else f"ok (exit {r.exit_code})"
        median = f"{r.median:.2f}" if r.median is not None else "-"
        print(f"{r.size_label:>5} {r.rows:>10,} {r.file_mb:>8.1f}  {r.command:<10} {secs:>8} {median:>7} "
              f"{rss:>12}  {status}")


def precompile() -> None:
    """Byte-compile leadtool as an install does: pip compiles what it installs, and Python
    caches what it imports, unless PYTHONDONTWRITEBYTECODE is set (as on the dev VM), where
    every run would compile leadtool's 5,500 lines again (~40 ms a start)."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("leadtool")
    if spec and spec.submodule_search_locations:
        compileall.compile_dir(spec.submodule_search_locations[0], quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000",
                        help="comma list of row counts (default 100000,1000000)")
    parser.add_argument("--commands", default="polars,roundtrip,merge,read+group,check,dupes",
                        help="comma list among polars,roundtrip,merge,read+group,check,dupes "
                             "(default: all)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per command; the fastest is reported (default 1)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--quote-all", action="store_true",
                        help="benchmark files with every field quoted (as Odoo exports)")
    parser.add_argument("--keep-output", action="store_true",
                        help="keep the outputs in benchmarks/data/out/")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-': stdout)")
    args = parser.parse_args(argv)

    available = commands()
    names = [c.strip() for c in args.commands.split(",") if c.strip()]
    unknown = [c for c in names if c not in available]
    if unknown:
        parser.error(f"unknown command(s): {', '.join(unknown)}")
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes a comma list of integers")

    precompile()
    results: list[Result] = []
    load_before = os.getloadavg()[0]
    for rows in sizes:
        path = ensure_data(rows, args.seed, args.quote_all)
        actual = count_rows(path)
        results += bench([available[name] for name in names], path, actual, args.repeat, args.keep_output)

    load = os.getloadavg()
    print(f"\nleadtool benchmark: {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"load average {load[0]:.1f} (before: {load_before:.1f}); seconds = wall time "
          f"(fastest and median of {args.repeat}, run in rounds), peak RSS of the child process")
    print_table(results)
    if args.json:
        payload = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform(), "load_before": load_before,
                        "load_after": load[0]},
            "repeat": args.repeat,
            "results": [asdict(r) for r in results],
        }
        text = json.dumps(payload, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
