"""The audit log (docs/audit.md), Odoo's chatter for files: JSON Lines, one event per line,
written atomically; its run line is sealed with the output's digest (`seal`) once the output
is written."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

import polars as pl

from ..convert import ConvertPlan
from ..io import atomic_output
from ..io.digest import Digest
from ..merge import MergePlan
from ..records import Records
from .convert_events import convert_event_lines, other_events
from .events import run_event, seal_run_line, unsealed_run_line
from .merge_events import merge_event_chunks


def write_audit(path: str, header: dict[str, Any], chunks: Iterable[pl.Series],
                events: Iterable[dict[str, Any]] = ()) -> None:
    """Atomically: the run event (unsealed), the bulk-built text (each Series' fragments
    written one after the other, as they are), then other events."""
    with atomic_output(path) as handle:
        handle.write(unsealed_run_line(header).encode("utf-8"))
        handle.flush()
        for chunk in chunks:
            if len(chunk):
                pl.DataFrame({"t": chunk}).write_csv(handle, include_header=False, quote_style="never",
                                                     line_terminator="")
        for event in events:
            handle.write((json.dumps(event, ensure_ascii=False) + "\n").encode("utf-8"))


def seal(path: str, digest: Digest) -> None:
    """The output's digest and size into the run line of the audit log at `path`."""
    if digest.hexdigest is None:
        raise ValueError("the output's digest was not computed")
    seal_run_line(path, digest.hexdigest, digest.size)


def write_merge_log(path: str, records: Records, plan: MergePlan, output: str | None, at: str) -> None:
    """A merge run's log: the run event, then one merge event per merged group."""
    write_audit(path, run_event("merge", records, output, at), merge_event_chunks(records, plan, at))


def write_convert_log(path: str, records: Records, plan: ConvertPlan, output: str | None, at: str) -> None:
    """A convert run's log: the run event, the merge-first events, one convert event per
    converted record, then the created customers and the skips."""
    merges = merge_event_chunks(records, plan.merge, at) if plan.merge is not None else iter(())
    header = run_event("convert", records, output, at, now=plan.now, appended=[c for _, c in plan.appended])
    write_audit(path, header, itertools.chain(merges, [convert_event_lines(records, plan, at) + "\n"]),
                other_events(records, plan, at))
