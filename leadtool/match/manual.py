"""Manual groups: records the user says are one (`--group ID,ID,...`, `--groups FILE` as
`dupes --format csv` writes it), whatever the detector proposed."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from ..errors import InputError, UsageError
from ..io.xlsx import sniff_binary
from ..options import comma_list
from ..records import ID, IDX, Records


def read_groups_file(path: str) -> list[list[str]]:
    """A `group,id` CSV (as `dupes --format csv` writes): ids of each group, in file order.
    Anything else (a binary file, another encoding) is one line naming the file."""
    p = Path(path)
    if p.is_dir():
        raise InputError("is a directory, not a groups file", file=path)
    if not p.is_file():
        raise InputError("no such file", file=path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), file=path) from None
    looks = sniff_binary(data)
    if looks is not None or b"\x00" in data:
        raise InputError(f"looks like {looks or 'a binary file'}, not a groups CSV (columns group,id)", file=path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text: a groups file is a CSV as dupes --format csv writes it",
                         file=path, line=line) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = reader.fieldnames
        if not fields or "group" not in fields or "id" not in fields:
            raise InputError("a groups file needs the columns 'group' and 'id'", file=path)
        groups: dict[str, list[str]] = {}
        for row in reader:
            g, i = (row.get("group") or "").strip(), (row.get("id") or "").strip()
            if g and i:
                groups.setdefault(g, []).append(i)
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", file=path, line=reader.line_num or None) from None
    return list(groups.values())


def parse_group_options(values: Sequence[str]) -> list[list[str]]:
    """`--group ID,ID,...`, each option one group."""
    return [comma_list([v]) for v in values]


def manual_edges(records: Records, manual: Sequence[Sequence[str]]) -> pl.DataFrame:
    """(idx, key) edges of the manual groups. An id held by several records (the same record
    seen twice, docs/groups.md#repeated-ids) puts every one of them in the group."""
    if not manual:
        return pl.DataFrame(schema={IDX: pl.UInt32, "key": pl.String})
    wanted = pl.DataFrame(
        [(rid, f"manual:{k}") for k, group in enumerate(manual) for rid in dict.fromkeys(group)],
        schema={ID: pl.String, "key": pl.String}, orient="row")
    ids = records.frame.select(pl.col(ID), pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX))
    found = wanted.join(ids, on=ID, how="left", maintain_order="left")
    missing = found.filter(pl.col(IDX).is_null()).get_column(ID)
    if missing.len():
        raise UsageError(f"--group: no record has the id {missing[0]!r}")
    sizes = found.group_by("key", maintain_order=True).len()
    small = sizes.filter(pl.col("len") < 2)
    if small.height:
        group = manual[int(small.item(0, "key").removeprefix("manual:"))]
        raise UsageError(f"--group {','.join(group)}: a group needs at least two records")
    return found.select(IDX, "key")
