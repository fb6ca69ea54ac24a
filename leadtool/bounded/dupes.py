"""`dupes` in bounded memory: pass 1 finds the groups from the keys (`narrow`), pass 2 spills
the grouped records to partitions of consecutive groups and orders each partition's groups
with the in-memory code (`merge.ordered_members`, `match.table.duplicate_table`). The table
comes a partition at a time, in group order: the JSON and CSV documents are written piece by
piece (`render.dupes.json_pieces`, `csv_pieces`) and are the bytes the in-memory `dupes` writes.

    from leadtool.bounded.dupes import BoundedDupes
    with BoundedDupes(["leads.csv"], memory_limit=4 << 30) as run, open("groups.json", "wb") as out:
        run.write_document("json", out)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import IO, Any

import polars as pl

from ..match.dates import DateOptions
from ..match.table import duplicate_table
from ..merge import ordered_members
from ..records import ID
from ..render.dupes import csv_pieces, json_pieces
from .partitions import part_groups
from .run import BoundedRun


class BoundedDupes(BoundedRun):
    """One bounded `dupes` run: `group()`, then `tables()`; `held` and `bad_dates` fill as the
    tables come (the groups of different people and the ids of unreadable dates, for warnings)."""

    def __init__(self, paths: Sequence[str], *, head: str = "oldest", dates: DateOptions | None = None,
                 **options: Any) -> None:
        super().__init__(paths, near=paths[0] if paths else "-", **options)
        self.head = head
        self.dates = dates
        self.held: list[pl.DataFrame] = []  # per partition: group, size, large, conflict
        self.bad_dates: list[pl.Series] = []

    def stats(self) -> dict[str, int]:
        """`dupes`' stats (`match.table.stats`), known after pass 1."""
        found = self.found or self.group()
        info = found.groups.info
        return {"records": found.total, "groups": info.height,
                "records_in_groups": int(info["size"].sum() or 0), "large_groups": int(info["large"].sum() or 0)}

    def tables(self) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
        """Pass 2: each partition's table (one row per grouped record, groups in order, each in
        head order) with its groups' info."""
        found = self.found or self.group()
        count = self.spill()
        meta = self.inputs.meta()
        step = self._step("ordering the groups", 2)
        for part in range(count):
            part_found = part_groups(meta, found.groups, self.folder, part)
            if part_found is not None:
                records, groups = part_found
                members = ordered_members(records, groups, head=self.head, config=self.config, dates=self.dates)
                self.bad_dates.append(members.filter(pl.col("bad_date")).get_column(ID))
                self.held.append(groups.info.select("group", "size", "large", "conflict"))
                yield duplicate_table(records, groups, members), groups.info
            if step:
                step(part + 1, count)

    def groups_info(self) -> pl.DataFrame:
        """The info of the groups the tables held so far (with `conflict`)."""
        return pl.concat(self.held) if self.held else pl.DataFrame(
            schema={"group": pl.UInt32, "size": pl.UInt32, "large": pl.Boolean, "conflict": pl.String})

    def write_document(self, format: str, out: IO[bytes]) -> None:
        """`dupes --format json|csv`'s document into `out`, a partition at a time."""
        if format == "json":
            out.writelines(json_pieces(self.stats(), self.tables()))
            out.write(b"\n")
        else:
            out.writelines(csv_pieces(table for table, _ in self.tables()))

    def shown_table(self, shown: int | None) -> pl.DataFrame:
        """The table of the first `shown` groups (None: all); every partition is ordered all
        the same, for the warnings."""
        kept: list[pl.DataFrame] = []
        groups = 0
        for table, info in self.tables():
            if shown is None or groups < shown:
                kept.append(table)
                groups += info.height
        return pl.concat(kept) if kept else pl.DataFrame()
