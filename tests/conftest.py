"""Shared helpers: the bundled samples, a CLI runner, and one-line error checks."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadtool.cli import app

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SAMPLE_FILES = ["leads.csv", "leads_cp1252.csv", "leads.json", "leads.jsonl", "customers.csv"]


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def runner() -> CliRunner:
    # click >= 8.2 keeps stderr apart from stdout (result.stderr)
    return CliRunner()


@pytest.fixture
def cli(runner: CliRunner):
    """Run `leadtool ARGS...`; returns the click Result."""

    def run(*args: str, input: bytes | str | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input)

    return run


def groups_of(cli, path: Path, *args: str) -> list[list[str]]:
    """The ids of each group `dupes --format csv` finds, in its order."""
    result = cli("dupes", path, "--format", "csv", *args)
    assert result.exit_code == 0, result.output
    found: dict[str, list[str]] = {}
    for row in csv.DictReader(io.StringIO(result.stdout)):
        found.setdefault(row["group"], []).append(row["id"])
    return list(found.values())


def assert_one_line_error(result, *needles: str) -> str:
    """Exit 2, nothing on stdout, exactly one line on stderr containing every needle."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    err = result.stderr
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert result.stdout == ""
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def dupes_document(records, groups, table) -> dict:
    """The `dupes --format json` document built record by record, the plain way: the oracle
    `leadtool.render.dupes.json_text` must match once laid out by json.dumps."""
    from leadtool.match.table import SHOWN_FIELDS, stats

    reasons = dict(zip(groups.info["group"].to_list(), groups.info["reasons"].to_list(), strict=True))
    out: list[dict] = []
    current: dict | None = None
    for row in table.iter_rows(named=True):
        if current is None or current["group"] != row["group"]:
            current = {"group": row["group"], "reasons": reasons[row["group"]], "size": row["size"],
                       "large": row["large"], "head": row["id"], "records": []}
            out.append(current)
        current["records"].append({k: row[k] for k in ("id", "head", "file", "row", *SHOWN_FIELDS)})
    return {"stats": stats(records, groups), "groups": out}
