"""Odoo's translated export labels and values, looked up from the table generated from Odoo's
own translation files (data/odoo_labels.json, built by scripts/build_odoo_labels.py).

A French user's export says `Créé le`, `Client`, `Vendeur` and `Piste`/`Opportunité`; this module
says which crm.lead field such a header is, which language it is in, which `type` a value means
and which stage names are Odoo's default won stage. Lookups ignore case, accents and repeated
spaces, except for a text that would then name two different fields (`collisions()`)."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import polars as pl

# leadtool's own English forms (technical names, Odoo's English labels) win over a translation
# that spells the same (see `collisions`)
from .fields import FIELDS, LABELS

_ENGLISH = "en"


def fold(text: str) -> str:
    """Case-, accent- and spacing-free form: `  Créé  LE ` -> `cree le`."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.lower().split())


def fold_expr(expr: pl.Expr) -> pl.Expr:
    """`fold` for a text column, vectorized."""
    return (expr.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()
            .str.replace_all(r"\s+", " ").str.strip_chars())


@cache
def table() -> dict:
    """The generated table, as stored in the package."""
    text = resources.files("leadtool").joinpath("data", "odoo_labels.json").read_text(encoding="utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class Collision:
    """A folded text that names several fields; `kept` is the field it still means, if any."""

    key: str
    fields: tuple[str, ...]
    kept: str | None
    why: str


def _english_forms() -> dict[str, str]:
    forms: dict[str, str] = {}
    for fld in FIELDS:
        forms.setdefault(fold(fld), fld)
        for label in LABELS.get(fld, ()):
            forms.setdefault(fold(label), fld)
    return forms


@cache
def _header_index() -> tuple[dict[str, tuple[tuple[str, str], ...]], tuple[Collision, ...]]:
    """folded label -> ((field, language), ...), and the collisions left out of it."""
    seen: dict[str, dict[str, list[str]]] = {}
    for fld, by_lang in table()["fields"].items():
        for lang, labels in by_lang.items():
            for label in labels:
                langs = seen.setdefault(fold(label), {}).setdefault(fld, [])
                if lang not in langs:
                    langs.append(lang)
    english = _english_forms()
    index: dict[str, tuple[tuple[str, str], ...]] = {}
    found: list[Collision] = []
    for key, owners in seen.items():
        fields = tuple(owners)
        if key in english and any(f != english[key] for f in fields):
            found.append(Collision(key, tuple(dict.fromkeys((english[key], *fields))), english[key],
                                   f"leadtool's English label of {english[key]!r} wins"))
            fields = (english[key],) if english[key] in owners else ()
        elif len(fields) > 1:
            found.append(Collision(key, fields, None, "translations of different fields; not recognised"))
            continue
        if fields:
            fld = fields[0]
            index[key] = tuple((fld, lang) for lang in owners[fld])
    return index, tuple(found)


def collisions() -> tuple[Collision, ...]:
    """Labels two fields share once folded, and how the lookup resolves each."""
    return _header_index()[1]


def header_matches(header: str) -> tuple[tuple[str, str], ...]:
    """Every (field, language) whose Odoo export label is `header`; empty if none."""
    return _header_index()[0].get(fold(header), ())


def header_field(header: str) -> tuple[str, str] | None:
    """(field, language) of a translated Odoo export label; the language is the first that
    spells it so (English first), since many languages share a label (`E-mail`)."""
    matches = header_matches(header)
    return matches[0] if matches else None


def detect_language(headers: Iterable[str]) -> str | None:
    """The language most headers are labelled in; None when no header is a translation. A
    label English shares (`ID`, `Mobile`) is no evidence. Ties go to the language whose labels
    matched first in header order."""
    score: dict[str, int] = {}
    for header in headers:
        matches = header_matches(header)
        if any(lang == _ENGLISH for _fld, lang in matches):
            continue
        for _fld, lang in matches:
            score[lang] = score.get(lang, 0) + 1
    if not score:
        return None
    best = max(score.values())
    return next(lang for lang in score if score[lang] == best)


@cache
def _type_index() -> dict[str, str]:
    index: dict[str, str] = {"lead": "lead", "opportunity": "opportunity"}
    for kind, by_lang in table()["type_values"].items():
        for labels in by_lang.values():
            for label in labels:
                index.setdefault(fold(label), kind)
    return index


def type_value(value: str) -> str | None:
    """`lead` or `opportunity` for a technical or (translated) display value of `type`."""
    return _type_index().get(fold(value))


def type_expr(expr: pl.Expr) -> pl.Expr:
    """`type_value` over a text column: `lead`, `opportunity`, or null when the value is
    neither (empty, or something else)."""
    index = _type_index()
    return fold_expr(expr).replace_strict(list(index), list(index.values()), default=None,
                                          return_dtype=pl.String)


def type_values() -> dict[str, tuple[str, ...]]:
    """Every spelling of each `type`, all languages together."""
    spellings: dict[str, tuple[str, ...]] = {}
    for kind, by_lang in table()["type_values"].items():
        spellings[kind] = tuple(dict.fromkeys(label for labels in by_lang.values() for label in labels))
    return spellings


def won_stage_names() -> tuple[str, ...]:
    """Odoo's default won stage in every language of the table (`Won`, `Gagné`, ...)."""
    by_lang = table()["won_stage"]
    return tuple(dict.fromkeys(name for names in by_lang.values() for name in names))


def is_won_stage_expr(expr: pl.Expr, names: Iterable[str] | None = None) -> pl.Expr:
    """True where the stage is one of `names` (default: `won_stage_names()`), ignoring case,
    accents and spacing; null stays null."""
    keys = sorted({fold(name) for name in (won_stage_names() if names is None else names)})
    return fold_expr(expr).is_in(keys)


def languages() -> tuple[str, ...]:
    """Languages the table holds labels for, English first."""
    return (_ENGLISH, *table()["odoo_versions"])


def opportunity_label(lead_value: str, language: str | None = None) -> str | None:
    """Odoo's display value of `opportunity` in the language of a lead's display value (`Piste`
    -> `Opportunité`); `language` settles a value several languages share (`Lead`). None when
    `lead_value` is no spelling of `lead`."""
    by_lang = table()["type_values"]
    langs = [lang for lang, labels in by_lang["lead"].items() if fold(lead_value) in {fold(x) for x in labels}]
    if not langs:
        return None
    lang = language if language in langs else langs[0]
    labels = by_lang["opportunity"].get(lang) or by_lang["opportunity"][_ENGLISH]
    return labels[0]
