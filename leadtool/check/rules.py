"""The check rules: each a polars filter over the whole frame, giving one row per problem."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from ..config import Config
from ..fields import FIELDS, resolve_headers
from ..match.dates import parse_dates, require_readable
from ..match.groups import Linked, link_records, reasons_of
from ..match.normalize import closed_expr, is_empty, number_expr, type_expr
from ..records import ID, IDX, SRC, Records
from ..translations import type_expr as translated_type_expr

RULES: tuple[str, ...] = (
    "duplicates", "duplicate-id", "missing-required", "missing-field", "invalid-email", "bad-date",
    "bad-probability", "unknown-type", "leads-mode",
)
#: rules that run only when asked (check --fuzzy, or [check] fuzzy), after the others
ON_REQUEST: tuple[str, ...] = ("fuzzy-duplicates",)
ALL_RULES = RULES + ON_REQUEST

#: the fields each `--by` key reads (any one of them is enough)
BY_FIELDS = {"email": ("email_from",), "customer": ("partner_id",), "phone": ("phone", "mobile")}


# one row per problem: `message` + the line of record `ref` + `post` when `ref` is set (lines are
# computed at the end, only as far as the listed problems reach; duplicates get their texts
# only then too, from their `group`)
_SCHEMA = {IDX: pl.UInt32, "rule": pl.String, "column": pl.String, "value": pl.String,
           "message": pl.String, "ref": pl.UInt32, "post": pl.String, "group": pl.UInt32}



def _required_column(records: Records, name: str) -> str | None:
    """The internal column of a required name: a field (technical name or Odoo label), else a
    header as written in the file; None when no file has it."""
    fld = name if name in FIELDS else resolve_headers([name], {}).get(0)
    if fld and records.col(fld):
        return records.col(fld)
    for col, header in records.headers.items():
        if header == name:
            return col
    return None



def indexed(records: Records) -> pl.DataFrame:
    return records.frame.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX))


def no_problems() -> pl.LazyFrame:
    return pl.LazyFrame(schema=_SCHEMA)


def _problems(frame: pl.DataFrame | pl.LazyFrame, mask: pl.Expr, rule: str, column: str | None, value: pl.Expr,
              message: pl.Expr) -> pl.LazyFrame:
    # lazy, so that the filter only copies the columns the result needs, and so that all the
    # per-record rules run as one parallel batch (`pl.collect_all`)
    return frame.lazy().filter(mask).select(
        pl.col(IDX), pl.lit(rule).alias("rule"), pl.lit(column, dtype=pl.String).alias("column"),
        value.cast(pl.String).alias("value"), message.alias("message"),
        pl.lit(None, dtype=pl.UInt32).alias("ref"), pl.lit(None, dtype=pl.String).alias("post"),
        pl.lit(None, dtype=pl.UInt32).alias("group"))


def _quoted(expr: pl.Expr, width: int = 60) -> pl.Expr:
    """A value inside a message: quoted, shortened."""
    short = pl.when(expr.str.len_chars() > width).then(expr.str.slice(0, width - 1) + "…").otherwise(expr)
    return "'" + short + "'"


def _elsewhere(records: Records, ref_src: str) -> pl.Expr:
    """` of FILE` when the referenced record is in another file than the problem's."""
    return pl.when(pl.col(SRC) != pl.col(ref_src)).then(" of " + records.source_path(ref_src)).otherwise(pl.lit(""))


def rule_duplicates(records: Records, frame: pl.DataFrame, config: Config | None,
                     group_options: dict[str, Any]) -> tuple[pl.DataFrame, dict[str, int], Linked]:
    """Every grouped record but the first of its group in input order, naming that first one
    (not necessarily the head a merge would keep: that depends on --head). The groups are not
    numbered nor described here: `duplicate_texts` does it for the listed ones only."""
    linked = link_records(records, config=config, repeated_ids=False, **group_options)
    out, stats = duplicate_problems(linked, group_options["max_group"])
    return out, stats, linked


def duplicate_problems(linked: Linked, max_group: int) -> tuple[pl.DataFrame, dict[str, int]]:
    """`rule_duplicates`' problems and stats from the linked records."""
    sizes = linked.labels.get_column("label").value_counts(name="size").get_column("size")
    stats = {"duplicate_groups": sizes.len(), "records_in_duplicate_groups": linked.labels.height,
             "large_groups": int((sizes > max_group).sum())}
    none = pl.lit(None, dtype=pl.String)
    # a record's label is the first record of its group
    out = linked.labels.filter(pl.col(IDX) != pl.col("label")).select(
        pl.col(IDX), pl.lit("duplicates").alias("rule"), none.alias("column"), none.alias("value"),
        none.alias("message"), pl.col("label").alias("ref"), none.alias("post"),
        pl.lit(None, dtype=pl.UInt32).alias("group"))
    return out, stats


def duplicate_texts(records: Records, locate: Callable[[pl.Series], pl.DataFrame], listed: pl.DataFrame,
                    linked: Linked) -> pl.DataFrame:
    """The group number, value (reasons), message and post of the listed duplicates. Groups
    are numbered as `dupes` numbers them: in input order of their first record (label).
    `locate`: the SRC and ID of records by position."""
    dup = pl.col("rule") == "duplicates"
    firsts = listed.filter(dup).get_column("ref").unique()
    reasons = (reasons_of(linked, linked.labels.filter(pl.col("label").is_in(firsts.implode())))
               .select(pl.col("label").alias("ref"), pl.col("reasons").list.join(" ").alias("__lt_reasons")))
    listed = listed.join(reasons, on="ref", how="left", maintain_order="left")
    ref = listed.get_column("ref").fill_null(0)
    at = locate(ref)
    listed = listed.with_columns(
        at.get_column(SRC).alias("__lt_ref_src"), at.get_column(ID).alias("__lt_ref_id"),
        pl.when(dup).then(pl.lit(linked.group_numbers(ref))).alias("group"))
    elsewhere = _elsewhere(records, "__lt_ref_src")
    return listed.with_columns(
        pl.when(dup).then(pl.col("__lt_reasons")).otherwise(pl.col("value")).alias("value"),
        pl.when(dup).then(pl.format("duplicate of id {} on line ", pl.col("__lt_ref_id")))
        .otherwise(pl.col("message")).alias("message"),
        pl.when(dup).then(pl.format("{} (group {}: {})", elsewhere, pl.col("group"), pl.col("__lt_reasons")))
        .otherwise(pl.col("post")).alias("post"),
    ).drop("__lt_ref_src", "__lt_ref_id", "__lt_reasons")


def rule_duplicate_id(records: Records, frame: pl.DataFrame) -> pl.LazyFrame:
    col = records.col("id")
    if not col:
        return no_problems()
    stripped = pl.col(col).str.strip_chars()
    # repeats are rare: a sort of numbers finds the candidates much faster than a hash table
    # of a million strings. The usual ids are whole numbers (a repeated number is a candidate
    # only: '7' and '007' are two ids), else the stripped values' hashes (collisions included).
    values = frame.get_column(col).cast(pl.UInt64, strict=False)
    if values.null_count():  # a cell that is not a plain number: blank, text, spaces
        values = frame.select(stripped.hash()).to_series()
    # in id order already, as exports often are: no sort needed
    ordered = values if values.is_sorted() or values.is_sorted(descending=True) else values.sort()
    candidates = ordered.filter(ordered == ordered.shift(1))
    if candidates.is_empty():
        return no_problems()
    ids = frame.lazy().filter(pl.lit(values).is_in(candidates.unique().implode())).select(IDX, SRC, col)
    return repeated_ids(records, ids)


def repeated_ids(records: Records, ids: pl.LazyFrame) -> pl.LazyFrame:
    """`duplicate-id`'s problems among the records of `ids` (IDX, SRC and the id column, in
    input order), which hold every record sharing its stripped id with another."""
    col = records.col("id")
    assert col is not None
    stripped = pl.col(col).str.strip_chars()
    ids = ids.select(pl.col(IDX), pl.col(SRC), stripped.alias("v"), pl.col(col).alias("raw"))
    repeated = ids.filter((pl.len().over("v") > 1) & (pl.col("v") != ""))
    dup = repeated.with_columns(pl.col(IDX).first().over("v").alias("first_idx"),
                                pl.col(SRC).first().over("v").alias("first_src")).filter(
        pl.col(IDX) != pl.col("first_idx"))
    elsewhere = _elsewhere(records, "first_src")
    return dup.select(pl.col(IDX), pl.lit("duplicate-id").alias("rule"), pl.lit(records.headers[col]).alias("column"),
                      pl.col("raw").alias("value"),
                      pl.format("id {} is already used by the record on line ", _quoted(pl.col("v"))).alias("message"),
                      pl.col("first_idx").alias("ref"), elsewhere.alias("post"),
                      pl.lit(None, dtype=pl.UInt32).alias("group"))


def rule_missing(records: Records, frame: pl.DataFrame, require: Sequence[str]) -> tuple[pl.LazyFrame, list[dict]]:
    """Empty required cells, and (separately) files without a required column."""
    parts: list[pl.LazyFrame] = []
    file_level: list[dict] = []
    for name in require:
        col = _required_column(records, name)
        have = [i for i, s in enumerate(records.sources) if col is not None and col in s.columns]
        for i in range(len(records.sources)):
            if i not in have:
                file_level.append({"src": i, "rule": "missing-required", "column": name,
                                   "message": f"required column {name!r} is missing from the file"})
        if not have:
            continue
        mask = pl.col(SRC).is_in(have) & is_empty(pl.col(col))
        parts.append(_problems(frame, mask, "missing-required", records.headers[col], pl.col(col),
                               pl.lit(f"required field {name!r} is empty")))
    return (pl.concat(parts) if parts else no_problems()), file_level


def rule_email(records: Records, frame: pl.DataFrame, keys: pl.Series, col: str) -> pl.LazyFrame:
    """Non-empty cells of the email column `col` (one of `email_from`'s) without an address."""
    # a key is missing for empty cells and invalid ones only: the rest are never looked at
    rest = frame.lazy().filter(pl.lit(keys).is_null())
    return _problems(rest, ~is_empty(pl.col(col)), "invalid-email", records.headers[col], pl.col(col),
                     pl.format("invalid email {}: no address found", _quoted(pl.col(col))))


def rule_date(records: Records, frame: pl.DataFrame, order: str | None = None) -> pl.LazyFrame:
    """create_date values that are not dates: ISO forms and local ones (`5/4/2023 10:22 AM`,
    `04.05.2023`) are dates, the day/month order of slash dates inferred per file (`order`:
    given). A file whose order cannot be told is a usage error (exit 2), as for a merge."""
    col = records.col("create_date")
    if not col:
        return no_problems()
    rest = date_rest(frame, col)
    if not rest.height:
        return no_problems()
    read = pl.Series([None] * rest.height, dtype=pl.Datetime("us"))
    for source in rest.get_column(SRC).unique().sort().to_list():
        mine = (rest.get_column(SRC) == source).arg_true()
        result = parse_dates(rest.get_column(col).gather(mine), order)
        require_readable(result, records.headers[col], records.sources[source].path, allow_bad=True)
        read = read.scatter(mine, result.instants)
    return date_problems(records, rest.filter(read.is_null()))


def date_rest(frame: pl.DataFrame, col: str, *more: str) -> pl.DataFrame:
    """IDX, SRC, `more` and `col` of the records whose create_date is neither empty nor in
    Odoo's own form (which parses in one pass): only those go through every form of
    docs/formats.md#numbers-and-dates."""
    odoo_form = pl.col(col).str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False, exact=True, cache=False)
    rest = frame.lazy().select(IDX, SRC, *more, col).filter(odoo_form.is_null()).collect()  # a few records
    return rest.filter(~is_empty(pl.col(col)))


def date_problems(records: Records, bad: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """`bad-date`'s problems: one per record of `bad` (IDX and the create_date column)."""
    col = records.col("create_date")
    assert col is not None
    return _problems(bad, pl.lit(True), "bad-date", records.headers[col], pl.col(col),
                     pl.format("create_date {} is not a date (YYYY-MM-DD[ HH:MM:SS], ISO 8601, or a local form "
                               "such as 5/4/2023 or 04.05.2023)", _quoted(pl.col(col))))


def rule_missing_field(records: Records, needed: Sequence[tuple[str, Sequence[str]]]) -> list[dict]:
    """Files in which no column holds a field a rule needs (`--by email` and no email column):
    one problem per file and need, so that a check never says valid for want of looking."""
    problems = []
    for why, fields in needed:
        columns = {c for f in fields for c in records.columns_of(f)}
        for i, source in enumerate(records.sources):
            if not columns.intersection(source.columns):
                names = " or ".join(fields)
                problems.append({"src": i, "rule": "missing-field", "column": fields[0],
                                 "message": f"no column holds {names} (needed by {why}): "
                                            f"map one with --map {fields[0]}=HEADER"})
    return problems


def rule_probability(records: Records, frame: pl.DataFrame) -> pl.LazyFrame:
    col = records.col("probability")
    if not col:
        return no_problems()
    # the usual cell is a plain number from 0 to 100: only the others need the full parse
    plain = pl.col(col).cast(pl.Float64, strict=False).is_between(0, 100)
    frame = frame.filter(~plain.fill_null(False))
    number = number_expr(pl.col(col))
    bad_number = number.is_null() | number.is_nan()
    mask = ~is_empty(pl.col(col)) & (bad_number | (number < 0) | (number > 100))
    message = (pl.when(bad_number).then(pl.format("probability {} is not a number", _quoted(pl.col(col))))
               .otherwise(pl.format("probability {} is outside 0-100", _quoted(pl.col(col)))))
    return _problems(frame, mask, "bad-probability", records.headers[col], pl.col(col), message)


def rule_type(records: Records, frame: pl.DataFrame) -> pl.LazyFrame:
    col = records.col("type")
    if not col:
        return no_problems()
    frame = frame.filter(~pl.col(col).is_in(["lead", "opportunity", ""]))  # the usual cells, cheaply
    # Odoo's display values in any language (`Opportunité`, `Piste`) are types too
    mask = ~is_empty(pl.col(col)) & translated_type_expr(pl.col(col)).is_null()
    return _problems(frame, mask, "unknown-type", records.headers[col], pl.col(col),
                     pl.format("type {} is neither lead nor opportunity", _quoted(pl.col(col))))


def rule_leads_mode(records: Records, frame: pl.DataFrame, config: Config | None) -> pl.LazyFrame:
    if config is None or (config.leads_enabled and not config.teams_without_leads()):
        return no_problems()  # every team keeps its leads
    col = records.col("team_id")
    team = pl.col(col).str.strip_chars() if col else pl.lit("", dtype=pl.String)
    open_leads = frame.filter((type_expr(records) == "lead") & ~closed_expr(records, config))
    teams = open_leads.select(team.unique()).to_series().to_list()  # a handful of distinct teams
    off = [t for t in teams if not config.team_uses_leads(t)]
    if not off:
        return no_problems()
    message = (pl.when(team == "")
               .then(pl.lit("lead without a team while leads mode is off ([leads] enabled = false): "
                            "it should have been converted (leadtool convert)"))
               .otherwise(pl.format("lead of team {} whose leads mode is off: it should have been "
                                    "converted (leadtool convert)", _quoted(team))))
    return _problems(open_leads, team.is_in(off), "leads-mode", records.headers[col] if col else None,
                     team if col else pl.lit(None, dtype=pl.String), message)


