"""Duplicate groups (docs/groups.md#duplicate-groups): records joined by shared keys (email, customer, phone, manual),
as the connected components of a record-key graph, computed with joins and group-bys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ..config import Config
from ..errors import UsageError
from ..options import comma_list
from ..records import ID, IDX, KEY, Records
from .emails import email_key_expr, email_keys_all_expr
from .manual import manual_edges
from .normalize import closed_expr, contact_name_expr
from .phones import check_region, phone_keys
from .placeholders import DEFAULT_RULES, MAX_NAMES, PlaceholderRules, conflict_reasons, pattern

BY_CHOICES = ("email", "customer", "phone")


@dataclass
class Groups:
    """`members`: one row per grouped record (group, idx). `info`: one row per group with its
    size and the reasons (`email:KEY`, `customer:VALUE`, `phone:E164`, `id:ID`, `manual`, `fuzzy:SCORE`)
    that joined it; `large` when it exceeds --max-group; `conflict`, why its members look like
    different people (null: they do not). Groups are numbered 1..n in the input
    order of their first record; `members` is sorted by group, then idx; `info` by group."""

    members: pl.DataFrame
    info: pl.DataFrame

    def __len__(self) -> int:
        return self.info.height


def parse_by(values: Sequence[str]) -> list[str]:
    """`--by email,phone` or repeated `--by`."""
    out = comma_list(values, lower=True)
    _check_by(out)  # before any file is read
    return out or ["email"]


def _check_by(by: Sequence[str]) -> None:
    for kind in by:
        if kind not in BY_CHOICES:
            raise UsageError(f"--by {kind!r}: expected one of {', '.join(BY_CHOICES)}")




def _edges(records: Records, by: Sequence[str], include_closed: bool, email_key: str,
           canonical: bool, default_region: str | None, config: Config | None,
           keys: pl.Series | None) -> list[tuple[str, pl.DataFrame]]:
    """(prefix, (idx, key) pairs) for each kind of automatic key, eligible records only; a
    key's text is its prefix (`email:`, `customer:`; phone keys carry theirs) and the key."""
    # only the key columns are copied by the filter, not the whole record
    needed = {"email": ["email_from"], "customer": ["partner_id"], "phone": ["phone", "mobile", "country_id"]}
    emails = records.columns_of("email_from")
    given = [pl.lit(keys).alias(KEY)] if keys is not None and email_key == "first" else []
    cols = dict.fromkeys(c for kind in by for f in needed.get(kind, []) for c in records.columns_of(f))
    if given:  # the first email column itself is not needed
        cols.pop(emails[0], None)
    eligible = pl.lit(True) if include_closed else ~closed_expr(records, config)
    frame = (records.frame.lazy().select(pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX),
                                         eligible.alias("__lt_ok"), *cols, *given)
             .filter(pl.col("__lt_ok")).drop("__lt_ok").collect())
    parts: list[tuple[str, pl.DataFrame]] = []
    for kind in by:
        if kind == "email":
            if not emails:
                continue
            per_column = []  # every email column feeds the key (--map email_from=A --map email_from=B)
            for k, email in enumerate(emails):
                if email_key == "all":
                    key = email_keys_all_expr(pl.col(email), canonical)
                    per_column.append(frame.select(IDX, key.alias("key")).explode("key"))
                else:
                    key = pl.col(KEY) if given and k == 0 else email_key_expr(pl.col(email), canonical)
                    per_column.append(frame.select(IDX, key.alias("key")))
            part = pl.concat(per_column) if len(per_column) > 1 else per_column[0]
            part = part.filter(pl.col("key").is_not_null())
            prefix = "email:"
        elif kind == "customer":
            cust = records.col("partner_id")
            if not cust:
                continue
            part = (frame.filter(pl.col(cust).str.strip_chars() != "")
                    .select(IDX, pl.col(cust).str.strip_chars()))
            prefix = "customer:"
        else:
            part, prefix = phone_keys(records, frame, default_region), ""
        parts.append((prefix, part.select(IDX, pl.col(part.columns[1]).alias("key"))))
    return parts


_ROW_ID = "rowid:"  # key of a repeated fallback id (a record without an id cell, its file given twice)


def repeated_id_edges(records: Records, include_closed: bool, config: Config | None) -> pl.DataFrame | None:
    """Records that share an id are one record seen more than once (an export given twice,
    overlapping exports): they always group, reason `id:ID` (docs/groups.md#repeated-ids),
    eligible records only as for any automatic key. A fallback id (`FILE:N`, a record without
    an id cell) is keyed apart, so that it never joins a record whose id cell says the same."""
    ids = records.frame.get_column(ID)
    if ids.n_unique() == ids.len():  # the usual case: one hashing pass, nothing more
        return None
    id_col = records.col("id")
    fallback = pl.col(id_col).str.contains(r"^\s*$") if id_col else pl.lit(True)
    eligible = pl.lit(True) if include_closed else ~closed_expr(records, config)
    return (records.frame.lazy()
            .select(pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX),
                    (pl.when(fallback).then(pl.lit(_ROW_ID)).otherwise(pl.lit("id:")) + pl.col(ID)).alias("key"),
                    eligible.alias("__lt_ok"))
            .filter(pl.col("__lt_ok") & (pl.len().over("key") > 1)).select(IDX, "key").collect())


def without_placeholders(edges: pl.DataFrame, prefix: str, rules: PlaceholderRules) -> pl.DataFrame:
    """The edges but those of placeholder email keys (`a@a.com`, `noemail@...`): they never join
    records (docs/groups.md#placeholder-emails). One regular expression over the shared keys
    only (a key held by one record was dropped before)."""
    if prefix not in ("email:", ""):
        return edges
    regex = pattern(rules, "" if prefix else "email:")
    if regex is None:
        return edges
    flagged = edges.get_column("key").str.contains(regex)
    return edges.filter(~flagged) if flagged.any() else edges


def components(edges: pl.DataFrame) -> pl.DataFrame:
    """Connected components of the record-key graph by min-label propagation: each round is
    two joins and two group-bys; it ends when no label moves (a few rounds in practice).
    `edges` holds no repeated (idx, key) pair."""
    if edges.get_column(IDX).n_unique() == edges.height:  # one key per record: no chains
        return edges.select(IDX, pl.col(IDX).min().over("key").alias("label"))
    # each key becomes the lowest record that holds it: a number to join and group on in every
    # round (cheaper than text), and keys sharing that record are in one component anyway
    edges = edges.select(IDX, pl.col(IDX).min().over("key").alias("key"))
    labels = edges.select(IDX).unique().with_columns(pl.col(IDX).alias("label"))
    while True:
        key_label = (edges.join(labels, on=IDX).group_by("key").agg(pl.col("label").min()))
        new = (edges.join(key_label, on="key").group_by(IDX).agg(pl.col("label").min()))
        changed = new.join(labels, on=IDX, suffix="_old").filter(
            pl.col("label") != pl.col("label_old")).height
        labels = new
        if not changed:
            return labels


@dataclass
class Linked:
    """Grouped records before numbering: `labels` gives each one (idx) the idx of its group's
    first record (`label`), `edges` the keys (held by two records or more) that joined them.
    `find_groups` numbers and describes every group from this; `check` needs only the labels
    and describes the few groups it lists (`reasons_of`)."""

    edges: pl.DataFrame
    labels: pl.DataFrame
    prefix: str = ""  # of every key, when all are of one kind (left out of `edges`: cheaper)

    def group_numbers(self, labels: pl.Series) -> pl.Series:
        """The group number (1..n, in input order of the groups' first records) of each label."""
        firsts = self.labels.filter(pl.col(IDX) == pl.col("label")).get_column(IDX)
        firsts = firsts if firsts.is_sorted() else firsts.sort()
        return (firsts.search_sorted(labels) + 1).cast(pl.UInt32)


def check_link_options(by: Sequence[str], email_key: str, max_group: int, default_region: str | None) -> None:
    """The grouping options' usage errors, raised before any work by this path and the Spark one."""
    _check_by(by)
    if email_key not in ("first", "all"):
        raise UsageError(f"--email-key {email_key!r}: expected 'first' or 'all'")
    if max_group < 2:
        raise UsageError(f"--max-group {max_group}: expected 2 or more (a group has two records at least)")
    if default_region is not None:
        check_region(default_region)


def link_records(records: Records, *, by: Sequence[str] = ("email",), include_closed: bool = False,
                 email_key: str = "first", canonical: bool = False,
                 default_region: str | None = None, manual: Sequence[Sequence[str]] = (),
                 max_group: int = 50, config: Config | None = None,
                 extra_edges: pl.DataFrame | None = None, keys: pl.Series | None = None,
                 repeated_ids: bool = True) -> Linked:
    """The records that share a key, each labelled with its component (see `find_groups`).
    `repeated_ids=False` leaves out the groups of records sharing an id (check reports those
    with its own rule, one problem per record)."""
    check_link_options(by, email_key, max_group, default_region)
    auto = _edges(records, by, include_closed, email_key, canonical, default_region, config, keys)
    repeated = repeated_id_edges(records, include_closed, config) if repeated_ids else None
    others = [e for e in (manual_edges(records, manual), extra_edges, repeated) if e is not None and e.height]
    prefix = ""
    if len(auto) == 1 and not others:  # one kind of key: its prefix is added to the reasons only
        prefix, edges = auto[0]
    else:
        edges = pl.concat([*(part.select(IDX, (p + pl.col("key")).alias("key")) for p, part in auto),
                           *(e.select(IDX, "key") for e in others),
                           pl.DataFrame(schema={IDX: pl.UInt32, "key": pl.String})])
    # a key held by one record joins nothing (counted before and after removing repeats, so
    # that most edges are dropped before the costlier unique); a record can give a key twice
    # only through several email addresses, a phone and a mobile, or manual and extra edges
    edges = edges.filter(pl.len().over("key") > 1)
    if (email_key == "all" or "phone" in by or manual or extra_edges is not None or repeated is not None
            or len(records.columns_of("email_from")) > 1):
        edges = edges.unique().filter(pl.len().over("key") > 1)
    if "email" in by:
        edges = without_placeholders(edges, prefix, (config.placeholders if config else None) or DEFAULT_RULES)
    if edges.height == 0:
        return Linked(edges=edges, labels=pl.DataFrame(schema={IDX: pl.UInt32, "label": pl.UInt32}),
                      prefix=prefix)
    return Linked(edges=edges, labels=components(edges), prefix=prefix)


def reasons_of(linked: Linked, labelled: pl.DataFrame, by: str = "label") -> pl.DataFrame:
    """(`by`, reasons) for the records of `labelled` (idx and `by`, the group's label or
    number): each group's keys, sorted, `manual` for a manual one."""
    if linked.prefix:
        reason = linked.prefix + pl.col("key")
    else:
        # a fuzzy key is one per link (`fuzzy:97:name+phone#12`): its reason is without the number
        reason = (pl.when(pl.col("key").str.starts_with("manual:")).then(pl.lit("manual"))
                  .when(pl.col("key").str.starts_with("fuzzy:")).then(pl.col("key").str.replace(r"#\d+$", ""))
                  .when(pl.col("key").str.starts_with(_ROW_ID)).then("id:" + pl.col("key").str.strip_prefix(_ROW_ID))
                  .otherwise(pl.col("key")))
    return (linked.edges.join(labelled.select(IDX, by), on=IDX)
            .select(by, reason.alias("reason")).unique()
            .sort(by, "reason")
            .group_by(by, maintain_order=True).agg(pl.col("reason").alias("reasons")))


def find_groups(records: Records, *, by: Sequence[str] = ("email",), include_closed: bool = False,
                email_key: str = "first", canonical: bool = False,
                default_region: str | None = None, manual: Sequence[Sequence[str]] = (),
                max_group: int = 50, config: Config | None = None,
                extra_edges: pl.DataFrame | None = None, keys: pl.Series | None = None) -> Groups:
    """Groups of two or more records that share a key. Closed records (archived, won) join
    automatic groups only with `include_closed`; manual groups take any record. `keys`: the
    email key of every record, when the caller has computed it already (`emails.email_keys`)."""
    linked = link_records(records, by=by, include_closed=include_closed, email_key=email_key,
                          canonical=canonical, default_region=default_region, manual=manual,
                          max_group=max_group, config=config, extra_edges=extra_edges, keys=keys)
    if linked.labels.height == 0:
        return Groups(
            members=pl.DataFrame(schema={"group": pl.UInt32, IDX: pl.UInt32}),
            info=pl.DataFrame(schema={"group": pl.UInt32, "size": pl.UInt32, "reasons": pl.List(pl.String),
                                      "large": pl.Boolean, "conflict": pl.String}),
        )
    # groups are numbered in input order of their first record
    labels = linked.labels.with_columns(linked.group_numbers(linked.labels.get_column("label")).alias("group"))
    members = labels.select("group", IDX).sort("group", IDX)
    reasons = reasons_of(linked, labels, by="group")
    info = (members.group_by("group").agg(pl.len().cast(pl.UInt32).alias("size"))
            .join(reasons, on="group").sort("group")
            .with_columns((pl.col("size") > max_group).alias("large")))
    return Groups(members=members, info=with_conflicts(records, members, info))


def _varied(frame: pl.DataFrame, col: str) -> pl.Series:
    """The groups of `frame` (sorted by group) where a non-empty `col` differs from the one
    before it in the group: the groups holding two different values. One comparison per row,
    no hashing: most groups hold one value."""
    start = (pl.col("group") != pl.col("group").shift()).fill_null(True)
    value = pl.when(pl.col(col) != "").then(pl.col(col))
    # the last non-empty value before each row within its group; "" when there is none
    carried = pl.when(start).then(value.fill_null("")).otherwise(value).forward_fill()
    before = pl.when(start).then(pl.lit("")).otherwise(carried.shift())
    differs = value.is_not_null() & (before != "") & (value != before)
    return frame.filter(differs.fill_null(False)).get_column("group").unique()


def with_conflicts(records: Records, members: pl.DataFrame, info: pl.DataFrame) -> pl.DataFrame:
    """`info` with `conflict`: why a group's members look like different people (more than two
    names, or two names at two companies: docs/groups.md#different-people), else null. Groups
    with a manual reason are the user's own and never held back. Only the groups whose names
    differ in more than case reach the loose comparison of `conflict_reasons`."""
    name_col = contact_name_expr(records)
    company = records.col("partner_name")
    none = info.with_columns(pl.lit(None, dtype=pl.String).alias("conflict"))
    if not name_col.meta.root_names():
        return none
    manual = info.get_column("reasons").list.contains("manual")
    rows = members.join(info.filter(~manual).select("group"), on="group", maintain_order="left") if manual.any() \
        else members  # sorted by group
    needed = dict.fromkeys([*name_col.meta.root_names(), *([company] if company else [])])
    values = records.frame.select(*needed)[rows.get_column(IDX)].select(
        name_col.alias("n"), (pl.col(company) if company else pl.lit("")).alias("c"))
    frame = pl.concat([rows.select("group"), values], how="horizontal")
    named = _varied(frame, "n")
    if not named.len():
        return none
    # the same names once case is aside: most spelling variants of one person end here
    cased = frame.filter(pl.col("group").is_in(named.implode())).with_columns(pl.col("n").str.to_lowercase())
    named = _varied(cased, "n")
    if not named.len():
        return none
    cased = cased.filter(pl.col("group").is_in(named.implode())).with_columns(pl.col("c").str.to_lowercase())
    # more than two people need three records; two people need two companies
    several = info.filter(pl.col("size") > MAX_NAMES).get_column("group")
    maybe = named.filter(named.is_in(_varied(cased, "c").append(several).implode()))
    if not maybe.len():
        return none
    found = conflict_reasons(frame.filter(pl.col("group").is_in(maybe.implode())), "group", "n", "c")
    return info.join(found.rename({"reason": "conflict"}), on="group", how="left", maintain_order="left")
