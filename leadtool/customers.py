"""Customers for converted leads (SPEC 4): read a `res.partner` export with the same faithful
reader as the leads, link leads to existing customers (own `partner_id`, email key, company
name ignoring case and accents), create companies and contacts, and write the customers file
back in its own format with the new customers after the existing ones.

Linking is done with joins over the whole customers file; only the leads that need a new
customer go through a Python loop (one iteration per created customer pair).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from .emails import email_key_expr
from .errors import InputError, UsageError
from .fields import PARTNER_FIELDS, is_id_column, resolve_headers
from .io import read_file
from .records import KIND_PREFIX, FileFormat, Records, Source

MODES = ("auto", "create", "link", "none")
ID_PREFIX = "leadtool_partner_"
_ID_NUMBER = re.compile(r"(?:^|\.)" + ID_PREFIX + r"(\d+)$")
TRUE_VALUES = ("true", "1", "yes", "t", "y")
#: lead fields copied to every created customer (customer field <- lead field)
COPIED = (
    ("phone", "phone"), ("mobile", "mobile"), ("street", "street"), ("street2", "street2"),
    ("zip", "zip"), ("city", "city"), ("state_id", "state_id"), ("country_id", "country_id"),
    ("website", "website"), ("function", "function"), ("title", "title"),
    ("user_id", "user_id"), ("comment", "description"),
)


@dataclass
class Customers:
    """A customers file as read (columns c0..cN-1 plus JSON kind columns), or an empty one."""

    frame: pl.DataFrame
    columns: list[str]
    headers: dict[str, str]
    fields: dict[str, str]  # partner field -> internal column
    source: Source | None = None

    def col(self, name: str) -> str | None:
        return self.fields.get(name)

    def values(self, name: str) -> pl.Expr:
        c = self.col(name)
        return pl.col(c) if c else pl.lit("", dtype=pl.String)


def read_customers(path: str, mapping: dict[str, str] | None = None) -> Customers:
    """A res.partner export (CSV, JSON, JSON Lines; Odoo headers). It must have an id column."""
    source, frame = read_file(path)
    found = resolve_headers(source.headers, mapping or {}, path, partner=True)
    columns = [f"c{i}" for i in range(len(source.headers))]
    source.columns = list(columns)
    headers = {c: h for c, h in zip(columns, source.headers, strict=True)}
    fields = {fld: f"c{i}" for i, fld in found.items()}
    if "id" not in fields:
        raise InputError("the customers file has no id column (id, External ID or .id)", file=path)
    return Customers(frame=frame, columns=columns, headers=headers, fields=fields, source=source)


def empty_customers() -> Customers:
    """No customers file: the standard columns, no rows."""
    columns = [f"p:{f}" for f in PARTNER_FIELDS]
    return Customers(frame=pl.DataFrame(schema=dict.fromkeys(columns, pl.String)), columns=columns,
                     headers={c: c[2:] for c in columns}, fields={f: f"p:{f}" for f in PARTNER_FIELDS})


def name_key_expr(expr: pl.Expr) -> pl.Expr:
    """A name compared ignoring case, accents and repeated spaces; null when empty."""
    key = (expr.fill_null("").str.normalize("NFKD").str.replace_all(r"\p{M}", "")
           .str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars())
    return pl.when(key != "").then(key).otherwise(None)


def name_key(text: str) -> str | None:
    frame = pl.DataFrame({"v": [text]}, schema={"v": pl.String})
    return frame.select(name_key_expr(pl.col("v"))).item()


def _truthy(expr: pl.Expr) -> pl.Expr:
    return expr.fill_null("").str.strip_chars().str.to_lowercase().is_in(TRUE_VALUES)


def next_number(customers: Customers, extra_ids: Sequence[str] = ()) -> int:
    """1 + the highest N of the `leadtool_partner_N` ids already used (customers file and the
    leads' own customer column), so that new ids never collide."""
    ids = customers.frame.get_column(customers.col("id")).to_list() if customers.col("id") else []
    top = 0
    for value in [*ids, *extra_ids]:
        m = _ID_NUMBER.search((value or "").strip())
        if m:
            top = max(top, int(m.group(1)))
    return top + 1


@dataclass
class CustomerResult:
    """`links`: one row per lead given a customer: idx, customer id, name, created, how (own,
    email, company, created). `created`: the new customers' values by partner field, in
    creation order (`parent_id` holds the parent's id, `lead` the lead's id)."""

    links: pl.DataFrame
    created: list[dict[str, str]] = field(default_factory=list)


_LINK_SCHEMA = {"idx": pl.UInt32, "cust_id": pl.String, "cust_name": pl.String,
                "created": pl.Boolean, "how": pl.String}


def _catalog(customers: Customers) -> pl.DataFrame:
    c = customers
    company = _truthy(c.values("is_company")) if c.col("is_company") else pl.lit(True)
    return c.frame.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("pos"),
        c.values("id").str.strip_chars().alias("cid"),
        c.values("name").alias("cname"),
        company.alias("company"),
        (email_key_expr(c.values("email")) if c.col("email") else pl.lit(None, pl.String)).alias("ekey"),
        name_key_expr(c.values("name")).alias("nkey"),
    )


def assign_customers(leads: pl.DataFrame, customers: Customers | None, mode: str,
                     partner_is_id: bool = False, extra_ids: Sequence[str] = ()) -> CustomerResult:
    """Link or create a customer for each lead.

    `leads` has one row per converted lead in output order with the columns `idx`, `id`,
    `partner` (own customer cell, blank when none), `ekey` (email key), `email` (first address
    as written), `display` (display name in the email), `contact_name`, `partner_name`, `name`
    and the copied lead fields (`phone`, ..., `user_id`, `description`), blanks as "".
    `partner_is_id` says whether the lead's customer column holds ids (else names)."""
    if mode not in MODES:
        raise UsageError(f"--customer {mode!r}: expected one of {', '.join(MODES)}")
    empty = CustomerResult(links=pl.DataFrame(schema=_LINK_SCHEMA))
    if mode == "none" or leads.height == 0:
        return empty
    customers = customers or empty_customers()
    cat = _catalog(customers)
    own = leads.filter(pl.col("partner").str.strip_chars() != "").select(
        "idx", pl.col("partner").str.strip_chars().alias("own"))
    # own customer: look it up (by id or by name) only to report its id and name
    by = "cid" if partner_is_id else "cname"
    found = cat.filter(pl.col(by).is_not_null()).unique(by, keep="first", maintain_order=True)
    own = own.join(found.select(pl.col(by).alias("own"), "cid", "cname"), on="own", how="left")
    own = own.select("idx",
                     (pl.col("own") if partner_is_id else pl.col("cid")).alias("cust_id"),
                     (pl.col("cname") if partner_is_id else pl.col("own")).alias("cust_name"),
                     pl.lit(False).alias("created"), pl.lit("own").alias("how"))
    rest = leads.join(own.select("idx"), on="idx", how="anti", maintain_order="left")
    linked = [own]
    if mode in ("auto", "link"):
        by_email = cat.filter(pl.col("ekey").is_not_null()).unique("ekey", keep="first", maintain_order=True)
        e = (rest.filter(pl.col("ekey").is_not_null())
             .join(by_email.select("ekey", "cid", "cname"), on="ekey", maintain_order="left")
             .select("idx", pl.col("cid").alias("cust_id"), pl.col("cname").alias("cust_name"),
                     pl.lit(False).alias("created"), pl.lit("email").alias("how")))
        rest = rest.join(e.select("idx"), on="idx", how="anti", maintain_order="left")
        by_name = (cat.filter(pl.col("company") & pl.col("nkey").is_not_null())
                   .unique("nkey", keep="first", maintain_order=True))
        n = (rest.with_columns(name_key_expr(pl.col("partner_name")).alias("nkey"))
             .filter(pl.col("nkey").is_not_null())
             .join(by_name.select("nkey", "cid", "cname"), on="nkey", maintain_order="left")
             .select("idx", pl.col("cid").alias("cust_id"), pl.col("cname").alias("cust_name"),
                     pl.lit(False).alias("created"), pl.lit("company").alias("how")))
        rest = rest.join(n.select("idx"), on="idx", how="anti", maintain_order="left")
        linked += [e, n]
    created: list[dict[str, str]] = []
    new_links: list[tuple] = []
    if mode in ("auto", "create") and rest.height:
        number = next_number(customers, extra_ids)
        company_text = _company_text(customers)
        seen_email: dict[str, dict[str, str]] = {}  # auto: customers created earlier in this run
        seen_company: dict[str, dict[str, str]] = {}
        rest = rest.with_columns(name_key_expr(pl.col("partner_name")).alias("nkey"))
        # one pass in lead order: each lead may reuse a customer an earlier lead created (auto),
        # and ids count up in creation order, so the leads are taken one by one (as tuples)
        copied = [cf for cf, _ in COPIED]
        fields = ["idx", "id", "ekey", "nkey", "email", "display", "contact_name", "partner_name", "name",
                  *[lf for _, lf in COPIED]]
        for row in rest.select(fields).iter_rows():
            idx, lead_id, ekey, nkey, email, display, contact_name, partner_name, lead_name = row[:9]
            contact = (contact_name or "").strip() or (display or "").strip()
            company = (partner_name or "").strip()
            if mode == "auto":
                hit = seen_email.get(ekey) if ekey else None
                how = "email"
                if hit is None and company:
                    hit, how = seen_company.get(nkey or ""), "company"
                if hit is not None:
                    new_links.append((idx, hit["id"], hit["name"], False, how))
                    continue
                if not (contact or company):
                    continue
            base = {"email": email or "", **{cf: v or "" for cf, v in zip(copied, row[9:], strict=True)}}
            parent = None
            if company:
                parent = {"id": f"{ID_PREFIX}{number}", "name": company, "is_company": company_text[0],
                          "parent_id": "", "parent_name": "", **base, "lead": lead_id}
                number += 1
                created.append(parent)
            if contact or not company:
                name = contact or (lead_name or "").strip() or email or lead_id
                person = {"id": f"{ID_PREFIX}{number}", "name": name, "is_company": company_text[1],
                          "parent_id": parent["id"] if parent else "",
                          "parent_name": parent["name"] if parent else "", **base, "lead": lead_id}
                number += 1
                created.append(person)
                target = person
            else:
                target = parent
            assert target is not None
            new_links.append((idx, target["id"], target["name"], True, "created"))
            if ekey:
                seen_email.setdefault(ekey, target)
            if parent is not None:
                seen_company.setdefault(nkey or "", parent)
    if new_links:
        linked.append(pl.DataFrame(new_links, schema=_LINK_SCHEMA, orient="row"))
    links = pl.concat([part.cast(_LINK_SCHEMA) for part in linked]).sort("idx")  # type: ignore[arg-type]
    return CustomerResult(links=links, created=created)


def _company_text(customers: Customers) -> tuple[str, str]:
    """How the file writes is_company (True/False, true/false, 1/0)."""
    col = customers.col("is_company")
    if col and customers.frame.height:
        for value in customers.frame.get_column(col).to_list():
            v = (value or "").strip()
            if v.lower() in ("true", "false"):
                return ("true", "false") if v.islower() else ("TRUE", "FALSE") if v.isupper() else ("True", "False")
            if v in ("1", "0"):
                return "1", "0"
    return "True", "False"


def customers_output(customers: Customers | None, created: list[dict[str, str]],
                     default_format: FileFormat | None = None) -> Records:
    """The customers to write: the file's rows and columns as read (standard columns missing
    from it appended), then the new customers. Relation columns (`parent_id`) get the parent's
    id when their header is an id column (`parent_id/id`), else its name."""
    base = customers or empty_customers()
    frame = base.frame
    columns = list(base.columns)
    headers = dict(base.headers)
    fields = dict(base.fields)
    json_file = base.source is not None and base.source.fmt.kind != "csv"
    for fld in PARTNER_FIELDS:
        if fld not in fields:
            col = f"p:{fld}"
            columns.append(col)
            headers[col] = fld
            fields[fld] = col
            frame = frame.with_columns(pl.lit("", dtype=pl.String).alias(col))
            if json_file:  # absent from the existing objects
                frame = frame.with_columns(pl.lit("a", dtype=pl.String).alias(f"{KIND_PREFIX}{col}"))
    if created:
        by_col = {col: fld for fld, col in fields.items()}
        parent_is_id = is_id_column(headers[fields["parent_id"]])
        rows = {c: [] for c in columns}
        for cust in created:
            for c in columns:
                fld = by_col.get(c)
                if fld == "parent_id":
                    value = cust["parent_id"] if parent_is_id else cust["parent_name"]
                else:
                    value = cust.get(fld, "") if fld else ""
                rows[c].append(value)
        new = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String))
        kind = f"{KIND_PREFIX}{fields['is_company']}"
        if kind in frame.columns and "r" in frame.get_column(kind).to_list():
            new = new.with_columns(pl.lit("r", dtype=pl.String).alias(kind))
        frame = pl.concat([frame, new], how="diagonal_relaxed")
    frame = frame.with_columns(pl.col(c).fill_null("") for c in columns)
    source = base.source or Source(path="", fmt=default_format or FileFormat(), headers=[], columns=[])
    return Records(frame=frame, columns=columns, headers=headers, sources=[source])


def output_format(path: str, customers: Customers | None, leads_format: FileFormat) -> FileFormat | None:
    """The customers-out format: the customers file's own; without one, JSON or JSON Lines by
    the output's extension, else CSV like the leads file (when it is CSV)."""
    if customers is not None and customers.source is not None:
        return customers.source.fmt
    lower = path.lower()
    if lower.endswith(".jsonl") or lower.endswith(".ndjson"):
        return FileFormat(kind="jsonl", newline="\n")
    if lower.endswith(".json"):
        return FileFormat(kind="json", newline="\n", json_indent=2, json_item_sep=",")
    if leads_format.kind == "csv":
        return replace(leads_format, bom=False)
    return FileFormat()
