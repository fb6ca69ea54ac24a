"""Audit events shared by every run: the clock, where the log goes, and the `run` event that
opens every log (command, inputs and their row counts, the input columns), so that `undo` can put
every record back at its original place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..records import Records

AUDIT_SUFFIX = ".audit.jsonl"


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def audit_time(now: str) -> str:
    """The audit's `at` form of a run time given as `YYYY-MM-DD HH:MM:SS`."""
    return now.replace(" ", "T") + "Z"


def default_audit_path(output: str) -> str:
    return output + AUDIT_SUFFIX



def run_event(command: str, records: Records, output: str | None, at: str,
              **extra: Any) -> dict[str, Any]:
    return {
        "event": "run", "at": at, "version": __version__, "command": command,
        "inputs": [{"file": s.path, "rows": s.rows} for s in records.sources],
        "columns": list(records.columns), "output": output, **extra,
    }

