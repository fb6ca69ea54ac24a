"""The library's public edge (docs/library.md): the CLI's pipeline on pandas DataFrames.

A DataFrame from `load` has one text column per file column plus three bookkeeping columns
(`__lt_src`, `__lt_row`, `__lt_id`: source file, data row, record id) and carries the file
formats in `df.attrs["leadtool"]`, so `write` can give back the file as it came. Any other
DataFrame works too: its values are taken as text and its columns mapped like headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import polars as pl

from . import check as _check
from . import convert as _convert
from . import io as _io
from . import merge as _merge
from .audit.events import now_utc
from .audit.merge_events import merge_event_lines
from .audit.read import read_audit
from .audit.undo import undo as undo_log
from .config import Config, load_config
from .errors import UsageError
from .fields import FieldMap
from .match import groups as _groups
from .match.dates import DateOptions
from .match.table import duplicate_table
from .recognition import PresetChoice, recognise
from .records import FUZZY_SCORES, ID, ROW, SRC, FileFormat, Records, Source

if TYPE_CHECKING:  # pandas is imported on first use: the command line never needs it
    import pandas as pd

    from .match.fuzzy_groups import FuzzyOptions

_META = "leadtool"


def _config(config: Config | str | None) -> Config:
    if isinstance(config, Config):
        return config
    return load_config(config) if config else Config()


class _Meta:
    """Formats and mapping of the files a DataFrame came from (compared by identity, as
    pandas compares attrs)."""

    def __init__(self, records: Records) -> None:
        self.records = replace(records, frame=pl.DataFrame())


def to_pandas(records: Records) -> pd.DataFrame:
    df = records.frame.select([*records.columns, SRC, ROW, ID]).to_pandas()
    df.attrs[_META] = _Meta(records)
    return df


def to_records(df: pd.DataFrame, mapping: FieldMap | None = None, preset: str | None = None) -> Records:
    """A DataFrame as Records: its own metadata when it came from leadtool, else a fresh
    single-source table whose columns are mapped like headers (a preset detected from them, or
    `preset`: a name, a file or `odoo`)."""
    import pandas as pd

    meta = getattr(df.attrs.get(_META), "records", None)
    df = pd.DataFrame(df, copy=False)
    df.attrs = {}
    hidden = [c for c in (SRC, ROW, ID) if c in df.columns]
    data_cols = [str(c) for c in df.columns if c not in hidden]
    text = df[list(df.columns)].astype(object).where(df.notna(), "").astype(str)
    text.columns = [str(c) for c in df.columns]
    frame = pl.from_pandas(text[data_cols])
    if isinstance(meta, Records) and len(hidden) == 3 and set(data_cols) <= set(meta.headers):
        frame = frame.with_columns(
            pl.Series(SRC, df[SRC].to_numpy(), dtype=pl.UInt32),
            pl.Series(ROW, df[ROW].to_numpy(), dtype=pl.UInt32),
            pl.Series(ID, df[ID].astype(str).to_list(), dtype=pl.String))
        return replace(meta, frame=frame, columns=data_cols)
    found = recognise(data_cols, mapping, PresetChoice.parse(preset))
    source = Source(path="<dataframe>", fmt=FileFormat(newline="\n"), headers=data_cols, columns=data_cols,
                    rows=len(df), recognition=found)
    frame = frame.with_columns(pl.lit(0, dtype=pl.UInt32).alias(SRC),
                               pl.int_range(1, len(df) + 1, dtype=pl.UInt32).alias(ROW))
    fields: dict[str, str] = {}
    more: dict[str, list[str]] = {}
    for i, fld in found.fields.items():
        if fld in fields:
            more.setdefault(fld, []).append(data_cols[i])
        else:
            fields[fld] = data_cols[i]
    deals = found.preset is not None and found.preset.preset.records == "opportunity" and "type" not in fields
    records = Records(frame=frame, columns=data_cols, headers={c: c for c in data_cols}, sources=[source],
                      fields=fields, more_columns=more, opportunity_sources=frozenset({0} if deals else ()))
    return _io.with_ids(records)


def load(paths: str | Sequence[str], *, encoding: str | None = None, delimiter: str | None = None,
         mapping: FieldMap | None = None, opportunities: Sequence[str] = (),
         preset: str | None = None, sheet: str | None = None) -> pd.DataFrame:
    """Read exports (CSV, JSON, JSON Lines, Excel workbooks), every value as text. Each file's
    preset is detected from its headers unless `preset` (a name, a file or `odoo`) is given;
    `sheet` names the sheet read from workbooks (default: the first)."""
    paths = [paths] if isinstance(paths, str) else list(paths)
    return to_pandas(_io.load(paths, encoding=encoding, delimiter=delimiter, mapping=mapping,
                              opportunities=opportunities, preset=PresetChoice.parse(preset), sheet=sheet))


def write(df: pd.DataFrame, path: str) -> None:
    """Write in the format of the first input file (atomically); a name ending in `.xlsx` is
    an Excel workbook."""
    _io.write(to_records(df), path)


def _found(records: Records, config: Config, by: Sequence[str] = ("email",), manual: Sequence[Sequence[str]] = (),
           fuzzy: FuzzyOptions | None = None, **options: Any) -> _groups.Groups:
    if fuzzy is not None:
        from .match import fuzzy_groups as _fuzzy

        return _fuzzy.find_fuzzy_groups(records, fuzzy, by=_groups.parse_by(by), manual=manual, config=config,
                                        **options)
    return _groups.find_groups(records, by=_groups.parse_by(by), manual=manual, config=config, **options)


def find_groups(df: pd.DataFrame, *, by: Sequence[str] = ("email",), manual: Sequence[Sequence[str]] = (),
                head: str = "oldest", config: Config | str | None = None, date_order: str | None = None,
                allow_bad_dates: bool = False, fuzzy: bool = False, fuzzy_threshold: float | None = None,
                **options: Any) -> pd.DataFrame:
    """The duplicate groups, one row per grouped record, head first: group, id, head,
    reasons, file, row, name, email_from, partner_name, create_date, size, large, conflict (why
    the group's records look like different people: not merged without allow_conflicts); with
    `fuzzy`, the fuzzy suggestions too (scored `fuzzy_threshold` or more) and the columns
    group_score, score, compared and vs_<comparison> (docs/library.md#fuzzy-suggestions).
    `options`: include_closed, email_key, canonical, default_region, max_group."""
    from .match import fuzzy_groups as _fuzzy  # the fuzzy engine: imported on first use

    cfg = _config(config)
    records = to_records(df, cfg.map)
    if fuzzy_threshold is not None and not fuzzy:
        raise UsageError("find_groups: fuzzy_threshold needs fuzzy=True")
    found = _found(records, cfg, by, manual, _fuzzy.fuzzy_options(cfg, fuzzy_threshold) if fuzzy else None,
                   **options)
    members = _merge.ordered_members(records, found, head=head, config=cfg,
                                     dates=DateOptions(date_order, allow_bad_dates))
    table = duplicate_table(records, found, members)
    if isinstance(found, _fuzzy.FuzzyGroups):
        table = _fuzzy.fuzzy_table(table, found, members)
    return table.to_pandas()


def fuzzy_pairs(df: pd.DataFrame, *, threshold: float | None = None, config: Config | str | None = None,
                by: Sequence[str] = ("email",), manual: Sequence[Sequence[str]] = (), **options: Any) -> pd.DataFrame:
    """The candidate pairs scored `threshold` (default: the config's, else 96) or more, before
    any grouping, highest score first: idx_a, idx_b (positions in `df`), id_a, id_b, score,
    matched, exact (already in one exact group) and one column per comparison with its level.
    `options` as for `find_groups` (include_closed, ...)."""
    from .match import fuzzy_groups as _fuzzy

    cfg = _config(config)
    records = to_records(df, cfg.map)
    return _fuzzy.scored_pairs(records, _fuzzy.fuzzy_options(cfg, threshold), by=_groups.parse_by(by),
                               manual=manual, config=cfg, **options).to_pandas()


@dataclass
class Plan:
    """A merge plan: `groups` (group, head, merged, reasons, size, skipped) and `changes`
    (group, column, before, after, source, composed) as pandas; `plan` is the engine's own."""

    groups: pd.DataFrame
    changes: pd.DataFrame
    plan: _merge.MergePlan
    records: Records


def plan_merge(df: pd.DataFrame, *, by: Sequence[str] = ("email",), manual: Sequence[Sequence[str]] = (),
               head: str = "oldest", allow_large: bool = False, allow_conflicts: bool = False,
               config: Config | str | None = None, date_order: str | None = None, allow_bad_dates: bool = False,
               fuzzy_merge: float | None = None, **options: Any) -> Plan:
    """Decide the merges (options as `find_groups`); large groups and groups of clearly
    different people are skipped unless allowed. `fuzzy_merge`: also merge the fuzzy
    suggestions scored that much or more (as `merge --fuzzy-merge`)."""
    cfg = _config(config)
    records = to_records(df, cfg.map)
    suggest = None
    if fuzzy_merge is not None:
        from .match import fuzzy_groups as _fuzzy

        suggest = _fuzzy.fuzzy_options(cfg, merge=fuzzy_merge)
    found = _found(records, cfg, by, manual, suggest, **options)
    plan = _merge.plan_merge(records, found, head=head, config=cfg, allow_large=allow_large,
                             allow_conflicts=allow_conflicts, dates=DateOptions(date_order, allow_bad_dates))
    groups = plan.groups.drop("head_idx", *([FUZZY_SCORES] if FUZZY_SCORES in plan.groups.columns else []))
    return Plan(groups=groups.to_pandas(), changes=plan.changes.to_pandas(), plan=plan, records=records)


def apply_merge(df: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """`df` merged as `plan` says. The plan must have been made from these records (the same
    rows in the same order): a plan names records by their position."""
    records = to_records(df)
    if records.frame.height != plan.records.frame.height or not records.frame.get_column(ID).equals(
            plan.records.frame.get_column(ID)):
        raise UsageError("apply_merge: the plan was made from other records (plan_merge this DataFrame)")
    return to_pandas(_merge.apply_merge(replace(plan.records, frame=records.frame), plan.plan))


def merge(df: pd.DataFrame, **options: Any) -> pd.DataFrame:
    """Plan and apply in one step (options as `plan_merge`)."""
    return apply_merge(df, plan_merge(df, **options))


def audit_lines(plan: Plan, at: str | None = None) -> list[str]:
    """The merge events of a plan, as the audit log holds them."""
    return merge_event_lines(plan.records, plan.plan, at or now_utc()).to_list()


def convert(df: pd.DataFrame, *, config: Config | str | None = None, customers: str | None = None,
            **options: Any) -> pd.DataFrame:
    """Convert leads (options as `ConvertOptions`: ids, all, salespersons, team,
    force_assignment, customer, dedupe, now, max_group, head, allow_conflicts; and date_order,
    allow_bad_dates)."""
    from .customers import read_customers

    cfg = _config(config)
    records = to_records(df, cfg.map)
    dates = DateOptions(options.pop("date_order", None), options.pop("allow_bad_dates", False))
    plan = _convert.plan_convert(records, _convert.ConvertOptions(**options, dates=dates),
                                 customers=read_customers(customers) if customers else None, config=cfg)
    return to_pandas(_convert.apply_convert(records, plan))


def check(df: pd.DataFrame, *, config: Config | str | None = None, **options: Any) -> dict[str, Any]:
    """`{"valid", "stats", "problems"}` as `leadtool check --format json` prints it."""
    cfg = _config(config)
    return _check.check_records(to_records(df, cfg.map), cfg, **options).as_dict()


def undo(audit_path: str, merged: pd.DataFrame) -> pd.DataFrame:
    """The records before the run that wrote `merged` and its audit log."""
    return to_pandas(undo_log(read_audit(audit_path), to_records(merged)).records)


def write_merge(plan: Plan, output: str, audit: str | None = None) -> None:
    """Write the merged records to `output` and the audit log (default: beside it), as
    `leadtool merge` does: both published together."""
    from .audit.events import default_audit_path
    from .runs import write_merge as write_run_files

    write_run_files(plan.records, plan.plan, output, audit or default_audit_path(output))
