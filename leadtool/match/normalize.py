"""Derived, typed views of the text columns: what a record *is* (lead, archived, won), when it
was created, its email key. Everything here is a polars expression over a Records frame."""

from __future__ import annotations

import polars as pl

from ..config import Config
from ..records import ID, SRC, Records
from ..translations import fold, fold_expr, won_stage_names
from ..translations import type_expr as translated_type_expr
from .emails import email_key_expr

ARCHIVED_VALUES = ("false", "0", "no")


def is_empty(expr: pl.Expr) -> pl.Expr:
    """Empty means the empty string or only white space (docs/merge.md#field-rules)."""
    return expr.fill_null("").str.strip_chars() == ""


def _numbers(values: pl.Series) -> pl.Series:
    """A plain number is cast as it is; only the cells the cast refuses are stripped and get
    a decimal point for a comma (a copy of every string costs more than the cast)."""
    values = values.cast(pl.String)
    out = values.cast(pl.Float64, strict=False)
    todo = out.is_null() & (values.str.len_bytes() > 0).fill_null(False)
    if todo.any():
        rest = values.filter(todo).str.strip_chars().str.replace(",", ".", literal=True)
        out = out.scatter(todo.arg_true(), rest.cast(pl.Float64, strict=False))
    return out


def number_expr(expr: pl.Expr) -> pl.Expr:
    """A number as CRM exports write it: `100`, `100.0` or `100,0`; null when not a number."""
    return expr.map_batches(_numbers, return_dtype=pl.Float64, is_elementwise=True)


# `active` as exports write it: cells in this table need no stripping or lower-casing
_ACTIVE_PLAIN = {"True": False, "False": True, "true": False, "false": True, "1": False, "0": True,
                 "yes": False, "no": True, "": False}


def _archived(values: pl.Series) -> pl.Series:
    values = values.cast(pl.String)
    out = values.replace_strict(_ACTIVE_PLAIN, default=None, return_dtype=pl.Boolean)
    todo = out.is_null() & values.is_not_null()
    if todo.any():
        rest = values.filter(todo).str.strip_chars().str.to_lowercase().is_in(ARCHIVED_VALUES)
        out = out.scatter(todo.arg_true(), rest)
    return out.fill_null(False)


def archived_expr(records: Records) -> pl.Expr:
    """`active` is false, 0 or no (any case, surrounding spaces ignored)."""
    name = records.col("active")
    if not name:
        return pl.lit(False)
    return pl.col(name).map_batches(_archived, return_dtype=pl.Boolean, is_elementwise=True)


def _distinct(records: Records, col: str) -> pl.Series:
    """The distinct values of a column: a stage or type column of a million rows holds a
    handful, and folding case and accents costs per value, so rules look at these only."""
    return records.frame.get_column(col).unique().drop_nulls()


def won_stages(config: Config | None) -> tuple[str, ...]:
    """The stage names that count as won: the config's `[stages] won`, else Odoo's default won
    stage in every language (`Won`, `Gagné`, `Gewonnen`, ...)."""
    if config is not None and config.won_stages is not None:
        return tuple(config.won_stages)
    return won_stage_names()


def won_expr(records: Records, config: Config | None = None) -> pl.Expr:
    """A probability of 100 or more, or a won stage (case, accents and spacing aside)."""
    prob = records.col("probability")
    won = (number_expr(pl.col(prob)) >= 100).fill_null(False) if prob else pl.lit(False)
    stage = records.col("stage_id")
    names = won_stages(config)
    if names and stage:
        keys = sorted({fold(n) for n in names})
        stages = _distinct(records, stage)
        hits = stages.filter(stages.to_frame("v").select(fold_expr(pl.col("v")).is_in(keys)).to_series())
        if hits.len():
            won = won | pl.col(stage).is_in(hits.implode()).fill_null(False)
    return won


def system_closed_expr(records: Records) -> pl.Expr:
    """Closed in the other CRM the file comes from, as its preset says (converted, deleted,
    won or lost, a customer...); False for Odoo files."""
    rules = []
    for i, source in enumerate(records.sources):
        found = source.recognition
        if found is None or found.preset is None:
            continue
        expr = found.preset.closed_expr(source.columns)
        rules.append(expr if len(records.sources) == 1 else (pl.col(SRC) == i) & expr)
    return pl.any_horizontal(rules) if rules else pl.lit(False)


def closed_expr(records: Records, config: Config | None = None) -> pl.Expr:
    """Archived, won, or closed in the file's own CRM: left out of automatic groups and of
    conversion."""
    return archived_expr(records) | won_expr(records, config) | system_closed_expr(records)


def type_expr(records: Records) -> pl.Expr:
    """`lead` or `opportunity`: the `type` value in Odoo's technical form or its display form in
    any language (`Opportunité`, `Piste`), any case; a file without a type column holds leads
    unless it was given with --opportunities (or its preset says it holds deals). An empty type
    is the file's default; any other value is a lead."""
    opp = list(records.opportunity_sources)
    default = (pl.when(pl.col(SRC).is_in(opp)).then(pl.lit("opportunity"))
               .otherwise(pl.lit("lead"))) if opp else pl.lit("lead")
    name = records.col("type")
    if not name:
        return default
    values = _distinct(records, name)
    kinds = values.to_frame("v").select(translated_type_expr(pl.col("v"))).to_series()
    opportunities = values.filter(kinds == "opportunity")
    return (pl.when(pl.col(name).is_in(opportunities.implode())).then(pl.lit("opportunity"))
            .when(pl.col(name).str.strip_chars() == "").then(default).otherwise(pl.lit("lead")))


def _composed_names(records: Records) -> list[tuple[int, pl.Expr]]:
    parts = []
    for i, source in enumerate(records.sources):
        found = source.recognition
        if found is not None and found.preset is not None and found.preset.composes_name:
            parts.append((i, found.preset.contact_name_expr(source.columns)))
    return parts


def composes_contact_name(records: Records) -> bool:
    """Whether some file's contact name is composed from split name columns."""
    return bool(_composed_names(records))


def contact_name_expr(records: Records) -> pl.Expr:
    """The contact's name: the `contact_name` column, or, in a file whose preset splits the name,
    first, middle and last name joined (derived, never written: the output keeps its columns)."""
    own = records.col("contact_name")
    plain = pl.col(own) if own else pl.lit("", dtype=pl.String)
    parts = _composed_names(records)
    if not parts:
        return plain
    if len(records.sources) == 1:
        return parts[0][1]
    expr = pl.when(pl.col(SRC) == parts[0][0]).then(parts[0][1])
    for i, composed in parts[1:]:
        expr = expr.when(pl.col(SRC) == i).then(composed)
    return expr.otherwise(plain)


_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_AWARE_FORMATS = ("%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M%z")


def _instants(values: pl.Series) -> pl.Series:
    """Parse the common Odoo form on everything, the other forms only where it failed. No
    cache of parsed values (polars' default): export timestamps are nearly all distinct, and
    hashing them cost more than the parsing it would spare."""
    values = values.cast(pl.String)
    out = values.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False, exact=True, cache=False)
    todo = out.is_null() & values.is_not_null() & (values.str.len_bytes() >= 10)
    if todo.any():
        rest = values.filter(todo).to_frame("v").select(_instant_any(pl.col("v"))).to_series()
        out = out.scatter(todo.arg_true(), rest)
    return out


def _instant_any(expr: pl.Expr) -> pl.Expr:
    s = (expr.str.strip_chars().str.replace(r"^(\d{4}-\d{2}-\d{2})T", "${1} ")
         .str.replace(r"\s*[Zz]$", "+00:00").str.replace(r"\s+([+-]\d{2}):?(\d{2})$", "${1}${2}"))
    parts = [s.str.strptime(pl.Datetime("us"), f, strict=False, exact=True, cache=False) for f in _NAIVE_FORMATS]
    parts += [
        s.str.strptime(pl.Datetime("us", "UTC"), f, strict=False, exact=True, cache=False)
        .dt.replace_time_zone(None)
        for f in _AWARE_FORMATS
    ]
    return pl.coalesce(parts)


def instant_expr(expr: pl.Expr) -> pl.Expr:
    """A date as an instant in UTC (naive datetimes are UTC, as Odoo exports); null when the
    text is not one of the forms of docs/formats.md#numbers-and-dates."""
    return expr.map_batches(_instants, return_dtype=pl.Datetime("us"))


def created_expr(records: Records) -> pl.Expr:
    name = records.col("create_date")
    return instant_expr(pl.col(name)) if name else pl.lit(None, dtype=pl.Datetime("us"))


def id_int_expr() -> pl.Expr:
    return pl.col(ID).str.strip_chars().cast(pl.Int64, strict=False)


def email_key_of(records: Records, canonical: bool = False) -> pl.Expr:
    name = records.col("email_from")
    if not name:
        return pl.lit(None, dtype=pl.String)
    return email_key_expr(pl.col(name), canonical)
