"""The email key (SPEC 1.3): Odoo's `email_normalize`, as polars expressions so that a
million values are keyed in one pass."""

from __future__ import annotations

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


def email_key_expr(expr: pl.Expr, canonical: bool = False) -> pl.Expr:
    """The normalized first address of each value, or null when there is none."""
    prepared = _prepared(expr)
    addr = pl.coalesce(prepared.str.extract(_MAILBOX, 1), prepared.str.extract(_MAILBOX, 2))
    key = _lower(addr)
    return _canonical(key) if canonical else key


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
    prepared = _prepared(expr)
    return pl.coalesce(prepared.str.extract(_MAILBOX, 1), prepared.str.extract(_MAILBOX, 2))


def display_name_expr(expr: pl.Expr) -> pl.Expr:
    """The display name in `Name <addr>` or `"Name" <addr>`, else null."""
    name = expr.fill_null("").str.extract(r'^\s*"?([^"<]*?)"?\s*<[^<>]*@[^<>]*>', 1)
    return pl.when(name.str.strip_chars() != "").then(name.str.strip_chars()).otherwise(None)


def email_key(value: str, canonical: bool = False) -> str | None:
    """One value's key (for tests and small callers)."""
    frame = pl.DataFrame({"v": [value]}, schema={"v": pl.String})
    return frame.select(email_key_expr(pl.col("v"), canonical)).item()
