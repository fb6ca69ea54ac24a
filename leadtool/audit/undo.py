"""Undo: every merged-away record and every changed value put back, in original order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..errors import AuditError
from ..io import with_ids
from ..records import HEAD_FLAG, ID, KIND_PREFIX, ROW, SRC, SUB, Records
from .read import PLACE, AuditLog


@dataclass
class UndoResult:
    records: Records
    restored: int = 0  # records put back
    reverted_cells: int = 0
    problems: list[str] = field(default_factory=list)
    created_customers: list[str] = field(default_factory=list)


def check_output(log: AuditLog, given: str, digest: tuple[str, int], force: bool) -> str | None:
    """None when `digest` (SHA-256, size) of the file given as the run's output is the one the
    run recorded. Else why not: an AuditError, or with `force` the warning to print (the file
    was edited on purpose: undo then does what it can and names the rest)."""
    recorded = log.output_digest
    if recorded is None:
        why = "records no digest of its output (written by an older leadtool)"
    elif recorded == digest:
        return None
    elif recorded[1] != digest[1]:
        why = f"was written for another file ({recorded[1]:,} bytes; {given} has {digest[1]:,})"
    else:
        why = "was written for another file (same size, other content: edited since?)"
    output = log.run.get("output")
    hint = f" (that run wrote {output})" if isinstance(output, str) and output != given else ""
    if not force:
        raise AuditError(f"{why}; give --input the file that run wrote{hint}, or --force to undo what "
                         "can be undone", file=log.path)
    return f"{log.path} {why}: undoing what can be undone (--force)"


def _merged_records(log: AuditLog, cols: list[str]) -> pl.DataFrame:
    """Every record of the merge events: id, whether it is its group's head, its original
    place (source, row), its values and, for JSON inputs, their kinds."""
    table = log.records
    have = set(table.columns)
    return table.select(
        ID, HEAD_FLAG, SRC, ROW,
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
    # SUB orders the records of an edited file that the audit log does not know: each such
    # record takes the place of the known record before it, and SUB counts 1, 2, ... after
    # it (a known record itself has SUB 0; unknown records before any known one start at 1)
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
        p = pos(event)
        if p not in present:
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
_DROP = "__lt_drop"  # a merged file's row that gives way to the head's original row


@dataclass
class _Run:
    """What the audit log says about the run it records: its inputs (file, rows), the input's
    columns in order, and the merge events' records (`_merged_records`)."""

    inputs: list[dict[str, Any]]
    cols: list[str]
    originals: pl.DataFrame

    @staticmethod
    def pos(event: dict[str, Any]) -> tuple[int, int]:
        """(source, row) of a convert event's record, as the reader checked it."""
        return event[PLACE]


def _run_of(audit: AuditLog, merged: Records) -> _Run:
    # the input's order, also for columns the merged file no longer has
    cols = list(audit.run.get("columns") or merged.columns)
    return _Run(inputs=audit.inputs, cols=cols, originals=_merged_records(audit, cols))


def _placed(frame: pl.DataFrame, run: _Run, away: pl.DataFrame, converts: list[dict[str, Any]],
            result: UndoResult) -> pl.DataFrame:
    """The merged file's records with their original place (source, row, sub). By position
    when the row count says the file is as written (every original position but the
    merged-away ones, in order); else by id, and the edit is named."""
    expected = sum(int(i.get("rows", 0)) for i in run.inputs) - away.height
    if run.inputs and expected == frame.height:
        every = pl.concat([pl.DataFrame({SRC: pl.repeat(k, int(i["rows"]), dtype=pl.UInt32, eager=True),
                                         ROW: pl.int_range(1, int(i["rows"]) + 1, dtype=pl.UInt32, eager=True)})
                           for k, i in enumerate(run.inputs)])
        kept = every.join(away.select(SRC, ROW), on=[SRC, ROW], how="anti", maintain_order="left")
        return frame.with_columns(kept.get_column(SRC), kept.get_column(ROW), pl.lit(0, dtype=pl.UInt32).alias(SUB))
    result.problems.append(
        f"the merged file has {frame.height} records where {expected} were written: it was "
        "edited after the merge; records are matched by id")
    return frame.with_columns(_places_by_id(frame, run.originals, converts, run.pos))


def _with_every_column(frame: pl.DataFrame, cols: list[str], json_file: bool) -> pl.DataFrame:
    """A column the merged file lacks is empty (JSON: an absent key for every record)."""
    for c in cols:
        kind = f"{KIND_PREFIX}{c}"
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit("", dtype=pl.String).alias(c),
                                       *([pl.lit("a", dtype=pl.String).alias(kind)] if json_file else []))
        elif json_file and kind not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(kind))
    return frame


def _heads_and_away(run: _Run, known: pl.DataFrame, result: UndoResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The heads found in the merged file, and the records to put back: the merged-away ones,
    and heads no longer in the merged file (named as problems)."""
    heads = run.originals.filter(pl.col(HEAD_FLAG))
    missing = heads.join(known.select(SRC, ROW), on=[SRC, ROW], how="anti", maintain_order="left")
    for rid in missing.get_column(ID).to_list():
        result.problems.append(f"head {rid!r} is not in the merged file; restored from the audit log")
    heads = heads.join(missing.select(SRC, ROW), on=[SRC, ROW], how="anti")
    return heads, pl.concat([run.originals.filter(~pl.col(HEAD_FLAG)), missing])


def _parts(frame: pl.DataFrame, heads: pl.DataFrame, away: pl.DataFrame, run: _Run,
           result: UndoResult) -> list[pl.DataFrame]:
    """The merged file's rows (the heads' marked `_DROP`: they give way), then the heads'
    original rows, then the merged-away records; appended, not copied. A kind column the
    merged file lacks comes with the concatenation (null: a string)."""
    cols = run.cols
    kind_cols = [c for c in cols if f"{KIND_PREFIX}{c}" in frame.columns
                 or run.originals.get_column(f"{KIND_PREFIX}{c}").is_not_null().any()]

    def original_rows(rows: pl.DataFrame) -> pl.DataFrame:
        """Original rows from the audit; JSON cells get their kind back ('s': a string)."""
        return rows.select(SRC, ROW, *cols, *[pl.col(f"{KIND_PREFIX}{c}").fill_null("s") for c in kind_cols],
                           pl.lit(0, dtype=pl.UInt32).alias(SUB))

    hit: pl.Expr | pl.Series = pl.lit(False)
    parts = []
    if heads.height:
        replaced = heads.select(SRC, ROW, pl.lit(0, dtype=pl.UInt32).alias(SUB), pl.lit(True).alias(_DROP))
        hit = (frame.select(SRC, ROW, SUB).join(replaced, on=[SRC, ROW, SUB], how="left", maintain_order="left")
               .get_column(_DROP).fill_null(False))
        parts.append(original_rows(heads))
        result.reverted_cells += heads.height
    parts.insert(0, frame.with_columns(hit.alias(_DROP)))
    if away.height:
        parts.append(original_rows(away))
        result.restored = away.height
    return parts


def _in_order(parts: list[pl.DataFrame], cols: list[str]) -> pl.DataFrame:
    """The parts as one frame in original order (source, row, sub), without the rows that gave
    way. `parts` is emptied: from then on only the combined frame holds the records, and it is
    gathered a few columns at a time, each batch's old columns dropped as soon as it is done, so
    that the old and the new copy of the whole frame are never alive together."""
    combined = pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]
    parts.clear()
    order = (combined.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__lt_at"), SRC, ROW, SUB,
                             pl.col(_DROP).fill_null(False))
             .filter(~pl.col(_DROP)).sort([SRC, ROW, SUB], maintain_order=True).get_column("__lt_at"))
    combined = combined.drop(_DROP)
    gathered: list[pl.DataFrame] = []
    names = combined.columns
    for start in range(0, len(names), _GATHER_BATCH):
        batch = names[start:start + _GATHER_BATCH]
        gathered.append(combined.select(batch)[order])
        combined = combined.drop(batch)
    del combined
    frame = pl.concat(gathered, how="horizontal") if gathered else pl.DataFrame()
    # only columns with a gap (a part without them) are filled: a pass over every column would
    # copy the whole restored frame once more
    gaps = [c for c, n in zip(cols, frame.select(cols).null_count().row(0), strict=True) if n] if cols else []
    return frame.with_columns(pl.col(c).fill_null("") for c in gaps).drop(SUB)


def undo(audit: AuditLog, merged: Records) -> UndoResult:
    """Put back every merged-away record and every changed value, in original order.

    Records are placed by position: the merged file holds every original position except the
    merged-away ones, in order. When its row count says it was edited since, heads and
    converted records are found by id instead, and what cannot be found is named."""
    run = _run_of(audit, merged)
    # from here on only `frame` holds the merged records, so that each step below can free
    # the columns the step before it replaced (a 5M-row file is gigabytes a copy)
    frame = merged.frame
    merged = merged.with_frame(frame.clear())
    result = UndoResult(records=merged)
    result.created_customers = [str(e.get("customer", {}).get("id") if isinstance(e.get("customer"), dict)
                                    else e.get("id")) for e in audit.of("create_customer")]
    converts = audit.of("convert")
    frame = _placed(frame, run, run.originals.filter(~pl.col(HEAD_FLAG)), converts, result)
    frame = _with_every_column(frame, run.cols, merged.sources[0].fmt.kind in ("json", "jsonl"))
    known = frame.select(SRC, ROW, SUB).filter(pl.col(SUB) == 0)  # places only: a filter copies
    frame = _revert_conversions(frame, known, converts, run.cols, run.pos, result)
    heads, away = _heads_and_away(run, known, result)
    parts = _parts(frame, heads, away, run, result)
    del frame  # from here the parts hold the records
    restored = _in_order(parts, run.cols)
    headers = {c: merged.headers.get(c, c) for c in run.cols}
    result.records = with_ids(merged.with_frame(restored, columns=run.cols, headers=headers))
    return result
