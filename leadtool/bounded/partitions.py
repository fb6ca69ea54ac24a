"""The second pass of a bounded merge: the grouped records (a minority) are read whole and
spilled to disk in partitions of consecutive groups (Arrow IPC files in a temporary folder),
then each partition is planned, applied and audited by the in-memory code (`merge.plan_merge`,
`audit.merge_events`), which works on any subset of records that holds whole groups.
Partitions of consecutive groups keep the audit's group order: their events are written one
partition after the other. A partition leaves behind its heads' merged values (by chunk, for
the last pass), the places of its merged-away records and its audit text."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import IO, Any

import polars as pl

from .. import signals
from ..audit.merge_events import merge_event_chunks
from ..config import Config
from ..io.behind import Behind
from ..match.dates import DateOptions
from ..match.groups import Groups, with_conflicts
from ..merge import MergePlan, plan_merge
from ..records import GROUP, HEAD_IDX, IDX, LOADED, Records
from .chunks import Inputs, read_ahead, read_chunk, read_records

# the merge events are made before the run's time is known when the user may still say no:
# written with this stand-in of the same width, put right when the log is written
AT_STAND_IN = "0000-00-00T00:00:00Z"


@contextlib.contextmanager
def work_folder(near: str) -> Iterator[str]:
    """A temporary folder beside the output (the same disk as the result, not /tmp's memory),
    removed whatever ends the run: success, an error, Ctrl-C or SIGTERM (signals raise
    `KeyboardInterrupt` in the main thread, see `leadtool.signals`)."""
    base = os.path.dirname(os.path.abspath(near)) if near not in ("-", "") else tempfile.gettempdir()
    if not os.access(base, os.W_OK):
        base = tempfile.gettempdir()
    with signals.deferred():
        folder = tempfile.mkdtemp(prefix=".leadtool-merge.", dir=base)
    try:
        yield folder
    finally:
        with signals.deferred():
            shutil.rmtree(folder, ignore_errors=True)


@dataclass
class PlanOptions:
    head: str = "oldest"
    config: Config | None = None
    allow_large: bool = False
    allow_conflicts: bool = False
    dates: DateOptions | None = None


@dataclass
class Planned:
    """What the partitions leave: the places of merged-away records, the plan's groups (for the
    summary and warnings), the first groups' plans and records (for the preview)."""

    away: pl.Series
    groups: pl.DataFrame
    preview: list[tuple[MergePlan, Records]] = field(default_factory=list)
    audit: str = ""  # the merge events, in group order, after `audit_head`
    audit_head: bytes = b""  # the run line, when it was known before planning (else nothing)
    at: str = AT_STAND_IN  # the time the events carry
    chunk_starts: list[int] = field(default_factory=list)  # first place of each chunk
    folder: str = ""

    def heads_of(self, chunk: int) -> pl.DataFrame | None:
        """The merged values of the heads that lie in a chunk (LOADED and every data column)."""
        folder = os.path.join(self.folder, "heads", str(chunk))
        if not os.path.isdir(folder):
            return None
        names = sorted(os.listdir(folder), key=lambda n: int(n.split(".")[0]))
        return pl.concat([pl.read_ipc(os.path.join(folder, n)) for n in names])


def partition_bounds(groups: Groups, rows_per_partition: int) -> pl.DataFrame:
    """(group, part): consecutive groups together, about `rows_per_partition` records a part."""
    sizes = groups.info.select("group", "size")
    before = sizes.get_column("size").cast(pl.Int64).cum_sum() - sizes.get_column("size").cast(pl.Int64)
    return sizes.select("group", (before // max(rows_per_partition, 1)).cast(pl.UInt32).alias("part"))


def spill(inputs: Inputs, groups: Groups, parts: pl.DataFrame, folder: str,
          progress: Callable[[int, int], None] | None = None) -> tuple[int, list[int]]:
    """Every grouped record, whole, into its partition's folder (one IPC file per chunk);
    returns the number of partitions and the first place of each chunk. Only the grouped
    records are parsed again (`read_records`, from the places the first pass found)."""
    grouped = (groups.members.join(parts, on="group").select(pl.col(IDX).alias(LOADED), pl.col("group").alias(GROUP),
                                                             "part").sort(LOADED))
    places = grouped.get_column(LOADED)
    chunks = [(f, k, n) for f, file in enumerate(inputs.files) for k, n in enumerate(file.rows)]
    starts = [0, *accumulate(n for _, _, n in chunks)][:-1]  # a chunk of blank lines: the next one's first place

    def read() -> Iterator[tuple[pl.DataFrame, pl.DataFrame | None]]:
        for number, (f, k, n) in enumerate(chunks):
            lo = int(places.search_sorted(starts[number], side="left"))
            hi = int(places.search_sorted(starts[number] + n, side="left"))
            mine = grouped.slice(lo, hi - lo)
            yield mine, (_grouped_rows(inputs, f, k, starts[number], mine) if mine.height else None)

    for done, (mine, rows) in enumerate(read_ahead(read())):
        if rows is not None:
            rows = rows.with_columns(mine.select(GROUP, "part"))
            for (part,), piece in rows.partition_by("part", as_dict=True, include_key=False).items():
                path = os.path.join(folder, "parts", str(part))
                os.makedirs(path, exist_ok=True)
                piece.write_ipc(os.path.join(path, f"{done}.arrow"), compression="lz4")
        if progress:
            progress(done + 1, len(chunks))
    return (int(parts.get_column("part").max()) + 1 if parts.height else 0), starts


def _grouped_rows(inputs: Inputs, f: int, k: int, first: int, mine: pl.DataFrame) -> pl.DataFrame:
    """The records that `mine` names, in order, of chunk k of file f (its first record at
    place `first`)."""
    records = read_records(inputs, f, mine.get_column(LOADED))
    if records is not None:
        return records.frame
    # the whole chunk, the long way round
    frame = read_chunk(inputs, f, k, first, 1 + sum(inputs.files[f].rows[:k])).records.frame
    return frame[(mine.get_column(LOADED).cast(pl.Int64) - first)]


def part_groups(meta: Records, groups: Groups, folder: str, part: int) -> tuple[Records, Groups] | None:
    """A spilled partition's records and their groups (members by position in the partition,
    with the conflicts its names show); None when no record was spilled to it. Each partition
    is read once: its files are removed once read, so that the disk space and the memory
    they held serve what is written next (the audit, the heads)."""
    path = os.path.join(folder, "parts", str(part))
    if not os.path.isdir(path):
        return None
    names = sorted(os.listdir(path), key=lambda n: int(n.split(".")[0]))
    frame = pl.concat([pl.read_ipc(os.path.join(path, n)) for n in names], rechunk=True)
    shutil.rmtree(path, ignore_errors=True)
    members = frame.select(pl.col(GROUP).alias("group"), pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX)
                           ).sort("group", IDX)
    records = replace(meta, frame=frame.drop(GROUP))
    mine = groups.info.join(members.select("group").unique(), on="group").sort("group")
    return records, Groups(members=members, info=with_conflicts(records, members, mine))


def plan_partitions(meta: Records, groups: Groups, count: int, chunk_starts: list[int], folder: str,
                    options: PlanOptions, preview: int | None,
                    progress: Callable[[int, int], None] | None = None, *, at: str = AT_STAND_IN,
                    run_line: bytes = b"") -> Planned:
    """Plan, apply and audit each partition in group order. The events go to one file after
    `run_line`: when the run's time `at` and its run line are known now, that file is the audit
    log as it will be (the last pass moves it into place instead of copying it)."""
    planned = Planned(away=pl.Series([], dtype=pl.UInt32), groups=pl.DataFrame(), folder=folder,
                      chunk_starts=chunk_starts, audit=os.path.join(folder, "audit.jsonl"), audit_head=run_line,
                      at=at)
    # the audit text is written one piece (~100 MB) behind, while the next events are made and
    # the next partition planned
    with open(planned.audit, "wb") as handle, Behind("leadtool-audit", 1) as behind:
        handle.write(run_line)
        _plan_each(meta, groups, count, folder, options, preview, progress, planned,
                   lambda text: behind.submit(_write_text, text, handle))
    return planned


def _write_text(text: pl.Series, handle: IO[bytes]) -> None:
    pl.DataFrame({"t": text}).write_csv(handle, include_header=False, quote_style="never", line_terminator="")


def _plan_each(meta: Records, groups: Groups, count: int, folder: str, options: PlanOptions, preview: int | None,
               progress: Callable[[int, int], None] | None, planned: Planned,
               audit: Callable[[pl.Series], None]) -> None:
    away: list[pl.Series] = []
    info: list[pl.DataFrame] = []
    shown = 0
    starts = pl.Series(planned.chunk_starts, dtype=pl.Int64)
    for part in range(count):
        part_found = part_groups(meta, groups, folder, part)
        if part_found is None:
            continue
        records, found = part_found
        plan = plan_merge(records, found, head=options.head, config=options.config,
                          allow_large=options.allow_large, allow_conflicts=options.allow_conflicts,
                          dates=options.dates)
        loaded = records.frame.get_column(LOADED)
        gone = plan.members.join(plan.merged_groups.select("group"), on="group").filter(pl.col("pos") > 0)
        away.append(loaded.gather(gone.get_column(IDX)))
        info.append(plan.groups.drop("head_idx"))
        _save_heads(plan, loaded, starts, folder, part)
        _save_audit(records, plan, audit, planned.at)
        if preview is None or shown < preview:
            planned.preview.append((plan, records))
            shown += plan.groups.height
        if progress:
            progress(part + 1, count)
    planned.away = pl.concat(away).sort() if away else planned.away
    planned.groups = pl.concat(info) if info else pl.DataFrame()


def _save_heads(plan: MergePlan, loaded: pl.Series, chunk_starts: pl.Series, folder: str, part: int) -> None:
    """Each merged head's values, by the chunk it lies in."""
    values = plan.values
    if not values.height:
        return
    heads = values.select(loaded.gather(values.get_column(HEAD_IDX)).alias(LOADED), *plan.columns)
    chunk = (chunk_starts.search_sorted(heads.get_column(LOADED).cast(pl.Int64), side="right") - 1).alias("__lt_c")
    for (c,), piece in heads.with_columns(chunk).partition_by("__lt_c", as_dict=True, include_key=False).items():
        path = os.path.join(folder, "heads", str(c))
        os.makedirs(path, exist_ok=True)
        piece.write_ipc(os.path.join(path, f"{part}.arrow"))


def _save_audit(records: Records, plan: MergePlan, audit: Callable[[pl.Series], None], at: str) -> None:
    """The partition's merge events, as `write_audit` writes them."""
    for chunk in merge_event_chunks(records, plan, at):
        if len(chunk):
            audit(chunk)


def summary(planned: Planned) -> dict[str, Any]:
    """`MergePlan.summary` over every partition."""
    groups = planned.groups
    if not groups.height:
        return {"groups": 0, "records_merged_away": 0, "skipped_large_groups": 0, "skipped_conflicts": 0}
    merged = groups.filter(~pl.col("skipped"))
    held = groups.get_column("held")
    return {"groups": merged.height, "records_merged_away": int(merged["merged"].list.len().sum() or 0),
            "skipped_large_groups": int((held == "large").sum()),
            "skipped_conflicts": int((held == "conflict").sum())}
