"""Shared helpers: the bundled samples, a CLI runner, and one-line error checks."""

from __future__ import annotations

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
