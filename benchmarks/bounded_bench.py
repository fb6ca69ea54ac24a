"""`merge` in memory against `merge --memory-limit` (leadtool.bounded) on generated exports:
wall time, peak resident memory (GNU time's maximum RSS) and the temporary folder's largest size.
`--command dupes` (JSON document) and `--command check` (JSON report) measure those commands.

    python benchmarks/generate.py --rows 10000000 -o benchmarks/data/leads_10m.csv
    python benchmarks/bounded_bench.py benchmarks/data/leads_5m.csv              # in memory
    python benchmarks/bounded_bench.py benchmarks/data/leads_10m.csv --memory-limit 4G
    python benchmarks/bounded_bench.py benchmarks/data/leads_10m.csv --memory-limit 4G --command dupes

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


def _sample_rss(pid: int, current: list[int], done: threading.Event) -> None:
    """The largest resident size (kB) of the merge process (the child of GNU time) since the
    last step ended (`--verbose` prints a step's line when it ends)."""
    while not done.wait(0.2):
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            for child in children:
                for line in Path(f"/proc/{child}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        current[0] = max(current[0], int(line.split()[1]))
        except OSError:
            continue


def run(path: str, memory_limit: str | None, out_dir: Path, phases: bool = False,
        command: str = "merge") -> dict[str, float | str]:
    """One run under /usr/bin/time -v; the temporary folder's size polled every half second."""
    output = out_dir / ("bench_bounded.csv" if memory_limit else "bench_memory.csv")
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "leadtool", command, path]
    if command == "merge":
        cmd += ["-o", str(output), "--yes", "--preview", "0", "--quiet"]
    else:  # the document on stdout (discarded), nothing else
        cmd += ["--format", "json", "--no-progress"]
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
    if phases:
        cmd = [c for c in cmd if c != "--quiet"] + ["--verbose"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peaks: dict[str, int] = {}
    current = [0]
    sampler = threading.Thread(target=_sample_rss, args=(proc.pid, current, done), daemon=True)
    sampler.start()
    lines = []
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if phases and line.startswith(("pass ", "waiting")):
            name = re.sub(r" \(\d+/\d+\)", "", line.split(":")[0].strip())
            peaks[name] = max(peaks.get(name, 0), current[0])
            current[0] = 0
    stderr = "".join(lines)
    proc.wait()
    wall = time.perf_counter() - started
    done.set()
    watcher.join()
    if proc.returncode and not (command == "check" and proc.returncode == 1):  # 1: problems found
        raise SystemExit(stderr)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1))
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", stderr).group(1))
    if phases:  # the resident memory seen (every 0.2 s) while each step ran, in GiB
        print({k: round(v / 2**20, 2) for k, v in peaks.items()}, flush=True)
    for extra in (output, Path(str(output) + ".audit.jsonl")):
        extra.unlink(missing_ok=True)
    return {"command": command, "file": path, "mode": f"--memory-limit {memory_limit}" if memory_limit else "in memory",
            "wall_s": round(wall, 1), "cpu_s": round(user + system, 1), "peak_rss_gb": round(rss_kb / 2**20, 2),
            "temp_disk_gb": round(peak_disk / 2**30, 2),
            "load_before": " ".join(f"{x:.1f}" for x in load_before),
            "load_after": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--memory-limit", help="bounded run with this limit (default: in memory)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--phases", action="store_true", help="also the peak resident memory of each step (--verbose)")
    parser.add_argument("--command", choices=("merge", "dupes", "check"), default="merge")
    args = parser.parse_args()
    if not shutil.which("/usr/bin/time"):
        raise SystemExit("needs GNU time at /usr/bin/time")
    out_dir = Path(args.file).resolve().parent
    for _ in range(args.repeat):
        print(run(args.file, args.memory_limit, out_dir, args.phases, args.command), flush=True)


if __name__ == "__main__":
    main()
