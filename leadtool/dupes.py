"""`leadtool dupes`: the duplicate groups as a flat table (one row per record, head first),
and as the stable JSON document scripts read.

JSON shape (documented in the README):
{"stats": {"records": N, "groups": G, "records_in_groups": M, "large_groups": L},
 "groups": [{"group": 1, "reasons": ["email:jane@x.com"], "size": 2, "large": false,
             "head": "12", "records": [{"id": "12", "head": true, "file": "a.csv", "row": 3,
                                         "name": ..., "email_from": ..., "partner_name": ...,
                                         "create_date": ...}, ...]}]}
"""

from __future__ import annotations

import io
import json

import polars as pl

from .groups import IDX, Groups
from .io import json_str
from .records import ROW, SRC, Records

SHOWN_FIELDS = ("name", "email_from", "partner_name", "create_date")
CSV_COLUMNS = ("group", "id", "head", "reasons", "file", "row", *SHOWN_FIELDS)


def duplicate_table(records: Records, groups: Groups, members: pl.DataFrame) -> pl.DataFrame:
    """One row per grouped record, groups in order, each group in head order."""
    files = [s.path for s in records.sources]
    rows = records.frame[members[IDX]]
    shown = [(records.field_values(f)).alias(f) for f in SHOWN_FIELDS]
    table = pl.concat([
        members.select("group", pl.col("__lt_id").alias("id"), (pl.col("pos") == 0).alias("head")),
        rows.select(
            pl.col(SRC).replace_strict(list(range(len(files))), files, return_dtype=pl.String)
            .alias("file"), pl.col(ROW).alias("row"), *shown),
    ], how="horizontal")
    info = groups.info.select("group", pl.col("reasons").list.join(" ").alias("reasons"),
                              "size", "large")
    return table.join(info, on="group", maintain_order="left").select(
        "group", "id", "head", "reasons", "file", "row", *SHOWN_FIELDS, "size", "large")


def stats(records: Records, groups: Groups) -> dict[str, int]:
    return {
        "records": len(records),
        "groups": groups.info.height,
        "records_in_groups": int(groups.info["size"].sum() or 0),
        "large_groups": int(groups.info["large"].sum() or 0),
    }


def json_text(records: Records, groups: Groups, table: pl.DataFrame) -> str:
    """The JSON document of the module docstring, laid out as `json.dumps(doc, ensure_ascii=False,
    indent=2)` would write it, character for character (the tests hold the two equal), but
    built by polars: json.dumps indents in pure Python, 3 s for the 322k records of a 1M-row
    export."""
    return json_bytes(records, groups, table).decode("utf-8")


def json_bytes(records: Records, groups: Groups, table: pl.DataFrame) -> bytes:
    """`json_text` as UTF-8, for stdout: 120 MB at 1M rows, no round trip through a str."""
    stats_text = json.dumps(stats(records, groups), ensure_ascii=False, indent=2).replace("\n", "\n  ")
    if table.height == 0:
        return ('{\n  "stats": ' + stats_text + ',\n  "groups": []\n}').encode("utf-8")
    pad = " " * 10

    def field(name: str, value: pl.Expr, last: bool = False) -> list[pl.Expr]:
        return [pl.lit(f'{pad}"{name}": '), value, pl.lit("\n" if last else ",\n")]

    flag = pl.when(pl.col("head")).then(pl.lit("true")).otherwise(pl.lit("false"))
    shown = [part for k, f in enumerate(SHOWN_FIELDS)
             for part in field(f, json_str(pl.col(f)), last=k == len(SHOWN_FIELDS) - 1)]
    record = pl.concat_str([pl.lit("        {\n"), *field("id", json_str(pl.col("id"))), *field("head", flag),
                            *field("file", json_str(pl.col("file"))), *field("row", pl.col("row").cast(pl.String)),
                            *shown, pl.lit("        }")])
    per_group = table.group_by("group", maintain_order=True).agg(
        record.str.join(",\n").alias("records"), pl.col("id").first().alias("head_id"),
        pl.col("size").first(), pl.col("large").first())
    reasons = groups.info.select("group", pl.col("reasons").list.eval(
        pl.lit("        ") + json_str(pl.element())).list.join(",\n").alias("reasons"))
    per_group = per_group.join(reasons, on="group", how="left", maintain_order="left")
    text = per_group.select(pl.concat_str(
        pl.lit('    {\n      "group": '), pl.col("group").cast(pl.String),
        pl.lit(',\n      "reasons": [\n'), pl.col("reasons"), pl.lit('\n      ],\n      "size": '),
        pl.col("size").cast(pl.String), pl.lit(',\n      "large": '),
        pl.when(pl.col("large")).then(pl.lit("true")).otherwise(pl.lit("false")),
        pl.lit(',\n      "head": '), json_str(pl.col("head_id")), pl.lit(',\n      "records": [\n'),
        pl.col("records"), pl.lit("\n      ]\n    }")).str.join(",\n").cast(pl.Binary)).item()
    return ('{\n  "stats": ' + stats_text + ',\n  "groups": [\n').encode("utf-8") + text + b"\n  ]\n}"


def as_csv(table: pl.DataFrame) -> str:
    """`group,id,...`: what `merge --groups FILE` reads back."""
    return csv_bytes(table).decode("utf-8")


def csv_bytes(table: pl.DataFrame) -> bytes:
    """`as_csv` as UTF-8, for stdout (no round trip through a str)."""
    out = io.BytesIO()
    table.select(CSV_COLUMNS).with_columns(pl.col("head").cast(pl.String).str.to_lowercase()).write_csv(out)
    return out.getvalue()
