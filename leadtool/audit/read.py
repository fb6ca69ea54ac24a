"""Reading an audit log back: events as dicts, merge events' records as one table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import AuditError
from ..io.nogc import no_gc
from ..records import FILE, HEAD_FLAG, ID, KIND_PREFIX, ROW


@dataclass
class AuditLog:
    """`events`: every event but the run, in order; merge events without their `records`,
    which are in `records` instead: one row per record (id, `HEAD_FLAG`, `FILE`, row, its
    values by column, their kinds under `KIND_PREFIX` + column), in event order: a table
    instead of millions of small dicts, which would cost gigabytes. Merge events also leave
    out their `changes`: undo takes every value from `records`."""

    path: str
    run: dict[str, Any] | None
    events: list[dict[str, Any]]
    records: pl.DataFrame = field(default_factory=pl.DataFrame)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]


def _tabled(dicts: list[dict[str, Any]]) -> pl.DataFrame:
    """Dicts as text columns, read by polars itself; the schema (the union of their keys, in
    order of appearance) is given, since inferring it looks at every dict again."""
    keys = dict.fromkeys(k for order in dict.fromkeys(map(tuple, dicts)) for k in order)
    return pl.from_dicts(dicts, schema=dict.fromkeys(keys, pl.String), strict=False)


class _RecordTable:
    """Merge events' records, tabled by polars every `batch` records as they are read, so
    that the parsed dicts of one batch at most are alive at a time."""

    def __init__(self, batch: int = 50_000) -> None:
        self.batch = batch
        self.parts: list[pl.DataFrame] = []
        self._clear()

    def _clear(self) -> None:
        self.ids: list[str] = []
        self.heads: list[bool] = []
        self.files: list[Any] = []
        self.rows: list[int] = []
        self.values: list[dict[str, Any]] = []
        self.kinds: list[dict[str, Any]] = []

    def add(self, event: dict[str, Any]) -> None:
        recs = event.pop("records", None) or {}
        head = str(event.get("head"))
        for rid, rec in recs.items():
            self.ids.append(str(rid))
            self.heads.append(str(rid) == head)
            self.files.append(rec.get("file"))
            self.rows.append(int(rec.get("row", 0)))
            self.values.append(rec.get("values") or {})
            self.kinds.append(rec.get("kinds") or {})
        if len(self.ids) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        if not self.ids:
            return
        parts = [pl.DataFrame({ID: self.ids, HEAD_FLAG: self.heads, FILE: [str(f) for f in self.files],
                               ROW: self.rows},
                              schema={ID: pl.String, HEAD_FLAG: pl.Boolean, FILE: pl.String, ROW: pl.UInt32})]
        for dicts, prefix in ((self.values, ""), (self.kinds, KIND_PREFIX)):
            if any(dicts):  # values are text; a CSV input's records have no kinds
                parts.append(_tabled(dicts).rename(lambda c, p=prefix: p + c))
        self.parts.append(pl.concat(parts, how="horizontal"))
        self._clear()

    def table(self) -> pl.DataFrame:
        self._flush()
        if not self.parts:
            return pl.DataFrame(schema={ID: pl.String, HEAD_FLAG: pl.Boolean, FILE: pl.String, ROW: pl.UInt32})
        return pl.concat(self.parts, how="diagonal_relaxed")


def read_audit(path: str) -> AuditLog:
    with no_gc():
        return _read_audit(path)


def _read_audit(path: str) -> AuditLog:
    p = Path(path)
    if not p.is_file():
        raise AuditError("no such audit file", file=path)
    run = None
    events: list[dict[str, Any]] = []
    records = _RecordTable()
    with p.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AuditError(f"invalid JSON: {exc.msg}", file=path, line=n) from None
            if not isinstance(event, dict) or "event" not in event:
                raise AuditError("not an audit event (no 'event')", file=path, line=n)
            if event["event"] == "run":
                run = event
            else:
                if event["event"] == "merge":
                    records.add(event)
                    event.pop("changes", None)
                events.append(event)
    return AuditLog(path=path, run=run, events=events, records=records.table())


