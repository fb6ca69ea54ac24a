"""Writing a run's results: the audit log and the output file at the same time (polars
releases the GIL, so the two use both cores), the output replacing its target only once the
audit log is complete (SPEC 3.3)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .io import write
from .records import Records


def write_run(records: Records, output: str, write_audit_log: Callable[[], None]) -> None:
    """`write_audit_log` writes the audit log (atomically); `records` go to `output`."""
    if output == "-" or not Path(output).parent.is_dir() or (Path(output).exists() and not Path(output).is_file()):
        write_audit_log()  # stdout, a device, or a folder that does not exist: one after the other
        write(records, output)
        return
    target = Path(output)
    staging = target.with_name(f".{target.name}.{os.getpid()}.staging")
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            audit_done = pool.submit(write_audit_log)
            output_done = pool.submit(write, records, str(staging))
            audit_done.result()
            output_done.result()
        os.replace(staging, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)
