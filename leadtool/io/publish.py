"""A run's outputs published together: the audit log and the output are written at the same
time (polars releases the GIL, so the two use both cores), the output replacing its target only
once the audit log is complete."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import UsageError
from ..records import Records
from .files import new_file_mode
from .writing import write


def write_run(make_records: Callable[[], Records], output: str, write_audit_log: Callable[[], None]) -> Records:
    """`write_audit_log` writes the audit log (atomically) while `make_records()` (the apply
    step) runs and its result is written to `output`; returns that result."""
    target = Path(output)
    if output != "-" and not (target.parent if str(target.parent) else Path(".")).is_dir():
        raise UsageError(f"{output}: the folder {str(target.parent)!r} does not exist")
    if output == "-" or (target.exists() and not target.is_file()):
        records = make_records()  # stdout or a device: one after the other
        write_audit_log()
        write(records, output)
        return records
    staging = target.with_name(f".{target.name}.{os.getpid()}.staging")

    def build_and_stage() -> Records:
        records = make_records()
        write(records, str(staging))
        return records

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            audit_done = pool.submit(write_audit_log)
            output_done = pool.submit(build_and_stage)
            audit_done.result()
            records = output_done.result()
        os.chmod(staging, new_file_mode(target))
        os.replace(staging, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)
    return records
