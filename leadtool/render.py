"""Rich tables and JSON for people and scripts. Nothing here decides anything: it shows the
data the library returned."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from .summary import FileSummary


def discard(stream: IO[str] | None = None) -> None:
    """The reader of a stream went away (`leadtool ... | head`): what is left of the output
    goes nowhere, so that the command ends with its own exit code."""
    stream = stream or sys.stdout
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


@contextlib.contextmanager
def reader_may_leave() -> Iterator[None]:
    """Printing a report whose exit code matters (check): a reader that leaves early does
    not turn an invalid dataset into exit 0."""
    try:
        yield
    except BrokenPipeError:
        discard()


class _Console(Console):
    def on_broken_pipe(self) -> None:  # rich's own exits 1
        discard(self.file)


def make_console(stderr: bool = False, quiet: bool = False) -> Console:
    return _Console(stderr=stderr, quiet=quiet, highlight=False, soft_wrap=False)


def err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def dump_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2)


def print_json(obj: Any) -> None:
    sys.stdout.write(dump_json(obj) + "\n")


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
        t.add_row("rows", f"{s.rows:,}")
        t.add_row("leads / opportunities", f"{s.leads:,} / {s.opportunities:,}")
        t.add_row("archived", f"{s.archived:,}")
        t.add_row("closed (archived or won)", f"{s.won_or_closed:,}")
        t.add_row("empty emails", f"{s.empty_emails:,}")
        t.add_row("unparseable emails", f"{s.invalid_emails:,}")
        t.add_row("duplicate email groups",
                  f"{s.duplicate_groups:,} ({s.records_in_duplicate_groups:,} records)")
        tables.append(t)
        m = Table(title="columns", title_justify="left", box=None, padding=(0, 2))
        m.add_column("header")
        m.add_column("field")
        for header, fld in s.mapping:
            m.add_row(header if header else "[dim](blank)[/]",
                      fld if fld else "[dim]unmapped, carried through[/]")
        tables.append(m)
    return tables


def _short(value: str | None, width: int = 40) -> str:
    text = (value or "").replace("\r\n", "⏎").replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


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
            group = f"{row['group']}" + (" [red](large)[/]" if row["large"] else "")
            reason = _short(row["reasons"], 50)
            t.add_section()
        else:
            group, reason = "", ""
        rid = f"★ {row['id']}" if row["head"] else f"  {row['id']}"
        t.add_row(group, reason, rid, _short(row["name"]), _short(row["email_from"]),
                  _short(row["partner_name"], 30), _short(row["create_date"], 20))
    return t


def merge_preview(plan: Any, records: Any, limit: int | None = 20) -> list[Table]:
    """Per group: the head, the merged-away ids, and each changed column before -> after
    with its source."""
    tables: list[Table] = []
    shown = plan.groups if limit is None else plan.groups.head(limit)
    changes = plan.changes.join(shown.select("group"), on="group", maintain_order="left")
    changes = changes.partition_by("group", as_dict=True) if changes.height else {}
    for g in shown.iter_rows(named=True):
        status = " [red]large group: not merged (--allow-large-groups)[/]" if g["skipped"] else ""
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
                t.add_row(records.headers.get(c["column"], c["column"]), _short(c["before"]),
                          _short(c["after"]), ", ".join(src) if c["composed"] else (src[0] if src else ""))
        if not t.row_count:
            t.add_row("[dim](no value changes)[/]", "", "", "")
        tables.append(t)
    return tables


def merge_summary(summary: dict[str, int], total_groups: int, shown: int | None) -> str:
    more = total_groups - (shown if shown is not None else total_groups)
    text = (f"{summary['groups']:,} groups, {summary['records_merged_away']:,} records merged away, "
            f"{summary['records_kept']:,} records kept")
    if summary.get("skipped_large_groups"):
        text += f", {summary['skipped_large_groups']:,} large groups not merged"
    if more > 0:
        text += f" ({more:,} more groups not shown; --preview all shows every group)"
    return text
