"""Rich tables for `inspect`, `dupes` and the merge preview. Nothing here decides anything: it
shows the data the library returned. Every cell and title holding a user's text (a value, an id,
a header, a path) is a literal `Text`: it shows as typed on any console."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from ..recognition import LANGUAGE_NAMES
from ..summary import SHOWN_PLACEHOLDERS, FileSummary
from .text import cell, glyph, line, literal, styled


def inspect_tables(summaries: list[FileSummary]) -> list[Table]:
    tables = []
    for s in summaries:
        t = Table(title=literal(s.file), title_justify="left", show_header=False, box=None,
                  padding=(0, 2))
        t.add_column("what", style="bold")
        t.add_column("value")
        fmt = s.format
        if s.quoting:
            fmt += f", {'every field quoted' if s.quoting == 'all' else 'quoted when needed'}"
        t.add_row("format", literal(fmt))
        if s.encoding is not None:
            t.add_row("encoding", literal(s.encoding))
        for what, value in _recognised(s):
            t.add_row(what, value)
        t.add_row("rows", f"{s.rows:,}")
        if s.footer_lines:
            t.add_row("footer lines", f"{s.footer_lines:,} (after the data: not records)")
        if s.multiline_records:
            t.add_row("multiline records", f"{s.multiline_records:,} (continuation lines folded in)")
        t.add_row("leads / opportunities", f"{s.leads:,} / {s.opportunities:,}")
        t.add_row("archived", f"{s.archived:,}")
        t.add_row("closed (archived or won)", f"{s.won_or_closed:,}")
        t.add_row("empty emails", f"{s.empty_emails:,}")
        t.add_row("unparseable emails", f"{s.invalid_emails:,}")
        shown = ", ".join(s.placeholder_keys) + (", ..." if len(s.placeholder_keys) >= SHOWN_PLACEHOLDERS else "")
        t.add_row("placeholder emails", line(f"{s.placeholder_emails:,}", *(
            (" (", literal(shown), "): never grouped") if s.placeholder_emails else ())))
        if s.dates is not None:
            bad = ((f"; {s.bad_dates:,} unreadable (first: ", literal(repr(s.first_bad_date)), ")")
                   if s.bad_dates else ())
            t.add_row("create_date", line(literal(s.dates), *bad))
        t.add_row("duplicate email groups",
                  f"{s.duplicate_groups:,} ({s.records_in_duplicate_groups:,} records)")
        if "fuzzy_suggestions" in s.extra:
            joined = s.extra["fuzzy_groups"]
            t.add_row("fuzzy suggestions",
                      f"{s.extra['fuzzy_suggestions']:,} (in {joined:,} group{'' if joined == 1 else 's'})")
        tables.append(t)
        m = Table(title="columns", title_justify="left", box=None, padding=(0, 2))
        m.add_column("header")
        m.add_column("field")
        for header, fld in s.mapping:
            if fld is None and header in s.contact_name_from:
                what = styled("part of the contact name, carried through", "dim")
            else:
                what = literal(fld) if fld else styled("unmapped, carried through", "dim")
            m.add_row(literal(header) if header else styled("(blank)", "dim"), what)
        tables.append(m)
    return tables


def _recognised(s: FileSummary) -> list[tuple[str, Text]]:
    """What the headers say: another CRM's export (a preset), Odoo's labels in a language."""
    rows = []
    if s.preset:
        how = "detected from the headers" if s.preset_detected else "given with --preset"
        rows.append(("looks like", line("a ", literal(s.looks_like or s.preset), " export (preset ",
                                        literal(s.preset), f", {how})")))
    if s.language:
        name = LANGUAGE_NAMES.get(s.language, s.language)
        rows.append(("language", line(f"{name} ({s.language}): Odoo's export labels and values in {name}")))
    if s.contact_name_from:
        rows.append(("contact name", line("composed from ", literal(" + ".join(s.contact_name_from)))))
    return rows


def dupes_table(table: Any, limit: int | None = None) -> Table:
    """One row per grouped record; the head marked with ★ (* where the terminal has no ★).
    With fuzzy suggestions (a `score` column): fuzzy groups marked, and each suggested record's
    score and comparison against the head."""
    fuzzy = "score" in table.columns
    t = Table(title="Duplicate groups", title_justify="left")
    for name in ("group", "reason", "id", "name", "email", "company", "created",
                 *(("score", "against the head") if fuzzy else ())):
        t.add_column(name, overflow="fold")
    shown_groups = 0
    last = None
    star = glyph("★", "*")
    for row in table.iter_rows(named=True):
        if row["group"] != last:
            shown_groups += 1
            if limit is not None and shown_groups > limit:
                break
            last = row["group"]
            group = line(str(row["group"]), (" (large)", "red") if row["large"] else "",
                         (" (different people)", "red") if row.get("conflict") else "",
                         (" (fuzzy)", "yellow") if fuzzy and row["group_score"] is not None else "")
            reason = cell(row["reasons"], 50)
            t.add_section()
        else:
            group, reason = line(), line()
        rid = line(f"{star} " if row["head"] else "  ", literal(row["id"]))
        extra = []
        if fuzzy:
            extra = [line(f"{row['score']:.2f}" if row["score"] is not None else ""), cell(row["compared"], 80)]
        t.add_row(group, reason, rid, cell(row["name"]), cell(row["email_from"]),
                  cell(row["partner_name"], 30), cell(row["create_date"], 20), *extra)
    return t


def merge_preview(plan: Any, records: Any, limit: int | None = 20) -> list[Table]:
    """Per group: the head, the merged-away ids, and each changed column before -> after
    with its source."""
    tables: list[Table] = []
    shown = plan.groups if limit is None else plan.groups.head(limit)
    changes = plan.changes.join(shown.select("group"), on="group", maintain_order="left")
    changes = changes.partition_by("group", as_dict=True) if changes.height else {}
    for g in shown.iter_rows(named=True):
        title = line(f"group {g['group']}: keep ", literal(g["head"]), ", merge ",
                     literal(", ".join(g["merged"] or [])), "  ",
                     literal(f"({' '.join(g['reasons'])})", "dim"), _held(g))
        t = Table(title=title, title_justify="left")
        t.add_column("column")
        t.add_column("before")
        t.add_column("after")
        t.add_column("from")
        part = changes.get((g["group"],))
        if part is not None and not g["skipped"]:
            for c in part.iter_rows(named=True):
                src = c["source"] or []
                t.add_row(literal(records.headers.get(c["column"], c["column"])), cell(c["before"]),
                          cell(c["after"]), literal(", ".join(src) if c["composed"] else (src[0] if src else "")))
        if not t.row_count:
            t.add_row(styled("(no value changes)", "dim"), "", "", "")
        tables.append(t)
    return tables


def _held(group: dict[str, Any]) -> Text:
    """Why a group is not merged, and what its unreadable dates did, for its preview title."""
    held = group.get("held")
    text = Text()
    if held == "large":
        text.append(" large group: not merged (--allow-large-groups)", style="red")
    elif held == "conflict":
        text.append(line(" not merged, ", literal(group["conflict"]), " (--allow-conflicts)"))
        text.stylize("red")
    if group.get("bad_dates"):
        text.append(" create_date unreadable, sorted last: ", style="yellow")
        text.append(literal(", ".join(group["bad_dates"]), "yellow"))
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
