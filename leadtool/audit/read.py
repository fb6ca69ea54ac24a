"""Reading an audit log back (docs/audit.md): events as dicts, merge events' records as one
table, every record placed by (input, row). A log that is not what leadtool writes (altered by
hand, cut short, an event repeated) is refused with its file and line named."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import AuditError
from ..io.nogc import no_gc
from ..records import HEAD_FLAG, ID, KIND_PREFIX, LINE, ROW, SRC
from .events import SHA_KEY, SIZE_KEY

EVENTS = ("run", "merge", "convert", "create_customer", "skip")
PLACE = "__lt_place"  # convert events: (source, row) of the record, checked against the run


@dataclass
class AuditLog:
    """`run`: the run event. `events`: every other event, in order; merge events without their
    `records`, which are in `records` instead: one row per record (id, `HEAD_FLAG`, its place
    `SRC` (the input's position in the run event) and `ROW`, the `LINE` of its event, its
    values by column, their kinds under `KIND_PREFIX` + column), in event order: a table
    instead of millions of small dicts, which would cost gigabytes. Merge events also leave
    out their `changes`: undo takes every value from `records`. Convert events carry their
    record's place under `PLACE`."""

    path: str
    run: dict[str, Any]
    events: list[dict[str, Any]]
    records: pl.DataFrame = field(default_factory=pl.DataFrame)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]

    @property
    def inputs(self) -> list[dict[str, Any]]:
        return self.run["inputs"]

    @property
    def output_digest(self) -> tuple[str, int] | None:
        """(SHA-256, size) of the output the run wrote; None for a log written before leadtool
        recorded them."""
        sha, size = self.run.get(SHA_KEY), self.run.get(SIZE_KEY)
        if isinstance(sha, str) and isinstance(size, int):
            return sha, size
        return None


def _tabled(dicts: list[dict[str, Any]]) -> pl.DataFrame:
    """Dicts as text columns, read by polars itself; the schema (the union of their keys, in
    order of appearance) is given, since inferring it looks at every dict again."""
    keys = dict.fromkeys(k for order in dict.fromkeys(map(tuple, dicts)) for k in order)
    return pl.from_dicts(dicts, schema=dict.fromkeys(keys, pl.String), strict=False)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Places:
    """The run's inputs: where a record of an event is, checked against them."""

    def __init__(self, path: str, run: dict[str, Any], line: int) -> None:
        self.path = path
        inputs = run.get("inputs")
        if (not isinstance(inputs, list) or not inputs
                or not all(isinstance(i, dict) and isinstance(i.get("file"), str) and _is_int(i.get("rows"))
                           and i["rows"] >= 0 for i in inputs)):
            raise AuditError("the run event's inputs are not a list of {file, rows}", file=path, line=line)
        columns = run.get("columns")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise AuditError("the run event's columns are not a list of names", file=path, line=line)
        self.files = [i["file"] for i in inputs]
        self.rows = [i["rows"] for i in inputs]

    def of(self, rec: Any, line: int, what: str) -> tuple[int, int]:
        """(input, row) of an event's record: `input` when given (its `file` must agree),
        else its `file`, which must then name one input only."""
        if not isinstance(rec, dict):
            raise AuditError(f"{what} is not an object", file=self.path, line=line)
        file, row, k = rec.get("file"), rec.get("row"), rec.get("input")
        if not _is_int(row):
            raise AuditError(f"{what}: 'row' is {row!r}, not a row number", file=self.path, line=line)
        if k is not None:
            if not _is_int(k) or not 0 <= k < len(self.files) or self.files[k] != file:
                raise AuditError(f"{what}: input {k!r} ({file!r}) is not one of the run's inputs",
                                 file=self.path, line=line)
        elif self.files.count(file) == 1:
            k = self.files.index(file)
        else:
            why = "is given more than once" if file in self.files else "is not one of the run's inputs"
            raise AuditError(f"{what}: the file {file!r} {why}", file=self.path, line=line)
        if not 1 <= row <= self.rows[k]:
            raise AuditError(f"{what}: row {row} is not in {file!r} ({self.rows[k]} rows)",
                             file=self.path, line=line)
        return k, row


class _RecordTable:
    """Merge events' records, tabled by polars every `batch` records as they are read, so
    that the parsed dicts of one batch at most are alive at a time."""

    def __init__(self, places: _Places, batch: int = 50_000) -> None:
        self.places = places
        self.batch = batch
        self.parts: list[pl.DataFrame] = []
        self._clear()

    def _clear(self) -> None:
        self.ids: list[str] = []
        self.heads: list[bool] = []
        self.srcs: list[int] = []
        self.rows: list[int] = []
        self.lines: list[int] = []
        self.values: list[dict[str, Any]] = []
        self.kinds: list[dict[str, Any]] = []

    def add(self, event: dict[str, Any], line: int) -> None:
        path = self.places.path
        recs = event.pop("records", None)
        head, merged = event.get("head"), event.get("merged")
        if not isinstance(recs, dict) or not recs:
            raise AuditError("a merge event without its records", file=path, line=line)
        if not isinstance(head, str) or head not in recs:
            raise AuditError(f"the merge event's head {head!r} is not one of its records", file=path, line=line)
        if not isinstance(merged, list) or len(recs) != len(merged) + 1:
            raise AuditError("the merge event's records do not match its head and merged ids "
                             "(a record key given twice?)", file=path, line=line)
        for key, rec in recs.items():
            src, row = self.places.of(rec, line, f"record {key!r}")
            values, kinds = rec.get("values"), rec.get("kinds") or {}
            if not isinstance(values, dict) or not isinstance(kinds, dict):
                raise AuditError(f"record {key!r}: 'values' is not an object", file=path, line=line)
            self.ids.append(_id_of(key, self.places.files, src, row))
            self.heads.append(key == head)
            self.srcs.append(src)
            self.rows.append(row)
            self.lines.append(line)
            self.values.append(values)
            self.kinds.append(kinds)
        if len(self.ids) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        if not self.ids:
            return
        parts = [pl.DataFrame({ID: self.ids, HEAD_FLAG: self.heads, SRC: self.srcs, ROW: self.rows,
                               LINE: self.lines},
                              schema={ID: pl.String, HEAD_FLAG: pl.Boolean, SRC: pl.UInt32, ROW: pl.UInt32,
                                      LINE: pl.UInt32})]
        for dicts, prefix in ((self.values, ""), (self.kinds, KIND_PREFIX)):
            if any(dicts):  # values are text; a CSV input's records have no kinds
                try:
                    table = _tabled(dicts)
                except (pl.exceptions.PolarsError, TypeError, ValueError):
                    raise self._not_text(dicts) from None
                parts.append(table.rename(lambda c, p=prefix: p + c))
        self.parts.append(pl.concat(parts, how="horizontal"))
        self._clear()

    def _not_text(self, dicts: list[dict[str, Any]]) -> AuditError:
        """The first record whose values are not text (only looked for when tabling failed)."""
        for k, values in enumerate(dicts):
            for column, value in values.items():
                if isinstance(value, dict | list):
                    return AuditError(f"record {self.ids[k]!r}: the value of {column!r} is not text",
                                      file=self.places.path, line=self.lines[k])
        return AuditError("a record's values are not text", file=self.places.path,
                          line=self.lines[0] if self.lines else None)

    def table(self) -> pl.DataFrame:
        self._flush()
        if not self.parts:
            return pl.DataFrame(schema={ID: pl.String, HEAD_FLAG: pl.Boolean, SRC: pl.UInt32, ROW: pl.UInt32,
                                        LINE: pl.UInt32})
        return pl.concat(self.parts, how="diagonal_relaxed")


def _id_of(key: str, files: list[str], src: int, row: int) -> str:
    """The record's id from its key: a repeated id's key is `ID@FILE:ROW` (FILE followed by
    `#N` when that path was given more than once)."""
    if "@" not in key:
        return key
    label = files[src] if files.count(files[src]) == 1 else f"{files[src]}#{src + 1}"
    suffix = f"@{label}:{row}"
    return key[: -len(suffix)] if key.endswith(suffix) else key


def read_audit(path: str) -> AuditLog:
    with no_gc():
        return _read_audit(path)


def _events(path: str) -> Any:
    """(line number, event) of every non-blank line."""
    p = Path(path)
    if p.is_dir():
        raise AuditError("is a folder, not an audit log", file=path)
    if not p.is_file():
        raise AuditError("no such audit file", file=path)
    try:
        with p.open(encoding="utf-8") as handle:
            for n, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise AuditError(f"invalid JSON: {exc.msg}", file=path, line=n) from None
                except RecursionError:
                    raise AuditError("invalid JSON: nested too deeply", file=path, line=n) from None
                if not isinstance(event, dict) or not isinstance(event.get("event"), str):
                    raise AuditError("not an audit event (no 'event')", file=path, line=n)
                yield n, event
    except UnicodeDecodeError as exc:
        raise AuditError(f"not UTF-8 text (byte {exc.start + 1} of a line): not an audit log", file=path) from None
    except OSError as exc:
        raise AuditError(exc.strerror or str(exc), file=path) from None


def _read_audit(path: str) -> AuditLog:
    run: dict[str, Any] | None = None
    events: list[dict[str, Any]] = []
    records: _RecordTable | None = None
    converts: list[tuple[int, int, int]] = []  # (source, row, line) of each convert event
    for n, event in _events(path):
        kind = event["event"]
        if kind not in EVENTS:
            raise AuditError(f"unknown event {kind!r}", file=path, line=n)
        if kind == "run":
            if run is not None:
                raise AuditError("a second run event: one log records one run", file=path, line=n)
            run = event
            records = _RecordTable(_Places(path, run, n))
            continue
        if run is None or records is None:
            raise AuditError(f"a {kind} event before the run event: not an audit log of leadtool merge or convert",
                             file=path, line=n)
        if kind == "merge":
            records.add(event, n)
            event.pop("changes", None)
        elif kind == "convert":
            _check_convert(event, path, n)
            event[PLACE] = records.places.of(event, n, f"converted record {event.get('id')!r}")
            converts.append((*event[PLACE], n))
        events.append(event)
    if run is None or records is None:
        raise AuditError("no run event: empty, or not an audit log of leadtool merge or convert", file=path)
    table = records.table()
    _no_record_twice(table, converts, path, records.places.files)
    return AuditLog(path=path, run=run, events=events, records=table)


def _check_convert(event: dict[str, Any], path: str, line: int) -> None:
    changes = event.get("changes")
    if not isinstance(event.get("id"), str) or not isinstance(changes, dict) or not all(
            isinstance(c, dict) and isinstance(c.get("before", ""), str) for c in changes.values()):
        raise AuditError("a convert event without its id or changes {column: {before, after}}", file=path, line=line)


def _no_record_twice(table: pl.DataFrame, converts: list[tuple[int, int, int]], path: str,
                     files: list[str]) -> None:
    """A record is in one merge event and one convert event at most (an event copied twice
    would restore it twice)."""
    places = [table.select(SRC, ROW, LINE)]
    if converts:
        places.append(pl.DataFrame(converts, schema={SRC: pl.UInt32, ROW: pl.UInt32, LINE: pl.UInt32}, orient="row"))
    for frame in places:
        again = frame.filter(pl.struct(SRC, ROW).is_duplicated())
        if again.height:
            first = again.group_by(SRC, ROW, maintain_order=True).agg(pl.col(LINE)).row(0)
            lines = first[2]
            raise AuditError(f"row {first[1]} of {files[first[0]]} (input {first[0] + 1}) is recorded again "
                             f"(first on line {lines[0]}): an event given twice?", file=path, line=lines[1])
