"""Dates written in local forms (`5/4/2023 10:22 AM`, `04/05/2023 10:22`, `4.5.2023`) besides
ISO, read as instants, with the day/month order inferred from the whole column.

Why per column: `04/05/2023` alone cannot be read; the same column holding `13/05/2023` says it is
day first, one holding `05/13/2023` says month first. A column that says both, or neither, is
ambiguous: its slash dates are left unread until an order is given (`--date-order dmy|mdy`).
Dots are day first (`4.5.2023` is 4 May, the German and Nordic form), whatever the order.

Forms read (spaces around the parts are tolerated):
- ISO: everything `normalize.instant_expr` reads (`2023-05-04`, `2023-05-04 10:22:00`,
  `2023-05-04T10:22:00Z`, offsets);
- `D/M/Y`, `M/D/Y` (order inferred or given) and `D.M.Y` (day first) with a 4-digit year, or a
  2-digit one read as 2000-2069 for 00-69 and 1970-1999 for 70-99; `D-M-YYYY`/`M-D-YYYY` with
  4 digits only (`04-05-23` could as well be year-month-day);
- each optionally followed (after a space, `T` or `,`) by `H:MM`, `H:MM:SS` or `H:MM:SS.fff`, and
  `AM`/`PM` (also `a.m.`/`p.m.`, any case) with hours 1-12.
The result is a naive UTC instant, like `normalize.instant_expr`: a local form carries no zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from ..errors import InputError, UsageError
from .normalize import instant_expr

ORDERS = ("dmy", "mdy")

_LOCAL = (
    r"^\s*(?P<a>\d{1,2})\s*(?P<s1>[/.\-])\s*(?P<b>\d{1,2})\s*(?P<s2>[/.\-])\s*(?P<y>\d{4}|\d{2})"
    r"(?:(?:\s+|\s*[T,]\s*)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<ap>[AaPp]\.?\s?[Mm]\.?)?)?\s*$"
)


@dataclass(frozen=True)
class DateParse:
    """What `parse_dates` read and inferred for one column."""

    instants: pl.Series          #: naive UTC datetimes; null for empty or unread values
    order: str | None            #: `dmy`/`mdy` used for slash and dash dates; None if none needed
    inferred: bool               #: True when `order` came from the values, not from the caller
    local_count: int             #: values in a local form (slash, dash or dot)
    two_digit_years: int         #: values whose year had 2 digits (read with the pivot)
    ambiguous: bool              #: slash/dash dates whose order the column does not settle
    ambiguous_example: str | None
    conflicting: bool            #: the column has both day-first and month-first evidence
    bad_count: int               #: non-empty values not read (ambiguous ones excluded)
    first_bad: str | None        #: the first of them, as written
    first_bad_index: int | None  #: its 0-based position in the column


def _local_instants(day_first: pl.Expr) -> pl.Expr:
    a = pl.col("a").cast(pl.Int32)
    b = pl.col("b").cast(pl.Int32)
    y = pl.col("y").cast(pl.Int32)
    century = pl.when(y < 70).then(y + 2000).otherwise(y + 1900)
    year = pl.when(pl.col("y").str.len_chars() == 2).then(century).otherwise(y)
    day = pl.when(day_first).then(a).otherwise(b)
    month = pl.when(day_first).then(b).otherwise(a)
    h = pl.col("h").cast(pl.Int32).fill_null(0)
    ap = pl.col("ap").str.to_lowercase().str.slice(0, 1)
    hour = (pl.when(ap.is_null()).then(h)
            .when((h < 1) | (h > 12)).then(pl.lit(99))  # 0 AM or 13 PM: not a time
            .when(ap == "a").then(h % 12).otherwise(h % 12 + 12))
    minute = pl.col("mi").cast(pl.Int32).fill_null(0)
    second = pl.col("s").cast(pl.Int32).fill_null(0)

    def pad(e: pl.Expr, width: int) -> pl.Expr:
        return e.cast(pl.String).str.zfill(width)

    text = pl.concat_str([pad(year, 4), pl.lit("-"), pad(month, 2), pl.lit("-"), pad(day, 2), pl.lit(" "),
                          pad(hour, 2), pl.lit(":"), pad(minute, 2), pl.lit(":"), pad(second, 2)])
    return text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False, exact=True, cache=False)


# the parts of a local date (`_LOCAL`'s groups a, b, y and separators s1, s2) and what they say
# of the day/month order: one definition for `parse_dates` and for `order_evidence`
_A, _B = pl.col("a").cast(pl.Int32), pl.col("b").cast(pl.Int32)
_IS_LOCAL = (pl.col("a").is_not_null() & (pl.col("s1") == pl.col("s2"))
             & ~((pl.col("s1") == "-") & (pl.col("y").str.len_chars() == 2))).fill_null(False)
_FREE = _IS_LOCAL & (pl.col("s1") != ".")  # a slash or dash date: its order is not fixed by its form
_SAYS_DMY = _FREE & (_A > 12) & (_B <= 12)
_SAYS_MDY = _FREE & (_B > 12) & (_A <= 12)
_DIFFERS = _FREE & (_A != _B)  # ambiguous when a column says both orders
_UNSETTLED = _FREE & (_A <= 12) & (_B <= 12) & (_A != _B)  # ambiguous when a column says neither


def _date_parts(text: pl.Series) -> pl.LazyFrame:
    return (pl.DataFrame({"v": text}).lazy()
            .with_columns(pl.col("v").str.extract_groups(_LOCAL).alias("g")).unnest("g"))


def order_evidence(values: pl.Series) -> dict[str, Any]:
    """What `parse_dates` reads of the day/month order in `values` (`dmy`, `mdy`), and the first
    dates it would name as ambiguous (`conflicting`, `unsettled`): parts of a column, read one
    at a time (a bounded check's chunks), add up to what the whole column says."""
    return _date_parts(values.cast(pl.String)).select(
        _SAYS_DMY.any().alias("dmy"), _SAYS_MDY.any().alias("mdy"),
        pl.col("v").filter(_DIFFERS.fill_null(False)).first().alias("conflicting"),
        pl.col("v").filter(_UNSETTLED.fill_null(False)).first().alias("unsettled"),
    ).collect().row(0, named=True)


def parse_dates(values: pl.Series, order: str | None = None) -> DateParse:
    """Read a column of dates (text) as instants, inferring the day/month order of its
    slash and dash dates unless `order` (`dmy`/`mdy`) is given."""
    if order is not None and order not in ORDERS:
        raise UsageError(f"--date-order {order!r}: expected dmy or mdy")
    text = values.cast(pl.String)
    parts = _date_parts(text).with_columns(_IS_LOCAL.alias("local"), _FREE.alias("free")).collect()
    free = pl.col("free")
    stats = parts.select(
        _SAYS_DMY.any().alias("dmy"),
        _SAYS_MDY.any().alias("mdy"),
        free.any().alias("any_free"),
        pl.col("local").sum().alias("local"),
        (pl.col("local") & (pl.col("y").str.len_chars() == 2)).sum().alias("yy"),
    ).row(0, named=True)
    conflicting = order is None and stats["dmy"] and stats["mdy"]
    if order is not None:
        chosen: str | None = order
    elif stats["dmy"] != stats["mdy"]:
        chosen = "dmy" if stats["dmy"] else "mdy"
    else:
        chosen = None
    if chosen is not None:
        ambiguous_rows = pl.lit(False)
    elif conflicting:
        ambiguous_rows = _DIFFERS
    else:
        ambiguous_rows = _UNSETTLED
    # with no order, only dots and slash dates whose day equals their month are read
    day_first = (pl.col("s1") == ".") | pl.lit(chosen == "dmy")
    # ISO forms start with a 4-digit year: only those go through the (slower) ISO reader
    iso_like = text.str.contains(r"^\s*\d{4}-").fill_null(False)
    iso = pl.Series([None] * len(text), dtype=pl.Datetime("us"))
    if iso_like.any():
        found = text.filter(iso_like).to_frame("v").select(instant_expr(pl.col("v"))).to_series()
        iso = iso.scatter(iso_like.arg_true(), found)
    out = parts.with_columns(iso.alias("iso")).select(
        pl.coalesce(pl.col("iso"),
                    pl.when(pl.col("local") & ~ambiguous_rows).then(_local_instants(day_first)))
        .alias("instant"),
        ambiguous_rows.fill_null(False).alias("ambiguous"),
        (pl.col("v").str.strip_chars().fill_null("") != "").alias("present"),
    ).with_columns((pl.col("present") & pl.col("instant").is_null() & ~pl.col("ambiguous")).alias("bad"))
    found_stats = out.select(
        pl.col("ambiguous").any().alias("ambiguous"),
        pl.col("ambiguous").arg_max().alias("ambiguous_at"),
        pl.col("bad").sum().alias("bad"),
        pl.col("bad").arg_max().alias("bad_at"),
    ).row(0, named=True)
    first_bad_index = found_stats["bad_at"] if found_stats["bad"] else None
    return DateParse(
        instants=out.get_column("instant").alias(values.name),
        order=chosen if order is not None or stats["any_free"] else None,
        inferred=order is None and chosen is not None,
        local_count=int(stats["local"]),
        two_digit_years=int(stats["yy"]),
        ambiguous=bool(found_stats["ambiguous"]),
        ambiguous_example=text[found_stats["ambiguous_at"]] if found_stats["ambiguous"] else None,
        conflicting=bool(conflicting),
        bad_count=int(found_stats["bad"]),
        first_bad=text[first_bad_index] if first_bad_index is not None else None,
        first_bad_index=first_bad_index,
    )


def require_readable(result: DateParse, column: str, file: str | None = None, allow_bad: bool = False) -> None:
    """Raise the user error a merge must stop on: an ambiguous day/month order (give
    --date-order), or an unreadable date (unless `allow_bad`)."""
    if result.ambiguous:
        raise ambiguous_order(result.ambiguous_example, result.conflicting, column, file)
    if result.first_bad is not None and not allow_bad:
        more = f", {result.bad_count} unreadable in all" if result.bad_count > 1 else ""
        raise InputError(
            f"cannot read the date {result.first_bad!r} (record {result.first_bad_index + 1}{more}); "
            f"fix it or give --allow-bad-dates", file=file, column=column)


def ambiguous_order(example: str | None, conflicting: bool, column: str, file: str | None = None) -> UsageError:
    """The error of a column whose slash dates no day/month order settles."""
    why = "both day-first and month-first dates" if conflicting else "no day above 12"
    return UsageError(f"dates like {example!r} can be day/month or month/day ({why}); "
                      f"give --date-order dmy or --date-order mdy", file=file, column=column)


@dataclass(frozen=True)
class FileDates:
    """What one file's whole create_date column says, for a run that plans a part of each file
    at a time (Spark's buckets): the day/month order its dates settle (None: none), else
    `ambiguous`, the first of its dates that no order settles (`conflicting`: the column has
    evidence of both orders)."""

    order: str | None = None
    ambiguous: str | None = None
    conflicting: bool = False


@dataclass(frozen=True)
class DateOptions:
    """How a run reads `create_date` to order records: the day/month order of slash dates
    (`--date-order`, None: inferred per file), and whether unreadable dates may sort last
    (`--allow-bad-dates`) instead of stopping the run."""

    order: str | None = None
    allow_bad: bool = False
    files: tuple[tuple[int, FileDates], ...] = ()  # (source, its column's verdict): see `FileDates`

    def __post_init__(self) -> None:
        if self.order is not None and self.order not in ORDERS:
            raise UsageError(f"--date-order {self.order!r}: expected dmy or mdy")


#: a value that starts like a local date (`5/4/2023`, `04.05.2023`, `4-5-2023`)
LOCAL_START = r"^\s*\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]"


def file_positions(src: pl.Series, source: int) -> pl.Series:
    """The frame positions of one file's records, ascending."""
    return src.to_frame("s").select(pl.arg_where(pl.col("s") == source)).to_series()


def local_instants(values: pl.Series, src: pl.Series, rows: pl.Series, order: str | None,
                   describe: Callable[[int], tuple[str, str]],
                   files: tuple[tuple[int, FileDates], ...] = ()) -> pl.Series:
    """Instants of the values at frame positions `rows` (ascending or not), each file's column
    read as a whole so that its day/month order is inferred from every value it holds (or as
    `files` says the whole column reads, when the frame holds a part of it). An ambiguous order
    is a usage error naming the file (`describe(source)`: its path and header)."""
    out = pl.Series([None] * len(rows), dtype=pl.Datetime("us"))
    row_src = src.gather(rows)
    decided = dict(files)
    for source in row_src.unique().sort().to_list():
        positions = file_positions(src, source)
        path, header = describe(source)
        verdict = decided.get(source) if order is None else None
        if verdict is not None and verdict.ambiguous is not None:
            raise ambiguous_order(verdict.ambiguous, verdict.conflicting, header, path)
        result = parse_dates(values.gather(positions), verdict.order if verdict is not None else order)
        require_readable(result, header, path, allow_bad=True)
        mine = (row_src == source).arg_true()
        local = positions.search_sorted(rows.gather(mine))
        out = out.scatter(mine, result.instants.gather(local))
    return out
