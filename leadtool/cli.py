"""The `leadtool` command: a thin typer layer over the library. Each command loads, calls
library functions and renders what they return; errors become one line and exit code 2."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import select
import shutil
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, Any

import polars as pl
import typer
from typer.main import get_command_name

from . import __version__, signals
from .audit.events import default_audit_path
from .audit.read import read_audit
from .audit.undo import check_output
from .audit.undo import undo as undo_log
from .check import RULES, check_records, parse_rules
from .config import Config, load_config
from .convert import ConvertOptions, check_options, plan_convert
from .customers import read_customers
from .errors import LeadtoolError, UsageError
from .fields import check_mapped_headers, parse_map_options
from .io import atomic_output, load, refuse_overwrite, write
from .io.digest import input_digest
from .io.files import remove_leftovers
from .io.footers import footer_warning
from .io.nogc import no_gc
from .match.dates import DateOptions
from .match.groups import find_groups, parse_by
from .match.manual import parse_group_options, read_groups_file
from .match.table import duplicate_table
from .match.table import stats as dupes_stats
from .merge import ordered_members, plan_merge
from .options import comma_list, parse_count
from .recognition import PresetChoice
from .records import ID, Records
from .render.check import FORMATS as CHECK_FORMATS
from .render.check import print_github, print_text
from .render.console import (
    discard,
    err_console,
    make_console,
    open_standard_streams,
    print_json,
    quiet_broken_pipes,
    reader_may_leave,
)
from .render.convert import convert_preview, convert_summary
from .render.dupes import csv_bytes as dupes_csv
from .render.dupes import json_bytes as dupes_json
from .render.progress import steps
from .render.tables import dupes_table, inspect_tables, merge_preview, merge_summary
from .render.text import error, line, literal, note, warning
from .runs import write_convert, write_merge
from .summary import summarize

if TYPE_CHECKING:  # the fuzzy engine (and rapidfuzz) is imported by the runs that use it only
    from .match.fuzzy_groups import FuzzyOptions

APP_SETTINGS: dict[str, Any] = dict(
    name="leadtool",
    help="Clean CRM lead and opportunity exports: inspect, find and merge duplicates, "
    "convert leads into opportunities, validate for CI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app = typer.Typer(**APP_SETTINGS)

# ----------------------------------------------------------------------------- shared options
Files = Annotated[list[str], typer.Argument(help="Export files (CSV, TSV, JSON, JSON Lines, Excel); - for stdin.",
                                            show_default=False)]
ConfigOpt = Annotated[str | None, typer.Option("--config", help="Config file (default: ./leadtool.toml when present).")]
MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", help="FIELD=HEADER: read HEADER as the Odoo field FIELD (repeatable)."),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option("--encoding", help="Input encoding (default: UTF-8, cp1252 detected)."),
]
DelimiterOpt = Annotated[
    str | None,
    typer.Option("--delimiter", help="CSV delimiter (default: sniffed among , ; tab |)."),
]
SheetOpt = Annotated[
    str | None,
    typer.Option("--sheet", help="The sheet read from Excel workbooks (default: the first)."),
]
OppsOpt = Annotated[
    list[str] | None,
    typer.Option("--opportunities", help="A file without a type column whose records are opportunities (repeatable)."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="More detail; tracebacks for internal errors.")]
NoProgressOpt = Annotated[bool, typer.Option("--no-progress", help="No progress bars.")]
PresetOpt = Annotated[str | None, typer.Option(
    "--preset", help="NAME|FILE|odoo: read every file as this CRM's export (default: detected from the headers).")]
DateOrderOpt = Annotated[str | None, typer.Option(
    "--date-order", help="dmy or mdy: day/month order of dates like 04/05/2023 (default: inferred per file).")]
AllowBadDatesOpt = Annotated[bool, typer.Option(
    "--allow-bad-dates", help="Records whose create_date cannot be read sort last instead of stopping the run.")]


class Context:
    """What every command shares: the config and how to load files."""

    def __init__(self, config: str | None, maps: list[str] | None, encoding: str | None,
                 delimiter: str | None, opportunities: list[str] | None = None,
                 quiet: bool = False, verbose: bool = False, no_progress: bool = False,
                 preset: str | None = None, date_order: str | None = None, allow_bad_dates: bool = False,
                 sheet: str | None = None) -> None:
        self.config: Config = load_config(config)
        self.options_map = parse_map_options(maps or [])
        self.mapping = {**self.config.map, **self.options_map}
        self.preset = PresetChoice.parse(preset)
        self.dates = DateOptions(date_order, allow_bad_dates)
        self.encoding = encoding
        if delimiter == "\\t" or (delimiter or "").lower() == "tab":
            delimiter = "\t"
        self.delimiter = delimiter
        self.sheet = sheet
        self.opportunities = opportunities or []
        self.quiet = quiet
        self.verbose = verbose
        self.progress = not no_progress and not quiet and sys.stderr.isatty()

    def load(self, files: list[str]) -> Records:
        """The files, read; a --map or [map] header that none of them has is an error (a
        mapping that names nothing would otherwise leave its field silently empty)."""
        records = load(files, encoding=self.encoding, delimiter=self.delimiter,
                       mapping=self.mapping, opportunities=self.opportunities, preset=self.preset,
                       sheet=self.sheet)
        check_mapped_headers(self.mapping, records.sources, options=self.options_map,
                             config_path=self.config.path)
        for source in records.sources:
            if source.footer:
                say(warning(literal(footer_warning(source.name, source.footer, source.footer_line))))
        return records


def say(text: Any) -> None:
    """One message on stderr; whatever the text, printing it never fails."""
    try:
        err_console().print(text)
    except Exception:  # noqa: BLE001 (a stream that cannot take it: the exit code still tells)
        with contextlib.suppress(Exception):
            os.write(2, (ascii(str(text)) + "\n").encode("ascii"))


def _internal(exc: BaseException, verbose: bool = False) -> Any:
    """`internal error: TYPE: MESSAGE` on one line, whatever the message holds (the same exit
    code with --verbose, which prints the traceback before it)."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 (an exception whose text itself fails)
        message = "(no message)"
    text = " ".join(f"{type(exc).__name__}: {message}".split())
    return line(("internal error:", "bold red"), " ", literal(text),
                "" if verbose else " (run with --verbose for the traceback)")


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The one place errors are caught: one line on stderr, exit 2; Ctrl-C exits 130. A bug is
    exit 2 too, its traceback shown with --verbose. A library's warnings are not the user's
    business (--verbose shows them)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                if not kwargs.get("verbose"):
                    warnings.simplefilter("ignore")
                return fn(*args, **kwargs)
        except LeadtoolError as exc:
            say(error(exc.one_line()))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            say("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
            discard()
            raise typer.Exit(0) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except (Exception, pl.exceptions.PanicException) as exc:  # a bug or a panic: one line
            verbose = bool(kwargs.get("verbose"))
            if verbose:
                with contextlib.suppress(Exception):
                    traceback.print_exc()
            say(_internal(exc, verbose))
            raise typer.Exit(2) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leadtool {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """leadtool: clean CRM lead and opportunity exports."""


# ----------------------------------------------------------------------------- inspect
@app.command()
@guarded
def inspect(
    files: Files,
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    fuzzy: Annotated[bool, typer.Option("--fuzzy", help="Also count fuzzy suggestions (slower).")] = False,
    fuzzy_threshold: Annotated[float | None, typer.Option(
        "--fuzzy-threshold", help="Lowest score of a fuzzy suggestion, 0-100 (default 96, or [fuzzy] threshold).")
    ] = None,
    config: ConfigOpt = None, map: MapOpt = None, encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None, sheet: SheetOpt = None, opportunities: OppsOpt = None, preset: PresetOpt = None,
    date_order: DateOrderOpt = None,
    quiet: QuietOpt = False, verbose: VerboseOpt = False, no_progress: NoProgressOpt = False,
) -> None:
    """What was recognised: format, preset or language, field mapping, leads and opportunities, emails, duplicates."""
    if format not in ("text", "json"):
        raise UsageError(f"--format {format!r}: expected text or json")
    ctx = Context(config, map, encoding, delimiter, opportunities, quiet, verbose, no_progress, preset, date_order,
                  sheet=sheet)
    suggest = _fuzzy_wanted(ctx, fuzzy, fuzzy_threshold)
    records = ctx.load(files)
    summaries = summarize(records, ctx.config, ctx.dates)
    if suggest is not None:
        from .match.fuzzy_groups import fuzzy_counts

        counts = fuzzy_counts(records, suggest, ctx.config, functools.partial(_announce, ctx))
        for summary, found in zip(summaries, counts, strict=True):
            summary.extra.update(found)
    if format == "json":
        print_json([s.as_dict() for s in summaries])
        return
    console = make_console(quiet=quiet)
    for table in inspect_tables(summaries):
        console.print(table)
        console.print()


# ----------------------------------------------------------------------------- grouping options
ByOpt = Annotated[
    list[str] | None,
    typer.Option("--by", help="Match keys: email, customer, phone (comma list or repeated)."),
]
IncludeClosedOpt = Annotated[bool, typer.Option("--include-closed", help="Also group archived and won records.")]
EmailKeyOpt = Annotated[
    str,
    typer.Option("--email-key", help="first (Odoo) or all: match on any address of the value."),
]
CanonicalOpt = Annotated[bool, typer.Option("--canonical-email", help="Strip +tags and gmail dots before matching.")]
RegionOpt = Annotated[str | None, typer.Option("--default-region", help="Region for phones without country, e.g. BE.")]
GroupOpt = Annotated[
    list[str] | None,
    typer.Option("--group", help="ID,ID[,ID...]: records to merge together (repeatable)."),
]
GroupsFileOpt = Annotated[
    str | None,
    typer.Option("--groups", help="CSV with columns group,id (as dupes --format csv writes)."),
]
MaxGroupOpt = Annotated[int, typer.Option("--max-group", help="Larger groups are suspicious: shown, not merged.")]
AllowLargeOpt = Annotated[bool, typer.Option("--allow-large-groups", help="Merge groups larger than --max-group too.")]
AllowConflictsOpt = Annotated[bool, typer.Option(
    "--allow-conflicts", help="Merge groups whose members look like different people too.")]
HeadOpt = Annotated[str, typer.Option("--head", help="oldest (record created first) or odoo (Odoo 17 ranking).")]
FuzzyOpt = Annotated[bool, typer.Option("--fuzzy", help="Also suggest near-duplicates (fuzzy matching, scored 0-100).")]
FuzzyThresholdOpt = Annotated[float | None, typer.Option(
    "--fuzzy-threshold", help="Lowest score of a fuzzy suggestion, 0-100 (default 96, or [fuzzy] threshold).")]
FuzzyMergeOpt = Annotated[float | None, typer.Option(
    "--fuzzy-merge", metavar="SCORE", help="Also merge the fuzzy suggestions scored SCORE or more (0-100).")]
AuditOpt = Annotated[str | None, typer.Option("--audit", help="Audit log (default: OUTPUT.audit.jsonl).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show the preview; write nothing.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def asks(yes: bool) -> bool:
    """Whether `confirm` asks: only when a person is at the terminal (stdin and stdout) and
    --yes was not given."""
    return not yes and sys.stdin.isatty() and sys.stdout.isatty()


def confirm(output: str, audit: str | None, yes: bool) -> None:
    """Asked only when `asks`. Enter or y writes; n or the end of input (Ctrl-D) declines:
    nothing written, exit 1; Ctrl-C interrupts at once (exit 130)."""
    if not asks(yes):
        return
    question = line("Write ", literal(output), " and ", literal(audit), "? [Y/n]: ")
    while True:
        answer = _answer(question)
        if answer is None or answer in ("n", "no"):
            say("declined: nothing written")
            raise typer.Exit(1)
        if answer in ("", "y", "yes"):
            return
        say(line("please answer y or n, not ", literal(repr(answer))))


def _answer(question: Any) -> str | None:
    """A line from the terminal, lowercased; None at the end of input. Waits in short slices:
    Ctrl-C's signal may land on one of polars' threads, and a read blocked in the main thread
    would then not see it until Enter."""
    err = err_console()
    err.print(question, end="")
    fd = sys.stdin.fileno()
    try:
        while not select.select([fd], [], [], 0.05)[0]:
            pass
        data = os.read(fd, 4096)
    except KeyboardInterrupt:
        err.print()
        raise
    if not data:
        err.print()
        return None
    return data.decode(sys.stdin.encoding or "utf-8", "replace").strip().lower()


def audit_target(output: str, audit: str | None, dry_run: bool) -> str | None:
    """The audit log's path: --audit, else beside the output; required when the output is stdout."""
    if audit == "":
        raise UsageError("--audit '': an empty path; give a file name")
    if output == "-" and not audit and not dry_run:
        raise UsageError("--audit FILE is required with -o - (the audit log cannot go to stdout)")
    return audit or (default_audit_path(output) if output != "-" else None)


def _inputs(files: list[str], opportunities: list[str] | None, config: str | None, *,
            groups: str | None = None, customers: str | None = None) -> list[tuple[str, str | None]]:
    """Every file a command reads, with the option that names it (for `refuse_overwrite`)."""
    named = [("FILE", f) for f in files] + [("--opportunities", f) for f in opportunities or []]
    return named + [(opt, p) for opt, p in (("--groups", groups), ("--customers", customers), ("--config", config))
                    if p is not None]


def _groups(ctx: Context, records: Records, by: list[str] | None, include_closed: bool,
            email_key: str, canonical: bool, region: str | None, group: list[str] | None,
            groups_file: str | None, max_group: int, fuzzy: FuzzyOptions | None = None):
    manual = parse_group_options(group or [])
    if groups_file:
        manual += read_groups_file(groups_file)
    if fuzzy is not None:
        from .match.fuzzy_groups import find_fuzzy_groups

        found = find_fuzzy_groups(records, fuzzy, by=parse_by(by or []), include_closed=include_closed,
                                  email_key=email_key, canonical=canonical, default_region=region,
                                  manual=manual, max_group=max_group, config=ctx.config,
                                  on_candidates=functools.partial(_announce, ctx))
    else:
        found = find_groups(records, by=parse_by(by or []), include_closed=include_closed,
                            email_key=email_key, canonical=canonical, default_region=region,
                            manual=manual, max_group=max_group, config=ctx.config)
    large = found.info.filter(pl.col("large"))
    if large.height:
        say(warning(
            f"{large.height} group(s) larger than --max-group {max_group} "
            f"(group {', '.join(str(g) for g in large['group'].head(5).to_list())}"
            f"{'...' if large.height > 5 else ''}): shown, not merged without --allow-large-groups"))
    conflicts = found.info.filter(pl.col("conflict").is_not_null())
    if conflicts.height:
        first = conflicts.row(0, named=True)
        say(warning(f"{conflicts.height} group(s) of clearly different people (group {first['group']}: ",
                    literal(first["conflict"]), f"{'; ...' if conflicts.height > 1 else ''}): shown, not merged "
                    "without --allow-conflicts"))
    return found


def _warn_bad_dates(ids: pl.Series) -> None:
    """--allow-bad-dates: the grouped records that sort last for want of a readable create_date."""
    if ids.len():
        say(warning(f"{ids.len()} record(s) in duplicate groups have a create_date that cannot be read (id ",
                    literal(ids[0]), f"{', ...' if ids.len() > 1 else ''}): they sort last (--allow-bad-dates)"))
def _fuzzy_wanted(ctx: Context, fuzzy: bool, threshold: float | None) -> FuzzyOptions | None:
    """The fuzzy options of a run when --fuzzy is given (--fuzzy-threshold alone is an error)."""
    if threshold is not None and not fuzzy:
        raise UsageError("--fuzzy-threshold: give --fuzzy too")
    if not fuzzy:
        return None
    from .match.fuzzy_groups import fuzzy_options

    return fuzzy_options(ctx.config, threshold)


def _announce(ctx: Context, count: int, cut: list) -> None:
    """Before fuzzy matching compares its candidate pairs (the long part): how many, and the
    blocks too large to compare fully (all of them with --verbose)."""
    if not ctx.quiet:
        say(note(f"fuzzy matching: comparing {count:,} candidate pairs"))
    from .match.fuzzy import cut_warnings

    lines = cut_warnings(cut, None if ctx.verbose else 10)
    if len(lines) > 10 and not ctx.verbose:
        lines[-1] += " (--verbose names them all)"
    for text in lines:
        say(warning(literal(text)))


# ----------------------------------------------------------------------------- dupes
@app.command()
@guarded
def dupes(
    files: Files,
    format: Annotated[str, typer.Option("--format", help="text, json or csv")] = "text",
    limit: Annotated[str, typer.Option("--limit", help="Groups shown in the table (a number or all).")] = "50",
    by: ByOpt = None, include_closed: IncludeClosedOpt = False, email_key: EmailKeyOpt = "first",
    canonical_email: CanonicalOpt = False, default_region: RegionOpt = None,
    group: GroupOpt = None, groups: GroupsFileOpt = None, max_group: MaxGroupOpt = 50,
    head: HeadOpt = "oldest", date_order: DateOrderOpt = None, allow_bad_dates: AllowBadDatesOpt = False,
    fuzzy: FuzzyOpt = False, fuzzy_threshold: FuzzyThresholdOpt = None,
    config: ConfigOpt = None, map: MapOpt = None, encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None, sheet: SheetOpt = None, opportunities: OppsOpt = None, preset: PresetOpt = None,
    quiet: QuietOpt = False, verbose: VerboseOpt = False, no_progress: NoProgressOpt = False,
    memory_limit: Annotated[str | None, typer.Option("--memory-limit", help="SIZE (4G, 512M): read CSV files in "
                                                     "passes within this memory (default: half the machine's, "
                                                     "used when the input is too large for it).")] = None,
) -> None:
    """The duplicate groups: a table, --format json, or --format csv (reusable with merge --groups)."""
    if format not in ("text", "json", "csv"):
        raise UsageError(f"--format {format!r}: expected text, json or csv")
    n = parse_count(limit, "--limit")
    ctx = Context(config, map, encoding, delimiter, opportunities, quiet, verbose, no_progress, preset,
                  date_order, allow_bad_dates, sheet=sheet)
    suggest = _fuzzy_wanted(ctx, fuzzy, fuzzy_threshold)
    limit_bytes = _bounded_limit(ctx, files, memory_limit, manual=bool(group or groups), fuzzy=suggest is not None,
                                 done="read")
    if limit_bytes is not None and _dupes_bounded(
            ctx, files, format, n, limit_bytes, head=head,
            group_options=_bounded_group_options(by, include_closed, email_key, canonical_email, default_region,
                                                 max_group)):
        return
    records = ctx.load(files)
    found = _groups(ctx, records, by, include_closed, email_key, canonical_email, default_region,
                    group, groups, max_group, fuzzy=suggest)
    members = ordered_members(records, found, head=head, config=ctx.config, dates=ctx.dates)
    _warn_bad_dates(members.filter(pl.col("bad_date")).get_column(ID))
    table = duplicate_table(records, found, members)
    if suggest is not None:
        from .match.fuzzy_groups import fuzzy_table

        table = fuzzy_table(table, found, members)
    if format == "json":
        with atomic_output("-") as out:  # bytes as they are: no str round trip
            out.write(dupes_json(records, found, table) + b"\n")
    elif format == "csv":
        with atomic_output("-") as out:
            out.write(dupes_csv(table))
    else:
        console = make_console(quiet=quiet)
        console.print(dupes_table(table, n))
        joined = ""
        if suggest is not None:
            from .match.fuzzy_groups import fuzzy_stats

            joined = f", {fuzzy_stats(found)['fuzzy_groups']:,} of them joined by fuzzy suggestions"
        console.print(_dupes_count(dupes_stats(records, found), n, joined))


# ----------------------------------------------------------------------------- merge
@app.command()
@guarded
def merge(
    files: Files,
    output: Annotated[str, typer.Option("--output", "-o", help="Merged file (- for stdout).")],
    audit: AuditOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
    preview: Annotated[str, typer.Option("--preview", help="Groups shown in the preview (a number or all).")] = "20",
    by: ByOpt = None, include_closed: IncludeClosedOpt = False, email_key: EmailKeyOpt = "first",
    canonical_email: CanonicalOpt = False, default_region: RegionOpt = None,
    group: GroupOpt = None, groups: GroupsFileOpt = None, max_group: MaxGroupOpt = 50,
    allow_large_groups: AllowLargeOpt = False, allow_conflicts: AllowConflictsOpt = False,
    head: HeadOpt = "oldest", date_order: DateOrderOpt = None, allow_bad_dates: AllowBadDatesOpt = False,
    fuzzy_merge: FuzzyMergeOpt = None,
    config: ConfigOpt = None, map: MapOpt = None, encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None, sheet: SheetOpt = None, opportunities: OppsOpt = None, preset: PresetOpt = None,
    quiet: QuietOpt = False, verbose: VerboseOpt = False, no_progress: NoProgressOpt = False,
    engine: Annotated[str, typer.Option("--engine", help="local, or spark (output and audit log as folders of "
                                        "part files).")] = "local",
    spark_master: Annotated[str | None, typer.Option("--spark-master", help="Spark master URL (default: "
                                                     "SPARK_MASTER or spark-defaults, else local mode).")] = None,
    memory_limit: Annotated[str | None, typer.Option("--memory-limit", help="SIZE (4G, 512M): merge CSV files in "
                                                     "passes within this memory (default: half the machine's, "
                                                     "used when the input is too large for it).")] = None,
) -> None:
    """Preview the merges, then merge each group into its head and write OUTPUT and the audit log."""
    if engine != "local":
        given = {k: v for k, v in locals().items() if k != "engine"}  # every option: Spark refuses those it lacks
        _local_engine_only([*files, *(opportunities or [])])
        from .spark import run_merge_command
        return run_merge_command(engine, **given)
    audit = audit_target(output, audit, dry_run)
    n = parse_count(preview, "--preview")
    refuse_overwrite([("-o", output), ("--audit", audit)],
                     _inputs(files, opportunities, config, groups=groups))
    ctx = Context(config, map, encoding, delimiter, opportunities, quiet, verbose, no_progress, preset,
                  date_order, allow_bad_dates, sheet=sheet)
    suggest = None
    if fuzzy_merge is not None:
        from .match.fuzzy_groups import fuzzy_options

        suggest = fuzzy_options(ctx.config, merge=fuzzy_merge)
    console = make_console(stderr=output == "-", quiet=quiet)
    if _merge_bounded(ctx, console, files, output, audit, dry_run, yes, n, memory_limit, by=by,
                      include_closed=include_closed, email_key=email_key, canonical_email=canonical_email,
                      default_region=default_region, manual=bool(group or groups), max_group=max_group,
                      allow_large=allow_large_groups, allow_conflicts=allow_conflicts, head=head,
                      fuzzy=fuzzy_merge is not None):
        return
    with steps(ctx.progress, ctx.verbose) as step:
        step("reading")
        records = ctx.load(files)
        step("grouping")
        found = _groups(ctx, records, by, include_closed, email_key, canonical_email,
                        default_region, group, groups, max_group, fuzzy=suggest)
        step("planning")
        plan = plan_merge(records, found, head=head, config=ctx.config, allow_large=allow_large_groups,
                          allow_conflicts=allow_conflicts, dates=ctx.dates)
    _warn_bad_dates(plan.groups.get_column("bad_dates").explode().drop_nulls())
    summary = {**plan.summary()}
    summary["records_kept"] = len(records) - summary["records_merged_away"]
    for table in merge_preview(plan, records, n) if not quiet else []:
        console.print(table)
    console.print(merge_summary(summary, plan.groups.height, n))
    if dry_run:
        console.print("dry run: nothing written")
        return
    confirm(output, audit, yes)
    with steps(ctx.progress, ctx.verbose) as step:
        step("merging, writing the audit log and the output")
        write_merge(records, plan, output, audit)
    if not quiet:
        say(line("wrote ", literal(output), f" ({summary['records_kept']:,} records) and ", literal(audit)))


def _local_engine_only(paths: list[str]) -> None:
    """--engine spark reads CSV files: a local workbook is refused (read by the local engine
    only), another binary file named, before Spark starts."""
    from .io.decode import map_file, read_bytes
    from .io.xlsx import refuse_for_spark

    for path in paths:
        local = path[len("file:"):] if path.startswith("file:") else path
        if "://" in local or local == "-" or not os.path.isfile(local):
            continue
        refuse_for_spark(map_file(local) or read_bytes(local), path)


def _bounded_limit(ctx: Context, files: list[str], memory_limit: str | None, *, manual: bool, fuzzy: bool,
                   done: str = "merged") -> int | None:
    """The memory limit of a run made in passes (leadtool.bounded): --memory-limit, or half the
    machine's memory when the input is too large for it; None for a run made in memory."""
    from . import bounded

    limit = bounded.parse_size(memory_limit) if memory_limit else bounded.default_memory_limit()
    if not memory_limit and not bounded.needs_bounded([*files, *ctx.opportunities], limit):
        return None
    if manual or fuzzy:
        say(note(f"--memory-limit: manual and fuzzy groups are {done} in memory"))
        return None
    return limit


def _pass_progress(step: Callable[[str], None]) -> Callable[[str, int, int], None]:
    """A bounded run's progress (`pass 1/3: reading the keys (3/20)`) as steps."""
    return lambda name, done, total: step(f"{name} ({done:,}/{total:,})" if total > 1 else name)


def _in_memory_after_all(exc: Any, done: str) -> None:
    """The note of a run that the passes leave to memory (`bounded.NotBounded`)."""
    from . import bounded

    say(note(f"--memory-limit: {done} in memory ({exc}{bounded.why(exc)})"))


def _bounded_group_options(by: list[str] | None, include_closed: bool, email_key: str, canonical: bool,
                           region: str | None, max_group: int) -> Any:
    from . import bounded

    return bounded.GroupOptions(by=parse_by(by or []), include_closed=include_closed, email_key=email_key,
                                canonical=canonical, default_region=region, max_group=max_group)


def _dupes_bounded(ctx: Context, files: list[str], format: str, shown: int | None, limit: int, *, head: str,
                   group_options: Any) -> bool:
    """`dupes` in passes (leadtool.bounded.dupes): the JSON or CSV document is made a partition
    at a time in the temporary folder, then copied to stdout; the text table keeps only the
    groups it shows. False when the run is to be made in memory (a note says why)."""
    from . import bounded
    from .bounded.dupes import BoundedDupes

    with steps(ctx.progress, ctx.verbose) as step:
        try:
            run = BoundedDupes(files, memory_limit=limit, encoding=ctx.encoding, delimiter=ctx.delimiter,
                               mapping=ctx.mapping, opportunities=ctx.opportunities, preset=ctx.preset,
                               config=ctx.config, group_options=group_options, progress=_pass_progress(step),
                               head=head, dates=ctx.dates)
        except bounded.NotBounded as exc:
            _in_memory_after_all(exc, "read")
            return False
        with run:
            try:
                counts = run.stats()
            except bounded.NotBounded as exc:
                _in_memory_after_all(exc, "read")
                return False
            document, table = os.path.join(run.folder, "dupes.out"), None
            if format == "text":
                table = run.shown_table(shown)
            else:
                with open(document, "wb") as out:
                    run.write_document(format, out)
            _warn_held(run.groups_info(), group_options.max_group)
            _warn_bad_dates(pl.concat(run.bad_dates) if run.bad_dates else pl.Series([], dtype=pl.String))
            if table is None:  # the whole document, once it is whole
                with atomic_output("-") as stdout, open(document, "rb") as out:
                    shutil.copyfileobj(out, stdout, 1 << 20)
                return True
    console = make_console(quiet=ctx.quiet)
    console.print(dupes_table(table, shown))
    console.print(_dupes_count(counts, shown))
    return True


def _dupes_count(counts: dict[str, int], shown: int | None, joined: str = "") -> str:
    """The line under `dupes`' table."""
    more = (f" (first {shown} shown; --limit all shows every group)"
            if shown is not None and counts["groups"] > shown else "")
    return (f"{counts['groups']:,} duplicate groups holding {counts['records_in_groups']:,} of "
            f"{counts['records']:,} records{joined}{more}")


def _merge_bounded(ctx: Context, console: Any, files: list[str], output: str, audit: str, dry_run: bool,
                   yes: bool, preview: int | None, memory_limit: str | None, *, manual: bool, fuzzy: bool,
                   **options: Any) -> bool:
    """`merge` in passes (leadtool.bounded) when --memory-limit is given or the input is too
    large for the default; False when the run is to be made in memory (a note says why)."""
    from . import bounded

    limit = _bounded_limit(ctx, files, memory_limit, manual=manual, fuzzy=fuzzy)
    if limit is None:
        return False
    group = _bounded_group_options(options["by"], options["include_closed"], options["email_key"],
                                   options["canonical_email"], options["default_region"], options["max_group"])
    plan = bounded.PlanOptions(head=options["head"], config=ctx.config, allow_large=options["allow_large"],
                               allow_conflicts=options["allow_conflicts"], dates=ctx.dates)
    with steps(ctx.progress, ctx.verbose) as step:
        try:
            run = bounded.BoundedMerge(files, memory_limit=limit, output=output, encoding=ctx.encoding,
                                       delimiter=ctx.delimiter, mapping=ctx.mapping,
                                       opportunities=ctx.opportunities, preset=ctx.preset, config=ctx.config,
                                       group_options=group, plan_options=plan, progress=_pass_progress(step),
                                       at=None if asks(yes) or dry_run else bounded.now_utc())
        except bounded.NotBounded as exc:
            _in_memory_after_all(exc, "merged")
            return False
        with run:
            try:
                run.group()
            except bounded.NotBounded as exc:
                _in_memory_after_all(exc, "merged")
                return False
            planned = run.plan(preview)
            _warn_held(planned.groups, options["max_group"])
            _warn_bad_dates(planned.groups.get_column("bad_dates").explode().drop_nulls()
                            if planned.groups.height else pl.Series([], dtype=pl.String))
            summary = run.summary()
            shown = 0
            for plan_part, records in planned.preview if not ctx.quiet else []:
                left = None if preview is None else preview - shown
                if left is not None and left <= 0:
                    break
                for table in merge_preview(plan_part, records, left):
                    console.print(table)
                shown += plan_part.groups.height
            console.print(merge_summary(summary, planned.groups.height, preview))
            if dry_run:
                console.print("dry run: nothing written")
                return True
            step("waiting")
            confirm(output, audit, yes)
            run.write(output, audit)
    if not ctx.quiet:
        say(line("wrote ", literal(output), f" ({summary['records_kept']:,} records) and ", literal(audit)))
    return True


def _warn_held(info: pl.DataFrame, max_group: int) -> None:
    """The warnings of `_groups` for groups held back (large, different people)."""
    if not info.height:
        return
    large = info.filter(pl.col("large"))
    if large.height:
        say(warning(
            f"{large.height} group(s) larger than --max-group {max_group} "
            f"(group {', '.join(str(g) for g in large['group'].head(5).to_list())}"
            f"{'...' if large.height > 5 else ''}): shown, not merged without --allow-large-groups"))
    conflicts = info.filter(pl.col("conflict").is_not_null())
    if conflicts.height:
        first = conflicts.row(0, named=True)
        say(warning(f"{conflicts.height} group(s) of clearly different people (group {first['group']}: ",
                    literal(first["conflict"]), f"{'; ...' if conflicts.height > 1 else ''}): shown, not merged "
                    "without --allow-conflicts"))


# ----------------------------------------------------------------------------- undo
@app.command()
@guarded
def undo(
    audit: Annotated[str, typer.Argument(help="The audit log of a merge or convert run.")],
    input: Annotated[str, typer.Option("--input", help="The file that run wrote.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Restored file (- for stdout).")],
    force: Annotated[bool, typer.Option(
        "--force", help="Undo what can be undone even when --input is not the file the run wrote.")] = False,
    config: ConfigOpt = None, map: MapOpt = None, encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None, sheet: SheetOpt = None, preset: PresetOpt = None,
    quiet: QuietOpt = False, verbose: VerboseOpt = False, no_progress: NoProgressOpt = False,
) -> None:
    """Undo the merges and conversions recorded in AUDIT: every record back, in original order."""
    refuse_overwrite([("-o", output)], [("--input", input), ("AUDIT", audit), *_inputs([], None, config)])
    ctx = Context(config, map, encoding, delimiter, None, quiet, verbose, no_progress, preset, sheet=sheet)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the input's digest beside the log's parsing
        digest = pool.submit(input_digest, input)
        with no_gc():
            log = read_audit(audit)
            gc.freeze()  # the parsed log is millions of objects without cycles: no collection need scan them
        mismatch = check_output(log, input, digest.result(), force)
    result = undo_log(log, ctx.load([input]))
    write(result.records, output)
    if mismatch:
        say(warning(literal(mismatch)))
    for problem in result.problems:
        say(warning(literal(problem)))
    if result.created_customers and not quiet:
        say(line("customers created by that run (remove them from your customers file): ",
                 literal(", ".join(result.created_customers))))
    if not quiet:
        say(line(f"restored {result.restored:,} records and {result.reverted_cells:,} changed "
                 "records/cells; wrote ", literal(output)))


# ----------------------------------------------------------------------------- convert
@app.command()
@guarded
def convert(
    files: Files,
    output: Annotated[str, typer.Option("--output", "-o", help="Converted file (- for stdout).")],
    ids: Annotated[list[str] | None, typer.Option("--ids", help="ID,ID,...: leads to convert (repeatable).")] = None,
    all_leads: Annotated[bool, typer.Option("--all", help="Convert every open lead (not archived, not won).")] = False,
    salesperson: Annotated[
        list[str] | None,
        typer.Option("--salesperson", help="Salesperson to assign (repeatable: round-robin in input order)."),
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Sales team to set on the converted leads.")] = None,
    force_assignment: Annotated[
        bool, typer.Option("--force-assignment", help="Also reassign leads that already have a salesperson."),
    ] = False,
    customer: Annotated[str, typer.Option("--customer", help="auto, create, link or none.")] = "auto",
    customers: Annotated[str | None, typer.Option("--customers", help="A res.partner export to link to.")] = None,
    customers_out: Annotated[
        str | None, typer.Option("--customers-out", help="Write the existing and new customers here."),
    ] = None,
    dedupe: Annotated[
        bool, typer.Option("--dedupe/--no-dedupe", help="Merge open records sharing the email or customer first."),
    ] = True,
    now: Annotated[str | None, typer.Option("--now", help="Run time, 'YYYY-MM-DD HH:MM:SS' UTC.")] = None,
    audit: AuditOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
    preview: Annotated[str, typer.Option("--preview", help="Leads shown in the preview (a number or all).")] = "20",
    max_group: MaxGroupOpt = 50, allow_conflicts: AllowConflictsOpt = False, head: HeadOpt = "oldest",
    date_order: DateOrderOpt = None, allow_bad_dates: AllowBadDatesOpt = False,
    config: ConfigOpt = None, map: MapOpt = None, encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None, sheet: SheetOpt = None, opportunities: OppsOpt = None, preset: PresetOpt = None,
    quiet: QuietOpt = False, verbose: VerboseOpt = False, no_progress: NoProgressOpt = False,
) -> None:
    """Convert leads into opportunities (duplicates merged first); write OUTPUT, customers and audit log."""
    audit = audit_target(output, audit, dry_run)
    n = parse_count(preview, "--preview")
    refuse_overwrite([("-o", output), ("--audit", audit), ("--customers-out", customers_out)],
                     _inputs(files, opportunities, config, customers=customers))
    ctx = Context(config, map, encoding, delimiter, opportunities, quiet, verbose, no_progress, preset,
                  date_order, allow_bad_dates, sheet=sheet)
    options = ConvertOptions(ids=comma_list(ids or []), all=all_leads, salespersons=list(salesperson or []),
                             team=team, force_assignment=force_assignment, customer=customer,
                             dedupe=dedupe, now=now, max_group=max_group, head=head,
                             allow_conflicts=allow_conflicts, dates=ctx.dates)
    check_options(options, ctx.config)
    console = make_console(stderr=output == "-", quiet=quiet)
    with steps(ctx.progress, ctx.verbose) as step:
        step("reading")
        records = ctx.load(files)
        known = read_customers(customers) if customers else None
        step("planning")
        plan = plan_convert(records, options, customers=known, config=ctx.config)
    console.print(convert_preview(plan, n))
    console.print(convert_summary(plan, n))
    if dry_run:
        console.print("dry run: nothing written")
        return
    if plan.customers.created and not customers_out and not quiet:
        say(note(f"{len(plan.customers.created):,} new customers are recorded in the audit log only; "
                 "give --customers-out FILE to write them"))
    confirm(output, audit, yes)
    with steps(ctx.progress, ctx.verbose) as step:
        step("converting, writing the audit log and the output")
        converted = write_convert(records, plan, output, audit, customers=known, customers_out=customers_out)
    if not quiet:
        say(line("wrote ", literal(output), f" ({len(converted):,} records)",
                 *((", ", literal(customers_out)) if customers_out else ()), " and ", literal(audit)))


# ----------------------------------------------------------------------------- check
@app.command()
@guarded
def check(
    files: Files,
    format: Annotated[str, typer.Option("--format", help="text, json or github (annotations + step summary)")] = "text",
    require: Annotated[list[str] | None, typer.Option(
        "--require", help="Fields or headers that must not be empty (comma list or repeated).")] = None,
    max_duplicates: Annotated[int | None, typer.Option(
        "--max-duplicates", help="Duplicate groups allowed before the check fails (default 0).")] = None,
    ignore: Annotated[list[str] | None, typer.Option(
        "--ignore", help=f"Rule not to check (repeatable): {', '.join(RULES)}.")] = None,
    limit: Annotated[str, typer.Option("--limit", help="Problems shown in the text table (a number or all).")] = "50",
    max_problems: Annotated[str, typer.Option(
        "--max-problems", help="Problems listed in the report (a number or all); counts stay complete.")] = "1000",
    by: ByOpt = None, include_closed: IncludeClosedOpt = False, email_key: EmailKeyOpt = "first",
    canonical_email: CanonicalOpt = False, default_region: RegionOpt = None,
    group: GroupOpt = None, groups: GroupsFileOpt = None, max_group: MaxGroupOpt = 50,
    date_order: DateOrderOpt = None,
    fuzzy: Annotated[bool, typer.Option(
        "--fuzzy", help="Also report fuzzy suggestions (warnings unless [check] fuzzy = \"fail\").")] = False,
    fuzzy_threshold: FuzzyThresholdOpt = None,
    config: ConfigOpt = None, map: MapOpt = None, encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None, sheet: SheetOpt = None, opportunities: OppsOpt = None, preset: PresetOpt = None,
    quiet: QuietOpt = False, verbose: VerboseOpt = False, no_progress: NoProgressOpt = False,
    memory_limit: Annotated[str | None, typer.Option("--memory-limit", help="SIZE (4G, 512M): check CSV files a "
                                                     "slice at a time within this memory (default: half the "
                                                     "machine's, used when the input is too large for it).")] = None,
) -> None:
    """Validate for CI: exit 0 when valid, 1 when problems were found, 2 when the check could not run."""
    if format not in CHECK_FORMATS:
        raise UsageError(f"--format {format!r}: expected {', '.join(CHECK_FORMATS)}")
    shown, listed = parse_count(limit, "--limit"), parse_count(max_problems, "--max-problems")
    ignored = parse_rules(ignore) if ignore is not None else None
    ctx = Context(config, map, encoding, delimiter, opportunities, quiet, verbose, no_progress, preset,
                  date_order, sheet=sheet)
    mode = ("fail" if ctx.config.check_fuzzy == "fail" else "warn") if fuzzy else None
    if fuzzy_threshold is not None and not fuzzy and ctx.config.check_fuzzy == "off":
        raise UsageError("--fuzzy-threshold: give --fuzzy too")
    manual = parse_group_options(group or []) + (read_groups_file(groups) if groups else [])
    options: dict[str, Any] = dict(
        require=comma_list(require) if require is not None else None, max_duplicates=max_duplicates, ignore=ignored,
        by=parse_by(by or []), include_closed=include_closed, email_key=email_key, canonical=canonical_email,
        default_region=default_region, manual=manual, max_group=max_group, max_problems=listed,
        date_order=ctx.dates.order, fuzzy=mode, fuzzy_threshold=fuzzy_threshold)
    limit_bytes = _bounded_limit(ctx, files, memory_limit, manual=bool(manual), done="checked",
                                 fuzzy=mode is not None or ctx.config.check_fuzzy != "off")
    report = _check_bounded(ctx, files, limit_bytes, options) if limit_bytes is not None else None
    if report is None:
        with steps(ctx.progress, ctx.verbose) as step:
            step("reading")
            records = ctx.load(files)
            step("checking")
            report = check_records(records, ctx.config, **options)
    with reader_may_leave():
        if format == "json":
            print_json(report.as_dict())
        elif format == "github":
            print_github(report)
        else:
            print_text(report, make_console(quiet=quiet), shown)
    if not report.valid:
        raise typer.Exit(1)


def _check_bounded(ctx: Context, files: list[str], limit: int, options: dict[str, Any]) -> Any:
    """`check` a slice at a time (leadtool.bounded.check): the same report; None when the check
    is to be made in memory (a note says why)."""
    from . import bounded
    from .bounded.check import check_files

    with steps(ctx.progress, ctx.verbose) as step:
        try:
            return check_files(files, memory_limit=limit, config=ctx.config, encoding=ctx.encoding,
                               delimiter=ctx.delimiter, mapping=ctx.mapping, opportunities=ctx.opportunities,
                               preset=ctx.preset, progress=_pass_progress(step), **options)
        except bounded.NotBounded as exc:
            _in_memory_after_all(exc, "checked")
            return None


# ----------------------------------------------------------------------------- entry point
def app_for(args: Sequence[str]) -> typer.Typer:
    """`app` with only the command being run: typer builds every command's options from its
    signature at each start, a sixth of the work for one command. Anything else (no command,
    `--help`, `--version`, a typo) gets the whole app and its usual messages."""
    chosen = [c for c in app.registered_commands
              if args and (c.name or get_command_name(c.callback.__name__ if c.callback else "")) == args[0]]
    if not chosen:
        return app
    one = typer.Typer(**APP_SETTINGS)
    one.registered_callback = app.registered_callback
    one.registered_commands = chosen
    return one


def run() -> None:
    """The `leadtool` command: `app`, then an exit without tearing down the heap. Freeing
    a million rows' worth of frames one by one takes a noticeable part of a run; every file is
    closed (and renamed into place) by then, so only the standard streams need flushing.
    numpy (imported to count quotes) gets one BLAS thread: leadtool does no linear algebra,
    and OpenBLAS's idle threads spin at start, on the cores polars uses."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    open_standard_streams()
    quiet_broken_pipes()
    code = 0
    try:
        signals.install()  # SIGTERM and SIGHUP end a run as Ctrl-C does, files cleaned up
        app_for(sys.argv[1:])()
    except KeyboardInterrupt:  # a signal outside the command (the app still being built): as inside
        say("interrupted")
        code = 130
    except BrokenPipeError:  # typer's own help or usage message to a reader that went away
        discard()
    except LeadtoolError as exc:  # the same, to a standard output that cannot be written
        say(error(exc.one_line()))
        code = exc.exit_code
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
    code = signals.exit_code(code)
    remove_leftovers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, LeadtoolError):  # a reader that went away: nothing to tell
            stream.flush()
    os._exit(code)
