"""What every bounded run shares (`merge`, `dupes`): the inputs read a chunk at a time, a
temporary folder removed however the run ends, pass 1 (the groups from the keys) and the spill
of the grouped records to partitions of consecutive groups."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import polars as pl

from ..config import Config
from ..fields import FieldMap
from ..recognition import PresetChoice
from ..records import LOADED, Records
from .chunks import Inputs, open_inputs
from .narrow import Found, GroupOptions, find_bounded_groups
from .partitions import partition_bounds, spill, work_folder

_PER_RECORD = 48  # bytes a record costs for the whole run in bounded mode (spans, hashes, places)
_PER_GROUPED = 4096  # peak bytes per grouped record while a partition is planned and audited


@dataclass
class Sizes:
    """How the memory limit is spent: bytes of CSV parsed at a time, grouped records planned at a time."""

    chunk_bytes: int
    partition_rows: int | None = None

    @classmethod
    def of(cls, limit: int) -> Sizes:
        # at most 48 MB a chunk: a chunk is then worked on in less time than polars' allocator
        # keeps freed memory (500 ms), so the next chunk reuses it instead of faulting in new
        # pages, which costs this kind of machine much kernel time (5M rows: passes 1 and 2
        # took 2.5 s less than with 170 MB chunks, half the system time; benchmarks/README.md)
        return cls(chunk_bytes=max(1 << 12, min(limit // 24, 48 << 20)))

    def rows(self, limit: int, total: int) -> int:
        if self.partition_rows is not None:
            return self.partition_rows
        return max(2, (limit - _PER_RECORD * total) // _PER_GROUPED)


Progress = Callable[[str, int, int], None]


class BoundedRun:
    """Passes over CSV inputs within `memory_limit`; a context manager whose exit removes its
    temporary folder (made beside `near`, the output or the first input)."""

    passes = 2  # for the progress labels: `pass 1/2`

    def __init__(self, paths: Sequence[str], *, memory_limit: int, near: str, encoding: str | None = None,
                 delimiter: str | None = None, mapping: FieldMap | None = None, opportunities: Sequence[str] = (),
                 preset: PresetChoice | None = None, config: Config | None = None,
                 group_options: GroupOptions | None = None, sizes: Sizes | None = None,
                 progress: Progress | None = None) -> None:
        self.limit = memory_limit
        self.near = near
        self.sizes = sizes or Sizes.of(memory_limit)
        self.config = config
        self.group_options = group_options or GroupOptions()
        self.progress = progress
        self._stack = ExitStack()
        self.inputs: Inputs = open_inputs(paths, self.sizes.chunk_bytes, encoding=encoding, delimiter=delimiter,
                                          mapping=mapping, opportunities=opportunities, preset=preset)
        self.found: Found | None = None
        self.parts = 0  # partitions spilled
        self.chunk_starts: list[int] = []  # first place of each chunk

    def __enter__(self) -> Any:
        self.folder = self._stack.enter_context(work_folder(self.near))
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()

    def _step(self, name: str, n: int) -> Callable[[int, int], None] | None:
        if self.progress is None:
            return None
        progress, label = self.progress, f"pass {n}/{self.passes}: {name}"
        return lambda done, total: progress(label, done, total)

    @property
    def records(self) -> Records:
        """The runs's records without their values (what the audit's run line and the writer read)."""
        meta = self.inputs.meta()
        return meta.with_frame(meta.frame.with_columns(pl.lit(0, dtype=pl.UInt32).alias(LOADED)).clear())

    def group(self) -> Found:
        """Pass 1: the groups (raises NotBounded for an input the passes cannot read)."""
        self.found = find_bounded_groups(self.inputs, self.group_options, self.config,
                                         self._step("reading the keys", 1))
        return self.found

    def spill(self) -> int:
        """Pass 2's first half: the grouped records, whole, in partitions of about as many
        records as the limit lets one be worked on; returns the number of partitions."""
        found = self.found or self.group()
        parts = partition_bounds(found.groups, self.sizes.rows(self.limit, found.total))
        self.parts, self.chunk_starts = spill(self.inputs, found.groups, parts, self.folder,
                                              self._step("spilling the grouped records", 2))
        return self.parts
