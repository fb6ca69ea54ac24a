"""The convert preview: what happens to each lead (convert, merge into N, skip with reason),
its customer, salesperson, team and stage. It shows the plan; it decides nothing."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from .text import short

_HOW = {"own": "its own", "email": "linked by email", "company": "linked by company",
        "created": "created"}


def _customer(row: dict[str, Any]) -> str:
    how = row.get("customer_how")
    if how is None:
        return "[dim]-[/]"
    name = row.get("customer_name") or row.get("customer_id") or ""
    ident = row.get("customer_id")
    label = short(name, 30) + (f" [dim]({ident})[/]" if ident and ident != name else "")
    style = "green" if how == "created" else "cyan"
    return f"[{style}]{_HOW.get(how, how)}[/]: {label}"


def convert_preview(plan: Any, limit: int | None = 20) -> Table:
    """One row per record the run touches, in input order."""
    t = Table(title="Convert", title_justify="left")
    for name in ("id", "action", "customer", "salesperson", "team", "stage"):
        t.add_column(name, overflow="fold")
    for n, row in enumerate(plan.leads.iter_rows(named=True)):
        if limit is not None and n >= limit:
            break
        action = row["action"]
        if action == "convert":
            merged = row.get("merged") or []
            text = "[green]convert[/]" + (f" [dim](merged {', '.join(merged)})[/]" if merged else "")
            t.add_row(short(row["id"], 20), text, _customer(row), short(row["salesperson"], 24),
                      short(row["team"], 20), short(row["stage"], 20))
        elif action == "merge":
            t.add_row(short(row["id"], 20), f"[yellow]merge into {row['into']}[/]", "", "", "", "")
        else:
            t.add_row(short(row["id"], 20), f"[red]skip[/]: {row['reason']}", "", "", "", "")
    if not t.row_count:
        t.add_row("[dim](no lead to convert)[/]", "", "", "", "", "")
    return t


def convert_summary(plan: Any, shown: int | None) -> str:
    s = plan.summary()
    text = (f"{s['converted']:,} converted, {s['merged_away']:,} merged into them, "
            f"{s['skipped']:,} skipped; customers: {s['customers_created']:,} created, "
            f"{s['customers_linked']:,} linked")
    if plan.appended:
        text += "; columns added at the end: " + ", ".join(f for f, _ in plan.appended)
    if plan.merge is not None:
        large = plan.merge.groups.filter(plan.merge.groups["skipped"]).height
        if large:
            text += f"; {large:,} groups larger than the limit not merged"
    total = plan.leads.height
    if shown is not None and total > shown:
        text += f" ({total - shown:,} more rows not shown; --preview all shows every lead)"
    return text
