"""Customers for converted leads (docs/convert.md): read a `res.partner` export with the same faithful
reader as the leads, link leads to existing customers (own `partner_id`, email key, company
name ignoring case and accents), create companies and contacts, and write the customers file
back in its own format with the new customers after the existing ones.

Linking is done with joins over the whole customers file; which leads create customers (and
which reuse one an earlier lead created) is decided in rounds of group-bys, and the new
customers are numbered with a cumulative sum.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from .errors import InputError, UsageError
from .fields import PARTNER_FIELDS, is_id_column, resolve_headers
from .io import read_file
from .match.emails import email_key_expr
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
    if mode in ("auto", "create") and rest.height:
        new_links, created = _create(rest, mode, next_number(customers, extra_ids), _company_text(customers))
        linked.append(new_links)
    links = pl.concat([part.cast(_LINK_SCHEMA) for part in linked]).sort("idx")  # type: ignore[arg-type]
    return CustomerResult(links=links, created=created)


_DECISION_SCHEMA = {"pos": pl.UInt32, "creator": pl.UInt32, "how": pl.String}


def _decide(keys: pl.DataFrame, max_rounds: int = 32) -> pl.DataFrame:
    """`--customer auto` over the leads that found no customer (`keys`: pos in lead order,
    `ekey`, `ckey` (the company's name key, null without a company), `eligible` (a contact or
    company name to create from)): which lead creates customers, and which reuses the ones an
    earlier lead created, by email first, else by company. One row per deciding lead: pos,
    creator (itself when it creates) and how (`created`, `email`, `company`).

    In lead order this is a greedy rule: a lead creates when no earlier creator holds its email
    or company key. It is decided in rounds of group-bys: a lead whose email key an earlier
    creator holds links to it; a lead that no undecided earlier lead shares a key with is
    decided now (links by company, creates, or has nothing). Each round decides at least the
    first undecided lead; long chains (rare) finish in `_decide_in_order`."""
    undecided = keys
    claims_e = pl.DataFrame(schema={"ekey": pl.String, "e_by": pl.UInt32})
    claims_c = pl.DataFrame(schema={"ckey": pl.String, "c_by": pl.UInt32})
    decided: list[pl.DataFrame] = []
    for _ in range(max_rounds):
        if undecided.height == 0:
            break
        u = (undecided.join(claims_e, on="ekey", how="left", maintain_order="left")
             .join(claims_c, on="ckey", how="left", maintain_order="left"))
        decided.append(u.filter(pl.col("e_by").is_not_null())
                       .select("pos", pl.col("e_by").alias("creator"), pl.lit("email").alias("how")))
        u = u.filter(pl.col("e_by").is_null()).with_columns(
            (pl.col("ekey").is_null() | (pl.col("pos") == pl.col("pos").min().over("ekey"))).alias("e_first"),
            (pl.col("ckey").is_null() | (pl.col("pos") == pl.col("pos").min().over("ckey"))).alias("c_first"))
        by_company = u.filter(pl.col("e_first") & pl.col("c_by").is_not_null())
        ready = u.filter(pl.col("e_first") & pl.col("c_by").is_null() & pl.col("c_first"))
        creators = ready.filter(pl.col("eligible"))
        decided += [by_company.select("pos", pl.col("c_by").alias("creator"), pl.lit("company").alias("how")),
                    creators.select("pos", pl.col("pos").alias("creator"), pl.lit("created").alias("how"))]
        claims_e = pl.concat([claims_e, creators.filter(pl.col("ekey").is_not_null())
                              .select("ekey", pl.col("pos").alias("e_by"))])
        claims_c = pl.concat([claims_c, creators.filter(pl.col("ckey").is_not_null())
                              .select("ckey", pl.col("pos").alias("c_by"))])
        undecided = u.filter(~pl.col("e_first") | (pl.col("c_by").is_null() & ~pl.col("c_first"))).select(keys.columns)
    if undecided.height:
        decided.append(_decide_in_order(undecided, dict(claims_e.iter_rows()), dict(claims_c.iter_rows())))
    return pl.concat([d.cast(_DECISION_SCHEMA) for d in decided]) if decided else pl.DataFrame(schema=_DECISION_SCHEMA)  # type: ignore[arg-type]


def _decide_in_order(keys: pl.DataFrame, seen_email: dict[str, int], seen_company: dict[str, int]) -> pl.DataFrame:
    """The same rule as `_decide`, one lead at a time in lead order, from the keys that earlier
    creators already hold."""
    rows: list[tuple[int, int, str]] = []
    for pos, ekey, ckey, eligible in keys.select("pos", "ekey", "ckey", "eligible").iter_rows():
        if ekey is not None and ekey in seen_email:
            rows.append((pos, seen_email[ekey], "email"))
        elif ckey is not None and ckey in seen_company:
            rows.append((pos, seen_company[ckey], "company"))
        elif eligible:
            rows.append((pos, pos, "created"))
            if ekey is not None:
                seen_email.setdefault(ekey, pos)
            if ckey is not None:
                seen_company.setdefault(ckey, pos)
    return pl.DataFrame(rows, schema=_DECISION_SCHEMA, orient="row")


_CREATED_KEYS = ("id", "name", "is_company", "parent_id", "parent_name", "email", *(cf for cf, _ in COPIED), "lead")


def _lead_texts(rest: pl.DataFrame) -> pl.DataFrame:
    """Per lead that may get a new customer: its contact (`contact_name`, else the display name
    in the email), company, email key, the values a new customer copies, and whether it can
    create one at all (a contact or a company)."""
    def text(col: str) -> pl.Expr:
        return pl.col(col).fill_null("")

    contact = (pl.when(text("contact_name").str.strip_chars() != "").then(text("contact_name").str.strip_chars())
               .otherwise(text("display").str.strip_chars()))
    leads = rest.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("pos"), "idx", pl.col("id").alias("lead"),
        pl.when(text("ekey") != "").then(pl.col("ekey")).alias("ekey"),
        contact.alias("contact"), text("partner_name").str.strip_chars().alias("company"),
        text("email").alias("email"), text("name").str.strip_chars().alias("lead_name"),
        *[text(lf).alias(f"copy:{cf}") for cf, lf in COPIED],
        name_key_expr(pl.col("partner_name")).fill_null("").alias("nkey"))
    return leads.with_columns(pl.when(pl.col("company") != "").then(pl.col("nkey")).alias("ckey"),
                              ((pl.col("contact") != "") | (pl.col("company") != "")).alias("eligible"))


def _create(rest: pl.DataFrame, mode: str, number: int,
            company_text: tuple[str, str]) -> tuple[pl.DataFrame, list[dict[str, str]]]:
    """The links of the leads that get a new customer (or one an earlier lead created), and
    the new customers in creation order: per creating lead, in lead order, its company
    (`partner_name`), then its contact (`contact_name`, else the display name in the email,
    else the lead's name, email or id) unless it has a company and no contact name."""
    leads = _lead_texts(rest)
    if mode == "auto":
        decisions = _decide(leads.select("pos", "ekey", "ckey", "eligible"))
    else:  # create: every lead gets its own
        decisions = leads.select("pos", pl.col("pos").alias("creator"), pl.lit("created").alias("how"))
    creators = (leads.join(decisions.filter(pl.col("how") == "created").select("pos"), on="pos")
                .sort("pos")
                .with_columns((pl.col("company") != "").alias("has_parent"),
                              ((pl.col("contact") != "") | (pl.col("company") == "")).alias("has_person")))
    made = pl.col("has_parent").cast(pl.UInt32) + pl.col("has_person").cast(pl.UInt32)
    person_name = (pl.when(pl.col("contact") != "").then("contact").when(pl.col("lead_name") != "")
                   .then("lead_name").when(pl.col("email") != "").then("email").otherwise("lead"))
    first = number + made.cum_sum() - made  # the number of each creator's first new customer
    creators = creators.with_columns(
        pl.when("has_parent").then(pl.format(ID_PREFIX + "{}", first)).alias("parent_id"),
        pl.when("has_person").then(pl.format(ID_PREFIX + "{}", first + pl.col("has_parent").cast(pl.UInt32)))
        .alias("person_id"),
        person_name.alias("person_name"))
    creators = creators.with_columns(
        pl.coalesce("person_id", "parent_id").alias("target_id"),
        pl.when("has_person").then("person_name").otherwise("company").alias("target_name"))
    copied = [pl.col(f"copy:{cf}").alias(cf) for cf, _ in COPIED]
    parents = creators.filter("has_parent").select(
        "pos", pl.lit(0).alias("k"), pl.col("parent_id").alias("id"), pl.col("company").alias("name"),
        pl.lit(company_text[0]).alias("is_company"), pl.lit("").alias("parent_id"), pl.lit("").alias("parent_name"),
        "email", *copied, "lead")
    persons = creators.filter("has_person").select(
        "pos", pl.lit(1).alias("k"), pl.col("person_id").alias("id"), pl.col("person_name").alias("name"),
        pl.lit(company_text[1]).alias("is_company"), pl.col("parent_id").fill_null("").alias("parent_id"),
        pl.when("has_parent").then("company").otherwise(pl.lit("")).alias("parent_name"),
        "email", *copied, "lead")
    created = pl.concat([parents, persons]).sort("pos", "k").select(_CREATED_KEYS).to_dicts()
    # each deciding lead's link: its own new customer, or an earlier lead's (its contact or, by
    # company, its company)
    targets = creators.select(pl.col("pos").alias("creator"), "target_id", "target_name", "parent_id",
                              pl.col("company").alias("parent_name"))
    links = (decisions.join(targets, on="creator", maintain_order="left")
             .join(leads.select("pos", "idx"), on="pos", maintain_order="left")
             .select("idx",
                     pl.when(pl.col("how") == "company").then("parent_id").otherwise("target_id").alias("cust_id"),
                     pl.when(pl.col("how") == "company").then("parent_name").otherwise("target_name")
                     .alias("cust_name"),
                     (pl.col("how") == "created").alias("created"), "how"))
    return links, created


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
    json_file = base.source is not None and base.source.fmt.kind in ("json", "jsonl")
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
