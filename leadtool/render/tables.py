"""Rich tables for `inspect`, `dupes` and the merge preview. Nothing here decides anything: it
shows the data the library returned."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from ..recognition import LANGUAGE_NAMES
from ..summary import SHOWN_PLACEHOLDERS, FileSummary
from .text import short


def inspect_tables(summaries: list[FileSummary]) -> list[Table]:
    tables = []
    for s in summaries:
        t = Table(title=f"{s.file}", title_justify="left", show_header=False, box=None,
                  padding=(0, 2))
        t.add_column("what", style="bold")
        t.add_column("value")
        fmt = s.format
        if s.quoting:
            fmt += f", {'every field quoted' if s.quoting == 'all' else 'quoted when needed'}"
        t.add_row("format", fmt)
        t.add_row("encoding", s.encoding)
        for what, value in _recognised(s):
            t.add_row(what, value)
        t.add_row("rows", f"{s.rows:,}")
        t.add_row("leads / opportunities", f"{s.leads:,} / {s.opportunities:,}")
        t.add_row("archived", f"{s.archived:,}")
        t.add_row("closed (archived or won)", f"{s.won_or_closed:,}")
        t.add_row("empty emails", f"{s.empty_emails:,}")
        t.add_row("unparseable emails", f"{s.invalid_emails:,}")
        shown = ", ".join(s.placeholder_keys) + (", ..." if len(s.placeholder_keys) >= SHOWN_PLACEHOLDERS else "")
        t.add_row("placeholder emails", f"{s.placeholder_emails:,}" + (
            f" ({escape(shown)}): never grouped" if s.placeholder_emails else ""))
        if s.dates is not None:
            bad = f"; {s.bad_dates:,} unreadable (first: {escape(repr(s.first_bad_date))})" if s.bad_dates else ""
            t.add_row("create_date", escape(s.dates) + bad)
        t.add_row("duplicate email groups",
                  f"{s.duplicate_groups:,} ({s.records_in_duplicate_groups:,} records)")
        tables.append(t)
        m = Table(title="columns", title_justify="left", box=None, padding=(0, 2))
        m.add_column("header")
        m.add_column("field")
        for header, fld in s.mapping:
            if fld is None and header in s.contact_name_from:
                what = "[dim]part of the contact name, carried through[/]"
            else:
                what = fld if fld else "[dim]unmapped, carried through[/]"
            m.add_row(escape(header) if header else "[dim](blank)[/]", what)
        tables.append(m)
    return tables


def _recognised(s: FileSummary) -> list[tuple[str, str]]:
    """What the headers say: another CRM's export (a preset), Odoo's labels in a language."""
    rows = []
    if s.preset:
        how = "detected from the headers" if s.preset_detected else "given with --preset"
        rows.append(("looks like", f"a {escape(s.looks_like or s.preset)} export (preset {escape(s.preset)}, {how})"))
    if s.language:
        name = LANGUAGE_NAMES.get(s.language, s.language)
        rows.append(("language", f"{name} ({s.language}): Odoo's export labels and values in {name}"))
    if s.contact_name_from:
        rows.append(("contact name", f"composed from {escape(' + '.join(s.contact_name_from))}"))
    return rows


def dupes_table(table: Any, limit: int | None = None) -> Table:
    """One row per grouped record; the head marked with ★."""
    t = Table(title="Duplicate groups", title_justify="left")
    for name in ("group", "reason", "id", "name", "email", "company", "created"):
        t.add_column(name, overflow="fold")
    shown_groups = 0
    last = None
    for row in table.iter_rows(named=True):
        if row["group"] != last:
            shown_groups += 1
            if limit is not None and shown_groups > limit:
                break
            last = row["group"]
            group = (f"{row['group']}" + (" [red](large)[/]" if row["large"] else "")
                     + (" [red](different people)[/]" if row.get("conflict") else ""))
            reason = short(row["reasons"], 50)
            t.add_section()
        else:
            group, reason = "", ""
        rid = f"★ {row['id']}" if row["head"] else f"  {row['id']}"
        t.add_row(group, reason, rid, short(row["name"]), short(row["email_from"]),
                  short(row["partner_name"], 30), short(row["create_date"], 20))
    return t


def merge_preview(plan: Any, records: Any, limit: int | None = 20) -> list[Table]:
    """Per group: the head, the merged-away ids, and each changed column before -> after
    with its source."""
    tables: list[Table] = []
    shown = plan.groups if limit is None else plan.groups.head(limit)
    changes = plan.changes.join(shown.select("group"), on="group", maintain_order="left")
    changes = changes.partition_by("group", as_dict=True) if changes.height else {}
    for g in shown.iter_rows(named=True):
        status = _held(g)
        t = Table(title=f"group {g['group']}: keep {g['head']}, merge {', '.join(g['merged'] or [])}"
                  f"  [dim]({' '.join(g['reasons'])})[/]{status}", title_justify="left")
        t.add_column("column")
        t.add_column("before")
        t.add_column("after")
        t.add_column("from")
        part = changes.get((g["group"],))
        if part is not None and not g["skipped"]:
            for c in part.iter_rows(named=True):
                src = c["source"] or []
                t.add_row(records.headers.get(c["column"], c["column"]), short(c["before"]),
                          short(c["after"]), ", ".join(src) if c["composed"] else (src[0] if src else ""))
        if not t.row_count:
            t.add_row("[dim](no value changes)[/]", "", "", "")
        tables.append(t)
    return tables


def _held(group: dict[str, Any]) -> str:
    """Why a group is not merged, and what its unreadable dates did, for its preview title."""
    held = group.get("held")
    text = ""
    if held == "large":
        text = " [red]large group: not merged (--allow-large-groups)[/]"
    elif held == "conflict":
        text = f" [red]not merged, {escape(group['conflict'])} (--allow-conflicts)[/]"
    if group.get("bad_dates"):
        text += f" [yellow]create_date unreadable, sorted last: {', '.join(escape(i) for i in group['bad_dates'])}[/]"
    return text


def merge_summary(summary: dict[str, int], total_groups: int, shown: int | None) -> str:
    more = total_groups - (shown if shown is not None else total_groups)
    text = (f"{summary['groups']:,} groups, {summary['records_merged_away']:,} records merged away, "
            f"{summary['records_kept']:,} records kept")
    if summary.get("skipped_large_groups"):
        text += f", {summary['skipped_large_groups']:,} large groups not merged"
    if summary.get("skipped_conflicts"):
        text += f", {summary['skipped_conflicts']:,} groups of different people not merged"
    if more > 0:
        text += f" ({more:,} more groups not shown; --preview all shows every group)"
    return text
