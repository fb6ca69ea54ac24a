"""Undo: every merged-away record and every changed value put back, in original order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..io import with_ids
from ..records import FILE, HEAD_FLAG, ID, KIND_PREFIX, ROW, SRC, SUB, Records
from .read import AuditLog


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

