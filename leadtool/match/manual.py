"""Manual groups: records the user says are one (`--group ID,ID,...`, `--groups FILE` as
`dupes --format csv` writes it), whatever the detector proposed."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from ..errors import InputError, UsageError
from ..options import comma_list
from ..records import ID, IDX, Records


def read_groups_file(path: str) -> list[list[str]]:
    """A `group,id` CSV (as `dupes --format csv` writes): ids of each group, in file order."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=path)
    text = p.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "group" not in reader.fieldnames or "id" not in reader.fieldnames:
        raise InputError("a groups file needs the columns 'group' and 'id'", file=path)
    groups: dict[str, list[str]] = {}
    for row in reader:
        g, i = (row.get("group") or "").strip(), (row.get("id") or "").strip()
        if g and i:
            groups.setdefault(g, []).append(i)
    return list(groups.values())


def parse_group_options(values: Sequence[str]) -> list[list[str]]:
    """`--group ID,ID,...`, each option one group."""
    return [comma_list([v]) for v in values]


def manual_edges(records: Records, manual: Sequence[Sequence[str]]) -> pl.DataFrame:
    rows_idx: list[int] = []
    rows_key: list[str] = []
    if not manual:
        return pl.DataFrame(schema={IDX: pl.UInt32, "key": pl.String})
    ids = records.frame.select(pl.col(ID), pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX))
    first = ids.unique(ID, keep="first", maintain_order=True)
    lookup = dict(zip(first[ID].to_list(), first[IDX].to_list(), strict=True))
    for k, group in enumerate(manual):
        if len(group) < 2:
            raise UsageError(f"--group {','.join(group)}: a group needs at least two ids")
        for rid in group:
            if rid not in lookup:
                raise UsageError(f"--group: no record has the id {rid!r}")
            rows_idx.append(lookup[rid])
            rows_key.append(f"manual:{k}")
    return pl.DataFrame({IDX: rows_idx, "key": rows_key}, schema={IDX: pl.UInt32, "key": pl.String})
