"""Match keys on Spark (docs/groups.md#email-key): the email key as a Spark SQL expression that gives exactly
`emails.email_key`, the customer key, and the rules that need Python (closed records, phone
numbers) run by the local code itself on Arrow batches.

The email regexes are the local ones (`emails.py`, Rust regex syntax) written for Java's engine:
`(?U)` makes `\\s` Unicode white space as in Rust, `\\z` is Rust's `$` (Java's `$` also matches
before a final line break), and `[^\\n]` is Rust's `.` (Java's excludes `\\r` and other line
breaks too). An address never holds white space, so the local regexes' `.` and `$` inside an
address need no care.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from ..config import Config
from ..match.dates import _LOCAL, FileDates
from ..match.normalize import closed_expr
from ..match.phones import phone_keys
from ..records import ROW, SRC, Records
from .apply import small_strings

if TYPE_CHECKING:  # pyspark is an optional extra
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame

_STOP = r"\s,;<>\"'"
_BARE = rf"[^{_STOP}@]+@[^{_STOP}@]+"
_MAILBOX = rf"(?U)(?:[^,;<>]*?<\s*([^<>\s@]+@[^<>\s@]+)\s*>)|({_BARE})"
_QUOTED_NAME = r'(?U)"(?:[^"\\]|\\[^\n])*"\s*<'
_SIMPLE = rf"(?U)^\s*({_BARE})\s*\z"
_ONE_ANGLE = r'(?U)^\s*(?:"[^"]*"|[^"<>,;@]*)\s*<\s*([^<>\s@,;"]+@[^<>\s@,;"]+)\s*>\s*\z'
_WIDE = r"[^\x00-\x7F]"
_BLANK = r"(?U)^\s+|\s+\z"  # what polars' strip_chars() takes off (Unicode White_Space)
GMAIL = ("gmail.com", "googlemail.com")


def _nonempty(col: Column) -> Column:
    """regexp_extract gives '' where polars' extract gives null (no match, or a group that
    did not take part): a captured address is never empty, so '' means none."""
    from pyspark.sql import functions as F

    return F.when(col != "", col)


def _lower(addr: Column) -> Column:
    """Domain lower-cased; the local part only when it is pure ASCII (as Odoo)."""
    from pyspark.sql import functions as F

    local = F.substring_index(addr, "@", 1)
    domain = F.substring_index(addr, "@", -1)
    return (F.when(~addr.rlike(_WIDE), F.lower(addr))
            .otherwise(F.concat(F.when(local.rlike(_WIDE), local).otherwise(F.lower(local)),
                                F.lit("@"), F.lower(domain))))


def _canonical(key: Column) -> Column:
    """--canonical-email: no +tag, no dots in gmail addresses, googlemail is gmail."""
    from pyspark.sql import functions as F

    local = F.regexp_replace(F.substring_index(key, "@", 1), r"\+[^\n]*", "")
    domain = F.substring_index(key, "@", -1)
    gmail = domain.isin(*GMAIL)
    return F.concat(F.when(gmail, F.replace(local, F.lit("."), F.lit(""))).otherwise(local), F.lit("@"),
                    F.when(gmail, F.lit("gmail.com")).otherwise(domain))


def _mailbox_address(text: Column) -> Column:
    """The address of the first mailbox in `text` (its angle address, else its bare one)."""
    from pyspark.sql import functions as F

    return F.coalesce(_nonempty(F.regexp_extract(text, _MAILBOX, 1)),
                      _nonempty(F.regexp_extract(text, _MAILBOX, 2)))


def _prepared(value: Column) -> Column:
    """A quoted display name may hold '@' or ',' ("john@x.com" <johnny@x.com>): dropped."""
    from pyspark.sql import functions as F

    return F.regexp_replace(value, _QUOTED_NAME, "<")


def first_address_col(value: Column) -> Column:
    """The first address of each value as written, or null: a bare address, else a single
    `Name <addr>`, else the first mailbox of the value (the slow regex, only where needed)."""
    from pyspark.sql import functions as F

    value = F.coalesce(value, F.lit(""))
    return F.coalesce(
        _nonempty(F.regexp_extract(value, _SIMPLE, 1)),
        _nonempty(F.regexp_extract(value, _ONE_ANGLE, 1)),
        F.when(value.contains("@"), _mailbox_address(_prepared(value))),
    )


def email_key_col(value: Column | str, canonical: bool = False) -> Column:
    """The email key of each value (`emails.email_key`), or null when it holds no address."""
    from pyspark.sql import functions as F

    value = F.col(value) if isinstance(value, str) else value
    key = _lower(first_address_col(value))
    return _canonical(key) if canonical else key


def email_keys_all_col(value: Column | str, canonical: bool = False) -> Column:
    """Every address of each value, normalized, without repeats (`--email-key all`)."""
    from pyspark.sql import functions as F

    value = F.col(value) if isinstance(value, str) else value
    mailboxes = F.regexp_extract_all(_prepared(F.coalesce(value, F.lit(""))), F.lit(_MAILBOX), F.lit(0))
    keys = F.transform(mailboxes, lambda m: _lower(_mailbox_address(m)))
    if canonical:
        keys = F.transform(keys, _canonical)
    return F.array_distinct(keys)


def stripped_col(value: Column) -> Column:
    """polars' `str.strip_chars()`: Unicode white space off both ends."""
    from pyspark.sql import functions as F

    return F.regexp_replace(value, _BLANK, "")


# ----------------------------------------------------------------------------- the Python rules
PHONES = "__lt_phones"


@dataclass(frozen=True)
class KeyInputs:
    """The local rules that have no Spark form, run by the local code on each Arrow batch of a
    narrow projection (`idx`, `__lt_src` and the data columns of `names`, spark name ->
    internal column): closed records (archived, won, closed by the file's preset:
    `normalize.closed_expr`) are left out unless `include_closed`, and with `phones` each
    record gets its phone keys (`phones.phone_keys`, libphonenumber) as a list. `records`
    describes the inputs (columns, fields, sources with their presets; an empty frame). The
    columns go through unchanged."""

    idx: str
    names: tuple[tuple[str, str], ...]
    records: Records
    include_closed: bool
    phones: bool
    default_region: str | None
    config: Config | None

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield self.batch(batch)

    def batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        internal = dict(self.names)
        records = self.records.with_frame(frame.rename(internal).with_columns(pl.col(SRC).cast(pl.UInt32)))
        keep = ~closed_expr(records, self.config) if not self.include_closed else pl.lit(True)
        kept = records.frame.with_row_index("__lt_at").filter(keep)
        frame = frame[kept.get_column("__lt_at")]
        if self.phones:
            keys = phone_keys(records, kept.rename({self.idx: "__lt_idx"}), self.default_region)
            lists = keys.group_by("__lt_idx").agg(pl.col("key").alias(PHONES)).rename({"__lt_idx": self.idx})
            frame = frame.join(lists, on=self.idx, how="left", maintain_order="left")
        table = small_strings(frame.to_arrow())
        return table.combine_chunks().to_batches()[0] if frame.height else _empty(table.schema)


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_pylist([], schema=schema)


# ----------------------------------------------------------------------------- local dates
def _java_local_dates() -> str:
    """`dates._LOCAL` for Java's engine: numbered groups (a, s1, b, s2, y are 1-5), Unicode
    classes as Rust's, `\\z` for Rust's `$`."""
    regex = re.sub(r"\(\?P<\w+>", "(", _LOCAL)
    assert regex.endswith(r"\s*$")
    return "(?U)" + regex[:-1] + r"\z"


def file_dates(frame: DataFrame, column: str) -> tuple[tuple[int, FileDates], ...]:
    """What each file's whole create_date column (`column`, a data column of `frame`) says of
    its day/month order, as `dates.parse_dates` reads it (one aggregation): the buckets see a
    part of each file only, and must read its dates as the whole column does."""
    from pyspark.sql import functions as F

    regex = _java_local_dates()

    def part(k: int) -> Column:
        return F.regexp_extract(F.col(column), regex, k)

    a, s1, b, s2, y = (part(k) for k in range(1, 6))
    ai, bi = (F.when(x != "", x.try_cast("int")) for x in (a, b))  # '' where the value is no local date
    local = (a != "") & (s1 == s2) & ~((s1 == "-") & (F.length(y) == 2))
    free = local & (s1 != ".")
    first = F.struct(F.col(ROW), F.col(column))

    def example(cond: Column) -> Column:
        return F.min(F.when(cond, first))[column]

    found = frame.groupBy(SRC).agg(
        F.max(free & (ai > 12) & (bi <= 12)).alias("dmy"), F.max(free & (bi > 12) & (ai <= 12)).alias("mdy"),
        example(free & (ai != bi)).alias("conflicting"),
        example(free & (ai <= 12) & (bi <= 12) & (ai != bi)).alias("unsettled")).collect()
    out = []
    for src, dmy, mdy, conflicting, unsettled in sorted(tuple(r) for r in found):
        if bool(dmy) != bool(mdy):
            out.append((int(src), FileDates(order="dmy" if dmy else "mdy")))
        elif dmy and mdy:
            out.append((int(src), FileDates(ambiguous=conflicting, conflicting=True)))
        else:
            out.append((int(src), FileDates(ambiguous=unsettled)))
    return tuple(out)
