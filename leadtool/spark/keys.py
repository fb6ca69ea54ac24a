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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from ..config import Config
from ..match.normalize import closed_expr
from ..match.phones import phone_keys
from ..records import Records
from .apply import small_strings

if TYPE_CHECKING:  # pyspark is an optional extra
    import pyarrow as pa
    from pyspark.sql import Column

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
    narrow projection (`idx` and the fields below, by their field names): closed records
    (archived, won: `normalize.closed_expr`) are left out unless `include_closed`, and with
    `phones` each record gets its phone keys (`phones.phone_keys`, libphonenumber) as a list.
    The other columns go through unchanged."""

    idx: str
    fields: tuple[str, ...]
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
        records = Records(frame=frame, columns=list(self.fields), headers={f: f for f in self.fields},
                          sources=[], fields={f: f for f in self.fields})
        if not self.include_closed:
            frame = frame.filter(~closed_expr(records, self.config))
        if self.phones:
            keys = phone_keys(records, frame.rename({self.idx: "__lt_idx"}), self.default_region)
            lists = keys.group_by("__lt_idx").agg(pl.col("key").alias(PHONES)).rename({"__lt_idx": self.idx})
            frame = frame.join(lists, on=self.idx, how="left", maintain_order="left")
        table = small_strings(frame.to_arrow())
        return table.combine_chunks().to_batches()[0] if frame.height else _empty(table.schema)

    def output_fields(self) -> Sequence[str]:
        return [self.idx, *self.fields]


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_pylist([], schema=schema)
