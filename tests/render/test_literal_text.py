"""Every text a user controls is printed as typed: rich markup (`[red]x[/]`, `[/]`), emoji codes
(`:smile:`) and control characters in values, ids, headers, file names, option values, config
keys and exception messages never crash a command and never vanish, in every command's table,
preview, summary, progress line, warning and error."""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import assert_one_line_error
from rich.console import Console
from typer.testing import CliRunner

import leadtool.cli as cli
from leadtool.errors import LeadtoolError
from leadtool.io import load
from leadtool.render.progress import steps
from leadtool.render.text import cell, literal, short

FILE = "e[bold].csv"
EXPORT = (
    "id,name,type,email_from,phone,partner_name,user_id,team_id,stage_id,create_date,[red]h[/]\n"
    "[/]1,[/] boom,lead,a@x.com,,[red]Co[/],[b]sp,[i]team,[u]stage,2024-01-01,\n"
    "[red]2[/],[bold]x[/bold],lead,a@x.com,[/]phone,[red]Co[/],[b]sp,[i]team,[u]stage,2024-01-02,"
    "[link=x]v :smile:\n"
    "3,plain,lead,b@x.com,,Acme,,,,[/]date,x\n"
)


def flat(text: str) -> str:
    """Output with its line breaks and runs of spaces as one space: a table title that wraps
    still reads as one string."""
    return " ".join(text.split())


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`leadtool ARGS...` in a folder holding the export with markup everywhere."""
    (tmp_path / FILE).write_text(EXPORT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")

    def invoke(*args: str, code: int = 0):
        result = CliRunner().invoke(cli.app, list(args))
        out = result.stdout + result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit), out
        assert "Traceback" not in out and "MarkupError" not in out and "internal error" not in out, out
        assert result.exit_code == code, (result.exit_code, out)
        return result

    return invoke


# ----------------------------------------------------------------------------- tables and previews
SHOWN = {
    "inspect": (["inspect", FILE], [FILE, "[red]h[/]"]),
    "dupes": (["dupes", FILE], ["[/]1", "[red]2[/]", "[/] boom", "[bold]x[/bold]", "[red]Co[/]"]),
    "dupes --group": (["dupes", FILE, "--group", "[/]1,3", "--allow-bad-dates"], ["[/]1", "manual", "[/]date"]),
    "merge preview": (["merge", FILE, "-o", "out[red].csv", "--dry-run"],
                      ["keep [/]1, merge [red]2[/]", "[red]h[/]", "[/]phone", "[link=x]v :smile:"]),
    "convert preview": (["convert", FILE, "--all", "-o", "c.csv", "--dry-run", "--salesperson", "[red]S[/]"],
                        ["[/]1", "(merged [red]2[/])", "created: [red]Co[/]", "[red]S[/]", "[i]team",
                         "[u]stage"]),
}


@pytest.mark.parametrize("name", SHOWN)
def test_tables_and_previews_show_markup_as_typed(run, name: str) -> None:
    args, needles = SHOWN[name]
    out = flat(run(*args).stdout)
    for needle in needles:
        assert needle in out, (needle, out)


def test_check_report_shows_markup_as_typed(run, tmp_path: Path) -> None:
    (tmp_path / "a[").mkdir()  # the file a[/b].csv
    (tmp_path / "a[/b].csv").write_text(EXPORT.replace("[/]1", "9"), encoding="utf-8")
    out = flat(run("check", FILE, "a[/b].csv", "--require", "[x]", code=1).stdout)
    for needle in (FILE, "a[/b].csv", "'[/]date'", "duplicate of id [/]1", "[red]2[/]", "'[x]'"):
        assert needle in out, (needle, out)


def test_written_files_are_named_as_typed(run, tmp_path: Path) -> None:
    merged = flat(run("merge", FILE, "-o", "out[red].csv", "--yes").stderr)
    assert "wrote out[red].csv (2 records) and out[red].csv.audit.jsonl" in merged
    converted = flat(run("convert", FILE, "--all", "-o", "c[red].csv", "--yes",
                         "--customers-out", "cu[b].csv", "--audit", "a[i].jsonl").stderr)
    assert "wrote c[red].csv (2 records), cu[b].csv and a[i].jsonl" in converted
    undone = flat(run("undo", "out[red].csv.audit.jsonl", "--input", "out[red].csv", "-o", "r[u].csv").stderr)
    assert "wrote r[u].csv" in undone
    assert (tmp_path / "r[u].csv").read_text(encoding="utf-8") == EXPORT


def test_undo_warnings_show_markup_as_typed(run, monkeypatch: pytest.MonkeyPatch) -> None:
    run("merge", FILE, "-o", "m.csv", "--yes")
    real = cli.undo_log

    def with_problems(log, records):
        result = real(log, records)
        return SimpleNamespace(records=result.records, restored=result.restored,
                               reverted_cells=result.reverted_cells,
                               problems=["record [red]2[/] was edited [/]"],
                               created_customers=["[b]Co[/b]"])

    monkeypatch.setattr(cli, "undo_log", with_problems)
    err = flat(run("undo", "m.csv.audit.jsonl", "--input", "m.csv", "-o", "r.csv").stderr)
    assert "warning: record [red]2[/] was edited [/]" in err
    assert "remove them from your customers file): [b]Co[/b]" in err


# ----------------------------------------------------------------------------- errors
ERRORS = [
    (["inspect", "no[/]such.csv"], "no[/]such.csv"),
    (["check", FILE, "--map", "[/]=x"], "'[/]=x'"),
    (["check", FILE, "--map", "email_from=[red]E[/]"], "'[red]E[/]'"),
    (["convert", FILE, "-o", "o.csv", "--ids", "[/]"], "'[/]'"),
    (["convert", FILE, "-o", "o.csv", "--all", "--now", "[/]"], "'[/]'"),
    (["inspect", FILE, "--format", "[/]"], "'[/]'"),
    (["dupes", FILE, "--format", "[red]x[/]"], "'[red]x[/]'"),
    (["check", FILE, "--format", "[/]"], "'[/]'"),
    (["dupes", FILE, "--limit", "[/]"], "'[/]'"),
    (["merge", FILE, "-o", "o.csv", "--preview", "[/]"], "'[/]'"),
    (["dupes", FILE, "--by", "[/]"], "'[/]'"),
    (["dupes", FILE, "--head", "[/]"], "'[/]'"),
    (["dupes", FILE, "--email-key", "[/]"], "'[/]'"),
    (["check", FILE, "--ignore", "[/]"], "'[/]'"),
    (["dupes", FILE, "--group", "[/],[red]x[/]"], "'[/]'"),
    (["dupes", FILE, "--groups", "g[/b].csv"], "g[/b].csv"),
    (["dupes", FILE, "--config", "c[/b].toml"], "c[/b].toml"),
    (["dupes", FILE, "--config", "k[x].toml"], "map.[/]"),
    (["dupes", FILE, "--config", "t[x].toml"], "[red]t[/]"),
    (["undo", "a[/b].jsonl", "--input", FILE, "-o", "r.csv"], "a[/b].jsonl"),
    (["merge", FILE, "-o", FILE], FILE),
    (["dupes", FILE, "--delimiter", "[/]"], "'[/]'"),
    (["dupes", FILE, "--default-region", "[/]", "--by", "phone"], "'[/]'"),
    (["convert", FILE, "-o", "o.csv", "--all", "--customer", "[/]"], "'[/]'"),
    (["convert", FILE, "-o", "o.csv", "--all", "--customers", "cu[/b].csv"], "cu[/b].csv"),
]


@pytest.mark.parametrize(("args", "needle"), ERRORS, ids=[" ".join(a) for a, _ in ERRORS])
def test_errors_show_markup_as_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                                     needle: str) -> None:
    (tmp_path / FILE).write_text(EXPORT, encoding="utf-8")
    (tmp_path / "k[x].toml").write_text('[map]\n"[/]" = "x"\n', encoding="utf-8")
    (tmp_path / "t[x].toml").write_text('["[red]t[/]"]\nx = 1\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    line = assert_one_line_error(CliRunner().invoke(cli.app, args), needle)
    assert line.startswith("error: ")


def test_a_file_name_with_a_line_break_stays_on_one_line(tmp_path: Path, cli) -> None:
    assert_one_line_error(cli("inspect", tmp_path / "a\nb\x1b[31m.csv"), "a\\nb\\x1b[31m.csv")


def test_an_internal_error_is_one_line_whatever_its_message(monkeypatch: pytest.MonkeyPatch,
                                                           samples: Path) -> None:
    def boom(*args, **kwargs):
        raise ValueError("[/] boom\n[red]x[/] :smile:")

    monkeypatch.setattr(cli, "check_records", boom)
    result = CliRunner().invoke(cli.app, ["check", str(samples / "leads.csv")])
    assert_one_line_error(result, "internal error: ValueError: [/] boom [red]x[/] :smile:", "--verbose")

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    def worse(*args, **kwargs):
        raise Unprintable

    monkeypatch.setattr(cli, "check_records", worse)
    result = CliRunner().invoke(cli.app, ["check", str(samples / "leads.csv")])
    assert_one_line_error(result, "internal error: Unprintable")


def test_a_leadtool_error_message_is_shown_as_typed(monkeypatch: pytest.MonkeyPatch, samples: Path) -> None:
    def fail(*args, **kwargs):
        raise LeadtoolError("bad [/] value [red]x[/]", file="f[b].csv", line=3)

    monkeypatch.setattr(cli, "check_records", fail)
    result = CliRunner().invoke(cli.app, ["check", str(samples / "leads.csv")])
    assert_one_line_error(result, "error: f[b].csv: line 3: bad [/] value [red]x[/]")


# ----------------------------------------------------------------------------- progress
def test_progress_and_timings_show_step_names_as_typed() -> None:
    """On a console that does parse markup, the spinner's text and the --verbose timings are
    still literal (a rich status parses a str as markup)."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)  # markup on
    with steps(True, timings=True, console=console) as step:
        step("[/] reading [red]x[/]")
        step("[bold]writing")
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buffer.getvalue())  # the terminal's codes
    assert "[/] reading [red]x[/]…" in out and "[bold]writing: " in out


def test_verbose_timings_of_a_command(run) -> None:
    err = run("dupes", FILE, "--verbose").stderr + run("merge", FILE, "-o", "o.csv", "--dry-run", "--verbose").stderr
    assert "reading: " in err and "planning: " in err


# ----------------------------------------------------------------------------- renderers alone
def test_renderers_are_literal_on_a_console_that_parses_markup(tmp_path: Path) -> None:
    """The tables hold Text, not markup strings: printed on any console they show the values."""
    from leadtool.match.groups import find_groups
    from leadtool.match.table import duplicate_table
    from leadtool.merge import ordered_members, plan_merge
    from leadtool.render.tables import dupes_table, inspect_tables, merge_preview
    from leadtool.summary import summarize

    path = tmp_path / FILE
    path.write_text(EXPORT, encoding="utf-8")
    records = load([str(path)])
    found = find_groups(records)
    buffer = io.StringIO()
    console = Console(file=buffer, width=250)  # markup and emoji on
    console.print(dupes_table(duplicate_table(records, found, ordered_members(records, found))))
    for table in [*inspect_tables(summarize(records)), *merge_preview(plan_merge(records, found), records)]:
        console.print(table)
    out = flat(buffer.getvalue())
    for needle in ("[/] boom", "[bold]x[/bold]", "[red]h[/]", "[link=x]v :smile:", "keep [/]1, merge [red]2[/]"):
        assert needle in out, needle


def test_cells_escape_control_characters_and_cut_long_values() -> None:
    assert short("a\r\nb\nc\rd") == "a⏎b⏎c⏎d"
    assert short("\x1b[31mred\x07") == "\\x1b[31mred\\x07"
    assert short("x" * 50, 10) == "x" * 9 + "…"
    assert cell("[red]x[/]").plain == "[red]x[/]" and literal(None).plain == ""
