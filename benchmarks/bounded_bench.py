"""`merge` in memory against `merge --memory-limit` (leadtool.bounded) on generated exports:
wall time, peak resident memory (GNU time's maximum RSS) and the temporary folder's largest size.

    python benchmarks/generate.py --rows 10000000 -o benchmarks/data/leads_10m.csv
    python benchmarks/bounded_bench.py benchmarks/data/leads_5m.csv              # in memory
    python benchmarks/bounded_bench.py benchmarks/data/leads_10m.csv --memory-limit 4G

The machine may be shared: the load average before and after each run is printed too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path


def _folder_size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(root, name))
    return total


def run(path: str, memory_limit: str | None, out_dir: Path) -> dict[str, float | str]:
    """One merge under /usr/bin/time -v; the temporary folder's size polled every half second."""
    output = out_dir / ("bench_bounded.csv" if memory_limit else "bench_memory.csv")
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "leadtool", "merge", path, "-o", str(output),
           "--yes", "--preview", "0", "--quiet"]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    peak_disk = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak_disk
        while not done.wait(0.5):
            for folder in out_dir.glob(".leadtool-merge.*"):
                peak_disk = max(peak_disk, _folder_size(folder))

    watcher = threading.Thread(target=poll, daemon=True)
    load_before = os.getloadavg()
    watcher.start()
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    done.set()
    watcher.join()
    if proc.returncode:
        raise SystemExit(proc.stderr)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", proc.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", proc.stderr).group(1))
    for extra in (output, Path(str(output) + ".audit.jsonl")):
        extra.unlink(missing_ok=True)
    return {"file": path, "mode": f"--memory-limit {memory_limit}" if memory_limit else "in memory",
            "wall_s": round(wall, 1), "cpu_s": round(user + system, 1), "peak_rss_gb": round(rss_kb / 2**20, 2),
            "temp_disk_gb": round(peak_disk / 2**30, 2),
            "load_before": " ".join(f"{x:.1f}" for x in load_before),
            "load_after": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--memory-limit", help="bounded run with this limit (default: in memory)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if not shutil.which("/usr/bin/time"):
        raise SystemExit("needs GNU time at /usr/bin/time")
    out_dir = Path(args.file).resolve().parent
    for _ in range(args.repeat):
        print(run(args.file, args.memory_limit, out_dir), flush=True)


if __name__ == "__main__":
    main()
