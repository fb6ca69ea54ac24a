"""Converting leads into opportunities (SPEC 4): Odoo's lead-to-opportunity wizard in batch.

`plan_convert` decides everything without changing anything: which leads (`--ids`, `--all`,
teams whose leads mode is off), which are skipped and why, the merge-first groups (SPEC 3, the
merge plan of `merge.py`), the salesperson round-robin, the team, the stage, the customer and
the values every converted record will carry. `apply_convert` applies that plan; the preview,
the audit log and undo read the same plan. Everything is polars over the whole frame; only the
customers that get created go through a Python loop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import polars as pl

from . import __version__
from .config import Config
from .customers import MODES, CustomerResult, Customers, assign_customers
from .emails import display_name_expr, first_address_expr, lower_address
from .errors import UsageError
from .fields import is_id_column
from .groups import IDX, Groups, find_groups
from .merge import MergePlan, apply_merge, plan_merge
from .normalize import archived_expr, is_empty, type_expr, won_expr
from .records import ID, KIND_PREFIX, ROW, SRC, Records

ORIG = "__lt_cidx"  # a record's position in the input records, carried through the merge
#: the columns conversion sets, appended (header = technical name) when the files lack them
SET_FIELDS = ("type", "date_conversion", "partner_id", "user_id", "team_id", "stage_id")
NOW_FORMAT = "%Y-%m-%d %H:%M:%S"
_NOW_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
#: lead fields a created customer copies
_COPY_FIELDS = ("phone", "mobile", "street", "street2", "zip", "city", "state_id", "country_id",
                "website", "function", "title", "description")


@dataclass
class ConvertOptions:
    ids: list[str] = field(default_factory=list)
    all: bool = False
    salespersons: list[str] = field(default_factory=list)
    team: str | None = None
    force_assignment: bool = False
    customer: str = "auto"
    dedupe: bool = True
    now: str | None = None  # "YYYY-MM-DD HH:MM:SS" UTC; None: the run's time
    max_group: int = 50
    head: str = "oldest"  # which record of a duplicate group is kept (SPEC 3.1): oldest or odoo


@dataclass
class ConvertPlan:
    """`leads`: one row per record the run touches, in input order: idx, id, action (`convert`,
    `merge`, `skip`), into (head id for `merge`), reason (skip), merged (ids merged into a
    converted head), customer_id, customer_name, customer_how (own, email, company, created),
    salesperson, team, stage.
    `targets`: one row per converted record (idx of the record as it stays in the output).
    `updates`: idx and the new value of every column conversion sets, for the targets.
    `changes`: idx, column, before, after (cells whose value changes).
    `appended`: (field, internal column) of columns added at the end."""

    leads: pl.DataFrame
    targets: pl.DataFrame
    updates: pl.DataFrame
    changes: pl.DataFrame
    merge: MergePlan | None
    customers: CustomerResult
    appended: list[tuple[str, str]]
    now: str
    options: ConvertOptions
    columns: list[str]  # output columns (input columns + appended)

    def summary(self) -> dict[str, int]:
        actions = self.leads.get_column("action")
        return {
            "converted": self.targets.height,
            "merged_away": int((actions == "merge").sum()),
            "skipped": int((actions == "skip").sum()),
            "customers_created": len(self.customers.created),
            "customers_linked": int((~self.customers.links.get_column("created")).sum()),
        }


def parse_ids(values: Sequence[str]) -> list[str]:
    """`--ids 1,2 --ids 3`."""
    out: list[str] = []
    for value in values:
        out += [v.strip() for v in value.split(",") if v.strip()]
    return out


def run_time(now: str | None = None) -> str:
    """The run's time as `YYYY-MM-DD HH:MM:SS` UTC (`--now` checked and kept)."""
    if now is None:
        return datetime.now(UTC).strftime(NOW_FORMAT)
    text = now.strip()
    try:
        if not _NOW_RE.match(text):
            raise ValueError
        datetime.strptime(text, NOW_FORMAT)
    except ValueError:
        raise UsageError(f"--now {now!r}: expected YYYY-MM-DD HH:MM:SS (UTC)") from None
    return text


def audit_time(now: str) -> str:
    """The audit's `at` form of a run time."""
    return now.replace(" ", "T") + "Z"


# ----------------------------------------------------------------------------- helpers
def _blank(records: Records, col: str | None) -> pl.Expr:
    """Empty (or only white space), or a JSON false/null literal (Odoo's empty relation)."""
    if not col:
        return pl.lit(True)
    expr = is_empty(pl.col(col))
    kind = f"{KIND_PREFIX}{col}"
    if kind in records.frame.columns:
        expr = expr | ((pl.col(kind) == "r") & pl.col(col).str.strip_chars().is_in(["false", "null"]))
    return expr


def _text(records: Records, fld: str) -> pl.Expr:
    """A field's value with blanks as "" (missing column: "")."""
    col = records.col(fld)
    if not col:
        return pl.lit("", dtype=pl.String)
    return pl.when(_blank(records, col)).then(pl.lit("")).otherwise(pl.col(col))


def _team_expr(records: Records) -> pl.Expr:
    col = records.col("team_id")
    return pl.col(col).str.strip_chars() if col else pl.lit("", dtype=pl.String)


def opportunity_word(records: Records) -> str:
    """`opportunity` written the way the file writes its types (`Opportunity`, `OPPORTUNITY`)."""
    col = records.col("type")
    if not col:
        return "opportunity"
    values = (records.frame.select(pl.col(col).str.strip_chars().alias("t"))
              .filter(pl.col("t") != "").unique("t", maintain_order=True).get_column("t").to_list())
    for v in values:
        if v.lower() == "opportunity":
            return v
    for v in values:
        if v.lower() == "lead":
            return "OPPORTUNITY" if v.isupper() and len(v) > 1 else "Opportunity" if v[0].isupper() else "opportunity"
    return "opportunity"


def _unique_column(name: str, taken: Sequence[str]) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name}#{k}" in taken:
        k += 1
    return f"{name}#{k}"


# ----------------------------------------------------------------------------- selection
def select_leads(records: Records, ids: Sequence[str] = (), all_leads: bool = False,
                 config: Config | None = None) -> pl.DataFrame:
    """The records the run considers, in input order: idx, id, origin (`ids`, `all`, `team`),
    skip reason (null: converted). `--all` takes open leads only; a lead named by `--ids` or
    swept in by its team's leads mode that is archived or won is skipped with a reason."""
    config = config or Config()
    team = _team_expr(records)
    base = records.frame.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX), pl.col(ID).alias("id"),
        (type_expr(records) == "lead").alias("_lead"), archived_expr(records).alias("_arch"),
        won_expr(records, config).alias("_won"), team.alias("_team"))
    wanted = list(ids)
    if wanted:
        known = base.get_column("id").str.strip_chars()
        found = set(known.filter(known.is_in(wanted)).to_list())
        missing = [i for i in dict.fromkeys(wanted) if i not in found]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise UsageError(f"--ids: no record has the id {missing[0]!r}{more}")
    teams = base.get_column("_team").unique().to_list()
    off = [t for t in teams if not config.team_uses_leads(t)]
    named = pl.col("id").str.strip_chars().is_in(wanted) if wanted else pl.lit(False)
    swept = pl.col("_lead") & pl.col("_team").is_in(off) if off else pl.lit(False)
    closed = pl.col("_arch") | pl.col("_won")
    swept_all = pl.col("_lead") & ~closed & pl.lit(all_leads)
    origin = (pl.when(named).then(pl.lit("ids")).when(swept_all).then(pl.lit("all"))
              .when(swept).then(pl.lit("team")).otherwise(None))
    reason = (pl.when(pl.col("_arch")).then(pl.lit("archived"))
              .when(pl.col("_won")).then(pl.lit("won"))
              .when(~pl.col("_lead")).then(pl.lit("already an opportunity"))
              .otherwise(None))
    return (base.with_columns(origin.alias("origin"))
            .filter(pl.col("origin").is_not_null())
            .select(IDX, "id", "origin", reason.alias("reason")))


def dedupe_groups(records: Records, selected: pl.Series, config: Config | None = None,
                  max_group: int = 50) -> Groups:
    """Groups of open records sharing an email key or a customer (SPEC 2) that hold at least
    one selected lead, numbered 1.. in input order."""
    found = find_groups(records, by=["email", "customer"], config=config, max_group=max_group)
    keep = (found.members.filter(pl.col(IDX).is_in(selected.implode())).select("group").unique())
    members = found.members.join(keep, on="group", maintain_order="left")
    info = found.info.join(keep, on="group", maintain_order="left").sort("group")
    renumber = info.select("group", pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("new"))
    members = (members.join(renumber, on="group").select(pl.col("new").alias("group"), IDX)
               .sort("group", IDX))
    info = info.join(renumber, on="group").with_columns(pl.col("new").alias("group")).drop("new")
    return Groups(members=members, info=info.sort("group"))


# ----------------------------------------------------------------------------- planning
def plan_convert(records: Records, options: ConvertOptions, *, customers: Customers | None = None,
                 config: Config | None = None) -> ConvertPlan:
    """Decide the whole run without changing anything."""
    config = config or Config()
    if options.customer not in MODES:
        raise UsageError(f"--customer {options.customer!r}: expected one of {', '.join(MODES)}")
    for sp in options.salespersons:
        if not sp.strip():
            raise UsageError("--salesperson: an empty name")
    now = run_time(options.now)
    chosen = select_leads(records, options.ids, options.all, config)
    to_convert = chosen.filter(pl.col("reason").is_null()).get_column(IDX)

    # merge first (SPEC 3): the groups holding a selected lead
    mplan: MergePlan | None = None
    base = records.with_frame(records.frame.with_columns(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(ORIG)))
    merged = base
    away = pl.DataFrame(schema={IDX: pl.UInt32, "into": pl.String})
    heads = pl.DataFrame(schema={IDX: pl.UInt32, "merged": pl.List(pl.String)})
    if options.dedupe and to_convert.len():
        groups = dedupe_groups(records, to_convert, config, options.max_group)
        if groups.info.height:
            mplan = plan_merge(records, groups, head=options.head, config=config)
            ok = mplan.merged_groups
            members = mplan.members.join(ok.select("group", "head"), on="group")
            away = members.filter(pl.col("pos") > 0).select(IDX, pl.col("head").alias("into"))
            heads = ok.select(pl.col("head_idx").alias(IDX), pl.col("merged").cast(pl.List(pl.String)))
            merged = apply_merge(base, mplan)
    target_idx = (pl.concat([to_convert.to_frame(), heads.select(IDX)])
                  .unique().join(away.select(IDX), on=IDX, how="anti").sort(IDX).get_column(IDX))

    # the converted records as they are after merging, in output order
    rec = merged
    frame = rec.frame
    t = frame.filter(pl.col(ORIG).is_in(target_idx.implode())).with_columns(
        pl.col(ORIG).is_in(heads.get_column(IDX).implode()).alias("_head"))
    sub = rec.with_frame(t)

    # assignment: round-robin in output order over the converted leads that get a salesperson
    people = [s.strip() for s in options.salespersons]
    user_blank = _blank(rec, rec.col("user_id"))
    gets = (pl.lit(options.force_assignment) | user_blank) if people else pl.lit(False)
    t = t.with_columns(gets.alias("_gets"), _text(rec, "user_id").alias("_user_before"),
                       _team_expr(rec).alias("_team_before"))
    if people:
        k = (pl.col("_gets").cast(pl.Int64).cum_sum() - 1) % len(people)
        new_user = pl.when(pl.col("_gets")).then(
            k.replace_strict(list(range(len(people))), people, default=None, return_dtype=pl.String)
        ).otherwise(None)
    else:
        new_user = pl.lit(None, dtype=pl.String)
    team = (options.team or "").strip()
    if team:
        gets_team = pl.col("_gets") if people else pl.lit(True)
        new_team = pl.when(gets_team).then(pl.lit(team)).otherwise(None)
    else:
        new_team = pl.lit(None, dtype=pl.String)
    t = t.with_columns(new_user.alias("_new_user"), new_team.alias("_new_team"))
    t = t.with_columns(pl.coalesce("_new_user", "_user_before").alias("_user"),
                       pl.coalesce("_new_team", "_team_before").alias("_team"))
    # stage: an empty stage becomes the team's first stage
    teams = t.get_column("_team").unique().to_list()
    first = [config.first_stage(x) for x in teams]
    stage_col = rec.col("stage_id")
    t = t.with_columns(pl.when(_blank(rec, stage_col)).then(
        pl.col("_team").replace_strict(teams, first, return_dtype=pl.String)).otherwise(None)
        .alias("_new_stage"))
    t = t.with_columns(pl.coalesce("_new_stage", _text(rec, "stage_id")).alias("_stage"))
    # date_conversion: the run's time; a merged head keeps its own
    dc = rec.col("date_conversion")
    keep_dc = pl.col("_head") & ~_blank(rec, dc) if dc else pl.lit(False)
    t = t.with_columns(pl.when(keep_dc).then(pl.col(dc) if dc else pl.lit("")).otherwise(pl.lit(now))
                       .alias("_date"))

    # customers
    pcol = rec.col("partner_id")
    partner_is_id = bool(pcol) and is_id_column(rec.headers[pcol])
    email_col = rec.col("email_from")
    if email_col:
        email = pl.col(email_col)
        # the key is the first address lower-cased (emails.email_keys): one search for both
        first = t.select(first_address_expr(email)).to_series()
        email_parts = [pl.lit(lower_address(first)).alias("ekey"), pl.lit(first.fill_null("")).alias("email"),
                       display_name_expr(email).fill_null("").alias("display")]
    else:
        email_parts = [pl.lit(None, dtype=pl.String).alias("ekey"), pl.lit("").alias("email"),
                       pl.lit("").alias("display")]
    lead_view = t.select(
        pl.col(ORIG).alias("idx"), pl.col(ID).alias("id"), _text(sub, "partner_id").alias("partner"),
        *email_parts,
        *[_text(sub, f).alias(f) for f in ("contact_name", "partner_name", "name", *_COPY_FIELDS)],
        pl.col("_user").alias("user_id"))
    extra_ids = (records.frame.get_column(pcol).unique().to_list() if pcol else [])
    cust = assign_customers(lead_view, customers, options.customer, partner_is_id, extra_ids)
    links = cust.links.rename({"idx": ORIG})
    t = t.join(links, on=ORIG, how="left", maintain_order="left")
    cust_value = pl.when(pl.col("how").is_null() | (pl.col("how") == "own")).then(None).otherwise(
        pl.col("cust_id") if partner_is_id else pl.col("cust_name"))
    t = t.with_columns(cust_value.alias("_new_partner"))

    # the columns conversion sets; missing ones are appended when a converted record needs them
    word = opportunity_word(rec)
    want: dict[str, pl.Expr] = {
        "type": pl.lit(word), "date_conversion": pl.col("_date"), "stage_id": pl.col("_stage"),
        "user_id": pl.col("_new_user"), "team_id": pl.col("_new_team"), "partner_id": pl.col("_new_partner"),
    }
    needed = {"type", "date_conversion", "stage_id"} if t.height else set()
    if t.height and people:
        needed.add("user_id")
    if t.height and team:
        needed.add("team_id")
    if t.height and t.get_column("_new_partner").is_not_null().any():
        needed.add("partner_id")
    appended: list[tuple[str, str]] = []
    columns = list(records.columns)
    for fld in SET_FIELDS:
        if fld in needed and not records.col(fld):
            col = _unique_column(fld, columns)
            columns.append(col)
            appended.append((fld, col))
    col_of = {**{f: records.col(f) for f in SET_FIELDS if records.col(f)}, **dict(appended)}
    added = {c for _, c in appended}
    upd = []
    long = []
    for fld in SET_FIELDS:
        col = col_of.get(fld)
        if col is None:
            continue
        before = pl.col(col) if col not in added else pl.lit("", dtype=pl.String)
        after = pl.coalesce(want[fld], before)
        upd.append(after.alias(col))
        long.append(t.select(pl.col(ORIG).alias("idx"), pl.lit(col).alias("column"),
                             before.alias("before"), after.alias("after"))
                    .filter(pl.col("before") != pl.col("after")))
    updates = t.select(pl.col(ORIG).alias("idx"), *upd)
    changes = (pl.concat(long).sort("idx", maintain_order=True) if long
               else pl.DataFrame(schema={"idx": pl.UInt32, "column": pl.String, "before": pl.String,
                                         "after": pl.String}))
    targets = t.select(pl.col(ORIG).alias("idx"), pl.col(ID).alias("id"), pl.col(SRC), pl.col(ROW),
                       "cust_id", "cust_name", "created", "how",
                       pl.col("_user").alias("salesperson"), pl.col("_team").alias("team"),
                       pl.col("_stage").alias("stage"))

    # what happens to each record, for the preview and the skip events
    view = targets.join(heads.rename({IDX: "idx"}), on="idx", how="left").select(
        "idx", "id", pl.lit("convert").alias("action"), pl.lit(None, pl.String).alias("into"),
        pl.lit(None, pl.String).alias("reason"), "merged",
        pl.col("cust_id").alias("customer_id"), pl.col("cust_name").alias("customer_name"),
        pl.col("how").alias("customer_how"), "salesperson", "team", "stage")
    ids = records.frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("idx"), pl.col(ID).alias("id"))
    gone = away.rename({IDX: "idx"}).join(ids, on="idx").select(
        "idx", "id", pl.lit("merge").alias("action"), "into")
    skipped = chosen.filter(pl.col("reason").is_not_null()).select(
        pl.col(IDX).alias("idx"), "id", pl.lit("skip").alias("action"), "reason")
    # an opportunity named by --ids that a merge already takes in is not also a skip
    skipped = skipped.join(pl.concat([view.select("idx"), gone.select("idx")]), on="idx", how="anti",
                           maintain_order="left")
    leads = pl.concat([view, gone, skipped], how="diagonal_relaxed").sort("idx")
    return ConvertPlan(leads=leads, targets=targets, updates=updates, changes=changes, merge=mplan,
                       customers=cust, appended=appended, now=now, options=options, columns=columns)


# ----------------------------------------------------------------------------- applying
def apply_convert(records: Records, plan: ConvertPlan) -> Records:
    """The converted records: merged groups in their heads (SPEC 3), each converted record
    carrying its new values, appended columns at the end (type filled for every record)."""
    frame = records.frame.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias(ORIG))
    out = records.with_frame(frame)
    if plan.merge is not None:
        out = apply_merge(out, plan.merge)
    frame = out.frame
    headers = dict(records.headers)
    fields = dict(records.fields)
    for fld, col in plan.appended:
        # a new type column: every record gets its own type (it depends only on its file)
        value = type_expr(records) if fld == "type" else pl.lit("", dtype=pl.String)
        frame = frame.with_columns(value.alias(col))
        headers[col] = fld
        fields[fld] = col
    if plan.updates.height:
        frame = frame.update(plan.updates.rename({"idx": ORIG}), on=ORIG, how="left")
    frame = frame.drop(ORIG)
    return replace(records, frame=frame, columns=list(plan.columns), headers=headers, fields=fields)


# ----------------------------------------------------------------------------- audit
def _js(expr: pl.Expr) -> pl.Expr:
    """JSON text of each value, encoded by polars."""
    return pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")


def _before_kinds(records: Records, changes: pl.DataFrame) -> pl.DataFrame:
    """JSON inputs: the kind of each changed cell before the run (`r`: a JSON number, boolean
    or null; `a`: an absent key), so that undo writes it back as it was."""
    kind_cols = {c: f"{KIND_PREFIX}{c}" for c in records.columns if f"{KIND_PREFIX}{c}" in records.frame.columns}
    if not kind_cols or changes.height == 0:
        return changes.with_columns(pl.lit(None, dtype=pl.String).alias("kind"))
    long = (records.frame.select(list(kind_cols.values()))
            .with_row_index("idx").unpivot(index="idx", variable_name="column", value_name="kind")
            .with_columns(pl.col("column").str.strip_prefix(KIND_PREFIX), pl.col("idx").cast(pl.UInt32)))
    return changes.join(long.filter(pl.col("kind").is_not_null()), on=["idx", "column"], how="left",
                        maintain_order="left")


def convert_event_lines(records: Records, plan: ConvertPlan, at: str) -> pl.Series:
    """One `convert` event per converted record, in output order: id, file and row (its
    original place), changes {column: {before, after}} and customer."""
    t = plan.targets
    if t.height == 0:
        return pl.Series("line", [], dtype=pl.String)
    files = [s.path for s in records.sources]
    col_js = {c: json.dumps(c, ensure_ascii=False) for c in plan.columns}
    kinds = _before_kinds(records, plan.changes)
    changes = (kinds.select(
        "idx", (pl.col("column").replace_strict(col_js, return_dtype=pl.String) + ':{"before":'
                + _js(pl.col("before")) + ',"after":' + _js(pl.col("after"))
                + pl.when(pl.col("kind").is_in(["r", "a"])).then(',"kind":"' + pl.col("kind") + '"')
                .otherwise(pl.lit("")) + "}").alias("c"))
        .group_by("idx", maintain_order=True).agg(pl.col("c").str.join(",")))
    customer = pl.when(pl.col("how").is_null()).then(pl.lit("null")).otherwise(
        '{"id":' + _js(pl.col("cust_id")) + ',"name":' + _js(pl.col("cust_name"))
        + ',"created":' + pl.when(pl.col("created")).then(pl.lit("true")).otherwise(pl.lit("false")) + "}")
    head = f'{{"event":"convert","at":{json.dumps(at)},"version":{json.dumps(__version__)},"id":'
    lines = t.join(changes, on="idx", how="left", maintain_order="left").select(
        (pl.lit(head) + _js(pl.col("id")) + ',"file":'
         + _js(pl.col(SRC).replace_strict(list(range(len(files))), files, return_dtype=pl.String))
         + ',"row":' + pl.col(ROW).cast(pl.String)
         + ',"changes":{' + pl.col("c").fill_null("") + '},"customer":' + customer + "}").alias("line"))
    return lines.get_column("line")


def other_events(records: Records, plan: ConvertPlan, at: str) -> list[dict[str, Any]]:
    """`create_customer` events (the new customer's values), then `skip` events."""
    events: list[dict[str, Any]] = []
    for cust in plan.customers.created:
        values = {k: v for k, v in cust.items() if k not in ("lead", "parent_name")}
        events.append({"event": "create_customer", "at": at, "version": __version__, "id": cust["id"],
                       "name": cust["name"], "lead": cust["lead"], "values": values})
    skipped = plan.leads.filter(pl.col("action") == "skip")
    if skipped.height:
        files = [s.path for s in records.sources]
        pos = records.frame[skipped.get_column("idx")].select(SRC, ROW)
        for (rid, reason), (src, row) in zip(skipped.select("id", "reason").iter_rows(), pos.iter_rows(),
                                             strict=True):
            events.append({"event": "skip", "at": at, "version": __version__, "id": rid,
                           "reason": reason, "file": files[src], "row": row})
    return events
