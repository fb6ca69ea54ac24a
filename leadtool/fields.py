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


def parse_map_options(items: Iterable[str]) -> dict[str, str]:
    """`--map FIELD=HEADER` options as a mapping; the field must be one of docs/formats.md#field-recognition."""
    mapping: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--map {item!r}: expected FIELD=HEADER")
        fld, header = item.split("=", 1)
        fld = fld.strip()
        if fld not in FIELDS:
            raise UsageError(f"--map {item!r}: unknown field {fld!r} (fields: {', '.join(FIELDS)})")
        if not header:
            raise UsageError(f"--map {item!r}: expected FIELD=HEADER (the header is missing)")
        mapping[fld] = header
    return mapping


def resolve_headers(headers: list[str], mapping: Mapping[str, str], path: str = "",
                    partner: bool = False) -> dict[int, str]:
    """The field each header position holds. An explicit mapping wins over recognition;
    each field is taken by its first header only."""
    table = _PARTNER_TABLE if partner else _LEAD_TABLE
    result: dict[int, str] = {}
    taken: set[str] = set()
    explicit = {header: fld for fld, header in mapping.items()}
    for i, header in enumerate(headers):
        fld = explicit.get(header)
        if fld and fld not in taken:
            result[i] = fld
            taken.add(fld)
    for i, header in enumerate(headers):
        if i in result or header in explicit:
            continue
        fld = table.get(_key(header))
        if fld and fld not in taken and fld not in mapping:
            result[i] = fld
            taken.add(fld)
    return result


def is_id_column(header: str) -> bool:
    """Odoo's import-compatible relation columns (`partner_id/id`) hold external ids."""
    return header.strip().lower().endswith(("/id", "/.id", "/external id"))


def check_mapped_headers(mapping: Mapping[str, str], sources: Sequence[Any],
                         options: Mapping[str, str] | None = None,
                         config_path: str | None = None) -> None:
    """A mapping naming a header that none of the files has is an error: its field would
    otherwise be silently empty (a typo in `--map email_from="E-mail adress"` would make every
    record look email-less). `options` holds the --map entries (the others came from the config
    file `config_path`); `sources` are the files read (`records.Source`)."""
    options = options or {}
    present = {header for source in sources for header in source.headers}
    for fld, header in mapping.items():
        if header in present:
            continue
        files = ", ".join("<stdin>" if s.path == "-" else s.path for s in sources)
        near = difflib.get_close_matches(header, sorted(present), n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        message = f"no input file has the header {header!r} (files: {files}){hint}"
        if fld in options:
            raise UsageError(f"--map {fld}={header!r}: {message}")
        raise ConfigError(f"[map] {fld} = {header!r}: {message}", file=config_path)
