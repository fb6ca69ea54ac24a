"""Time reading and writing one export with leadtool's reader and writer.

    python benchmarks/io_roundtrip.py benchmarks/data/leads_1m.csv [-o /tmp/out.csv]

Prints the wall (and CPU) seconds for `load` and for `write` (atomic, same format as the input), whether
the output is byte-identical to the input, and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leadtool.io import load, write  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process, all threads (a check when the machine is busy)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("-o", "--output", help="output file (default: a temp file, removed)")
    args = parser.parse_args()
    out = args.output or os.path.join(tempfile.mkdtemp(prefix="leadtool-bench-"), "out.csv")

    c0, t0 = _cpu(), time.perf_counter()
    records = load([args.path])
    c1, t1 = _cpu(), time.perf_counter()
    write(records, out)
    c2, t2 = _cpu(), time.perf_counter()
    same = filecmp.cmp(args.path, out, shallow=False)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = os.path.getsize(args.path)
    print(f"file        {args.path} ({size / 1e6:.0f} MB, {len(records):,} rows, "
          f"{len(records.columns)} columns)")
    print(f"load        {t1 - t0:.2f} s  (cpu {c1 - c0:.2f} s)")
    print(f"write       {t2 - t1:.2f} s  (cpu {c2 - c1:.2f} s)")
    print(f"load+write  {t2 - t0:.2f} s  (cpu {c2 - c0:.2f} s, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f})")
    print(f"identical   {same}")
    print(f"peak RSS    {peak_kb / 1024:.0f} MB")
    if not args.output:
        os.unlink(out)
        os.rmdir(os.path.dirname(out))


if __name__ == "__main__":
    main()
