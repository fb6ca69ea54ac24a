"""The duplicate groups as a flat table, one row per grouped record, each group in head order:
what `dupes` renders as a table, JSON or CSV, and what the library's `find_groups` returns
(`conflict`: why the group's records look like different people, null when they do not)."""

from __future__ import annotations

import polars as pl

from ..records import IDX, ROW, Records
from .groups import Groups
from .normalize import contact_name_expr, is_empty

SHOWN_FIELDS = ("name", "email_from", "partner_name", "create_date")
CSV_COLUMNS = ("group", "id", "head", "reasons", "file", "row", *SHOWN_FIELDS)


def duplicate_table(records: Records, groups: Groups, members: pl.DataFrame) -> pl.DataFrame:
    """One row per grouped record, groups in order, each group in head order."""
    rows = records.frame[members[IDX]]
    shown = [(records.field_values(f)).alias(f) for f in SHOWN_FIELDS]
    if not records.col("name"):  # another CRM's contacts: the person's name says who the record is
        shown[0] = contact_name_expr(records).alias("name")
    emails = records.columns_of("email_from")
    if len(emails) > 1:  # several email columns: the first one the record fills
        shown[1] = pl.coalesce([pl.when(~is_empty(pl.col(c))).then(pl.col(c)) for c in emails]).fill_null(
            pl.col(emails[0])).alias("email_from")
    table = pl.concat([
        members.select("group", pl.col("__lt_id").alias("id"), (pl.col("pos") == 0).alias("head")),
        rows.select(
            records.source_path().alias("file"), pl.col(ROW).alias("row"), *shown),
    ], how="horizontal")
    info = groups.info.select("group", pl.col("reasons").list.join(" ").alias("reasons"),
                              "size", "large", "conflict")
    return table.join(info, on="group", maintain_order="left").select(
        "group", "id", "head", "reasons", "file", "row", *SHOWN_FIELDS, "size", "large", "conflict")


def stats(records: Records, groups: Groups) -> dict[str, int]:
    return {
        "records": len(records),
        "groups": groups.info.height,
        "records_in_groups": int(groups.info["size"].sum() or 0),
        "large_groups": int(groups.info["large"].sum() or 0),
    }
