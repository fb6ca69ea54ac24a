"""The convert preview: what happens to each lead (convert, merge into N, skip with reason),
its customer, salesperson, team and stage. It shows the plan; it decides nothing. Every user's
text (ids, names, reasons) is a literal `Text`."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from .text import cell, line, literal, styled

_HOW = {"own": "its own", "email": "linked by email", "company": "linked by company",
        "created": "created"}


def _customer(row: dict[str, Any]) -> Text:
    how = row.get("customer_how")
    if how is None:
        return styled("-", "dim")
    name = row.get("customer_name") or row.get("customer_id") or ""
    ident = row.get("customer_id")
    label = line(cell(name, 30))
    if ident and ident != name:
        label.append_text(line(" ", literal(f"({ident})", "dim")))
    style = "green" if how == "created" else "cyan"
    return line((_HOW.get(how, how), style), ": ", label)


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
            text = line(("convert", "green"))
            if merged:
                text.append_text(line(" ", literal(f"(merged {', '.join(merged)})", "dim")))
            t.add_row(cell(row["id"], 20), text, _customer(row), cell(row["salesperson"], 24),
                      cell(row["team"], 20), cell(row["stage"], 20))
        elif action == "merge":
            t.add_row(cell(row["id"], 20), line(("merge into ", "yellow"), literal(row["into"], "yellow")),
                      "", "", "", "")
        else:
            t.add_row(cell(row["id"], 20), line(("skip", "red"), ": ", literal(row["reason"])), "", "", "", "")
    if not t.row_count:
        t.add_row(styled("(no lead to convert)", "dim"), "", "", "", "", "")
    return t


def convert_summary(plan: Any, shown: int | None) -> Text:
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
    return literal(text)
