"""`leadtool inspect`: what was recognised in each file, as plain data for rendering."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import polars as pl

from .config import Config
from .match.dates import LOCAL_START, DateOptions, file_positions, parse_dates
from .match.emails import email_keys
from .match.groups import link_records
from .match.normalize import archived_expr, closed_expr, is_empty, type_expr
from .match.placeholders import DEFAULT_RULES, is_placeholder
from .records import SRC, Records, Source

#: placeholder keys listed by name (the count covers them all)
SHOWN_PLACEHOLDERS = 10


@dataclass
class FileSummary:
    file: str
    format: str
    encoding: str | None  # None: a workbook (its cells are text, not bytes in an encoding)
    delimiter: str | None
    quoting: str | None
    rows: int
    mapping: list[tuple[str, str | None]]  # (header, field or None)
    leads: int = 0
    opportunities: int = 0
    archived: int = 0
    won_or_closed: int = 0
    empty_emails: int = 0
    invalid_emails: int = 0
    duplicate_groups: int = 0
    records_in_duplicate_groups: int = 0
    preset: str | None = None  # the preset applied (`salesforce-lead`)
    looks_like: str | None = None  # what it is (`Salesforce Lead`)
    preset_detected: bool = False  # found from the headers, not given with --preset
    language: str | None = None  # the language of Odoo's labels (`fr`), None for English
    contact_name_from: list[str] = field(default_factory=list)  # headers composing the contact name
    dates: str | None = None  # how create_date is read (None: no such column)
    bad_dates: int = 0
    first_bad_date: str | None = None
    placeholder_emails: int = 0  # records whose email is a placeholder (never grouped)
    placeholder_keys: list[str] = field(default_factory=list)  # the first SHOWN_PLACEHOLDERS of them
    footer_lines: int = 0  # report footer lines after the data (io.footers): not records
    multiline_records: int = 0  # records over several lines (Odoo's x2many sub-fields, io.multiline)
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["mapping"] = [{"header": h, "field": f} for h, f in self.mapping]
        return d


def _email_stats(records: Records, config: Config | None) -> tuple[pl.DataFrame, dict[int, list[str]]]:
    """Per file: leads, opportunities, archived, closed, empty and unparseable emails and
    placeholder emails, over every email column; and the first placeholder keys of each file."""
    rules = (config.placeholders if config else None) or DEFAULT_RULES
    emails = records.columns_of("email_from")
    n = range(len(emails))
    frame = records.frame.select(
        pl.col(SRC), type_expr(records).alias("type"), archived_expr(records).alias("archived"),
        closed_expr(records, config).alias("closed"),
        *[is_empty(pl.col(c)).alias(f"e{j}") for j, c in enumerate(emails)],
    ).with_columns(email_keys(records.frame.get_column(c)).alias(f"k{j}") for j, c in enumerate(emails))
    frame = frame.with_columns(is_placeholder(pl.col(f"k{j}"), rules).alias(f"p{j}") for j in n)
    empty = pl.all_horizontal(pl.col(f"e{j}") for j in n) if emails else pl.lit(True)
    invalid = pl.any_horizontal((~pl.col(f"e{j}") & pl.col(f"k{j}").is_null()) for j in n) if emails else pl.lit(False)
    placeholder = pl.any_horizontal(pl.col(f"p{j}") for j in n) if emails else pl.lit(False)
    stats = frame.group_by(SRC).agg(
        (pl.col("type") == "lead").sum().alias("leads"),
        (pl.col("type") == "opportunity").sum().alias("opportunities"),
        pl.col("archived").sum(), pl.col("closed").sum(), empty.sum().alias("empty"),
        invalid.sum().alias("invalid"), placeholder.sum().alias("placeholders"))
    found = [frame.filter(pl.col(f"p{j}")).select(SRC, pl.col(f"k{j}").alias("k")) for j in n]
    keys: dict[int, list[str]] = {}
    for src, key in pl.concat(found).unique(maintain_order=True).iter_rows() if found else []:
        if len(keys.setdefault(src, [])) < SHOWN_PLACEHOLDERS:
            keys[src].append(key)
    return stats, keys


def _duplicates(records: Records, source: int, config: Config | None) -> tuple[int, int]:
    """Groups (by email, open records only) within one file, and the records in them: what
    `dupes` finds in that file alone."""
    frame = records.frame if len(records.sources) == 1 else records.frame.filter(pl.col(SRC) == source)
    if not records.columns_of("email_from") or not frame.height:
        return 0, 0
    linked = link_records(replace(records, frame=frame), config=config)
    return linked.labels.get_column("label").n_unique(), linked.labels.height


def _dates(records: Records, source: int, options: DateOptions) -> tuple[str | None, int, str | None]:
    """How one file's create_date reads: ISO, or the day/month order of its local dates (or why
    it cannot tell), with the unreadable values."""
    col = records.col("create_date")
    if not col:
        return None, 0, None
    src = records.frame.get_column(SRC)
    values = records.frame.get_column(col) if len(records.sources) == 1 else records.frame.get_column(col).gather(
        file_positions(src, source))
    result = parse_dates(values, options.order)
    if result.ambiguous:
        text = (f"ambiguous day/month order (e.g. {result.ambiguous_example!r}): give --date-order dmy or "
                "--date-order mdy")
    elif result.order is not None:
        form = "day first (D/M/Y)" if result.order == "dmy" else "month first (M/D/Y)"
        text = f"{form}, {'inferred from the values' if result.inferred else 'given with --date-order'}"
    elif result.local_count:
        text = "day first (D.M.Y)"
    elif values.str.contains(LOCAL_START).any():
        text = "local dates whose day equals their month"
    else:
        text = "ISO (YYYY-MM-DD)"
    return text, result.bad_count, result.first_bad


def _recognition(source: Source) -> dict:
    found = source.recognition
    if found is None:
        return {}
    out: dict = {"language": found.language}
    if found.preset is not None:
        parts = [i for part in found.preset.name_parts for i in part]
        out.update(preset=found.preset.preset.name, looks_like=found.preset.preset.label,
                   preset_detected=found.detected,
                   contact_name_from=[source.headers[i] for i in parts] if found.preset.composes_name else [])
    return out


def summarize(records: Records, config: Config | None = None, dates: DateOptions | None = None) -> list[FileSummary]:
    frame, placeholder_keys = _email_stats(records, config)
    stats = {r[SRC]: r for r in frame.to_dicts()}
    col_field = {col: fld for fld, col in records.fields.items()}
    col_field.update({col: fld for fld, cols in records.more_columns.items() for col in cols})
    out = []
    for i, src in enumerate(records.sources):
        s = stats.get(i, {})
        groups, members = _duplicates(records, i, config)
        date_text, bad, first_bad = _dates(records, i, dates or DateOptions())
        fields = src.recognition.fields if src.recognition else None
        mapping = [(h, fields.get(k) if fields is not None else col_field.get(c))
                   for k, (h, c) in enumerate(zip(src.headers, src.columns, strict=True))]
        fmt = src.fmt
        out.append(FileSummary(
            file=src.path, format=fmt.label,
            encoding=None if fmt.kind == "xlsx" else fmt.encoding + (" (BOM)" if fmt.bom else ""),
            delimiter=fmt.delimiter if fmt.kind == "csv" else None,
            quoting=fmt.quoting if fmt.kind == "csv" else None,
            rows=src.rows, mapping=mapping, footer_lines=len(src.footer),
            multiline_records=src.multiline,
            leads=s.get("leads", 0), opportunities=s.get("opportunities", 0),
            archived=s.get("archived", 0), won_or_closed=s.get("closed", 0),
            empty_emails=s.get("empty", 0), invalid_emails=s.get("invalid", 0),
            duplicate_groups=groups, records_in_duplicate_groups=members,
            dates=date_text, bad_dates=bad, first_bad_date=first_bad,
            placeholder_emails=s.get("placeholders", 0), placeholder_keys=placeholder_keys.get(i, []),
            **_recognition(src),
        ))
    return out
