"""Rich tables and JSON for people and scripts. Nothing here decides anything: it shows the
data the library returned."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from .summary import FileSummary


def make_console(stderr: bool = False, quiet: bool = False) -> Console:
    return Console(stderr=stderr, quiet=quiet, highlight=False, soft_wrap=False)


def err_console() -> Console:
    return Console(stderr=True, highlight=False)


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
