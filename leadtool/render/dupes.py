"""`dupes --format json` and `--format csv`: the group table as the stable documents scripts read.

JSON shape (docs/groups.md):
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

from ..io.jsontext import json_str
from ..match.groups import Groups
from ..match.table import CSV_COLUMNS, SHOWN_FIELDS, stats
from ..records import Records


def json_text(records: Records, groups: Groups, table: pl.DataFrame) -> str:
    """The JSON document of the module docstring, laid out as `json.dumps(doc, ensure_ascii=False,
    indent=2)` would write it, character for character (the tests hold the two equal), but
    built by polars: json.dumps indents in pure Python, seconds for a large export's groups."""
    return json_bytes(records, groups, table).decode("utf-8")


def json_bytes(records: Records, groups: Groups, table: pl.DataFrame) -> bytes:
    """`json_text` as UTF-8, for stdout: no round trip through a str (it is large)."""
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


def csv_bytes(table: pl.DataFrame) -> bytes:
    """`group,id,...` as UTF-8 (what `merge --groups FILE` reads back), for stdout."""
    out = io.BytesIO()
    table.select(CSV_COLUMNS).with_columns(pl.col("head").cast(pl.String).str.to_lowercase()).write_csv(out)
    return out.getvalue()
