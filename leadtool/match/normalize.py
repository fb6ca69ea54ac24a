"""Derived, typed views of the text columns: what a record *is* (lead, archived, won), when it
was created, its email key. Everything here is a polars expression over a Records frame."""

from __future__ import annotations

import polars as pl

from ..config import Config
from ..records import ID, SRC, Records
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


def won_expr(records: Records, config: Config | None = None) -> pl.Expr:
    prob = records.col("probability")
    won = (number_expr(pl.col(prob)) >= 100).fill_null(False) if prob else pl.lit(False)
    stage = records.col("stage_id")
    if config is not None and config.won_stages and stage:
        won = won | pl.col(stage).str.strip_chars().is_in(config.won_stages)
    return won


def closed_expr(records: Records, config: Config | None = None) -> pl.Expr:
    """Archived or won: left out of automatic groups and of conversion."""
    return archived_expr(records) | won_expr(records, config)


def type_expr(records: Records) -> pl.Expr:
    """`lead` or `opportunity`. A file without a type column holds leads unless it was given
    with --opportunities."""
    opp = list(records.opportunity_sources)
    default = (pl.when(pl.col(SRC).is_in(opp)).then(pl.lit("opportunity"))
               .otherwise(pl.lit("lead"))) if opp else pl.lit("lead")
    name = records.col("type")
    if not name:
        return default
    value = pl.col(name).str.strip_chars().str.to_lowercase()
    return (pl.when(value == "opportunity").then(pl.lit("opportunity"))
            .when(value == "").then(default).otherwise(pl.lit("lead")))


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
