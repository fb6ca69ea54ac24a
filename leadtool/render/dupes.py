"""`dupes --format json` and `--format csv`: the group table as the stable documents scripts read.

JSON shape (docs/groups.md):
{"stats": {"records": N, "groups": G, "records_in_groups": M, "large_groups": L},
 "groups": [{"group": 1, "reasons": ["email:jane@x.com"], "size": 2, "large": false,
             "head": "12", "records": [{"id": "12", "head": true, "file": "a.csv", "row": 3,
                                         "name": ..., "email_from": ..., "partner_name": ...,
                                         "create_date": ...}, ...]}]}
With --fuzzy, `stats` also has fuzzy_groups, fuzzy_links and candidate_pairs, each group
`fuzzy` and `score` (its weakest link, null when exact), each record `score` and `compared`
(against the head, null for the head and its exact group).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator

import polars as pl

from ..io.jsontext import json_literal, json_str
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
    counts = stats(records, groups)
    if "score" in table.columns:  # a table of fuzzy groups (match.fuzzy_groups.fuzzy_table)
        from ..match.fuzzy_groups import fuzzy_stats

        counts.update(fuzzy_stats(groups))
    return b"".join(json_pieces(counts, [(table, groups.info)]))


def json_pieces(counts: dict[str, int], tables: Iterable[tuple[pl.DataFrame, pl.DataFrame]]) -> Iterator[bytes]:
    """The document a piece at a time, from the stats and tables of whole consecutive groups
    with their `info` (a bounded `dupes` has one table per partition, never all at once)."""
    stats_text = json.dumps(counts, ensure_ascii=False, indent=2).replace("\n", "\n  ")
    head = ('{\n  "stats": ' + stats_text + ',\n  "groups": ').encode("utf-8")
    first = True
    for table, info in tables:
        if table.height:
            yield head + b"[\n" if first else b",\n"
            first = False
            yield _groups_text(table, info)
    yield head + b"[]\n}" if first else b"\n  ]\n}"


def _groups_text(table: pl.DataFrame, info: pl.DataFrame) -> bytes:
    fuzzy = "score" in table.columns
    pad = " " * 10

    def field(name: str, value: pl.Expr, last: bool = False) -> list[pl.Expr]:
        return [pl.lit(f'{pad}"{name}": '), value, pl.lit("\n" if last else ",\n")]

    flag = pl.when(pl.col("head")).then(pl.lit("true")).otherwise(pl.lit("false"))
    shown = [part for k, f in enumerate(SHOWN_FIELDS)
             for part in field(f, json_str(pl.col(f)), last=not fuzzy and k == len(SHOWN_FIELDS) - 1)]
    if fuzzy:
        from ..match.fuzzy_groups import VS

        shown += [*field("score", _number(pl.col("score"))),
                  *field("compared", _compared([c for c in table.columns if c.startswith(VS)], VS), last=True)]
    record = pl.concat_str([pl.lit("        {\n"), *field("id", json_str(pl.col("id"))), *field("head", flag),
                            *field("file", json_str(pl.col("file"))), *field("row", pl.col("row").cast(pl.String)),
                            *shown, pl.lit("        }")])
    per_group = table.group_by("group", maintain_order=True).agg(
        record.str.join(",\n").alias("records"), pl.col("id").first().alias("head_id"),
        pl.col("size").first(), pl.col("large").first(),
        *([pl.col("group_score").first()] if fuzzy else []))
    reasons = info.select("group", pl.col("reasons").list.eval(
        pl.lit("        ") + json_str(pl.element())).list.join(",\n").alias("reasons"))
    per_group = per_group.join(reasons, on="group", how="left", maintain_order="left")
    return per_group.select(pl.concat_str(
        pl.lit('    {\n      "group": '), pl.col("group").cast(pl.String),
        pl.lit(',\n      "reasons": [\n'), pl.col("reasons"), pl.lit('\n      ],\n      "size": '),
        pl.col("size").cast(pl.String), pl.lit(',\n      "large": '),
        pl.when(pl.col("large")).then(pl.lit("true")).otherwise(pl.lit("false")),
        *([pl.lit(',\n      "fuzzy": '),
           pl.when(pl.col("group_score").is_not_null()).then(pl.lit("true")).otherwise(pl.lit("false")),
           pl.lit(',\n      "score": '), _number(pl.col("group_score"))] if fuzzy else []),
        pl.lit(',\n      "head": '), json_str(pl.col("head_id")), pl.lit(',\n      "records": [\n'),
        pl.col("records"), pl.lit("\n      ]\n    }")).str.join(",\n").cast(pl.Binary)).item()


def _number(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).fill_null("null")


def _compared(columns: list[str], prefix: str) -> pl.Expr:
    """A record's levels against the head as a JSON object (null when it has none), laid out
    as json.dumps(indent=2) lays it out at this depth."""
    items = [pl.when(pl.col(c).is_not_null()).then(pl.lit(" " * 12 + json_literal(c[len(prefix):]) + ": ")
                                                     + json_str(pl.col(c))) for c in columns]
    body = pl.concat_str(items, separator=",\n", ignore_nulls=True)
    return (pl.when(pl.col("score").is_null()).then(pl.lit("null"))
            .when(body == "").then(pl.lit("{}"))
            .otherwise(pl.lit("{\n") + body + pl.lit("\n" + " " * 10 + "}")))


def csv_bytes(table: pl.DataFrame) -> bytes:
    """`group,id,...` as UTF-8 (what `merge --groups FILE` reads back), for stdout; with
    --fuzzy, `score` and `compared` after the usual columns."""
    return b"".join(csv_pieces([table]))


def csv_pieces(tables: Iterable[pl.DataFrame]) -> Iterator[bytes]:
    """`csv_bytes` a table at a time (the header once, before the first)."""
    header = True
    for table in tables:
        out = io.BytesIO()
        columns = CSV_COLUMNS + (("score", "compared") if "score" in table.columns else ())
        table.select(columns).with_columns(pl.col("head").cast(pl.String).str.to_lowercase()).write_csv(
            out, include_header=header)
        header = False
        yield out.getvalue()
    if header:  # no table at all: the header alone, as for an empty table
        yield (",".join(CSV_COLUMNS) + "\n").encode("utf-8")
