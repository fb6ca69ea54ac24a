"""Merge events (docs/audit.md), built in bulk with polars: one JSON string per group, no
per-record Python."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from .. import __version__
from ..io.jsontext import json_list, json_literal, json_str
from ..merge import MergePlan
from ..records import FUZZY_SCORES, ID, IDX, KIND_PREFIX, ROW, SRC, Records

_SPECIAL = r'[\x00-\x1f"\\]'  # the characters a JSON string escapes


def input_labels(records: Records) -> list[str]:
    """How a record key names each input (`ID@FILE:ROW`): its path as given, followed by
    `#N` (its position, 1 for the first input) when the same path is given more than once."""
    paths = [s.path for s in records.sources]
    return [p if paths.count(p) == 1 else f"{p}#{k + 1}" for k, p in enumerate(paths)]


def record_keys(records: Records) -> pl.Expr:
    """The key of each record in its event's `records`, over members in head order (columns
    `group`, ID, SRC, ROW): its id; a later record of the same group with the same id (the
    same record seen twice) `ID@FILE:ROW`, so that no key repeats (docs/audit.md#merge-events)."""
    labels = input_labels(records)
    place = (pl.lit("@") + pl.col(SRC).replace_strict(list(range(len(labels))), labels, return_dtype=pl.String)
             + ":" + pl.col(ROW).cast(pl.String))
    again = pl.int_range(pl.len(), dtype=pl.UInt32).over("group", ID) > 0
    return pl.when(again).then(pl.col(ID) + place).otherwise(pl.col(ID))


def record_json(records: Records, idx: pl.Series, before: pl.Series | None = None,
                after: pl.Series | None = None, keys: pl.Series | None = None) -> pl.DataFrame:
    """`"KEY":{"file":...,"input":K,"row":N,"values":{...}}` for the records at the given
    positions, in that order (column `json`), with their id (column `id`). `keys` (default:
    the ids) name them; `before` and `after` (text per record) are put around each one in the
    same pass: no extra copy of the text."""
    rows = records.frame[idx].with_columns(
        (before if before is not None else pl.repeat("", len(idx), eager=True)).alias("__lt_before"),
        (after if after is not None else pl.repeat("", len(idx), eager=True)).alias("__lt_after"),
        (keys if keys is not None else records.frame.get_column(ID).gather(idx)).alias("__lt_key"))
    # most columns never hold a quote, backslash or control character: quoting is enough
    special = rows.select(pl.col(c).str.join("").str.contains(_SPECIAL) for c in records.columns).row(0)
    # one flat list of literals and columns: a plain column's quotes go into the literals
    # around it (a concatenation per cell for the quotes alone cost a quarter more)
    parts: list[pl.Expr] = []
    text = "{"
    for k, c in enumerate(records.columns):
        text += ("" if k == 0 else ",") + json_literal(c) + ":"
        if special[k]:
            parts += [pl.lit(text), json_str(pl.col(c))]
            text = ""
        else:
            parts += [pl.lit(text + '"'), pl.col(c)]
            text = '"'
    if text:
        parts.append(pl.lit(text))
    # one concatenation of ~100 pieces runs on one core: slices of the columns run in parallel
    pieces = [pl.concat_str(parts[i:i + _SLICE]).alias(f"__lt_v{i}") for i in range(0, len(parts), _SLICE)]
    file_js = json_str(records.source_path())
    kinds = _kinds_json(records, rows)
    return rows.lazy().select(
        pl.col(ID).alias("id"),
        pl.concat_str(pl.col("__lt_before"), json_str(pl.col("__lt_key")), pl.lit(':{"file":'), file_js,
                      pl.lit(',"input":'), pl.col(SRC).cast(pl.String),
                      pl.lit(',"row":'), pl.col(ROW).cast(pl.String), pl.lit(',"values":')).alias("__lt_pre"),
        *pieces, *[e.alias(f"__lt_k{i}") for i, e in enumerate(kinds)], pl.col("__lt_after"),
    ).select(
        "id", pl.concat_str(pl.col("__lt_pre"), *[p.meta.output_name() for p in pieces], pl.lit("}"),
                            *[f"__lt_k{i}" for i in range(len(kinds))], pl.lit("}"),
                            pl.col("__lt_after")).alias("json"),
    ).collect()


_SLICE = 8  # pieces (4 columns) per parallel concatenation


def _kinds_json(records: Records, rows: pl.DataFrame) -> list[pl.Expr]:
    """JSON inputs only: `,"kinds":{"col":"r"}` for the cells that were JSON numbers, booleans
    or null (`r`) or absent keys (`a`), so that undo gives them back as they were."""
    cols = [c for c in records.columns if f"{KIND_PREFIX}{c}" in rows.columns]
    if not cols:
        return []
    items = [pl.when(pl.col(f"{KIND_PREFIX}{c}").is_in(["r", "a"])).then(
        pl.concat_str(pl.lit(json_literal(c) + ':"'), pl.col(f"{KIND_PREFIX}{c}"), pl.lit('"'))) for c in cols]
    return [pl.lit(',"kinds":{'), pl.concat_str(items, separator=",", ignore_nulls=True), pl.lit("}")]


def merge_event_chunks(records: Records, plan: MergePlan, at: str,
                       batch: int = 100_000) -> Iterator[pl.Series]:
    """The merge events as text fragments whose concatenation is one JSON line per merged
    group, in group order: one fragment per record, the head's opening its group's event
    (everything up to `"records":{`) and the last one closing it. No per-group join, no sort,
    and the record text is made once, `batch` records at a time (a batch may end inside a
    group: only the order of the fragments matters), so that a large log is never in memory
    whole (100k records: ~100 MB of text, while the output is being written beside it)."""
    groups = plan.merged_groups
    if groups.height == 0:
        return
    changes = plan.changes.join(groups.select("group"), on="group", maintain_order="left")
    src = pl.when(pl.col("composed")).then(json_list(pl.col("source"))).otherwise(
        json_str(pl.col("source").list.first()))
    col_js = {c: json_literal(c) for c in plan.columns}
    changes = changes.select(
        "group",
        pl.concat_str(pl.col("column").replace_strict(col_js, return_dtype=pl.String),
                      pl.lit(':{"before":'), json_str(pl.col("before")), pl.lit(',"after":'),
                      json_str(pl.col("after")), pl.lit(',"source":'), src, pl.lit("}")).alias("c"),
    ).group_by("group", maintain_order=True).agg(pl.col("c").str.join(","))
    head = f'{{"event":"merge","at":{json_literal(at)},"version":{json_literal(__version__)},"group":'
    # a fuzzy group's links (`,"scores":[...]`, made with its groups): after its reasons
    scores = [pl.col(FUZZY_SCORES).fill_null("")] if FUZZY_SCORES in groups.columns else []
    prefix = (groups.select("group", "reasons", "head", "merged", *scores)
              .join(changes, on="group", how="left", maintain_order="left")
              .select("group", pl.concat_str(
                  pl.lit(head), pl.col("group").cast(pl.String), pl.lit(',"reason":'),
                  json_list(pl.col("reasons")), *scores, pl.lit(',"head":'), json_str(pl.col("head")),
                  pl.lit(',"merged":'), json_list(pl.col("merged")), pl.lit(',"changes":{'),
                  pl.col("c").fill_null(""), pl.lit('},"records":{')).alias("prefix")))
    # members come sorted by group, then head order: the head first, the last record last
    members = plan.members.join(prefix, on="group", maintain_order="left")
    members = (members.with_columns(records.frame.select(SRC, ROW)[members.get_column(IDX)])
               .select(IDX, pl.when(pl.col("pos") == 0).then(pl.col("prefix")).otherwise(pl.lit(","))
                       .alias("before"),
                       pl.when(pl.col("group") != pl.col("group").shift(-1, fill_value=0))
                       .then(pl.lit("}}\n")).otherwise(pl.lit("")).alias("after"),
                       record_keys(records).alias("key")))
    for start in range(0, members.height, batch):
        part = members.slice(start, batch)
        yield record_json(records, part[IDX], part["before"], part["after"], part["key"]).get_column("json").alias("t")


def merge_event_lines(records: Records, plan: MergePlan, at: str) -> pl.Series:
    """One JSON line per merged group, in group order."""
    text = "".join(chunk.str.join("").item() for chunk in merge_event_chunks(records, plan, at))
    # only \n ends a line: str.splitlines would also split at \x85 or \u2028 inside a value
    return pl.Series("line", text.split("\n")[:-1], dtype=pl.String)


