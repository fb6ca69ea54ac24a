"""The merge plan (docs/merge.md) as data, and its application.

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
from .errors import InputError, UsageError
from .match.dates import LOCAL_START, DateOptions, local_instants
from .match.groups import Groups
from .match.normalize import (
    archived_expr,
    created_expr,
    id_int_expr,
    is_empty,
    number_expr,
    type_expr,
)
from .records import GROUP, HEAD_IDX, ID, IDX, KEEP, KEPT_ROWS, KIND_PREFIX, POS, ROW, SRC, Records

HEAD_RULE_FIELDS = ("id", "create_date", "probability", "active", "date_conversion")
ADDRESS_FIELDS = ("street", "street2", "city", "zip", "state_id", "country_id")
COMPOSED_RULES = ("concat", "union")
PRIORITY_LABELS = {"low": 0, "normal": 0, "medium": 1, "high": 2, "very high": 3}
HEADS = ("oldest", "odoo")


@dataclass
class MergePlan:
    """`groups`: group, head (id), head_idx, reasons, merged (ids, head order), size, large,
    conflict (why its members look like different people, or null), bad_dates (ids whose
    create_date could not be read, sorted last), held (`large` or `conflict`: why the group is
    not merged, or null) and skipped (held).
    `members`: group, idx, id, pos (0 is the head), in head order.
    `values`: one row per merged group: the value of every column after merging, with the
    group (`__lt_group`) and the head's position (`__lt_head_idx`); for JSON inputs also the
    kind (`KIND_PREFIX` + column: number, null or nested `r`, absent `a`, string null) of each
    changed column's new value, the kind of the record it came from.
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
        held = self.groups.get_column("held")
        return {
            "groups": merged.height,
            "records_merged_away": int(merged["merged"].list.len().sum() or 0),
            "skipped_large_groups": int((held == "large").sum()),
            "skipped_conflicts": int((held == "conflict").sum()),
        }


def _rules(records: Records, config: Config | None) -> dict[str, str]:
    """The rule of every data column: docs/merge.md#field-rules defaults, then the config's [merge.rules]
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
    """Sort keys that put each group's head first (docs/merge.md#the-head)."""
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


class _Groups:
    """The grouped records in head order (sorted by group, pos) and the vectorized moves that
    the rules are made of. Every result has one row per group, in group order; a null value
    means "keep the head's own value"."""

    def __init__(self, data: pl.DataFrame) -> None:
        self.data = data
        self._best: dict[tuple[str, bool], tuple[pl.Series, pl.Series]] = {}
        self.is_head = data.get_column(POS) == 0
        self.is_last = self.is_head.shift(-1, fill_value=True)
        self.starts = self.is_head.arg_true()
        self.heads = data.filter(self.is_head)
        self.groups = self.heads.get_column(GROUP)
        self.arrays: dict[str, pl.Series] = {}  # per column: the groups whose union is a JSON array

    def first_rows(self, preds: dict[str, pl.Expr], last: bool = False) -> dict[str, tuple[pl.Series, pl.Series]]:
        """For each named predicate, the row of the first (or last) record of each group, in
        head order, where it holds, and whether there is one: a backward (forward) fill of row
        numbers over the sorted rows, all predicates in one parallel pass, no group-by."""
        fill = "forward" if last else "backward"
        at = self.data.select(pl.when(pred).then(pl.int_range(pl.len(), dtype=pl.UInt32))
                              .fill_null(strategy=fill).alias(name) for name, pred in preds.items())
        at = at.filter(self.is_last if last else self.is_head)
        out = {}
        for name in preds:
            rows = at.get_column(name)
            # a fill crosses group borders: keep only rows that lie in the group itself
            found = (self.data.get_column(GROUP).gather(rows) == self.groups).fill_null(False)
            out[name] = rows.fill_null(0), found
        return out

    def first_where(self, pred: pl.Expr, col: str, last: bool = False) -> tuple[pl.Series, pl.Series]:
        """Value of `col` and id of the first (or last) record of each group where `pred` holds."""
        return self.at_rows(col, *self.first_rows({"p": pred}, last)["p"])

    def best(self, key: pl.Expr, smallest: bool = False) -> tuple[pl.Series, pl.Series]:
        """Value row of the record with the highest (lowest) key in each group, the first in
        head order among ties; null key means "not a candidate". Remembered per key: the six
        address columns share one."""
        memo = (str(key), smallest)
        if memo not in self._best:
            self._best[memo] = self._find_best(key, smallest)
        return self._best[memo]

    def _find_best(self, key: pl.Expr, smallest: bool) -> tuple[pl.Series, pl.Series]:
        k = self.data.select(key.alias("k"), pl.col(GROUP))
        agg = k.group_by(GROUP, maintain_order=True).agg(
            (pl.col("k").arg_min() if smallest else pl.col("k").arg_max()).alias("at"),
            pl.col("k").is_not_null().any().alias("any"))
        rows = (self.starts + agg.get_column("at").cast(pl.UInt32).fill_null(0))
        found = agg.get_column("any")
        return rows, found

    def at_rows(self, col: str, rows: pl.Series, found: pl.Series) -> tuple[pl.Series, pl.Series]:
        none = pl.Series([None], dtype=pl.String)
        return (self.data.get_column(col).gather(rows).zip_with(found, none),
                self.data.get_column(ID).gather(rows).zip_with(found, none))

    def per_group(self, frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Series:
        """A group-by result aligned to all groups (null where a group has no row)."""
        return (self.heads.select(GROUP).join(frame, on=GROUP, how="left", maintain_order="left")
                .get_column(name).cast(dtype))


def _single(ids: pl.Series) -> pl.Series:
    return ids.to_frame("s").select(pl.concat_list(pl.col("s"))).to_series()


def _informative(col: str, records: Records) -> pl.Expr:
    """The cells that count as information for the fill rules."""
    ne = _nonempty(col)
    if col == records.col("expected_revenue"):  # a zero revenue is no information
        ne = ne & (number_expr(pl.col(col)).fill_null(1) != 0)
    return ne


def _resolve_first(g: _Groups, cols: list[str], records: Records) -> dict[str, tuple[pl.Series, pl.Series]]:
    """The `first` rule for many columns at once (one pass for all their fills)."""
    rows = g.first_rows({c: _informative(c, records) for c in cols}) if cols else {}
    out = {}
    for c, (at, found) in rows.items():
        value, source = g.at_rows(c, at, found)
        out[c] = value, _single(source)
    return out


def _joined(g: _Groups, col: str, ne: pl.Expr) -> tuple[pl.Series, pl.Series]:
    """`concat`: every informative value in head order, joined by a blank line, or by
    `<br><br>` when all of a group's values are HTML."""
    agg = g.data.filter(ne).group_by(GROUP, maintain_order=True).agg(
        pl.col(col).str.join("\n\n").alias("v"),
        pl.col(col).str.strip_chars_start().str.starts_with("<").all().alias("html"),
        pl.col(ID).alias("src"))
    html = agg.get_column("html")
    if html.any():  # HTML notes (rare) are joined with <br><br> instead
        groups = agg.filter(html).get_column(GROUP).implode()
        joined = (g.data.filter(ne & pl.col(GROUP).is_in(groups)).group_by(GROUP, maintain_order=True)
                  .agg(pl.col(col).str.join("<br><br>").alias("v")))
        agg = agg.with_columns(agg.get_column("v").scatter(html.arg_true(), joined.get_column("v")))
    return g.per_group(agg, "v", pl.String), g.per_group(agg, "src", pl.List(pl.String))


# a JSON string or a bare literal (number, true, false, null): an element of a flat JSON array
_JSON_ELEMENT = r'"(?:[^"\\]|\\.)*"|[^\s,\[\]{}"]+'
_FLAT_ARRAY = rf"^\s*\[\s*(?:(?:{_JSON_ELEMENT})\s*(?:,\s*(?:{_JSON_ELEMENT})\s*)*)?\]\s*$"


def _united(g: _Groups, col: str, ne: pl.Expr, records: Records) -> tuple[pl.Series, pl.Series]:
    """`union`: one pass per group: its tags in head order without repeats, its sources, and
    the separator of its first cell that has one (`,` or `, `). In a JSON file, a group whose
    cells are JSON arrays (or false/null) is united as one JSON array of their elements
    (`g.arrays[col]` says which groups)."""
    kind = f"{KIND_PREFIX}{col}"
    if kind not in g.data.columns:
        return _united_text(g, col, ne)
    raw = pl.col(kind) == "r"
    array = (raw & pl.col(col).str.contains(_FLAT_ARRAY)).fill_null(False)
    nothing = (raw & pl.col(col).str.strip_chars().is_in(["false", "null"])).fill_null(False)
    modes = g.data.select(pl.col(GROUP), (ne & array).alias("a"), (~ne | array | nothing).alias("ok")).group_by(
        GROUP, maintain_order=True).agg(pl.col("a").any(), pl.col("ok").all())
    in_arrays = modes.filter(pl.col("a") & pl.col("ok")).get_column(GROUP)
    if not len(in_arrays):
        return _united_text(g, col, ne)
    g.arrays[col] = g.per_group(modes.select(GROUP, (pl.col("a") & pl.col("ok")).alias("m")), "m",
                                pl.Boolean).fill_null(False)
    is_array_group = pl.col(GROUP).is_in(in_arrays.implode())
    text_value, text_src = _united_text(g, col, ne & ~is_array_group)
    elements = pl.col(col).str.extract_all(_JSON_ELEMENT)
    default = records.sources[0].fmt.json_item_sep  # no cell shows one: the file's
    agg = g.data.filter(ne & array & is_array_group).group_by(GROUP, maintain_order=True).agg(
        elements.explode().drop_nulls().unique(maintain_order=True).alias("t"),
        pl.col(ID).alias("src"),
        pl.col(col).filter(elements.list.len() > 1).first().str.contains(", ", literal=True).alias("spaced"))
    sep = pl.when(pl.col("spaced")).then(pl.lit(", ")).when(pl.col("spaced").not_()).then(pl.lit(","))
    agg = agg.select(GROUP, "src", pl.concat_str(pl.lit("["), pl.col("t").list.join(sep.otherwise(pl.lit(default))),
                                                  pl.lit("]")).alias("v"))
    value = g.per_group(agg, "v", pl.String)
    sources = g.per_group(agg, "src", pl.List(pl.String))
    use = g.arrays[col]
    return value.zip_with(use, text_value), sources.zip_with(use, text_src)


def _united_text(g: _Groups, col: str, ne: pl.Expr) -> tuple[pl.Series, pl.Series]:
    tags = pl.col(col).str.split(",").list.explode(keep_nulls=False, empty_as_null=False).str.strip_chars()
    agg = g.data.filter(ne).group_by(GROUP, maintain_order=True).agg(
        tags.filter(tags != "").unique(maintain_order=True).alias("t"),
        pl.col(ID).alias("src"),
        pl.col(col).filter(pl.col(col).str.contains(",", literal=True)).first()
        .str.contains(", ", literal=True).fill_null(False).alias("spaced"))
    agg = agg.select(GROUP, "src", pl.when(pl.col("t").list.len() > 0).then(
        pl.col("t").list.join(pl.when(pl.col("spaced")).then(pl.lit(", ")).otherwise(pl.lit(",")))).alias("v"))
    return g.per_group(agg, "v", pl.String), g.per_group(agg, "src", pl.List(pl.String))


def _extreme(g: _Groups, col: str, ne: pl.Expr, smallest: bool) -> tuple[pl.Series, pl.Series]:
    """`max` / `min`: compared as numbers when every informative value of the group is one,
    else as text."""
    num = number_expr(pl.col(col))
    all_numeric = g.data.select((num.is_not_null() | ~ne).all().over(GROUP)).to_series()
    numeric = g.best(pl.when(ne).then(num), smallest=smallest)
    text = g.best(pl.when(ne).then(pl.col(col)), smallest=smallest)
    use_num = all_numeric.filter(g.is_head)
    rows = numeric[0].zip_with(use_num, text[0])
    found = numeric[1].zip_with(use_num, text[1])
    v, s = g.at_rows(col, rows, found)
    return v, _single(s)


def _resolve(g: _Groups, col: str, rule: str, records: Records) -> tuple[pl.Series, pl.Series]:
    """(value, sources) of one column for every group (docs/merge.md, field rules)."""
    ne = _informative(col, records)
    head_ids = g.heads.get_column(ID)
    if rule == "head":
        return pl.repeat(None, g.heads.height, dtype=pl.String, eager=True), _single(head_ids)
    if rule in ("first", "last"):
        v, s = g.first_where(ne, col, last=rule == "last")
        return v, _single(s)
    if rule == "type":
        v, s = g.first_where(pl.col("__lt_type") == "opportunity", col)
        return v, _single(s.fill_null(head_ids))
    if rule == "lost_reason_id":
        v, s = g.first_where(ne, col)
        head_open = (g.heads.get_column("__lt_prob").fill_null(0) > 0)
        return (pl.Series([""] * g.heads.height, dtype=pl.String).zip_with(head_open, v),
                _single(head_ids.zip_with(head_open, s)))
    if rule == "concat":
        return _joined(g, col, ne)
    if rule == "union":
        return _united(g, col, ne, records)
    if rule in ("priority", "address", "longest"):
        key = {"priority": pl.col("__lt_prio"), "address": pl.col("__lt_addr"),
               "longest": pl.when(ne).then(pl.col(col).str.len_chars())}[rule]
        v, s = g.at_rows(col, *g.best(key))
        return v, _single(s)
    if rule in ("max", "min"):
        return _extreme(g, col, ne, smallest=rule == "min")
    raise UsageError(f"unknown merge rule {rule!r}")


def _new_kinds(g: _Groups, col: str, sources: pl.Series, composed: bool, changed: pl.Series) -> pl.Series:
    """JSON inputs: the kind of each group's new value, the kind it had in the record it came
    from (a number stays a number, a nested array stays an array); a composed value (joined
    notes, united tags) is a string (null kind). Unchanged groups keep the head's own kind."""
    kind = f"{KIND_PREFIX}{col}"
    head_kind = g.heads.get_column(kind)
    if composed:
        new = pl.Series(kind, [None] * g.heads.height, dtype=pl.String)
        if col in g.arrays:  # JSON arrays united: a JSON array
            new = pl.Series(kind, ["r"] * g.heads.height, dtype=pl.String).zip_with(g.arrays[col], new)
    else:
        where = pl.DataFrame({GROUP: g.groups, ID: sources.list.first()})
        lookup = g.data.select(GROUP, ID, kind).unique([GROUP, ID], keep="first", maintain_order=True)
        new = where.join(lookup, on=[GROUP, ID], how="left", maintain_order="left").get_column(kind)
    return new.zip_with(changed.fill_null(False), head_kind)


def _prepared(records: Records, members: pl.DataFrame) -> pl.DataFrame:
    """The grouped records' data in head order, with the helper columns the rules need."""
    rows = records.frame[members[IDX]]
    extra: list[pl.Expr] = [type_expr(records).alias("__lt_type")]
    prio = records.col("priority")
    if prio:
        p = pl.col(prio).str.strip_chars()
        extra.append(pl.coalesce(p.cast(pl.Int64, strict=False),
                                 p.str.to_lowercase().replace_strict(
                                     PRIORITY_LABELS, default=None, return_dtype=pl.Int64),
                                 pl.lit(-1)).alias("__lt_prio"))
    prob = records.col("probability")
    extra.append((number_expr(pl.col(prob)) if prob else pl.lit(None, pl.Float64)).alias("__lt_prob"))
    addr = [records.col(f) for f in ADDRESS_FIELDS if records.col(f)]
    extra.append(pl.sum_horizontal([_nonempty(c).cast(pl.Int32) for c in addr]).alias("__lt_addr")
                 if addr else pl.lit(0).alias("__lt_addr"))
    return pl.concat([members.select(pl.col("group").alias(GROUP), pl.col("pos").alias(POS)), rows.with_columns(extra)],
                     how="horizontal")


def _dated(records: Records, rows: pl.Series, keyed: pl.DataFrame, dates: DateOptions) -> pl.DataFrame:
    """`--head oldest`'s first key with local dates read too (`5/4/2023 10:22 AM`): the ISO
    reader has run on the grouped records; only the dates it left unread are looked at again,
    each file's column as a whole for its day/month order. A date still unread stops the run
    unless `dates.allow_bad` (`bad_date` marks those records: they sort last)."""
    col = records.col("create_date")
    first = keyed.get_column("_k1")
    unread = first.is_null()
    if not col or not unread.any():
        return keyed.with_columns(pl.lit(False).alias("bad_date"))
    at = unread.arg_true()
    values = records.frame.get_column(col).gather(rows.gather(at))
    written = values.str.strip_chars() != ""  # an empty date is no date: it sorts last
    at, values = at.filter(written), values.filter(written)
    local = values.str.contains(LOCAL_START)
    if local.any():
        found = local_instants(records.frame.get_column(col), records.frame.get_column(SRC),
                               rows.gather(at.filter(local)), dates.order,
                               lambda i: (records.sources[i].path, records.headers[col]), dates.files)
        first = first.scatter(at.filter(local), found)
        keyed = keyed.with_columns(first)
    bad = at.filter(first.gather(at).is_null())
    if bad.len() and not dates.allow_bad:
        where = int(rows.gather(bad).min())
        row = records.frame.row(where, named=True)
        more = f", and {bad.len() - 1} more in duplicate groups" if bad.len() > 1 else ""
        raise InputError(
            f"cannot read the create_date {row[col]!r} of record {row[ID]} (row {row[ROW]}){more}: a merge never "
            "orders records by a date it cannot read; fix it, give --date-order, or --allow-bad-dates to sort "
            "such records last", file=records.sources[row[SRC]].path, column=records.headers[col])
    flags = pl.Series("bad_date", [False] * keyed.height, dtype=pl.Boolean)
    return keyed.with_columns(flags.scatter(bad, True) if bad.len() else flags)


def ordered_members(records: Records, groups: Groups, *, head: str = "oldest",
                    config: Config | None = None, dates: DateOptions | None = None) -> pl.DataFrame:
    """Every grouped record with its group, id and `pos` in head order (0 is the head), and
    `bad_date`: its create_date could not be read (it sorts last; `--allow-bad-dates`)."""
    order = head_order(records, head, config)
    keys = [f"_k{i + 1}" for i in range(len(order))]
    joined = groups.members.join(groups.info.select("group", "large"), on="group")
    # gather only the columns the sort keys read, not whole records
    needed = dict.fromkeys([*(name for e in order for name in e.meta.root_names()), ID])
    keyed = records.frame.select(*needed)[joined[IDX]].select(order + [pl.col(ID)])
    if head == "oldest":
        keyed = _dated(records, joined.get_column(IDX), keyed, dates or DateOptions())
    else:
        keyed = keyed.with_columns(pl.lit(False).alias("bad_date"))
    # sorted by group, a record's position is its row minus its group's first row (no hashing)
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    start = pl.when(pl.col("group") != pl.col("group").shift(1)).then(row).forward_fill().fill_null(0)
    return (joined.with_columns(keyed)
            .sort(["group", *keys, IDX], nulls_last=True)
            .with_columns((row - start).alias("pos"))
            .select("group", IDX, ID, "pos", "large", "bad_date"))


def plan_merge(records: Records, groups: Groups, *, head: str = "oldest",
               config: Config | None = None, allow_large: bool = False, allow_conflicts: bool = False,
               dates: DateOptions | None = None) -> MergePlan:
    """Decide every merge without changing anything. Large groups (`allow_large`) and groups
    of clearly different people (`allow_conflicts`) are planned as skipped."""
    columns = records.columns
    members = ordered_members(records, groups, head=head, config=config, dates=dates)
    head_rows = members.filter(pl.col("pos") == 0)
    info = groups.info if "conflict" in groups.info.columns else groups.info.with_columns(
        pl.lit(None, dtype=pl.String).alias("conflict"))
    held = (pl.when(pl.col("large") & pl.lit(not allow_large)).then(pl.lit("large"))
            .when(pl.col("conflict").is_not_null() & pl.lit(not allow_conflicts)).then(pl.lit("conflict")))
    groups_df = (info
                 .join(head_rows.select("group", pl.col(ID).alias("head"), pl.col(IDX).alias("head_idx")),
                       on="group")
                 .join(members.filter(pl.col("pos") > 0).group_by("group", maintain_order=True)
                       .agg(pl.col(ID).alias("merged")), on="group", how="left")
                 .join(members.filter(pl.col("bad_date")).group_by("group", maintain_order=True)
                       .agg(pl.col(ID).alias("bad_dates")), on="group", how="left")
                 .with_columns(held.alias("held"), held.is_not_null().alias("skipped"))
                 .sort("group"))
    work = members.join(groups_df.filter(~pl.col("skipped")).select("group"), on="group", maintain_order="left")
    rules = _rules(records, config)
    data = _prepared(records, work)
    data = data.with_columns(work[IDX])
    g = _Groups(data)
    composed = {c for c in columns if rules[c] in COMPOSED_RULES}
    after: dict[str, pl.Series] = {}
    kinds: dict[str, pl.Series] = {}
    long_parts = []
    firsts = _resolve_first(g, [c for c in columns if rules[c] == "first"], records)
    for col in columns:
        value, sources = firsts[col] if col in firsts else _resolve(g, col, rules[col], records)
        before = g.heads.get_column(col)
        after[col] = value.fill_null(before)
        changed = after[col] != before
        if f"{KIND_PREFIX}{col}" in g.data.columns and changed.any():
            kinds[f"{KIND_PREFIX}{col}"] = _new_kinds(g, col, sources, col in composed, changed)
        if changed.any():
            long_parts.append(pl.DataFrame({
                "group": g.groups.filter(changed), "column": pl.Series([col] * int(changed.sum()), dtype=pl.String),
                "before": before.filter(changed), "after": after[col].filter(changed),
                "source": sources.filter(changed).cast(pl.List(pl.String)),
                "composed": pl.Series([col in composed] * int(changed.sum()), dtype=pl.Boolean),
            }))
    values = pl.DataFrame(after).with_columns(g.groups.alias(GROUP), g.heads.get_column(IDX).alias(HEAD_IDX),
                                              *[k.alias(name) for name, k in kinds.items()])
    schema = {"group": pl.UInt32, "column": pl.String, "before": pl.String, "after": pl.String,
              "source": pl.List(pl.String), "composed": pl.Boolean}
    changes = (pl.concat(long_parts).sort("group", maintain_order=True) if long_parts
               else pl.DataFrame(schema=schema))
    return MergePlan(groups=groups_df, members=members.drop("large", "bad_date"), values=values,
                     changes=changes, columns=columns)


def apply_merge(records: Records, plan: MergePlan) -> Records:
    """The merged records: every record but the merged-away ones, in input order; each head
    in its place carrying the merged values."""
    return records.with_frame(merge_query(records, plan).collect())


def merge_query(records: Records, plan: MergePlan) -> pl.LazyFrame:
    """`apply_merge` as a lazy query: `io.write` streams it into the output file, so that no
    merged copy of the records is ever held in memory (only the changed columns are new)."""
    merged_groups = plan.merged_groups.select("group")
    away = (plan.members.join(merged_groups, on="group").filter(pl.col("pos") > 0)
            .get_column(IDX))
    n = records.frame.height
    frame = records.frame
    if plan.values.height:
        changed = set(plan.changes.get_column("column").unique().to_list())
        heads = plan.values.get_column(HEAD_IDX)
        # each changed column gets its heads' new values scattered in (far cheaper than a
        # gather and a coalesce over the whole column); a kind may be null (a string): the
        # heads' rows take theirs as they are
        kind_cols = [k for k in plan.values.columns if k.startswith(KIND_PREFIX)]
        updated = [frame.get_column(k).clone().scatter(heads, plan.values.get_column(k)) for k in kind_cols]
        for c in [c for c in plan.columns if c in changed]:
            new = plan.values.get_column(c)
            updated.append(frame.get_column(c).clone().scatter(heads.filter(new.is_not_null()), new.drop_nulls()))
        frame = frame.with_columns(updated)
    if not away.len():
        return frame.lazy()
    # the keep mask: one boolean per record, true but at the merged-away positions (a true
    # followed by n-1 more, then false scattered in: no frame is built for it)
    keep = pl.Series(KEEP, [True], dtype=pl.Boolean).extend_constant(True, n - 1).scatter(away, False)
    query = frame.lazy().filter(keep)
    # the writer gathers the kept rows a slice at a time from the frame itself (polars would
    # first materialize the whole filtered result): the query says where they are
    setattr(query, KEPT_ROWS, (frame, keep.arg_true()))
    return query
