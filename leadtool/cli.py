"""The `leadtool` command: a thin typer layer over the library. Each command loads, calls
library functions and renders what they return; errors become one line and exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from . import __version__
from .config import Config, load_config
from .errors import LeadtoolError
from .fields import parse_map_options
from .io import load
from .records import Records
from .render import err_console, inspect_tables, make_console, print_json
from .summary import summarize

app = typer.Typer(
    name="leadtool",
    help="Clean CRM lead and opportunity exports: inspect, find and merge duplicates, "
    "convert leads into opportunities, validate for CI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# ----------------------------------------------------------------------------- shared options
Files = Annotated[list[str], typer.Argument(help="Export files (CSV, TSV, JSON, JSON Lines); - for stdin.",
                                            show_default=False)]
ConfigOpt = Annotated[str | None, typer.Option("--config", help="Config file (default: ./leadtool.toml when present).")]
MapOpt = Annotated[list[str] | None, typer.Option("--map", help="FIELD=HEADER: read HEADER as the Odoo field FIELD (repeatable).")]
EncodingOpt = Annotated[str | None, typer.Option("--encoding", help="Input encoding (default: UTF-8, cp1252 detected).")]
DelimiterOpt = Annotated[str | None, typer.Option("--delimiter", help="CSV delimiter (default: sniffed among , ; tab |).")]
OppsOpt = Annotated[list[str] | None, typer.Option("--opportunities", help="A file without a type column whose records are opportunities (repeatable).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="More detail; tracebacks for internal errors.")]
NoProgressOpt = Annotated[bool, typer.Option("--no-progress", help="No progress bars.")]


class Context:
    """What every command shares: the config and how to load files."""

    def __init__(self, config: str | None, maps: list[str] | None, encoding: str | None,
                 delimiter: str | None, opportunities: list[str] | None = None,
                 quiet: bool = False, verbose: bool = False, no_progress: bool = False) -> None:
        self.config: Config = load_config(config)
        self.mapping = {**self.config.map, **parse_map_options(maps or [])}
        self.encoding = encoding
        if delimiter == "\\t" or (delimiter or "").lower() == "tab":
            delimiter = "\t"
        self.delimiter = delimiter
        self.opportunities = opportunities or []
        self.quiet = quiet
        self.verbose = verbose
        self.progress = not no_progress and not quiet and sys.stderr.isatty()

    def load(self, files: list[str]) -> Records:
        return load(files, encoding=self.encoding, delimiter=self.delimiter,
                    mapping=self.mapping, opportunities=self.opportunities)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The one place errors are caught: one line on stderr, exit 2; Ctrl-C exits 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LeadtoolError as exc:
            err_console().print(f"[bold red]error:[/] {exc.one_line()}", markup=True,
                                highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console().print("interrupted", highlight=False)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise typer.Exit(0) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug: still one line, the traceback with --verbose
            if kwargs.get("verbose"):
                raise
            err_console().print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
                                "(run with --verbose for the traceback)", highlight=False,
                                soft_wrap=True)
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
    config: ConfigOpt = None, map: MapOpt = None, encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None, opportunities: OppsOpt = None,
    quiet: QuietOpt = False, verbose: VerboseOpt = False, no_progress: NoProgressOpt = False,
) -> None:
    """What was recognised: format, field mapping, leads and opportunities, emails, duplicates."""
    ctx = Context(config, map, encoding, delimiter, opportunities, quiet, verbose, no_progress)
    summaries = summarize(ctx.load(files), ctx.config)
    if format == "json":
        print_json([s.as_dict() for s in summaries])
        return
    console = make_console(quiet=quiet)
    for table in inspect_tables(summaries):
        console.print(table)
        console.print()
