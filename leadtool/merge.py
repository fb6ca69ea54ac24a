"""The merge plan (SPEC 3) as data, and its application.

A plan says, for every group: the head, the other records in head order, and for every
column the value the head will carry and the id(s) it comes from. The preview, `apply`,
the audit log and undo all read this one plan. Everything is computed with one sort and
one group-by over the grouped records, so it works on any subset of records that holds
whole groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .config import Config
from .errors import UsageError
from .groups import IDX, Groups
from .normalize import (
    archived_expr,
    created_expr,
    id_int_expr,
    is_empty,
    number_expr,
    type_expr,
)
from .records import HIDDEN_PREFIX, ID, Records

HEAD_RULE_FIELDS = ("id", "create_date", "probability", "active", "date_conversion")
ADDRESS_FIELDS = ("street", "street2", "city", "zip", "state_id", "country_id")
COMPOSED_RULES = ("concat", "union")
PRIORITY_LABELS = {"low": 0, "normal": 0, "medium": 1, "high": 2, "very high": 3}
HEADS = ("oldest", "odoo")


@dataclass
class MergePlan:
    """`groups`: group, head (id), head_idx, reasons, merged (ids, head order), size, skipped.
    `members`: group, idx, id, pos (0 is the head), in head order.
    `values`: one row per merged group: head idx and the value of every column after merging.
    `changes`: group, column, before, after, source (list of ids), composed."""

    groups: pl.DataFrame
    members: pl.DataFrame
    values: pl.DataFrame
    changes: pl.DataFrame
    columns: list[str]

    @property
    def merged_groups(self) -> pl.DataFrame:
        return self.groups.filter(~pl.col("skipped"))

    def summary(self) -> dict[str, int]:
        merged = self.merged_groups
        return {
            "groups": merged.height,
            "records_merged_away": int(merged["merged"].list.len().sum() or 0),
            "skipped_large_groups": self.groups.height - merged.height,
        }


def _rules(records: Records, config: Config | None) -> dict[str, str]:
    """The rule of every data column: SPEC 3.2 defaults, then the config's [merge.rules]
    (by header or by field name)."""
    rules: dict[str, str] = {}
    by_field = {col: fld for fld, col in records.fields.items()}
    for col in records.columns:
        fld = by_field.get(col)
        if fld in HEAD_RULE_FIELDS:
            rules[col] = "head"
        elif fld == "description":
            rules[col] = "concat"
        elif fld == "tag_ids":
            rules[col] = "union"
        elif fld in ("type", "priority", "lost_reason_id"):
            rules[col] = fld
        elif fld in ADDRESS_FIELDS:
            rules[col] = "address"
        else:
            rules[col] = "first"
    if config is not None:
        for name, rule in config.merge_rules.items():
            col = records.fields.get(name) or next(
                (c for c in records.columns if records.headers[c] == name or c == name), None)
            if col is not None:
                rules[col] = rule
    return rules


def head_order(records: Records, head: str = "oldest", config: Config | None = None) -> list[pl.Expr]:
    """Sort keys that put each group's head first (SPEC 3.1)."""
    if head == "oldest":
        return [created_expr(records).alias("_k1"), id_int_expr().alias("_k2"),
                pl.col(ID).alias("_k3")]
    if head == "odoo":
        order = (config.stage_order if config else []) or []
        stage = records.col("stage_id")
        seq = (pl.col(stage).str.strip_chars().replace_strict(
            order, list(range(1, len(order) + 1)), default=0, return_dtype=pl.Int64)
            if stage and order else pl.lit(0))
        prob = records.col("probability")
        return [archived_expr(records).alias("_k1"),
                (type_expr(records) != "opportunity").alias("_k2"),
                (-seq).alias("_k3"),
                (-(number_expr(pl.col(prob)).fill_null(0)) if prob else pl.lit(0.0)).alias("_k4"),
                id_int_expr().alias("_k5"), pl.col(ID).alias("_k6")]
    raise UsageError(f"--head {head!r}: expected one of {', '.join(HEADS)}")


def _nonempty(col: str) -> pl.Expr:
    return ~is_empty(pl.col(col))


def _agg_exprs(col: str, rule: str, records: Records) -> tuple[pl.Expr, pl.Expr]:
    """(value, sources) aggregations of one column over a group in head order. A null value
    means "keep the head's own value"."""
    ne = _nonempty(col)
    if col == records.col("expected_revenue"):  # a zero revenue is no information
        ne = ne & (number_expr(pl.col(col)).fill_null(1) != 0)
    ids = pl.col(ID)
    if rule == "head":
        return pl.col(col).first(), ids.first().implode()
    if rule == "first":
        return pl.col(col).filter(ne).first(), ids.filter(ne).first().implode()
    if rule == "last":
        return pl.col(col).filter(ne).last(), ids.filter(ne).last().implode()
    if rule == "concat":
        values = pl.col(col).filter(ne)
        html = values.str.strip_chars_start().str.starts_with("<").all()
        joined = pl.when(html).then(values.str.join("<br><br>")).otherwise(values.str.join("\n\n"))
        return pl.when(ne.any()).then(joined).otherwise(None), ids.filter(ne)
    if rule == "union":
        tags = (pl.col(col).str.split(",").explode().str.strip_chars()
                .filter(pl.col(col).str.split(",").explode().str.strip_chars() != "")
                .unique(maintain_order=True))
        with_sep = pl.col(col).filter(pl.col(col).str.contains(",", literal=True)).first()
        sep = pl.when(with_sep.str.contains(", ", literal=True)).then(pl.lit(", ")).otherwise(pl.lit(","))
        return (pl.when(ne.any()).then(tags.str.join(",").str.replace_all(",", sep, literal=True))
                .otherwise(None)), ids.filter(ne)
    if rule == "longest":
        length = pl.when(ne).then(pl.col(col).str.len_chars()).otherwise(-1)
        at = length.arg_max()
        return (pl.when(ne.any()).then(pl.col(col).get(at)).otherwise(None),
                ids.get(at).implode())
    if rule in ("max", "min"):
        num = number_expr(pl.col(col))
        numeric = (num.is_not_null() | ~ne).all()
        key = pl.when(ne).then(num).otherwise(None)
        at_num = key.arg_max() if rule == "max" else key.arg_min()
        text_key = pl.when(ne).then(pl.col(col)).otherwise(None)
        at_txt = text_key.arg_max() if rule == "max" else text_key.arg_min()
        at = pl.when(numeric).then(at_num).otherwise(at_txt)
        return (pl.when(ne.any()).then(pl.col(col).get(at)).otherwise(None),
                ids.get(at).implode())
    if rule == "type":
        opp = pl.col("_type") == "opportunity"
        return (pl.when(opp.any()).then(pl.col(col).filter(opp).first()).otherwise(None),
                pl.when(opp.any()).then(ids.filter(opp).first()).otherwise(ids.first()).implode())
    if rule == "priority":
        at = pl.col("_prio").arg_max()
        return pl.col(col).get(at), ids.get(at).implode()
    if rule == "lost_reason_id":
        head_open = pl.col("_prob").first().fill_null(0) > 0
        return (pl.when(head_open).then(pl.lit("")).otherwise(pl.col(col).filter(ne).first()),
                pl.when(head_open).then(ids.first()).otherwise(ids.filter(ne).first()).implode())
    if rule == "address":
        at = pl.col("_addr").arg_max()
        return pl.col(col).get(at), ids.get(at).implode()
    raise UsageError(f"unknown merge rule {rule!r}")


def _prepared(records: Records, members: pl.DataFrame) -> pl.DataFrame:
    """The grouped records' data in head order, with the helper columns the rules need."""
    rows = records.frame[members[IDX]]
    extra: list[pl.Expr] = [type_expr(records).alias("_type")]
    prio = records.col("priority")
    if prio:
        p = pl.col(prio).str.strip_chars()
        extra.append(pl.coalesce(p.cast(pl.Int64, strict=False),
                                 p.str.to_lowercase().replace_strict(
                                     PRIORITY_LABELS, default=None, return_dtype=pl.Int64),
                                 pl.lit(-1)).alias("_prio"))
    prob = records.col("probability")
    extra.append((number_expr(pl.col(prob)) if prob else pl.lit(None, pl.Float64)).alias("_prob"))
    addr = [records.col(f) for f in ADDRESS_FIELDS if records.col(f)]
    extra.append(pl.sum_horizontal([_nonempty(c).cast(pl.Int32) for c in addr]).alias("_addr")
                 if addr else pl.lit(0).alias("_addr"))
    return pl.concat([members.select("group", "pos"), rows.with_columns(extra)], how="horizontal")


def ordered_members(records: Records, groups: Groups, *, head: str = "oldest",
                    config: Config | None = None) -> pl.DataFrame:
    """Every grouped record with its group, id and `pos` in head order (0 is the head)."""
    order = head_order(records, head, config)
    keys = [f"_k{i + 1}" for i in range(len(order))]
    joined = groups.members.join(groups.info.select("group", "large"), on="group")
    return (joined.with_columns(records.frame[joined[IDX]].select(order + [pl.col(ID)]))
            .sort(["group", *keys, IDX], nulls_last=True)
            .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).over("group").alias("pos"))
            .select("group", IDX, ID, "pos", "large"))


def plan_merge(records: Records, groups: Groups, *, head: str = "oldest",
               config: Config | None = None, allow_large: bool = False) -> MergePlan:
    """Decide every merge without changing anything."""
    columns = records.columns
    members = ordered_members(records, groups, head=head, config=config)
    head_rows = members.filter(pl.col("pos") == 0)
    groups_df = (groups.info
                 .join(head_rows.select("group", pl.col(ID).alias("head"), pl.col(IDX).alias("head_idx")),
                       on="group")
                 .join(members.filter(pl.col("pos") > 0).group_by("group", maintain_order=True)
                       .agg(pl.col(ID).alias("merged")), on="group", how="left")
                 .with_columns((pl.col("large") & pl.lit(not allow_large)).alias("skipped"))
                 .sort("group"))
    work = members.filter(~pl.col("large") | pl.lit(allow_large))
    rules = _rules(records, config)
    data = _prepared(records, work)
    data = data.with_columns(work[IDX])
    aggs: list[pl.Expr] = [pl.col(IDX).first().alias("head_idx")]
    for i, col in enumerate(columns):
        value, sources = _agg_exprs(col, rules[col], records)
        aggs += [pl.coalesce(value, pl.col(col).first()).alias(f"v{i}"), sources.alias(f"s{i}"),
                 pl.col(col).first().alias(f"b{i}")]
    agg = data.group_by("group", maintain_order=True).agg(aggs)
    values = agg.select("group", "head_idx", *[pl.col(f"v{i}").alias(c) for i, c in enumerate(columns)])
    composed = {c for c in columns if rules[c] in COMPOSED_RULES}
    long_parts = []
    for i, col in enumerate(columns):
        part = agg.filter(pl.col(f"v{i}") != pl.col(f"b{i}")).select(
            "group", pl.lit(col).alias("column"), pl.col(f"b{i}").alias("before"),
            pl.col(f"v{i}").alias("after"),
            pl.col(f"s{i}").cast(pl.List(pl.String)).alias("source"),
            pl.lit(col in composed).alias("composed"))
        long_parts.append(part)
    changes = (pl.concat(long_parts).sort("group", maintain_order=True) if long_parts else
               pl.DataFrame(schema={"group": pl.UInt32, "column": pl.String, "before": pl.String,
                                    "after": pl.String, "source": pl.List(pl.String),
                                    "composed": pl.Boolean}))
    return MergePlan(groups=groups_df, members=members.drop("large"), values=values,
                     changes=changes, columns=columns)


def apply_merge(records: Records, plan: MergePlan) -> Records:
    """The merged records: every record but the merged-away ones, in input order; each head
    in its place carrying the merged values."""
    merged_groups = plan.merged_groups.select("group")
    away = (plan.members.join(merged_groups, on="group").filter(pl.col("pos") > 0)
            .get_column(IDX))
    frame = records.frame
    if plan.values.height:
        heads = plan.values.get_column("head_idx")
        changed = set(plan.changes.get_column("column").unique().to_list())
        # only columns that change are touched; scatter writes into a private copy
        frame = frame.with_columns(
            frame.get_column(c).clone().scatter(heads, plan.values.get_column(c))
            for c in plan.columns if c in changed)
    if away.len():
        keep = pl.Series(IDX, [True], dtype=pl.Boolean).extend_constant(True, frame.height - 1)
        keep = keep.scatter(away, False)
        frame = frame.filter(keep)
    return records.with_frame(frame)


def data_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if not c.startswith(HIDDEN_PREFIX)]
