"""Presets: how another CRM's export maps onto Odoo's crm.lead fields, as data files.

A preset is a TOML file (the built-in ones are in leadtool/data/presets/, users copy one and give
`--preset ./my.toml`) with these sections, every key checked:

- `[preset]` `name`, `system`, `object`, `records` (`lead` or `opportunity`: what a record of
  this export is when the file has no Odoo `type` column; the other system's own "type" column,
  like Salesforce's `Type` = New Business, is never Odoo's type);
- `[detect]` `headers` (header -> weight) and `min_score`: the export is recognised when the
  weights of the headers found add up to `min_score` or more;
- `[map]` Odoo field -> list of headers, in order of preference: `email_from`, `phone` and
  `mobile` take every one present (they all feed the match keys), another field the first one
  present;
- `[name]` `first`, `middle`, `last`: header lists whose values compose `contact_name` when the
  file splits the name (a `contact_name` value, when there is one, wins);
- `[closed]` `true_columns` (a record whose column is `true`, `1`, `yes`, `y` or `x`, any case,
  is closed) and `values` (header -> values, any case, that mean closed).
Headers are matched ignoring case and repeated spaces.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

from .errors import ConfigError
from .fields import FIELDS, LABELS, MULTI_FIELDS
from .translations import header_matches

#: values of a boolean column that mean true
TRUE_VALUES = ("true", "1", "yes", "y", "x")

_SECTIONS = {
    "preset": {"name", "system", "object", "records", "description"},
    "detect": {"headers", "min_score"},
    "map": set(FIELDS),
    "name": {"first", "middle", "last"},
    "closed": {"true_columns", "values"},
}


def _norm(header: str) -> str:
    return " ".join(header.split()).casefold()


@dataclass(frozen=True)
class Preset:
    """One preset, validated."""

    name: str
    system: str
    object: str
    records: str
    source: str
    description: str = ""
    detect: Mapping[str, int] = field(default_factory=dict)
    min_score: int = 6
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    first: tuple[str, ...] = ()
    middle: tuple[str, ...] = ()
    last: tuple[str, ...] = ()
    true_columns: tuple[str, ...] = ()
    closed_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`Salesforce Lead`: what inspect says it looks like."""
        return f"{self.system} {self.object}"

    def known_headers(self) -> set[str]:
        """Every header this preset names, normalized."""
        names = set(self.detect) | set(self.first) | set(self.middle) | set(self.last)
        names |= set(self.true_columns) | set(self.closed_values)
        for headers in self.fields.values():
            names |= set(headers)
        return {_norm(n) for n in names}

    def score(self, headers: Iterable[str]) -> tuple[int, tuple[str, ...]]:
        """The detection score of a header row, and the headers that scored."""
        weights = {_norm(h): w for h, w in self.detect.items()}
        matched = tuple(dict.fromkeys(h for h in headers if weights.get(_norm(h), 0) > 0))
        return sum(weights[_norm(h)] for h in matched), matched

    def resolve(self, headers: Sequence[str]) -> Resolved:
        """Which header positions hold which field here."""
        positions: dict[str, list[int]] = {}
        for i, header in enumerate(headers):
            positions.setdefault(_norm(header), []).append(i)

        def found(candidates: Iterable[str]) -> list[int]:
            return [i for c in candidates for i in positions.get(_norm(c), [])]

        fields = {}
        for fld, candidates in self.fields.items():
            hits = found(candidates)
            if hits:
                fields[fld] = hits if fld in MULTI_FIELDS else hits[:1]
        name_parts = tuple(found(part)[:1] for part in (self.first, self.middle, self.last))
        true_cols = found(self.true_columns)
        values = {i: tuple(v.casefold() for v in vals)
                  for header, vals in self.closed_values.items() for i in found([header])}
        return Resolved(self, tuple(headers), fields, name_parts, tuple(true_cols), values)


@dataclass(frozen=True)
class Resolved:
    """A preset applied to one file's headers: positions of the columns it uses."""

    preset: Preset
    headers: tuple[str, ...]
    fields: Mapping[str, list[int]]
    name_parts: tuple[list[int], list[int], list[int]]
    true_columns: tuple[int, ...]
    closed_values: Mapping[int, tuple[str, ...]]

    @property
    def composes_name(self) -> bool:
        return bool(self.name_parts[0] or self.name_parts[2])

    def contact_name_expr(self, column: Sequence[str]) -> pl.Expr | None:
        """`contact_name` for every record: the file's own contact name when not empty, else
        first, middle and last name joined by a space; None when the file has neither.
        `column[i]` is the frame column holding header i."""
        own = self.fields.get("contact_name")
        parts = [pl.col(column[p[0]]).str.strip_chars() for p in self.name_parts if p]
        composed = None
        if parts:
            composed = pl.concat_str([pl.when(e == "").then(None).otherwise(e) for e in parts],
                                     separator=" ", ignore_nulls=True).fill_null("")
        if own and composed is not None:
            mine = pl.col(column[own[0]])
            return pl.when(mine.str.strip_chars() != "").then(mine).otherwise(composed)
        if own:
            return pl.col(column[own[0]])
        return composed

    def closed_expr(self, column: Sequence[str]) -> pl.Expr:
        """True where this system says the record is closed (converted, deleted, won, lost,
        a customer...); False when the file has none of the preset's closed columns."""
        rules = [pl.col(column[i]).str.strip_chars().str.to_lowercase().is_in(TRUE_VALUES)
                 for i in self.true_columns]
        rules += [pl.col(column[i]).str.strip_chars().str.to_lowercase().is_in(list(values))
                  for i, values in self.closed_values.items()]
        if not rules:
            return pl.repeat(False, pl.len())
        return pl.any_horizontal(rules).fill_null(False)


def _strings(value: object, where: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: expected a header or a list of headers", file=source)
    return tuple(value)


def parse_preset(text: str, source: str) -> Preset:
    """A preset from TOML text; unknown sections and keys are errors naming them."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=source) from None
    for section, body in data.items():
        if section not in _SECTIONS:
            raise ConfigError(f"unknown section [{section}] (sections: {', '.join(_SECTIONS)})", file=source)
        if not isinstance(body, dict):
            raise ConfigError(f"[{section}] must be a table", file=source)
        for key in body:
            if key not in _SECTIONS[section]:
                if section == "map":
                    raise ConfigError(f"[map] unknown field {key!r} (fields: {', '.join(FIELDS)})", file=source)
                raise ConfigError(f"[{section}] unknown key {key!r} (keys: {', '.join(sorted(_SECTIONS[section]))})",
                                  file=source)
    head = data.get("preset", {})
    for key in ("name", "system", "object"):
        if not isinstance(head.get(key), str) or not head[key].strip():
            raise ConfigError(f"[preset] {key}: expected a non-empty string", file=source)
    records = head.get("records", "lead")
    if records not in ("lead", "opportunity"):
        raise ConfigError(f"[preset] records: expected 'lead' or 'opportunity', not {records!r}", file=source)
    detect = data.get("detect", {})
    weights = detect.get("headers", {})
    if not isinstance(weights, dict) or not all(isinstance(w, int) and not isinstance(w, bool)
                                                for w in weights.values()):
        raise ConfigError("[detect] headers: expected a table of header = weight (whole numbers)", file=source)
    min_score = detect.get("min_score", 6)
    if not isinstance(min_score, int) or isinstance(min_score, bool) or min_score < 1:
        raise ConfigError("[detect] min_score: expected a whole number of 1 or more", file=source)
    fields = {fld: _strings(v, f"[map] {fld}", source) for fld, v in data.get("map", {}).items()}
    name = {k: _strings(v, f"[name] {k}", source) for k, v in data.get("name", {}).items()}
    closed = data.get("closed", {})
    values = closed.get("values", {})
    if not isinstance(values, dict):
        raise ConfigError("[closed] values: expected a table of header = [values]", file=source)
    closed_values = {h: _strings(v, f"[closed] values {h!r}", source) for h, v in values.items()}
    true_columns = _strings(closed["true_columns"], "[closed] true_columns", source) if "true_columns" in closed else ()
    return Preset(
        name=head["name"], system=head["system"], object=head["object"], records=records, source=source,
        description=str(head.get("description", "")), detect=dict(weights), min_score=min_score, fields=fields,
        first=name.get("first", ()), middle=name.get("middle", ()), last=name.get("last", ()),
        true_columns=true_columns, closed_values=closed_values,
    )


def builtin_names() -> list[str]:
    """Names of the presets shipped with leadtool."""
    folder = resources.files("leadtool").joinpath("data", "presets")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


@cache
def builtin_presets() -> tuple[Preset, ...]:
    """The shipped presets, read once per run (detection looks at them for every file)."""
    return tuple(load_preset(name) for name in builtin_names())


def load_preset(name_or_path: str | Path) -> Preset:
    """A built-in preset by name (`salesforce-lead`) or a preset file by path."""
    text_name = str(name_or_path)
    if text_name in builtin_names():
        resource = resources.files("leadtool").joinpath("data", "presets", f"{text_name}.toml")
        return parse_preset(resource.read_text(encoding="utf-8"), f"preset {text_name}")
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"no preset named {text_name!r} and no such file (presets: {', '.join(builtin_names())})")
    return parse_preset(path.read_text(encoding="utf-8"), str(path))


@dataclass(frozen=True)
class Detection:
    """The preset a header row looks like, its score and the headers that scored."""

    preset: Preset
    score: int
    matched: tuple[str, ...]
    odoo_headers: tuple[str, ...]


def _odoo_forms() -> set[str]:
    forms = set()
    for fld in FIELDS:
        forms |= {_norm(fld), _norm(f"{fld}/id"), _norm(f"{fld}/.id")}
        forms |= {_norm(label) for label in LABELS.get(fld, ())}
    return forms


def odoo_headers(headers: Iterable[str], preset: Preset | None = None) -> tuple[str, ...]:
    """Headers that Odoo's own names recognise (technical names, English or translated export
    labels) and that `preset` does not name: evidence the file is an Odoo export."""
    known = preset.known_headers() if preset else set()
    forms = _odoo_forms()
    return tuple(h for h in headers
                 if _norm(h) not in known and (_norm(h) in forms or header_matches(h)))


def detect(headers: Sequence[str], presets: Iterable[Preset] | None = None) -> Detection | None:
    """The best-scoring preset reaching its `min_score`, or None. An Odoo export is never taken
    for another system: a preset loses when Odoo names at least as many of the other headers
    as the preset's detection headers it matched. Ties go to the preset listed first."""
    best: Detection | None = None
    for preset in presets if presets is not None else builtin_presets():
        score, matched = preset.score(headers)
        if score < preset.min_score:
            continue
        odoo = odoo_headers(headers, preset)
        if len(odoo) >= len(matched):
            continue
        if best is None or score > best.score:
            best = Detection(preset, score, matched, odoo)
    return best
