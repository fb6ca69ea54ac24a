"""The audit log (SPEC 3.3), Odoo's chatter for files: JSON Lines, one event per line.

A `run` event opens every log (command, inputs and their row counts, the input columns), so
that `undo` can put every record back at its original place. Merge events are built in bulk
with polars (one JSON string per group, no per-record Python), and undo reads them back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from . import __version__
from .errors import AuditError
from .groups import IDX
from .io import atomic_output, json_str, with_ids
from .merge import MergePlan
from .nogc import no_gc
from .records import ID, KIND_PREFIX, ROW, SRC, Records

AUDIT_SUFFIX = ".audit.jsonl"
SUB = "__lt_sub"  # undo of an edited file: order of unknown records after a known one


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_audit_path(output: str) -> str:
    return output + AUDIT_SUFFIX


def _js(expr: pl.Expr) -> pl.Expr:
    """JSON text of each value (string, list...), encoded by polars."""
    return pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")


_SPECIAL = r'[\x00-\x1f"\\]'  # the characters a JSON string escapes


def _lit_js(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def run_event(command: str, records: Records, output: str | None, at: str,
              **extra: Any) -> dict[str, Any]:
    return {
        "event": "run", "at": at, "version": __version__, "command": command,
        "inputs": [{"file": s.path, "rows": s.rows} for s in records.sources],
        "columns": list(records.columns), "output": output, **extra,
    }


def record_json(records: Records, idx: pl.Series, before: pl.Series | None = None,
                after: pl.Series | None = None) -> pl.DataFrame:
    """`"ID":{"file":...,"row":N,"values":{...}}` for the records at the given positions, in
    that order (column `json`), with their id (column `id`). `before` and `after` (text per
    record) are put around each one in the same pass: no extra copy of the text."""
    rows = records.frame[idx].with_columns(
        (before if before is not None else pl.repeat("", len(idx), eager=True)).alias("__lt_before"),
        (after if after is not None else pl.repeat("", len(idx), eager=True)).alias("__lt_after"))
    files = [s.path for s in records.sources]
    # most columns never hold a quote, backslash or control character: quoting is enough
    special = rows.select(pl.col(c).str.join("").str.contains(_SPECIAL) for c in records.columns).row(0)
    # one flat list of literals and columns: a plain column's quotes go into the literals
    # around it (a concatenation per cell for the quotes alone cost a quarter more)
    parts: list[pl.Expr] = []
    text = "{"
    for k, c in enumerate(records.columns):
        text += ("" if k == 0 else ",") + _lit_js(c) + ":"
        if special[k]:
            parts += [pl.lit(text), json_str(pl.col(c))]
            text = ""
        else:
            parts += [pl.lit(text + '"'), pl.col(c)]
            text = '"'
    if text:
        parts.append(pl.lit(text))
    # one concatenation of ~100 pieces runs on one core: slices of the columns run in parallel
    pieces = [pl.concat_str(parts[i:i + _SLICE]).alias(f"__lt_v{i}") for i in range(0, len(parts), _SLICE)]
    file_js = pl.col(SRC).replace_strict(list(range(len(files))), [_lit_js(f) for f in files],
                                         return_dtype=pl.String)
    kinds = _kinds_json(records, rows)
    return rows.lazy().select(
        pl.col(ID).alias("id"),
        pl.concat_str(pl.col("__lt_before"), json_str(pl.col(ID)), pl.lit(':{"file":'), file_js,
                      pl.lit(',"row":'), pl.col(ROW).cast(pl.String), pl.lit(',"values":')).alias("__lt_pre"),
        *pieces, *[e.alias(f"__lt_k{i}") for i, e in enumerate(kinds)], pl.col("__lt_after"),
    ).select(
        "id", pl.concat_str(pl.col("__lt_pre"), *[p.meta.output_name() for p in pieces], pl.lit("}"),
                            *[f"__lt_k{i}" for i in range(len(kinds))], pl.lit("}"),
                            pl.col("__lt_after")).alias("json"),
    ).collect()


_SLICE = 8  # pieces (4 columns) per parallel concatenation


def _kinds_json(records: Records, rows: pl.DataFrame) -> list[pl.Expr]:
    """JSON inputs only: `,"kinds":{"col":"r"}` for the cells that were JSON numbers, booleans
    or null (`r`) or absent keys (`a`), so that undo gives them back as they were."""
    cols = [c for c in records.columns if f"{KIND_PREFIX}{c}" in rows.columns]
    if not cols:
        return []
    items = [pl.when(pl.col(f"{KIND_PREFIX}{c}").is_in(["r", "a"])).then(
        pl.concat_str(pl.lit(_lit_js(c) + ':"'), pl.col(f"{KIND_PREFIX}{c}"), pl.lit('"'))) for c in cols]
    return [pl.lit(',"kinds":{'), pl.concat_str(items, separator=",", ignore_nulls=True), pl.lit("}")]


def merge_event_chunks(records: Records, plan: MergePlan, at: str,
                       batch: int = 100_000) -> Iterator[pl.Series]:
    """The merge events as text fragments whose concatenation is one JSON line per merged
    group, in group order: one fragment per record, the head's opening its group's event
    (everything up to `"records":{`) and the last one closing it. No per-group join, no sort,
    and the record text is made once, `batch` records at a time (a batch may end inside a
    group: only the order of the fragments matters), so that a large log is never in memory
    whole (100k records: ~100 MB of text, while the output is being written beside it)."""
    groups = plan.merged_groups
    if groups.height == 0:
        return
    changes = plan.changes.join(groups.select("group"), on="group", maintain_order="left")
    src = pl.when(pl.col("composed")).then(_js(pl.col("source"))).otherwise(
        json_str(pl.col("source").list.first()))
    col_js = {c: _lit_js(c) for c in plan.columns}
    changes = changes.select(
        "group",
        pl.concat_str(pl.col("column").replace_strict(col_js, return_dtype=pl.String),
                      pl.lit(':{"before":'), json_str(pl.col("before")), pl.lit(',"after":'),
                      json_str(pl.col("after")), pl.lit(',"source":'), src, pl.lit("}")).alias("c"),
    ).group_by("group", maintain_order=True).agg(pl.col("c").str.join(","))
    head = f'{{"event":"merge","at":{_lit_js(at)},"version":{_lit_js(__version__)},"group":'
    prefix = (groups.select("group", "reasons", "head", "merged")
              .join(changes, on="group", how="left", maintain_order="left")
              .select("group", pl.concat_str(
                  pl.lit(head), pl.col("group").cast(pl.String), pl.lit(',"reason":'),
                  _js(pl.col("reasons")), pl.lit(',"head":'), json_str(pl.col("head")),
                  pl.lit(',"merged":'), _js(pl.col("merged")), pl.lit(',"changes":{'),
                  pl.col("c").fill_null(""), pl.lit('},"records":{')).alias("prefix")))
    # members come sorted by group, then head order: the head first, the last record last
    members = (plan.members.join(prefix, on="group", maintain_order="left")
               .select(IDX, pl.when(pl.col("pos") == 0).then(pl.col("prefix")).otherwise(pl.lit(","))
                       .alias("before"),
                       pl.when(pl.col("group") != pl.col("group").shift(-1, fill_value=0))
                       .then(pl.lit("}}\n")).otherwise(pl.lit("")).alias("after")))
    for start in range(0, members.height, batch):
        part = members.slice(start, batch)
        yield record_json(records, part[IDX], part["before"], part["after"]).get_column("json").alias("t")


def merge_event_lines(records: Records, plan: MergePlan, at: str) -> pl.Series:
    """One JSON line per merged group, in group order."""
    text = "".join(chunk.str.join("").item() for chunk in merge_event_chunks(records, plan, at))
    # only \n ends a line: str.splitlines would also split at \x85 or \u2028 inside a value
    return pl.Series("line", text.split("\n")[:-1], dtype=pl.String)


def write_audit(path: str, header: dict[str, Any], chunks: Iterable[pl.Series],
                events: Iterable[dict[str, Any]] = ()) -> None:
    """Atomically: the run event, the bulk-built text (each Series' fragments written one
    after the other, as they are), then other events."""
    with atomic_output(path) as handle:
        handle.write((json.dumps(header, ensure_ascii=False) + "\n").encode("utf-8"))
        handle.flush()
        for chunk in chunks:
            if len(chunk):
                pl.DataFrame({"t": chunk}).write_csv(handle, include_header=False, quote_style="never",
                                                     line_terminator="")
        for event in events:
            handle.write((json.dumps(event, ensure_ascii=False) + "\n").encode("utf-8"))


# ----------------------------------------------------------------------------- reading & undo
HEAD_FLAG = "__lt_is_head"
FILE = "__lt_file"


@dataclass
class AuditLog:
    """`events`: every event but the run, in order; merge events without their `records`,
    which are in `records` instead: one row per record (id, `HEAD_FLAG`, `FILE`, row, its
    values by column, their kinds under `KIND_PREFIX` + column), in event order. A table
    instead of a million small dicts: undo of a 1M-row merge needs gigabytes less. Merge
    events also leave out their `changes` (undo takes every value from `records`): kept, they
    were 1.7 GB of dicts for a 5M-row merge."""

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


@dataclass
class UndoResult:
    records: Records
    restored: int = 0  # records put back
    reverted_cells: int = 0
    problems: list[str] = field(default_factory=list)
    created_customers: list[str] = field(default_factory=list)


def _merged_records(log: AuditLog, src_of: dict[str, int], cols: list[str]) -> pl.DataFrame:
    """Every record of the merge events: id, whether it is its group's head, its original
    place (source, row), its values and, for JSON inputs, their kinds."""
    table = log.records
    have = set(table.columns)
    return table.select(
        ID, HEAD_FLAG,
        pl.col(FILE).replace_strict(list(src_of), list(src_of.values()), default=len(src_of),
                                    return_dtype=pl.UInt32).alias(SRC),
        ROW,
        *[(pl.col(c).fill_null("") if c in have else pl.lit("", dtype=pl.String)).alias(c) for c in cols],
        *[(pl.col(k) if (k := f"{KIND_PREFIX}{c}") in have else pl.lit(None, dtype=pl.String)).alias(k)
          for c in cols],
    )


def _places_by_id(frame: pl.DataFrame, originals: pl.DataFrame, converts: list[dict[str, Any]],
                  pos: Any) -> list[pl.Series]:
    """(source, row, sub) of each record of an edited merged file, found by id; a record the
    audit log does not know stays right after the record before it (sub counts them)."""
    by_id = originals.select(ID, SRC, ROW)
    if converts:
        by_id = pl.concat([by_id, pl.DataFrame(
            {ID: [str(e.get("id")) for e in converts], SRC: [pos(e)[0] for e in converts],
             ROW: [pos(e)[1] for e in converts]}, schema={ID: pl.String, SRC: pl.UInt32, ROW: pl.UInt32})])
    by_id = by_id.unique(ID, keep="last", maintain_order=True)  # a later event wins
    placed = frame.select(ID).join(by_id, on=ID, how="left", maintain_order="left")
    run = pl.col(SRC).is_not_null().cum_sum()  # a known record and the unknown ones after it
    return placed.select(
        pl.col(SRC).forward_fill().fill_null(0),
        pl.col(ROW).forward_fill().fill_null(0),
        (pl.int_range(pl.len(), dtype=pl.UInt32).over(run) + (run == 0).cast(pl.UInt32)).alias(SUB),
    ).get_columns()


def _revert_conversions(frame: pl.DataFrame, known: pl.DataFrame, converts: list[dict[str, Any]],
                        cols: list[str], pos: Any, result: UndoResult) -> pl.DataFrame:
    """Each cell a conversion changed gets its before value back (the oldest one, when several
    runs changed it); converted records missing from the merged file are named."""
    present = set(zip(known[SRC].to_list(), known[ROW].to_list(), strict=True)) if converts else set()
    before: dict[tuple[int, int], dict[str, str]] = {}
    for event in converts:
        p = pos(event) if "file" in event else None
        if p is None or p not in present:
            result.problems.append(f"converted record {event.get('id')!r} is not in the merged file")
            continue
        cells = before.setdefault(p, {})
        for col, change in (event.get("changes") or {}).items():
            if col in cols and col not in cells:
                cells[col] = change.get("before", "")
                if f"{KIND_PREFIX}{col}" in frame.columns:
                    cells[f"{KIND_PREFIX}{col}"] = change.get("kind", "s")
    if not before:
        return frame
    changed = pl.DataFrame(
        [{SRC: p[0], ROW: p[1], **v} for p, v in before.items()],
        schema={SRC: pl.UInt32, ROW: pl.UInt32,
                **{c: pl.String for c in frame.columns if any(c in v for v in before.values())}})
    result.reverted_cells += sum(len(v) for v in before.values())
    return frame.update(changed.with_columns(pl.lit(0, dtype=pl.UInt32).alias(SUB)), on=[SRC, ROW, SUB],
                        how="left")


_GATHER_BATCH = 4  # columns put in order together (in parallel) at the end of undo


def undo(audit: AuditLog, merged: Records) -> UndoResult:
    """Put back every merged-away record and every changed value, in original order.

    Records are placed by position: the merged file holds every original position except the
    merged-away ones, in order. When its row count says it was edited since, heads and
    converted records are found by id instead, and what cannot be found is named."""
    run = audit.run or {}
    inputs = run.get("inputs") or []
    files = [i["file"] for i in inputs]
    src_of = {f: k for k, f in enumerate(files)}
    # from here on only `frame` holds the merged records, so that each step below can free
    # the columns the step before it replaced (a 5M-row file is gigabytes a copy)
    frame = merged.frame
    merged = merged.with_frame(frame.clear())
    result = UndoResult(records=merged)

    def pos(rec: dict[str, Any]) -> tuple[int, int]:
        return src_of.get(rec.get("file"), len(files)), int(rec.get("row", 0))

    columns = run.get("columns") or merged.columns
    cols = list(columns)  # the input's order, also for columns the merged file no longer has
    originals = _merged_records(audit, src_of, cols)
    converts = audit.of("convert")
    result.created_customers = [str(e.get("customer", {}).get("id") if isinstance(e.get("customer"), dict)
                                    else e.get("id")) for e in audit.of("create_customer")]
    away = originals.filter(~pl.col(HEAD_FLAG))
    expected = sum(int(i.get("rows", 0)) for i in inputs) - away.height
    positional = bool(inputs) and expected == frame.height
    if positional:  # every original position but the merged-away ones, in order
        every = pl.concat([pl.DataFrame({SRC: pl.repeat(k, int(i["rows"]), dtype=pl.UInt32, eager=True),
                                         ROW: pl.int_range(1, int(i["rows"]) + 1, dtype=pl.UInt32, eager=True)})
                           for k, i in enumerate(inputs)])
        kept = every.join(away.select(SRC, ROW), on=[SRC, ROW], how="anti", maintain_order="left")
        frame = frame.with_columns(kept.get_column(SRC), kept.get_column(ROW),
                                   pl.lit(0, dtype=pl.UInt32).alias(SUB))
    else:
        result.problems.append(
            f"the merged file has {frame.height} records where {expected} were written: it was "
            "edited after the merge; records are matched by id")
        frame = frame.with_columns(_places_by_id(frame, originals, [e for e in converts if "file" in e], pos))
    json_file = merged.sources[0].fmt.kind != "csv"
    for c in cols:
        kind = f"{KIND_PREFIX}{c}"
        if c not in frame.columns:  # a key no record of the merged file has: absent from all
            frame = frame.with_columns(pl.lit("", dtype=pl.String).alias(c),
                                       *([pl.lit("a", dtype=pl.String).alias(kind)] if json_file else []))
        elif json_file and kind not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(kind))
    known = frame.select(SRC, ROW, SUB).filter(pl.col(SUB) == 0)  # places only: a filter copies
    frame = _revert_conversions(frame, known, converts, cols, pos, result)
    # heads back to their original values, merged-away records back in place; a head that is
    # no longer in the merged file comes back from the audit log like a merged-away record
    heads = originals.filter(pl.col(HEAD_FLAG))
    missing = heads.join(known.select(SRC, ROW), on=[SRC, ROW], how="anti", maintain_order="left")
    for rid in missing.get_column(ID).to_list():
        result.problems.append(f"head {rid!r} is not in the merged file; restored from the audit log")
    heads = heads.join(missing.select(SRC, ROW), on=[SRC, ROW], how="anti")
    away = pl.concat([away, missing])
    kind_cols = [c for c in cols if f"{KIND_PREFIX}{c}" in frame.columns
                 or originals.get_column(f"{KIND_PREFIX}{c}").is_not_null().any()]

    def original_rows(rows: pl.DataFrame) -> pl.DataFrame:
        """Original rows from the audit; JSON cells get their kind back ('s': a string)."""
        return rows.select(SRC, ROW, *cols, *[pl.col(f"{KIND_PREFIX}{c}").fill_null("s") for c in kind_cols],
                           pl.lit(0, dtype=pl.UInt32).alias(SUB))

    # the heads' rows of the merged file give way to their original rows; those and the
    # merged-away records are appended (no copy) and everything is put in order by one gather
    # (a kind column the merged file lacks comes with the concatenation, null: a string)
    drop = "__lt_drop"
    hit: pl.Expr | pl.Series = pl.lit(False)
    parts = []
    if heads.height:
        replaced = heads.select(SRC, ROW, pl.lit(0, dtype=pl.UInt32).alias(SUB), pl.lit(True).alias(drop))
        hit = (frame.select(SRC, ROW, SUB).join(replaced, on=[SRC, ROW, SUB], how="left", maintain_order="left")
               .get_column(drop).fill_null(False))
        parts.append(original_rows(heads))
        result.reverted_cells += heads.height
    parts.insert(0, frame.with_columns(hit.alias(drop)))
    if away.height:
        parts.append(original_rows(away))
        result.restored = away.height
    del frame  # from here the parts hold the records
    combined = pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]
    order = (combined.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__lt_at"), SRC, ROW, SUB,
                             pl.col(drop).fill_null(False))
             .filter(~pl.col(drop)).sort([SRC, ROW, SUB], maintain_order=True).get_column("__lt_at"))
    del parts  # from here `combined` alone holds the records
    combined = combined.drop(drop)
    # gathered a few columns at a time, each batch's old columns dropped as soon as it is done:
    # the old and the new copy of the whole frame are never alive together (2.5 GB at 5M rows)
    gathered: list[pl.DataFrame] = []
    names = combined.columns
    for start in range(0, len(names), _GATHER_BATCH):
        batch = names[start:start + _GATHER_BATCH]
        gathered.append(combined.select(batch)[order])
        combined = combined.drop(batch)
    del combined
    frame = pl.concat(gathered, how="horizontal") if gathered else pl.DataFrame()
    # only columns with a gap (a part without them) are filled: a pass over every column would
    # copy the whole restored frame once more (gigabytes at 5M rows)
    gaps = [c for c, n in zip(cols, frame.select(cols).null_count().row(0), strict=True) if n] if cols else []
    frame = frame.with_columns(pl.col(c).fill_null("") for c in gaps).drop(SUB)
    headers = {c: merged.headers.get(c, c) for c in cols}
    result.records = with_ids(merged.with_frame(frame, columns=cols, headers=headers))
    return result
