"""`merge` in bounded memory (docs/merge.md#large-files): three passes over the inputs instead
of one frame of every record. Pass 1 (`narrow`) keeps each record's keys and finds the groups;
pass 2 (`partitions`) spills the grouped records to partitions of consecutive groups on disk
and plans, applies and audits each one with the in-memory code; pass 3 (`stream`) writes the
output in input order, copying untouched records. The output and the audit log are the bytes
the in-memory path writes. `dupes` shares pass 1 and the spill (`run`, `dupes`); `check` is
one pass of its own (`check`).

    from leadtool.bounded import merge_files
    summary = merge_files(["leads.csv"], "merged.csv", memory_limit="4G")
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from ..audit.events import default_audit_path, now_utc, run_event, unsealed_run_line
from ..audit.log import seal
from ..config import Config
from ..errors import UsageError
from ..fields import FieldMap
from ..io.files import refuse_overwrite
from ..io.publish import write_run
from ..match.dates import DateOptions
from ..recognition import PresetChoice
from .chunks import NotBounded, why
from .narrow import GroupOptions
from .partitions import Planned, PlanOptions, plan_partitions, summary
from .run import BoundedRun, Progress, Sizes
from .stream import write_audit, write_output

__all__ = ["BoundedMerge", "GroupOptions", "NotBounded", "why", "PlanOptions", "Sizes", "default_memory_limit",
           "merge_files", "needs_bounded", "parse_size"]

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
# peak memory of the in-memory merge per byte of CSV input (about 1.6-2 KB a record of ~300
# bytes; benchmarks/README.md): above the limit, the bounded path is taken
IN_MEMORY_FACTOR = 6


def parse_size(text: str, option: str = "--memory-limit") -> int:
    """`4G`, `512M`, `1.5G`, `800000` (bytes)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if not m:
        raise UsageError(f"{option} {text!r}: expected a size such as 4G, 512M or 800K")
    size = int(float(m.group(1)) * _UNITS[m.group(2)])
    if size <= 0:
        raise UsageError(f"{option} {text!r}: expected a size above zero")
    return size


def default_memory_limit() -> int:
    """Half of the machine's memory."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def needs_bounded(paths: Sequence[str], limit: int) -> bool:
    """Whether the inputs are too large to merge in memory within `limit`."""
    size = 0
    for p in paths:
        if p == "-" or not os.path.isfile(p):
            return False
        size += os.path.getsize(p)
    return size * IN_MEMORY_FACTOR > limit


class BoundedMerge(BoundedRun):
    """One bounded merge run: `group()`, `plan()`, then `write()`; a context manager whose exit
    removes its temporary folder."""

    passes = 3

    def __init__(self, paths: Sequence[str], *, memory_limit: int, output: str, encoding: str | None = None,
                 delimiter: str | None = None, mapping: FieldMap | None = None, opportunities: Sequence[str] = (),
                 preset: PresetChoice | None = None, config: Config | None = None,
                 group_options: GroupOptions | None = None, plan_options: PlanOptions | None = None,
                 sizes: Sizes | None = None, progress: Progress | None = None, at: str | None = None) -> None:
        if output.lower().endswith(".xlsx"):  # a workbook is made whole (io.write)
            raise NotBounded("the output is an Excel workbook")
        super().__init__(paths, memory_limit=memory_limit, near=output, encoding=encoding, delimiter=delimiter,
                         mapping=mapping, opportunities=opportunities, preset=preset, config=config,
                         group_options=group_options, sizes=sizes, progress=progress)
        # the run's time when no one will be asked before writing: the merge events are then
        # written as they will be in the audit log, which the last pass only moves into place
        self.at = at
        self.plan_options = plan_options or PlanOptions(config=config)
        self.output = output
        self.planned: Planned | None = None

    def plan(self, preview: int | None = 0) -> Planned:
        """Pass 2: the grouped records spilled, planned and audited per partition."""
        found = self.found or self.group()
        count = self.spill()
        known = {} if self.at is None else {"at": self.at, "run_line": self._run_line(self.output, self.at)}
        self.planned = plan_partitions(self.inputs.meta(), found.groups, count, self.chunk_starts, self.folder,
                                       self.plan_options, preview, self._step("planning the groups", 2),
                                       **known)
        return self.planned

    def _run_line(self, output: str, at: str) -> bytes:
        return unsealed_run_line(run_event("merge", self.records, output, at)).encode("utf-8")

    def summary(self) -> dict[str, int]:
        assert self.planned is not None and self.found is not None
        out = summary(self.planned)
        out["records_kept"] = self.found.total - out["records_merged_away"]
        return out

    def write(self, output: str, audit: str | None = None) -> None:
        """Pass 3: the output and the audit log, published together (`io.publish`)."""
        planned = self.planned or self.plan()
        audit = audit or default_audit_path(output)
        records = self.records
        refuse_overwrite([("-o", output), ("--audit", audit)], [("FILE", s.path) for s in records.sources])
        at = self.at or now_utc()
        step = self._step("writing the output", 3)
        if step:
            step(0, 1)
        write_run(lambda: records, output, audit,
                  lambda path: write_audit(path, self._run_line(output, at), planned, at),
                  seal, writer=lambda recs, path: write_output(self.inputs, planned, recs, path))


def merge_files(paths: Sequence[str], output: str, audit: str | None = None, *,
                memory_limit: int | str = "4G", config: Config | None = None, head: str = "oldest",
                allow_large: bool = False, allow_conflicts: bool = False, dates: DateOptions | None = None,
                group_options: GroupOptions | None = None, sizes: Sizes | None = None,
                **load_options: Any) -> dict[str, int]:
    """Merge CSV exports into `output` (and its audit log) in bounded memory; returns the
    summary (groups, records merged away and kept, groups held back). Raises `NotBounded` for
    inputs only the in-memory path reads (`leadtool.load` + `leadtool.write_merge`)."""
    limit = parse_size(memory_limit) if isinstance(memory_limit, str) else memory_limit
    plan_options = PlanOptions(head=head, config=config, allow_large=allow_large,
                               allow_conflicts=allow_conflicts, dates=dates)
    with BoundedMerge(paths, memory_limit=limit, output=output, config=config, group_options=group_options,
                      plan_options=plan_options, sizes=sizes, at=now_utc(), **load_options) as run:
        run.group()
        run.plan()
        run.write(output, audit)
        return run.summary()
