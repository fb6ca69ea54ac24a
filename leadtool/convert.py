"""Converting leads into opportunities (docs/convert.md): Odoo's lead-to-opportunity wizard in batch.

`plan_convert` decides everything without changing anything: which leads (`--ids`, `--all`,
teams whose leads mode is off), which are skipped and why, the merge-first groups (docs/merge.md, the
merge plan of `merge.py`), the salesperson round-robin, the team, the stage, the customer and
the values every converted record will carry. `apply_convert` applies that plan; the preview,
the audit log and undo read the same plan. Everything is polars over the whole frame; only the
customers that get created go through a Python loop.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import polars as pl

from .config import Config
from .customers import MODES, CustomerResult, Customers, assign_customers
from .errors import UsageError
from .fields import is_id_column
from .match.dates import DateOptions
from .match.emails import display_name_expr, first_address_expr, lower_address
from .match.groups import Groups, find_groups
from .match.normalize import (
    archived_expr,
    composes_contact_name,
    contact_name_expr,
    is_empty,
    system_closed_expr,
    type_expr,
    won_expr,
)
from .merge import MergePlan, apply_merge, plan_merge
from .records import ID, IDX, KIND_PREFIX, ORIG, ROW, SRC, Records
from .translations import opportunity_label, type_value

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
    head: str = "oldest"  # which record of a duplicate group is kept (docs/merge.md#the-head): oldest or odoo
    allow_conflicts: bool = False  # merge groups of clearly different people too (docs/groups.md)
    dates: DateOptions | None = None  # --date-order, --allow-bad-dates for the head order


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
    """A field's value with blanks as "" (missing column: ""); the contact name composed from
    first and last name where the file splits it."""
    if fld == "contact_name" and composes_contact_name(records):
        name = contact_name_expr(records)
        return pl.when(is_empty(name)).then(pl.lit("")).otherwise(name)
    col = records.col(fld)
    if not col:
        return pl.lit("", dtype=pl.String)
    return pl.when(_blank(records, col)).then(pl.lit("")).otherwise(pl.col(col))


def _team_expr(records: Records) -> pl.Expr:
    col = records.col("team_id")
    return pl.col(col).str.strip_chars() if col else pl.lit("", dtype=pl.String)


def opportunity_word(records: Records) -> str:
    """`opportunity` written the way the file writes its types (`Opportunity`, `OPPORTUNITY`,
    `Opportunité` in a French export)."""
    col = records.col("type")
    if not col:
        return "opportunity"
    values = (records.frame.select(pl.col(col).str.strip_chars().alias("t"))
              .filter(pl.col("t") != "").unique("t", maintain_order=True).get_column("t").to_list())
    for v in values:
        if v.lower() == "opportunity" or type_value(v) == "opportunity":
            return v
    language = next((s.recognition.language for s in records.sources if s.recognition and s.recognition.language),
                    None)
    for v in values:
        if v.lower() == "lead" and language in (None, "en"):
            return "OPPORTUNITY" if v.isupper() and len(v) > 1 else "Opportunity" if v[0].isupper() else "opportunity"
        if type_value(v) == "lead":  # a translated display value (`Piste`): Odoo's word in that language
            return opportunity_label(v, language) or "opportunity"
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
        won_expr(records, config).alias("_won"), system_closed_expr(records).alias("_sys"), team.alias("_team"))
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
    closed = pl.col("_arch") | pl.col("_won") | pl.col("_sys")
    swept_all = pl.col("_lead") & ~closed & pl.lit(all_leads)
    origin = (pl.when(named).then(pl.lit("ids")).when(swept_all).then(pl.lit("all"))
              .when(swept).then(pl.lit("team")).otherwise(None))
    reason = (pl.when(pl.col("_arch")).then(pl.lit("archived"))
              .when(pl.col("_won")).then(pl.lit("won"))
              .when(pl.col("_sys")).then(pl.lit("closed in its CRM"))
              .when(~pl.col("_lead")).then(pl.lit("already an opportunity"))
              .otherwise(None))
    return (base.with_columns(origin.alias("origin"))
            .filter(pl.col("origin").is_not_null())
            .select(IDX, "id", "origin", reason.alias("reason")))


def dedupe_groups(records: Records, selected: pl.Series, config: Config | None = None,
                  max_group: int = 50) -> Groups:
    """Groups of open records sharing an email key or a customer (docs/groups.md#duplicate-groups) that hold at least
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
def check_options(options: ConvertOptions, config: Config) -> None:
    """Option errors, before any file is read: an unknown customer mode, an empty salesperson,
    and a run that could convert nothing."""
    if options.customer not in MODES:
        raise UsageError(f"--customer {options.customer!r}: expected one of {', '.join(MODES)}")
    for person in options.salespersons:
        if not person.strip():
            raise UsageError("--salesperson: an empty name")
    if not options.ids and not options.all and config.leads_enabled and not config.teams_without_leads():
        raise UsageError("nothing to convert: give --ids or --all (or turn a team's leads mode off)")


@dataclass
class _MergedFirst:
    """The merge-first step (docs/convert.md): the plan (None when nothing merges), the records
    after it (each carrying its input position in `ORIG`), the merged-away records (idx, into:
    the head's id) and the heads (idx, merged: the ids merged into them)."""

    plan: MergePlan | None
    records: Records
    away: pl.DataFrame
    heads: pl.DataFrame


def _merge_first(records: Records, to_convert: pl.Series, options: ConvertOptions, config: Config) -> _MergedFirst:
    """Groups holding a selected lead are merged (docs/merge.md) before conversion."""
    base = records.with_frame(records.frame.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias(ORIG)))
    none = _MergedFirst(None, base, pl.DataFrame(schema={IDX: pl.UInt32, "into": pl.String}),
                        pl.DataFrame(schema={IDX: pl.UInt32, "merged": pl.List(pl.String)}))
    if not options.dedupe or not to_convert.len():
        return none
    groups = dedupe_groups(records, to_convert, config, options.max_group)
    if not groups.info.height:
        return none
    plan = plan_merge(records, groups, head=options.head, config=config, allow_conflicts=options.allow_conflicts,
                      dates=options.dates)
    merged = plan.merged_groups
    members = plan.members.join(merged.select("group", "head"), on="group")
    return _MergedFirst(
        plan=plan, records=apply_merge(base, plan),
        away=members.filter(pl.col("pos") > 0).select(IDX, pl.col("head").alias("into")),
        heads=merged.select(pl.col("head_idx").alias(IDX), pl.col("merged").cast(pl.List(pl.String))))


def _converted(first: _MergedFirst, to_convert: pl.Series) -> pl.DataFrame:
    """The records that get converted, as they are after merging, in output order: the selected
    leads that were not merged away, and the heads their groups merged into (`_head`)."""
    targets = (pl.concat([to_convert.to_frame(), first.heads.select(IDX)])
               .unique().join(first.away.select(IDX), on=IDX, how="anti").sort(IDX).get_column(IDX))
    return first.records.frame.filter(pl.col(ORIG).is_in(targets.implode())).with_columns(
        pl.col(ORIG).is_in(first.heads.get_column(IDX).implode()).alias("_head"))


def _assign(conv: pl.DataFrame, merged: Records, options: ConvertOptions) -> pl.DataFrame:
    """Salesperson round-robin (in output order, over the leads that get one) and team:
    `_new_user`/`_new_team` (null: unchanged) and the resulting `_user`/`_team`."""
    people = [p.strip() for p in options.salespersons]
    gets_person = ((pl.lit(options.force_assignment) | _blank(merged, merged.col("user_id"))) if people
                   else pl.lit(False))
    conv = conv.with_columns(gets_person.alias("_gets"), _text(merged, "user_id").alias("_user_before"),
                             _team_expr(merged).alias("_team_before"))
    if people:
        turn = (pl.col("_gets").cast(pl.Int64).cum_sum() - 1) % len(people)
        new_user = pl.when(pl.col("_gets")).then(
            turn.replace_strict(list(range(len(people))), people, default=None, return_dtype=pl.String)
        ).otherwise(None)
    else:
        new_user = pl.lit(None, dtype=pl.String)
    team = (options.team or "").strip()
    if team:
        gets_team = pl.col("_gets") if people else pl.lit(True)
        new_team = pl.when(gets_team).then(pl.lit(team)).otherwise(None)
    else:
        new_team = pl.lit(None, dtype=pl.String)
    conv = conv.with_columns(new_user.alias("_new_user"), new_team.alias("_new_team"))
    return conv.with_columns(pl.coalesce("_new_user", "_user_before").alias("_user"),
                             pl.coalesce("_new_team", "_team_before").alias("_team"))


def _stage_and_date(conv: pl.DataFrame, merged: Records, config: Config, now: str) -> pl.DataFrame:
    """An empty stage becomes the team's first stage (`_new_stage`, `_stage`); date_conversion
    is the run's time, except on a merged head that has one already (`_date`)."""
    teams = conv.get_column("_team").unique().to_list()
    firsts = [config.first_stage(team) for team in teams]
    conv = conv.with_columns(pl.when(_blank(merged, merged.col("stage_id"))).then(
        pl.col("_team").replace_strict(teams, firsts, return_dtype=pl.String)).otherwise(None).alias("_new_stage"))
    conv = conv.with_columns(pl.coalesce("_new_stage", _text(merged, "stage_id")).alias("_stage"))
    dc = merged.col("date_conversion")
    keep_own = pl.col("_head") & ~_blank(merged, dc) if dc else pl.lit(False)
    return conv.with_columns(pl.when(keep_own).then(pl.col(dc) if dc else pl.lit("")).otherwise(pl.lit(now))
                             .alias("_date"))


def _link_customers(conv: pl.DataFrame, merged: Records, records: Records, customers: Customers | None,
                    mode: str) -> tuple[pl.DataFrame, CustomerResult]:
    """Each converted lead's customer (linked or created, docs/convert.md): `cust_id`,
    `cust_name`, `created`, `how` and `_new_partner` (the customer column's new value: the
    customer's id when the column holds ids (`partner_id/id`), else its name; null when unchanged)."""
    pcol = merged.col("partner_id")
    partner_is_id = bool(pcol) and is_id_column(merged.headers[pcol])
    converted = merged.with_frame(conv)
    email_col = merged.col("email_from")
    if email_col:
        email = pl.col(email_col)
        # the key is the first address lower-cased (emails.email_keys): one search for both
        first = conv.select(first_address_expr(email)).to_series()
        email_parts = [pl.lit(lower_address(first)).alias("ekey"), pl.lit(first.fill_null("")).alias("email"),
                       display_name_expr(email).fill_null("").alias("display")]
    else:
        email_parts = [pl.lit(None, dtype=pl.String).alias("ekey"), pl.lit("").alias("email"),
                       pl.lit("").alias("display")]
    lead_view = conv.select(
        pl.col(ORIG).alias("idx"), pl.col(ID).alias("id"), _text(converted, "partner_id").alias("partner"),
        *email_parts,
        *[_text(converted, f).alias(f) for f in ("contact_name", "partner_name", "name", *_COPY_FIELDS)],
        pl.col("_user").alias("user_id"))
    existing_ids = records.frame.get_column(pcol).unique().to_list() if pcol else []
    result = assign_customers(lead_view, customers, mode, partner_is_id, existing_ids)
    conv = conv.join(result.links.rename({"idx": ORIG}), on=ORIG, how="left", maintain_order="left")
    new_partner = pl.when(pl.col("how").is_null() | (pl.col("how") == "own")).then(None).otherwise(
        pl.col("cust_id") if partner_is_id else pl.col("cust_name"))
    return conv.with_columns(new_partner.alias("_new_partner")), result


def _appended_columns(conv: pl.DataFrame, records: Records, options: ConvertOptions
                      ) -> tuple[list[tuple[str, str]], list[str]]:
    """The columns conversion sets that the files lack and a converted record needs: appended
    at the end (header = the technical name). Returns them and the output's columns."""
    needed = {"type", "date_conversion", "stage_id"} if conv.height else set()
    if conv.height and options.salespersons:
        needed.add("user_id")
    if conv.height and (options.team or "").strip():
        needed.add("team_id")
    if conv.height and conv.get_column("_new_partner").is_not_null().any():
        needed.add("partner_id")
    appended: list[tuple[str, str]] = []
    columns = list(records.columns)
    for fld in SET_FIELDS:
        if fld in needed and not records.col(fld):
            col = _unique_column(fld, columns)
            columns.append(col)
            appended.append((fld, col))
    return appended, columns


def _new_values(conv: pl.DataFrame, records: Records, appended: list[tuple[str, str]]
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`updates` (idx and the new value of every column conversion sets) and `changes` (idx,
    column, before, after: the cells whose value changes)."""
    new_value: dict[str, pl.Expr] = {
        "type": pl.lit(opportunity_word(records)), "date_conversion": pl.col("_date"), "stage_id": pl.col("_stage"),
        "user_id": pl.col("_new_user"), "team_id": pl.col("_new_team"), "partner_id": pl.col("_new_partner"),
    }
    col_of = {**{f: records.col(f) for f in SET_FIELDS if records.col(f)}, **dict(appended)}
    added = {c for _, c in appended}
    updated: list[pl.Expr] = []
    changed: list[pl.DataFrame] = []
    for fld in SET_FIELDS:
        col = col_of.get(fld)
        if col is None:
            continue
        before = pl.col(col) if col not in added else pl.lit("", dtype=pl.String)
        after = pl.coalesce(new_value[fld], before)
        updated.append(after.alias(col))
        changed.append(conv.select(pl.col(ORIG).alias("idx"), pl.lit(col).alias("column"),
                                   before.alias("before"), after.alias("after"))
                       .filter(pl.col("before") != pl.col("after")))
    updates = conv.select(pl.col(ORIG).alias("idx"), *updated)
    changes = (pl.concat(changed).sort("idx", maintain_order=True) if changed
               else pl.DataFrame(schema={"idx": pl.UInt32, "column": pl.String, "before": pl.String,
                                         "after": pl.String}))
    return updates, changes


def _lead_actions(records: Records, targets: pl.DataFrame, first: _MergedFirst, chosen: pl.DataFrame) -> pl.DataFrame:
    """What happens to each record the run touches, for the preview and the skip events."""
    view = targets.join(first.heads.rename({IDX: "idx"}), on="idx", how="left").select(
        "idx", "id", pl.lit("convert").alias("action"), pl.lit(None, pl.String).alias("into"),
        pl.lit(None, pl.String).alias("reason"), "merged",
        pl.col("cust_id").alias("customer_id"), pl.col("cust_name").alias("customer_name"),
        pl.col("how").alias("customer_how"), "salesperson", "team", "stage")
    ids = records.frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("idx"), pl.col(ID).alias("id"))
    gone = first.away.rename({IDX: "idx"}).join(ids, on="idx").select(
        "idx", "id", pl.lit("merge").alias("action"), "into")
    skipped = chosen.filter(pl.col("reason").is_not_null()).select(
        pl.col(IDX).alias("idx"), "id", pl.lit("skip").alias("action"), "reason")
    # an opportunity named by --ids that a merge already takes in is not also a skip
    skipped = skipped.join(pl.concat([view.select("idx"), gone.select("idx")]), on="idx", how="anti",
                           maintain_order="left")
    return pl.concat([view, gone, skipped], how="diagonal_relaxed").sort("idx")


def plan_convert(records: Records, options: ConvertOptions, *, customers: Customers | None = None,
                 config: Config | None = None) -> ConvertPlan:
    """Decide the whole run without changing anything: selection, merge first, assignment,
    stage and date, customers, then the values every converted record will carry."""
    config = config or Config()
    check_options(options, config)
    now = run_time(options.now)
    chosen = select_leads(records, options.ids, options.all, config)
    to_convert = chosen.filter(pl.col("reason").is_null()).get_column(IDX)
    first = _merge_first(records, to_convert, options, config)
    merged = first.records
    conv = _assign(_converted(first, to_convert), merged, options)
    conv = _stage_and_date(conv, merged, config, now)
    conv, linked = _link_customers(conv, merged, records, customers, options.customer)
    appended, columns = _appended_columns(conv, records, options)
    updates, changes = _new_values(conv, records, appended)
    targets = conv.select(pl.col(ORIG).alias("idx"), pl.col(ID).alias("id"), pl.col(SRC), pl.col(ROW),
                          "cust_id", "cust_name", "created", "how",
                          pl.col("_user").alias("salesperson"), pl.col("_team").alias("team"),
                          pl.col("_stage").alias("stage"))
    return ConvertPlan(leads=_lead_actions(records, targets, first, chosen), targets=targets, updates=updates,
                       changes=changes, merge=first.plan, customers=linked, appended=appended, now=now,
                       options=options, columns=columns)


# ----------------------------------------------------------------------------- applying
def apply_convert(records: Records, plan: ConvertPlan) -> Records:
    """The converted records: merged groups in their heads (docs/merge.md), each converted record
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
