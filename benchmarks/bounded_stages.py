"""Each pass of a bounded merge, timed through the library (`leadtool.bounded.BoundedMerge`):
wall seconds and the CPU seconds spent in Python and polars (user) and in the kernel (system:
page faults, the page cache of the files written). On the 2-core dev VM the kernel's part is
40-45% of the CPU time, which is why the figures show it.

    python benchmarks/bounded_stages.py benchmarks/data/leads_5m.csv --memory-limit 4G
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

from leadtool.bounded import BoundedMerge, parse_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--memory-limit", default="4G")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="leadtool-stages.", dir=os.path.dirname(os.path.abspath(args.file)))
    out = os.path.join(folder, "out.csv")
    last = (time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF))

    def mark(name: str) -> None:
        nonlocal last
        now = (time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF))
        print(f"{name:<28} {now[0] - last[0]:7.1f} s wall {now[1].ru_utime - last[1].ru_utime:7.1f} user "
              f"{now[1].ru_stime - last[1].ru_stime:7.1f} sys", flush=True)
        last = now

    try:
        with BoundedMerge([args.file], memory_limit=parse_size(args.memory_limit), output=out,
                          at="2026-01-01T00:00:00Z") as run:
            run.group()
            mark("pass 1: keys and groups")
            run.spill()
            mark("pass 2: spill")
            run.plan()
            mark("pass 2: plan and audit")
            run.write(out)
            mark("pass 3: output")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)
        print(f"peak resident memory {peak:.2f} GiB; {run.summary()}")
    finally:
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        os.rmdir(folder)


if __name__ == "__main__":
    main()
