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
- its local part and the first label of its domain are one letter or digit repeated, the same
  one: `a@a.com`, `aaa@aaa.com`, `xxx@xxx.de`, `1@1.com`.

Not on the list, on purpose: the example/invalid/test TLDs and domains (`example.com`,
`*.test`, `*.invalid`), which documentation and the samples use for real-looking people, and
role mailboxes of a company (`info@`, `sales@`, `contact@`): leads that share one usually are the
same company; add them in the config when they are not.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
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


def rules_from_config(section: Mapping[str, object] | None, source: str = "config",
                      where: str = "placeholders") -> PlaceholderRules:
    """A config section (`[emails.placeholders]`, named by `where` in errors): `addresses`,
    `local_parts`, `domain_names` extend the defaults; `defaults = false` starts from empty lists;
    `repeated_character = false` turns that rule off."""
    if not section:
        return DEFAULT_RULES
    unknown = sorted(set(section) - _CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"[{where}]: unknown key {unknown[0]!r} (keys: {', '.join(sorted(_CONFIG_KEYS))})",
                          file=source)
    lists = {}
    for key in ("addresses", "local_parts", "domain_names"):
        value = section.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"[{where}] {key}: expected a list of strings", file=source)
        lists[key] = value
    for key in ("defaults", "repeated_character"):
        if not isinstance(section.get(key, True), bool):
            raise ConfigError(f"[{where}] {key}: expected true or false", file=source)
    base = DEFAULT_RULES if section.get("defaults", True) else PlaceholderRules(frozenset(), frozenset(), frozenset())
    base = replace(base, repeated_character=bool(section.get("repeated_character", True)))
    return base.extended(**lists)


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words))


def pattern(rules: PlaceholderRules = DEFAULT_RULES, prefix: str = "") -> str | None:
    """The rules as one regular expression over an email key (any case, spaces around it
    aside), after `prefix` (`email:` in a key that says its kind): one pass of a compiled
    automaton over a million keys, no split or extract per key. The repeated character is a
    letter or a digit (`a@a.com`, `xxx@xxx.de`, `1@1.com`). None when the rules are empty."""
    parts = []
    if rules.addresses:
        parts.append(rf"(?:{_alternatives(rules.addresses)})\s*$")
    if rules.local_parts:
        parts.append(rf"(?:{_alternatives(rules.local_parts)})@")
    if rules.domain_names:
        parts.append(rf"[^@\s]*@(?:{_alternatives(rules.domain_names)})(?:\.|\s*$)")
    if rules.repeated_character:
        parts.append(rf"(?:{'|'.join(f'{c}+@{c}+' for c in string.ascii_lowercase + string.digits)})\.")
    return rf"(?i)^{re.escape(prefix)}\s*(?:{'|'.join(parts)})" if parts else None


def is_placeholder(key: pl.Expr, rules: PlaceholderRules = DEFAULT_RULES) -> pl.Expr:
    """True where the email key is a placeholder under `rules`; False where it is not or there
    is no key, so the result can filter directly."""
    regex = pattern(rules)
    return key.str.contains(regex).fill_null(False) if regex else key.is_null() & False


def placeholder_keys(keys: pl.Series, rules: PlaceholderRules = DEFAULT_RULES) -> list[str]:
    """The distinct placeholder keys of a column, in first-seen order (for inspect/check)."""
    frame = keys.to_frame("k").filter(is_placeholder(pl.col("k"), rules))
    return frame.get_column("k").unique(maintain_order=True).to_list()


# ---- conflict guard ---------------------------------------------------------------------------

#: a group with more distinct people than this is held back
MAX_NAMES = 2

#: words that say what a company is rather than which one (`Acme` and `Acme Corp` are one company)
LEGAL_WORDS = frozenset({
    "ab", "ag", "and", "as", "bv", "co", "company", "corp", "corporation", "gmbh", "group", "holding",
    "holdings", "inc", "incorporated", "kg", "limited", "llc", "llp", "ltd", "nv", "oy", "plc", "sa", "sarl",
    "sas", "spa", "srl", "the",
})


def name_key_expr(expr: pl.Expr) -> pl.Expr:
    """A person or company name compared loosely: case, accents, punctuation and word order
    do not count (`Smith, John` = `john smith`); empty becomes null."""
    words = (expr.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()
             .str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars())
    joined = words.str.split(" ").list.sort().list.join(" ")
    return pl.when(words == "").then(None).otherwise(joined)


def _word_match(a: str, b: str) -> bool:
    """One word of a name matches another: equal, or an initial of it (`j` and `jane`)."""
    return a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def same_person(a: Sequence[str], b: Sequence[str]) -> bool:
    """Two names (as words) that may be one person: every word of the shorter matches its own
    word of the longer (`J. Doe` and `Jane Doe`, `Ann Lee` and `Ann B. Lee`)."""
    short, long = sorted((a, b), key=len)
    rest = list(long)
    for word in short:
        hit = next((w for w in rest if _word_match(word, w)), None)
        if hit is None:
            return False
        rest.remove(hit)
    return True


def same_company(a: Sequence[str], b: Sequence[str]) -> bool:
    """Two company names (as words) that may be one company: once their legal words are left
    out, the words of one are all words of the other (`Acme`, `ACME Corp.`, `Acme Group`)."""
    core_a = {w for w in a if w not in LEGAL_WORDS} or set(a)
    core_b = {w for w in b if w not in LEGAL_WORDS} or set(b)
    return core_a <= core_b or core_b <= core_a


def _distinct(keys: Sequence[str], same: Callable[[Sequence[str], Sequence[str]], bool]) -> list[int]:
    """Positions of the keys that are not `same` as an earlier kept one (first seen wins)."""
    kept: list[int] = []
    words = [k.split(" ") for k in keys]
    for i, w in enumerate(words):
        if not any(same(words[j], w) for j in kept):
            kept.append(i)
    return kept


def _reason(names: Sequence[str], companies: Sequence[str]) -> str | None:
    if len(names) > MAX_NAMES:
        return f"{len(names)} different people: {', '.join(names)}"
    if len(names) >= 2 and len(companies) >= 2:
        return f"different people ({', '.join(names)}) at different companies ({', '.join(companies)})"
    return None


def conflict_reasons(frame: pl.DataFrame, group: str, name: str, company: str | None = None) -> pl.DataFrame:
    """Groups whose members are clearly different people, with the reason: more than
    `MAX_NAMES` people, or two people at two companies. Names are compared by `name_key_expr`,
    then `same_person` (an initial matches its name, a middle name may be missing), companies by
    `same_company`; empty names and companies say nothing. Returns columns `group` (the group's
    value) and `reason`, one row per held-back group, in group order.

    The vectorized part keeps one row per distinct name of a group; the comparison of those few
    names runs per group only where a group has two names or more."""
    company_expr = name_key_expr(pl.col(company)) if company else pl.lit(None, dtype=pl.String)
    keyed = frame.select(
        pl.col(group).alias("group"),
        name_key_expr(pl.col(name)).alias("_nk"), pl.col(name).str.strip_chars().alias("_n"),
        company_expr.alias("_ck"),
        (pl.col(company).str.strip_chars() if company else pl.lit(None, dtype=pl.String)).alias("_c"),
    )
    # one shown spelling per distinct key: the first met in the group
    names = (keyed.drop_nulls("_nk").unique(["group", "_nk"], keep="first", maintain_order=True)
             .group_by("group", maintain_order=True).agg(pl.col("_nk").alias("nk"), pl.col("_n").alias("names"))
             .filter(pl.col("nk").list.len() >= 2))
    companies = (keyed.drop_nulls("_ck").unique(["group", "_ck"], keep="first", maintain_order=True)
                 .group_by("group", maintain_order=True)
                 .agg(pl.col("_ck").alias("ck"), pl.col("_c").alias("companies")))
    both = names.join(companies, on="group", how="left", maintain_order="left")
    groups, reasons = [], []
    for g, nk, shown, ck, firms in both.select("group", "nk", "names", "ck", "companies").iter_rows():
        people = [shown[i] for i in _distinct(nk, same_person)]
        others = [firms[i] for i in _distinct(ck, same_company)] if ck else []
        reason = _reason(people, others)
        if reason is not None:
            groups.append(g)
            reasons.append(reason)
    return pl.DataFrame({"group": pl.Series(groups, dtype=frame.schema[group]),
                         "reason": pl.Series(reasons, dtype=pl.String)})


def conflict_reason(names: Sequence[str], companies: Sequence[str] = ()) -> str | None:
    """`conflict_reasons` for one group given as lists (None when the group may merge)."""
    frame = pl.DataFrame({"g": [0] * len(names), "n": list(names),
                          "c": list(companies) if companies else [""] * len(names)},
                         schema={"g": pl.Int64, "n": pl.String, "c": pl.String})
    found = conflict_reasons(frame, "g", "n", "c")
    return found["reason"][0] if found.height else None
