"""The email key (docs/groups.md#email-key): Odoo's `email_normalize`, as polars expressions so that a
million values are keyed in one pass."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl

# characters that end a bare address token
_STOP = r"\s,;<>\"'"
_BARE = rf"[^{_STOP}@]+@[^{_STOP}@]+"
# a mailbox: optional display text (no separators) then <addr>; else a bare address
_MAILBOX = rf"(?:[^,;<>]*?<\s*([^<>\s@]+@[^<>\s@]+)\s*>)|({_BARE})"
_QUOTED_NAME = r'"(?:[^"\\]|\\.)*"\s*<'


def _prepared(expr: pl.Expr) -> pl.Expr:
    # a quoted display name may hold '@' or ',' ("john@x.com" <johnny@x.com>): drop it
    return expr.fill_null("").str.replace_all(_QUOTED_NAME, "<")


def _lower(addr: pl.Expr) -> pl.Expr:
    """Domain lower-cased; local part lower-cased only when it is pure ASCII (as Odoo)."""
    local = addr.str.extract(r"^(.*)@[^@]*$", 1)
    domain = addr.str.extract(r"@([^@]*)$", 1)
    ascii_local = local.str.contains(r"^[\x00-\x7F]*$")
    return (
        pl.when(ascii_local).then(local.str.to_lowercase()).otherwise(local)
        + "@" + domain.str.to_lowercase()
    )


def _canonical(key: pl.Expr) -> pl.Expr:
    """--canonical-email: drop +tags, and dots of gmail addresses."""
    local = key.str.extract(r"^(.*)@[^@]*$", 1).str.replace(r"\+.*$", "")
    domain = key.str.extract(r"@([^@]*)$", 1)
    gmail = domain.is_in(["gmail.com", "googlemail.com"])
    local = pl.when(gmail).then(local.str.replace_all(".", "", literal=True)).otherwise(local)
    return local + "@" + pl.when(gmail).then(pl.lit("gmail.com")).otherwise(domain)


# the two forms nearly every export holds, each one cheap anchored regex
_SIMPLE = rf"^\s*{_BARE}\s*$"  # no capture group: a match test is much faster than an extract
_ONE_ANGLE = r'^\s*(?:"[^"]*"|[^"<>,;@]*)\s*<\s*([^<>\s@,;"]+@[^<>\s@,;"]+)\s*>\s*$'


def first_address(values: pl.Series) -> pl.Series:
    """The first address of each value as written, or null. The general mailbox regex is
    slow (a lazy scan per position), so it only runs on values that are neither a bare
    address nor a single `Name <addr>`: a few in a thousand in real exports."""
    values = values.cast(pl.String).fill_null("")
    # a bare address holds no whitespace: stripping it gives the address
    addr = values.to_frame("v").select(
        pl.when(pl.col("v").str.contains(_SIMPLE)).then(pl.col("v").str.strip_chars())).to_series()
    todo = addr.is_null()
    if todo.any():
        angle = values.filter(todo).str.extract(_ONE_ANGLE, 1)
        addr = addr.scatter(todo.arg_true(), angle)
        todo = addr.is_null() & (values.str.contains("@", literal=True))
        if todo.any():
            rest = values.filter(todo).to_frame("v").select(
                pl.coalesce(_prepared(pl.col("v")).str.extract(_MAILBOX, 1),
                            _prepared(pl.col("v")).str.extract(_MAILBOX, 2))).to_series()
            addr = addr.scatter(todo.arg_true(), rest)
    return addr


def lower_address(addr: pl.Series) -> pl.Series:
    """Domain lower-cased; local part only when pure ASCII. The split at '@' only runs on
    the rare non-ASCII addresses."""
    key = addr.str.to_lowercase()
    wide = addr.str.contains(r"[^\x00-\x7F]").fill_null(False)
    if wide.any():
        fixed = addr.filter(wide).to_frame("a").select(_lower(pl.col("a"))).to_series()
        key = key.scatter(wide.arg_true(), fixed)
    return key


_PARALLEL_FROM = 200_000  # values; below this, threads cost more than they save


def email_keys(values: pl.Series, canonical: bool = False) -> pl.Series:
    """The key of every value. Series methods run on one core each, so a large column is
    keyed in slices, one per core (polars releases the GIL)."""
    parts = min(pl.thread_pool_size(), len(values) // _PARALLEL_FROM)
    if parts > 1:
        size = -(-len(values) // parts)
        with ThreadPoolExecutor(max_workers=parts) as pool:
            keyed = pool.map(lambda start: _email_keys(values.slice(start, size), canonical),
                             range(0, len(values), size))
            return pl.concat(list(keyed)).alias(values.name)
    return _email_keys(values, canonical)


def _email_keys(values: pl.Series, canonical: bool) -> pl.Series:
    key = lower_address(first_address(values))
    if canonical:
        key = key.to_frame("k").select(_canonical(pl.col("k"))).to_series()
    return key


def email_key_expr(expr: pl.Expr, canonical: bool = False) -> pl.Expr:
    """The normalized first address of each value, or null when there is none."""
    return expr.map_batches(lambda s: email_keys(s, canonical), return_dtype=pl.String)


def email_keys_all_expr(expr: pl.Expr, canonical: bool = False) -> pl.Expr:
    """Every address of each value, normalized (a list; `--email-key all`)."""
    prepared = _prepared(expr)
    mailboxes = prepared.str.extract_all(_MAILBOX)
    addr = mailboxes.list.eval(
        pl.coalesce(pl.element().str.extract(_MAILBOX, 1), pl.element().str.extract(_MAILBOX, 2))
    )
    return addr.list.eval(_canonical(_lower(pl.element())) if canonical
                          else _lower(pl.element())).list.unique(maintain_order=True)


def first_address_expr(expr: pl.Expr) -> pl.Expr:
    """The first address as written (not lower-cased), for copying to a customer."""
    return expr.map_batches(first_address, return_dtype=pl.String)


def display_name_expr(expr: pl.Expr) -> pl.Expr:
    """The display name in `Name <addr>` or `"Name" <addr>`, else null."""
    name = expr.fill_null("").str.extract(r'^\s*"?([^"<]*?)"?\s*<[^<>]*@[^<>]*>', 1)
    return pl.when(name.str.strip_chars() != "").then(name.str.strip_chars()).otherwise(None)


def email_key(value: str, canonical: bool = False) -> str | None:
    """One value's key (for tests and small callers)."""
    frame = pl.DataFrame({"v": [value]}, schema={"v": pl.String})
    return frame.select(email_key_expr(pl.col("v"), canonical)).item()
