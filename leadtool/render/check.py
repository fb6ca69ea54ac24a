"""Renderers for `leadtool check`: a rich table for people, JSON for scripts, GitHub workflow
commands (`::error file=...,line=...::`) plus a Markdown step summary for Actions. They only show
the CheckReport the library returned."""

from __future__ import annotations

import os
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..check import CheckReport
from .console import err_console, stdout_bytes
from .text import cell, literal, short, warning

FORMATS = ("text", "json", "github")
SUMMARY_ROWS = 50  # problems listed in the step summary


def summary_line(report: CheckReport) -> str:
    """One line: valid or not, the counts per rule, the duplicate groups."""
    s = report.stats
    files = f"{s['records']:,} records in {s['files']} file{'s' if s['files'] != 1 else ''}"
    dupes = ""
    if s.get("duplicate_groups") is not None:
        dupes = f"; {s['duplicate_groups']:,} duplicate groups (allowed: {s['max_duplicates']:,})"
    if s.get("placeholder_emails"):
        keys = s["placeholder_keys"]
        dupes += (f"; {s['placeholder_emails']:,} placeholder emails, never grouped ({', '.join(keys[:3])}"
                  f"{', ...' if len(keys) > 3 else ''})")
    if s.get("fuzzy") is not None:
        warned = " (warnings)" if s["fuzzy"]["mode"] == "warn" else ""
        dupes += f"; {s['fuzzy']['suggestions']:,} fuzzy suggestions{warned}"
    if report.valid:
        return f"valid: no problems in {files}{dupes}"
    per_rule = ", ".join(f"{rule} {n:,}" for rule, n in s["by_rule"].items() if n)
    return f"invalid: {s['problems']:,} problems ({per_rule}) in {files}{dupes}"


# ----------------------------------------------------------------------------- text
def check_table(report: CheckReport, limit: int | None = 50, *, warnings: bool = False) -> Table:
    """The listed problems (or `warnings`), at most `limit` rows."""
    listed = (report.warnings or []) if warnings else report.problems
    several = len({p["file"] for p in listed}) > 1
    t = Table(title="Warnings" if warnings else "Problems", title_justify="left")
    if several:
        t.add_column("file", overflow="fold")
    t.add_column("line", justify="right")
    t.add_column("rule")
    t.add_column("id", overflow="fold")
    t.add_column("message", overflow="fold")
    shown = listed if limit is None else listed[:limit]
    for p in shown:
        cells = [Text(str(p["row"])), literal(p["rule"], style="yellow" if warnings else "red"), cell(p["id"], 20),
                 cell(p["message"], 160)]
        t.add_row(*([literal(p["file"])] if several else []), *cells)
    return t


def print_text(report: CheckReport, console: Console, limit: int | None = 50) -> None:
    if report.problems:
        console.print(check_table(report, limit))
    if report.warnings:
        console.print(check_table(report, limit, warnings=True))
    line = summary_line(report)
    shown = len(report.problems) if limit is None else min(limit, len(report.problems))
    notes = []
    if shown < report.stats["problems"]:
        notes.append(f"{shown:,} shown")
        if shown < len(report.problems):
            notes.append("--limit all shows every listed problem")
        if len(report.problems) < report.stats["problems"]:
            notes.append(f"{len(report.problems):,} listed; --max-problems all lists them all")
    if report.stats.get("ignored"):
        notes.append(f"ignored: {', '.join(report.stats['ignored'])}")
    if notes:
        line += f" ({'; '.join(notes)})"
    console.print(literal(line, style="green" if report.valid else "bold red"))


# ----------------------------------------------------------------------------- github
def escape_data(text: str) -> str:
    """A workflow command's message (GitHub's escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (GitHub's escapeProperty)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(problem: dict[str, Any], level: str = "error") -> str:
    """`::error file=F,line=N,title=RULE::MESSAGE (id X)` (`::warning` for a warning); no
    file for standard input."""
    props = []
    if problem["file"] and problem["file"] != "-":
        props.append(f"file={escape_property(problem['file'])}")
    if problem["row"] is not None:
        props.append(f"line={problem['row']}")
    props.append(f"title={escape_property(problem['rule'])}")
    message = problem["message"]
    if problem["id"] is not None:
        message += f" (id {problem['id']})"
    return f"::{level} {','.join(props)}::{escape_data(message)}"


def github_lines(report: CheckReport) -> list[str]:
    return [github_line(p) for p in report.problems] + [github_line(p, "warning") for p in report.warnings or []]


def _md_cell(value: Any, width: int = 120) -> str:
    text = short(value, width)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|"))


def step_summary(report: CheckReport, rows: int = SUMMARY_ROWS) -> str:
    """The Markdown appended to $GITHUB_STEP_SUMMARY."""
    s = report.stats
    head = "✅ valid" if report.valid else "❌ invalid"
    out = [f"## leadtool check: {head}", "", _md_cell(summary_line(report), 10_000), ""]
    out += ["| rule | problems |", "|---|---:|"]
    out += [f"| `{rule}` | {n:,} |" for rule, n in s["by_rule"].items()]
    for rule in s.get("ignored") or []:
        out.append(f"| `{rule}` | ignored |")
    if report.warnings is not None:
        out.append(f"| `fuzzy-duplicates` | {len(report.warnings):,} warnings |")
    out.append("")
    if report.problems:
        listed = report.problems[:rows]
        out += ["| file | line | rule | id | message |", "|---|---:|---|---|---|"]
        out += [f"| {_md_cell(p['file'])} | {p['row']} | `{p['rule']}` | {_md_cell(p['id'], 40)} | "
                f"{_md_cell(p['message'])} |" for p in listed]
        if len(listed) < s["problems"]:
            out += ["", f"{s['problems'] - len(listed):,} more problems not shown."]
        out.append("")
    return "\n".join(out) + "\n"


def append_step_summary(report: CheckReport, path: str | None = None) -> str | None:
    """Append the Markdown summary to `path`, else to $GITHUB_STEP_SUMMARY when it is set."""
    path = path or os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(step_summary(report))
    except OSError as exc:  # the check ran: its exit code stands, the summary is only lost
        err_console().print(warning("cannot write the step summary ", literal(path), ": ",
                                    literal(exc.strerror or str(exc))))
        return None
    return path


def print_github(report: CheckReport, out: TextIO | None = None) -> None:
    """The workflow commands on `out`, else on standard output as UTF-8 (what the runner reads)."""
    append_step_summary(report)  # first: a reader that stops early must not lose it
    text = "".join(line + "\n" for line in github_lines(report)) + summary_line(report) + "\n"
    if out is not None:
        out.write(text)
        return
    with stdout_bytes() as stream:
        stream.write(text.encode("utf-8", "backslashreplace"))
