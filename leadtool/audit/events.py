"""Audit events shared by every run: the clock, where the log goes, and the `run` event that
opens every log (command, inputs and their row counts, the input columns, the digest of the
output), so that `undo` can put every record back at its original place, in the file the run
wrote and no other."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..records import Records

AUDIT_SUFFIX = ".audit.jsonl"


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_audit_path(output: str) -> str:
    return output + AUDIT_SUFFIX


# The run event is written before the output is complete: its digest and size are placeholders
# of fixed width, overwritten in place (`seal_run_line`) once the output is written. The size is
# right-aligned in room for 20 digits (the spaces before a JSON value are allowed), so that
# the line keeps its length and nothing after it moves.
SHA_KEY, SIZE_KEY = "output_sha256", "output_bytes"
_SIZE_ROOM = 20


def _digest_text(sha256: str, size: int) -> str:
    return f', "{SHA_KEY}": "{sha256}", "{SIZE_KEY}": {size:>{_SIZE_ROOM}}}}'


_UNSEALED = _digest_text("0" * 64, 0)


def run_event(command: str, records: Records, output: str | None, at: str,
              **extra: Any) -> dict[str, Any]:
    return {
        "event": "run", "at": at, "version": __version__, "command": command,
        "inputs": [{"file": s.path, "rows": s.rows} for s in records.sources],
        "columns": list(records.columns), "output": output, **extra,
    }


def unsealed_run_line(event: dict[str, Any]) -> str:
    """The run event as its line, its output digest and size still to be filled in."""
    text = json.dumps(event, ensure_ascii=False)
    return text[:-1] + _UNSEALED + "\n"


def seal_run_line(path: str, sha256: str, size: int) -> None:
    """Fill in the output's digest and size in the run line at the start of the audit log
    `path` (same length: nothing else in the file moves)."""
    with open(path, "r+b") as handle:
        first = handle.readline()
        tail = _UNSEALED.encode("utf-8") + b"\n"
        if not first.endswith(tail):
            raise ValueError(f"{path}: the run line has no digest to fill in")
        sealed = _digest_text(sha256, size) + "\n"
        if len(sealed) != len(tail):
            raise ValueError(f"{path}: an output of {size} bytes does not fit the run line")
        handle.seek(len(first) - len(tail))
        handle.write(sealed.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())

