"""Which header holds which Odoo field: technical names, Odoo's English export labels,
import-compatible `/id` forms, and the user's own mapping."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import ConfigError, UsageError

#: canonical crm.lead fields (docs/formats.md#field-recognition), in Odoo's form order
FIELDS: tuple[str, ...] = (
    "id", "name", "type", "active", "contact_name", "partner_name", "partner_id", "email_from",
    "phone", "mobile", "website", "function", "title", "street", "street2", "city", "zip",
    "state_id", "country_id", "user_id", "team_id", "stage_id", "probability",
    "expected_revenue", "priority", "tag_ids", "description", "lost_reason_id", "create_date",
    "date_conversion",
)

#: the x2many fields of crm.lead among FIELDS: Odoo exports their sub-fields (`Tags/Tag Name`)
#: over several lines (docs/formats.md#odoo-multi-line-records)
X2MANY_FIELDS: tuple[str, ...] = ("tag_ids",)

#: Odoo's English field labels as its export dialog writes them (several versions)
LABELS: dict[str, tuple[str, ...]] = {
    "id": ("ID", "External ID", "Database ID"),
    "name": ("Opportunity", "Lead", "Name", "Subject", "Lead/Opportunity"),
    "type": ("Type",),
    "active": ("Active",),
    "contact_name": ("Contact Name",),
    "partner_name": ("Company Name",),
    "partner_id": ("Customer", "Partner"),
    "email_from": ("Email", "E-mail", "Email Address"),
    "phone": ("Phone",),
    "mobile": ("Mobile",),
    "website": ("Website",),
    "function": ("Job Position", "Function"),
    "title": ("Title",),
    "street": ("Street",),
    "street2": ("Street2", "Street 2"),
    "city": ("City",),
    "zip": ("Zip", "ZIP"),
    "state_id": ("State",),
    "country_id": ("Country",),
    "user_id": ("Salesperson",),
    "team_id": ("Sales Team",),
    "stage_id": ("Stage",),
    "probability": ("Probability",),
    "expected_revenue": ("Expected Revenue",),
    "priority": ("Priority",),
    "tag_ids": ("Tags",),
    "description": ("Notes", "Internal Notes", "Description"),
    "lost_reason_id": ("Lost Reason",),
    "create_date": ("Created on", "Creation Date", "Created On"),
    "date_conversion": ("Conversion Date",),
}

#: Odoo's res.partner fields, for the customers file
PARTNER_FIELDS: tuple[str, ...] = (
    "id", "name", "is_company", "parent_id", "email", "phone", "mobile", "street", "street2",
    "zip", "city", "state_id", "country_id", "website", "function", "title", "comment", "user_id",
)
PARTNER_LABELS: dict[str, tuple[str, ...]] = {
    "id": ("ID", "External ID"),
    "name": ("Name", "Display Name"),
    "is_company": ("Is a Company",),
    "parent_id": ("Related Company", "Parent", "Company"),
    "email": ("Email",),
    "phone": ("Phone",),
    "mobile": ("Mobile",),
    "street": ("Street",),
    "street2": ("Street2",),
    "zip": ("Zip",),
    "city": ("City",),
    "state_id": ("State",),
    "country_id": ("Country",),
    "website": ("Website", "Website Link"),
    "function": ("Job Position",),
    "title": ("Title",),
    "comment": ("Notes",),
    "user_id": ("Salesperson",),
}


def _key(text: str) -> str:
    return " ".join(text.strip().lower().split())


def _lookup(fields: Iterable[str], labels: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for fld in fields:
        for form in (fld, f"{fld}/id", f"{fld}/.id", f"{fld}/name", f".{fld}"):
            table.setdefault(_key(form), fld)
        for label in labels.get(fld, ()):
            table.setdefault(_key(label), fld)
            table.setdefault(_key(f"{label}/ID"), fld)
            table.setdefault(_key(f"{label}/External ID"), fld)
            table.setdefault(_key(f"{label}/Database ID"), fld)
    table[".id"] = "id"
    return table


_LEAD_TABLE = _lookup(FIELDS, LABELS)
_PARTNER_TABLE = _lookup(PARTNER_FIELDS, PARTNER_LABELS)


#: fields whose every mapped column feeds the match keys (docs/formats.md#several-columns-for-one-field);
#: any other field mapped to several headers takes the first one present
MULTI_FIELDS: tuple[str, ...] = ("email_from", "phone", "mobile")

#: a mapping as `--map` and `[map]` give it: field -> headers, in order of preference
FieldMap = Mapping[str, str | Sequence[str]]


def as_lists(mapping: FieldMap) -> dict[str, tuple[str, ...]]:
    """Every entry of a mapping as a tuple of headers (a plain string is one header)."""
    return {fld: (headers,) if isinstance(headers, str) else tuple(headers) for fld, headers in mapping.items()}


def parse_map_options(items: Iterable[str]) -> dict[str, list[str]]:
    """`--map FIELD=HEADER` options as a mapping; the field must be one of
    docs/formats.md#field-recognition. The same field given again adds a header to its list."""
    mapping: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--map {item!r}: expected FIELD=HEADER")
        fld, header = item.split("=", 1)
        fld = fld.strip()
        if fld not in FIELDS:
            raise UsageError(f"--map {item!r}: unknown field {fld!r} (fields: {', '.join(FIELDS)})")
        if not header:
            raise UsageError(f"--map {item!r}: expected FIELD=HEADER (the header is missing)")
        headers = mapping.setdefault(fld, [])
        if header not in headers:
            headers.append(header)
    return mapping


def explicit_positions(headers: Sequence[str], mapping: FieldMap, multi: Iterable[str] = MULTI_FIELDS,
                       taken: Iterable[int] = ()) -> dict[int, str]:
    """The positions an explicit mapping names (headers compared exactly): every one present
    for a field of `multi`, else the first present in the mapping's order of preference."""
    positions: dict[str, list[int]] = {}
    for i, header in enumerate(headers):
        positions.setdefault(header, []).append(i)
    several = set(multi)
    result: dict[int, str] = {}
    busy = set(taken)
    for fld, names in as_lists(mapping).items():
        hits = [i for name in names for i in positions.get(name, []) if i not in result and i not in busy]
        for i in dict.fromkeys(hits) if fld in several else hits[:1]:
            result[i] = fld
    return result


def recognised_field(header: str, partner: bool = False) -> str | None:
    """The field a header names by itself: a technical name, an import-compatible form or one
    of Odoo's English labels; for leads also Odoo's labels in its other languages."""
    fld = (_PARTNER_TABLE if partner else _LEAD_TABLE).get(_key(header))
    if fld is None and not partner:
        from .translations import header_field  # it reads this module's tables

        found = header_field(header)
        fld = found[0] if found else None
    if fld is None and not partner and "/" in header:
        # Odoo's `Field/Sub field` export label of a many2many (`Tags/Tag Name`, `tag_ids/name`,
        # `Étiquettes/Nom`): the field is the part before the slash
        sub = recognised_field(header.split("/", 1)[0])
        fld = sub if sub in X2MANY_FIELDS else None
    return fld


def resolve_headers(headers: Sequence[str], mapping: FieldMap, path: str = "",
                    partner: bool = False) -> dict[int, str]:
    """The field each header position holds. An explicit mapping wins over recognition (and
    may give `MULTI_FIELDS` several positions); a recognised field is taken by its first header
    only, and never when the mapping names the field."""
    lists = as_lists(mapping)
    result = explicit_positions(headers, lists, () if partner else MULTI_FIELDS)
    named = {h for names in lists.values() for h in names}
    taken = set(result.values())
    for i, header in enumerate(headers):
        if i in result or header in named:
            continue
        fld = recognised_field(header, partner)
        if fld and fld not in taken and fld not in lists:
            result[i] = fld
            taken.add(fld)
    return dict(sorted(result.items()))


def is_id_column(header: str) -> bool:
    """Odoo's import-compatible relation columns (`partner_id/id`) hold external ids."""
    return header.strip().lower().endswith(("/id", "/.id", "/external id"))


def check_mapped_headers(mapping: Mapping[str, str | Sequence[str]], sources: Sequence[Any],
                         options: Mapping[str, str | Sequence[str]] | None = None,
                         config_path: str | None = None) -> None:
    """A mapped field none of whose headers any file has is an error: it would otherwise be
    silently empty (a typo in `--map email_from="E-mail adress"` would make every record look
    email-less). A field mapped to several headers (a list, for files of different layouts)
    needs one of them in some file. `options` holds the --map entries (the others came from the
    config file `config_path`); `sources` are the files read (`records.Source`)."""
    options = options or {}
    present = {header for source in sources for header in source.headers}
    for fld, given in mapping.items():
        headers = [given] if isinstance(given, str) else list(given)
        if not headers or any(h in present for h in headers):
            continue
        header = headers[0]
        files = ", ".join("<stdin>" if s.path == "-" else s.path for s in sources)
        near = difflib.get_close_matches(header, sorted(present), n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        named = header if len(headers) == 1 else " or ".join(repr(h) for h in headers)
        message = (f"no input file has the header {header!r} (files: {files}){hint}" if len(headers) == 1
                   else f"no input file has any of the headers {named} (files: {files}){hint}")
        if fld in options:
            raise UsageError(f"--map {fld}={header!r}: {message}")
        raise ConfigError(f"[map] {fld} = {(header if len(headers) == 1 else headers)!r}: {message}",
                          file=config_path)
