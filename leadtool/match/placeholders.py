"""Placeholder emails that must never join records, and the guard against exact groups whose
members are clearly different people.

A real Salesforce export had `a@a.com` on 7 different people at 4 companies: an address typed to
get past a required field says nothing about who the person is. The default rules (documented
here and in the README, extendable from the config) say an email key is a placeholder when:

- it is one of `DEFAULT_ADDRESSES` (`a@a.com`, `test@test.com`, `email@email.com`, ...);
- its local part is one of `DEFAULT_LOCAL_PARTS`, whatever the domain: `noemail@acme.com`,
  `none@...`, `na@...`, `unknown@...`, and the no-reply family (`noreply@`, `no-reply@`,
  `donotreply@`): a no-reply mailbox is a sender, never a person, so two leads that share it are
  not the same person;
- the first label of its domain is one of `DEFAULT_DOMAIN_NAMES` (`x@noemail.com`,
  `john@none.org`, `jane@noreply.io`);
- its local part and the first label of its domain are one character repeated, the same one:
  `a@a.com`, `aaa@aaa.com`, `xxx@xxx.de`, `1@1.com`.

Not on the list, on purpose: the example/invalid/test TLDs and domains (`example.com`,
`*.test`, `*.invalid`), which documentation and the samples use for real-looking people, and
role mailboxes of a company (`info@`, `sales@`, `contact@`): leads that share one usually are the
same company; add them in the config when they are not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import polars as pl

from ..errors import ConfigError

DEFAULT_ADDRESSES: frozenset[str] = frozenset({
    "a@a.com", "x@x.com", "test@test.com", "email@email.com", "name@domain.com", "user@domain.com",
    "email@domain.com", "abc@abc.com", "asdf@asdf.com", "no@email.com", "none@none.com",
    "na@na.com", "noemail@noemail.com", "test@gmail.com", "test@example.org",
})

DEFAULT_LOCAL_PARTS: frozenset[str] = frozenset({
    "noemail", "no-email", "no_email", "no.email", "nomail", "no-mail", "none", "na", "n.a",
    "null", "nil", "unknown", "notprovided", "not.provided", "notavailable", "not-available",
    "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply",
    "donotemail", "do-not-email", "dontemail",
})

DEFAULT_DOMAIN_NAMES: frozenset[str] = frozenset({
    "noemail", "no-email", "nomail", "none", "noreply", "no-reply", "donotreply", "unknown",
})


@dataclass(frozen=True)
class PlaceholderRules:
    """Which email keys are placeholders. Keys are compared lower-cased."""

    addresses: frozenset[str] = DEFAULT_ADDRESSES
    local_parts: frozenset[str] = DEFAULT_LOCAL_PARTS
    domain_names: frozenset[str] = DEFAULT_DOMAIN_NAMES
    repeated_character: bool = True

    def extended(self, addresses: Iterable[str] = (), local_parts: Iterable[str] = (),
                 domain_names: Iterable[str] = ()) -> PlaceholderRules:
        """These rules plus more (from the config)."""
        return replace(
            self,
            addresses=self.addresses | {a.strip().lower() for a in addresses},
            local_parts=self.local_parts | {a.strip().lower() for a in local_parts},
            domain_names=self.domain_names | {a.strip().lower() for a in domain_names},
        )


DEFAULT_RULES = PlaceholderRules()

_CONFIG_KEYS = {"addresses", "local_parts", "domain_names", "repeated_character", "defaults"}


def rules_from_config(section: Mapping[str, object] | None, source: str = "config") -> PlaceholderRules:
    """A `[placeholders]` config section: `addresses`, `local_parts`, `domain_names` extend the
    defaults; `defaults = false` starts from empty lists; `repeated_character = false` turns that
    rule off."""
    if not section:
        return DEFAULT_RULES
    unknown = sorted(set(section) - _CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"[placeholders]: unknown key {unknown[0]!r} (keys: {', '.join(sorted(_CONFIG_KEYS))})",
                          file=source)
    lists = {}
    for key in ("addresses", "local_parts", "domain_names"):
        value = section.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"[placeholders] {key}: expected a list of strings", file=source)
        lists[key] = value
    for key in ("defaults", "repeated_character"):
        if not isinstance(section.get(key, True), bool):
            raise ConfigError(f"[placeholders] {key}: expected true or false", file=source)
    base = DEFAULT_RULES if section.get("defaults", True) else PlaceholderRules(frozenset(), frozenset(), frozenset())
    base = replace(base, repeated_character=bool(section.get("repeated_character", True)))
    return base.extended(**lists)


def _one_repeated(part: pl.Expr) -> pl.Expr:
    return part.str.split("").list.unique().list.len() == 1


def is_placeholder(key: pl.Expr, rules: PlaceholderRules = DEFAULT_RULES) -> pl.Expr:
    """True where the email key is a placeholder under `rules`; False where it is not or there
    is no key, so the result can filter directly."""
    k = key.str.strip_chars().str.to_lowercase()
    local = k.str.extract(r"^(.+)@[^@]*$", 1)
    domain = k.str.extract(r"@([^@]+)$", 1)
    first_label = domain.str.extract(r"^([^.]+)", 1)
    hit = (k.is_in(sorted(rules.addresses)) | local.is_in(sorted(rules.local_parts))
           | first_label.is_in(sorted(rules.domain_names)))
    if rules.repeated_character:
        same = (_one_repeated(local) & _one_repeated(first_label)
                & (local.str.slice(0, 1) == first_label.str.slice(0, 1)) & domain.str.contains(r"\."))
        hit = hit | same
    return hit.fill_null(False)


def placeholder_keys(keys: pl.Series, rules: PlaceholderRules = DEFAULT_RULES) -> list[str]:
    """The distinct placeholder keys of a column, in first-seen order (for inspect/check)."""
    frame = keys.to_frame("k").filter(is_placeholder(pl.col("k"), rules))
    return frame.get_column("k").unique(maintain_order=True).to_list()


# ---- conflict guard ---------------------------------------------------------------------------

#: a group with more distinct person names than this is held back
MAX_NAMES = 2


def name_key_expr(expr: pl.Expr) -> pl.Expr:
    """A person or company name compared loosely: case, accents, punctuation and word order
    do not count (`Smith, John` = `john smith`); empty becomes null."""
    words = (expr.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()
             .str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars())
    joined = words.str.split(" ").list.sort().list.join(" ")
    return pl.when(words == "").then(None).otherwise(joined)


def _reason(names: Sequence[str], companies: Sequence[str]) -> str | None:
    if len(names) > MAX_NAMES:
        return f"{len(names)} different people: {', '.join(names)}"
    if len(names) >= 2 and len(companies) >= 2:
        return f"different people ({', '.join(names)}) at different companies ({', '.join(companies)})"
    return None


def conflict_reasons(frame: pl.DataFrame, group: str, name: str, company: str | None = None) -> pl.DataFrame:
    """Groups whose members are clearly different people, with the reason: more than
    `MAX_NAMES` distinct names, or two distinct names at two distinct companies. Names are
    compared by `name_key_expr`; empty names and companies say nothing. Returns columns
    `group` (the group's value) and `reason`, one row per held-back group, in group order."""
    company_expr = name_key_expr(pl.col(company)) if company else pl.lit(None, dtype=pl.String)
    keyed = frame.select(
        pl.col(group).alias("group"),
        name_key_expr(pl.col(name)).alias("_nk"), pl.col(name).str.strip_chars().alias("_n"),
        company_expr.alias("_ck"),
        (pl.col(company).str.strip_chars() if company else pl.lit(None, dtype=pl.String)).alias("_c"),
    )
    # one shown spelling per distinct key: the first met in the group
    names = (keyed.drop_nulls("_nk").unique(["group", "_nk"], keep="first", maintain_order=True)
             .group_by("group", maintain_order=True).agg(pl.col("_n").alias("names")))
    companies = (keyed.drop_nulls("_ck").unique(["group", "_ck"], keep="first", maintain_order=True)
                 .group_by("group", maintain_order=True).agg(pl.col("_c").alias("companies")))
    both = names.join(companies, on="group", how="left", maintain_order="left").with_columns(
        pl.col("companies").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    n_names = pl.col("names").list.len()
    n_companies = pl.col("companies").list.len()
    suspicious = both.filter((n_names > MAX_NAMES) | ((n_names >= 2) & (n_companies >= 2)))
    reasons = [_reason(n, c) for n, c in zip(suspicious["names"].to_list(), suspicious["companies"].to_list(),
                                             strict=True)]
    return pl.DataFrame({"group": suspicious["group"], "reason": pl.Series(reasons, dtype=pl.String)})


def conflict_reason(names: Sequence[str], companies: Sequence[str] = ()) -> str | None:
    """`conflict_reasons` for one group given as lists (None when the group may merge)."""
    frame = pl.DataFrame({"g": [0] * len(names), "n": list(names),
                          "c": list(companies) if companies else [""] * len(names)},
                         schema={"g": pl.Int64, "n": pl.String, "c": pl.String})
    found = conflict_reasons(frame, "g", "n", "c")
    return found["reason"][0] if found.height else None
