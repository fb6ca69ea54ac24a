"""Convert events (docs/audit.md): one `convert` event per converted record, built in bulk, then
`create_customer` and `skip` events."""

from __future__ import annotations

from typing import Any

import polars as pl

from .. import __version__
from ..convert import ConvertPlan
from ..io.jsontext import json_literal, json_str
from ..records import KIND_PREFIX, ROW, SRC, Records


def _before_kinds(records: Records, changes: pl.DataFrame) -> pl.DataFrame:
    """JSON inputs: the kind of each changed cell before the run (`r`: a JSON number, boolean
    or null; `a`: an absent key), so that undo writes it back as it was."""
    kind_cols = {c: f"{KIND_PREFIX}{c}" for c in records.columns if f"{KIND_PREFIX}{c}" in records.frame.columns}
    if not kind_cols or changes.height == 0:
        return changes.with_columns(pl.lit(None, dtype=pl.String).alias("kind"))
    long = (records.frame.select(list(kind_cols.values()))
            .with_row_index("idx").unpivot(index="idx", variable_name="column", value_name="kind")
            .with_columns(pl.col("column").str.strip_prefix(KIND_PREFIX), pl.col("idx").cast(pl.UInt32)))
    return changes.join(long.filter(pl.col("kind").is_not_null()), on=["idx", "column"], how="left",
                        maintain_order="left")


def convert_event_lines(records: Records, plan: ConvertPlan, at: str) -> pl.Series:
    """One `convert` event per converted record, in output order: id, file, input and row (its
    original place), changes {column: {before, after}} and customer."""
    t = plan.targets
    if t.height == 0:
        return pl.Series("line", [], dtype=pl.String)
    col_js = {c: json_literal(c) for c in plan.columns}
    kinds = _before_kinds(records, plan.changes)
    changes = (kinds.select(
        "idx", (pl.col("column").replace_strict(col_js, return_dtype=pl.String) + ':{"before":'
                + json_str(pl.col("before")) + ',"after":' + json_str(pl.col("after"))
                + pl.when(pl.col("kind").is_in(["r", "a"])).then(',"kind":"' + pl.col("kind") + '"')
                .otherwise(pl.lit("")) + "}").alias("c"))
        .group_by("idx", maintain_order=True).agg(pl.col("c").str.join(",")))
    customer = pl.when(pl.col("how").is_null()).then(pl.lit("null")).otherwise(
        '{"id":' + json_str(pl.col("cust_id")) + ',"name":' + json_str(pl.col("cust_name"))
        + ',"created":' + pl.when(pl.col("created")).then(pl.lit("true")).otherwise(pl.lit("false")) + "}")
    head = f'{{"event":"convert","at":{json_literal(at)},"version":{json_literal(__version__)},"id":'
    lines = t.join(changes, on="idx", how="left", maintain_order="left").select(
        (pl.lit(head) + json_str(pl.col("id")) + ',"file":'
         + json_str(records.source_path()) + ',"input":' + pl.col(SRC).cast(pl.String)
         + ',"row":' + pl.col(ROW).cast(pl.String)
         + ',"changes":{' + pl.col("c").fill_null("") + '},"customer":' + customer + "}").alias("line"))
    return lines.get_column("line")


def other_events(records: Records, plan: ConvertPlan, at: str) -> list[dict[str, Any]]:
    """`create_customer` events (the new customer's values), then `skip` events."""
    events: list[dict[str, Any]] = []
    for cust in plan.customers.created:
        values = {k: v for k, v in cust.items() if k not in ("lead", "parent_name")}
        events.append({"event": "create_customer", "at": at, "version": __version__, "id": cust["id"],
                       "name": cust["name"], "lead": cust["lead"], "values": values})
    skipped = plan.leads.filter(pl.col("action") == "skip")
    if skipped.height:
        files = [s.path for s in records.sources]
        pos = records.frame[skipped.get_column("idx")].select(SRC, ROW)
        for (rid, reason), (src, row) in zip(skipped.select("id", "reason").iter_rows(), pos.iter_rows(),
                                             strict=True):
            events.append({"event": "skip", "at": at, "version": __version__, "id": rid,
                           "reason": reason, "file": files[src], "input": src, "row": row})
    return events
