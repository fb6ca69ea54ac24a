"""`leadtool inspect`: what was recognised in each file, as plain data for rendering."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from .config import Config
from .match.normalize import archived_expr, closed_expr, email_key_of, is_empty, type_expr
from .records import SRC, Records


@dataclass
class FileSummary:
    file: str
    format: str
    encoding: str
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
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["mapping"] = [{"header": h, "field": f} for h, f in self.mapping]
        return d


def summarize(records: Records, config: Config | None = None) -> list[FileSummary]:
    email = records.col("email_from")
    frame = records.frame.select(
        pl.col(SRC),
        type_expr(records).alias("type"),
        archived_expr(records).alias("archived"),
        closed_expr(records, config).alias("closed"),
        (is_empty(pl.col(email)) if email else pl.lit(True)).alias("empty"),
        email_key_of(records).alias("key"),
    )
    stats = frame.group_by(SRC).agg(
        (pl.col("type") == "lead").sum().alias("leads"),
        (pl.col("type") == "opportunity").sum().alias("opportunities"),
        pl.col("archived").sum(),
        pl.col("closed").sum(),
        pl.col("empty").sum(),
        (~pl.col("empty") & pl.col("key").is_null()).sum().alias("invalid"),
    )
    dupes = (frame.filter(~pl.col("closed") & pl.col("key").is_not_null())
             .group_by(SRC, "key").len().filter(pl.col("len") > 1)
             .group_by(SRC).agg(pl.len().alias("groups"), pl.col("len").sum().alias("members")))
    by_src = {r[SRC]: r for r in stats.to_dicts()}
    dup_src = {r[SRC]: r for r in dupes.to_dicts()}
    col_field = {col: fld for fld, col in records.fields.items()}
    out = []
    for i, src in enumerate(records.sources):
        s = by_src.get(i, {})
        d = dup_src.get(i, {})
        fmt = src.fmt
        out.append(FileSummary(
            file=src.path, format=fmt.label, encoding=fmt.encoding + (" (BOM)" if fmt.bom else ""),
            delimiter=fmt.delimiter if fmt.kind == "csv" else None,
            quoting=fmt.quoting if fmt.kind == "csv" else None,
            rows=src.rows,
            mapping=[(h, col_field.get(c)) for h, c in zip(src.headers, src.columns, strict=True)],
            leads=s.get("leads", 0), opportunities=s.get("opportunities", 0),
            archived=s.get("archived", 0), won_or_closed=s.get("closed", 0),
            empty_emails=s.get("empty", 0), invalid_emails=s.get("invalid", 0),
            duplicate_groups=d.get("groups", 0), records_in_duplicate_groups=d.get("members", 0),
        ))
    return out
