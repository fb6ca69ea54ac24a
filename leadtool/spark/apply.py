"""One bucket of whole duplicate groups, merged on a Spark worker by the local code.

Spark hands each bucket's records (every column, with the group each belongs to and the keys
that joined it) to `MergeBucket` as an Arrow table; the bucket is planned by `merge.plan_merge`,
applied by `merge.merge_query` and audited by `audit.merge_event_chunks`, exactly as one machine
does it for a whole file: a plan only needs the whole groups it merges. No Spark here, so it
runs (and is tested) without a JVM too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from ..audit.merge_events import merge_event_chunks
from ..config import Config
from ..errors import LeadtoolError
from ..match.dates import DateOptions
from ..match.groups import Groups, Linked, reasons_of, with_conflicts
from ..merge import merge_query, plan_merge
from ..records import ID, IDX, ROW, SRC, Records

# columns of the Spark side (data columns are c0..cN-1, in Records.columns order)
GIDX = "__lt_gidx"  # a record's place in the whole input: (source << 40) + row, in input order
GROUP = "__lt_group"
KEYS = "__lt_keys"  # the keys (held by two records or more) that put the record in its group
TAG = "__lt_tag"
LINE = "__lt_line"
# what each output row of a bucket is
HEAD_ROW, AWAY_ROW, AUDIT_ROW, HELD_ROW = 1, 2, 3, 4  # HELD_ROW: a group of different people, not merged
BAD_DATE_ROW = 5  # a grouped record whose create_date cannot be read (LINE: its id), --allow-bad-dates
ERROR_ROW = 6  # the bucket stopped on a user error (LINE: the error as JSON, see `bucket_error`)


def data_names(n: int) -> list[str]:
    """Data columns by position on the Spark side: Spark resolves names case-insensitively and
    reads dots as struct access; positions have neither problem."""
    return [f"c{i}" for i in range(n)]


@dataclass(frozen=True)
class MergeBucket:
    """The Arrow function of `groupBy(bucket).applyInArrow`. `records`: the inputs' columns,
    headers, fields and sources, with an empty frame (shipped to every worker)."""

    records: Records
    head: str
    config: Config | None
    allow_large: bool
    max_group: int
    at: str
    allow_conflicts: bool = False
    dates: DateOptions = DateOptions()

    def __call__(self, table):  # pa.Table -> pa.Table
        frame = pl.from_arrow(table)
        try:
            out = self.merge(frame)
        except LeadtoolError as exc:  # raised again by the driver, as the local path raises it
            out = self.error_row(exc, frame)
        return small_strings(out.to_arrow())

    def error_row(self, exc: LeadtoolError, frame: pl.DataFrame) -> pl.DataFrame:
        names = data_names(len(self.records.columns))
        text = json.dumps({"type": type(exc).__name__, "message": exc.message, "file": exc.file,
                           "line": exc.line, "column": exc.column})
        first = frame.get_column(GROUP).min() if frame.height else 0
        return pl.DataFrame({**{c: [None] for c in names}, GIDX: [None], TAG: [ERROR_ROW], GROUP: [first],
                             LINE: [text]},
                            schema={**dict.fromkeys(names, pl.String), GIDX: pl.Int64, TAG: pl.Int32,
                                    GROUP: pl.Int64, LINE: pl.String})

    def merge(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Heads with their merged values (tag 1), the merged-away records' places (tag 2) and
        one audit line per merged group (tag 3)."""
        columns = self.records.columns
        frame = frame.sort(GIDX).rename(dict(zip(data_names(len(columns)), columns, strict=True)))
        records = self.records.with_frame(frame.select(
            *columns, pl.col(SRC).cast(pl.UInt32), pl.col(ROW).cast(pl.UInt32), ID, GIDX))
        plan = plan_merge(records, self.groups(frame, records), head=self.head, config=self.config,
                          allow_large=self.allow_large, allow_conflicts=self.allow_conflicts, dates=self.dates)
        merged = plan.merged_groups
        heads = records.frame.get_column(GIDX).gather(merged.get_column("head_idx"))
        away = plan.members.join(merged.select("group"), on="group").filter(pl.col("pos") > 0)
        rows = (merge_query(records, plan).filter(pl.col(GIDX).is_in(heads.implode())).collect()
                .select(*columns, GIDX, pl.lit(HEAD_ROW, pl.Int32).alias(TAG)))
        text = "".join(chunk.str.join("").item() for chunk in merge_event_chunks(records, plan, self.at))
        lines = pl.DataFrame({GROUP: merged.get_column("group").cast(pl.Int64),
                              LINE: text.split("\n")[:-1]}, schema={GROUP: pl.Int64, LINE: pl.String})
        held = plan.groups.filter(pl.col("held") == "conflict").get_column("group").cast(pl.Int64)
        bad = (plan.groups.select(pl.col("group").cast(pl.Int64).alias(GROUP), pl.col("bad_dates").alias(LINE))
               .explode(LINE).drop_nulls(LINE).with_row_index(GIDX).with_columns(pl.col(GIDX).cast(pl.Int64)))
        out = pl.concat([
            rows.with_columns(pl.col(GIDX).cast(pl.Int64)),
            pl.DataFrame({GROUP: held}, schema={GROUP: pl.Int64}).with_columns(pl.lit(HELD_ROW, pl.Int32).alias(TAG)),
            pl.DataFrame({GIDX: records.frame.get_column(GIDX).gather(away.get_column(IDX)).cast(pl.Int64)})
            .with_columns(pl.lit(AWAY_ROW, pl.Int32).alias(TAG)),
            lines.with_columns(pl.lit(AUDIT_ROW, pl.Int32).alias(TAG)),
            bad.with_columns(pl.lit(BAD_DATE_ROW, pl.Int32).alias(TAG)),
        ], how="diagonal")
        names = dict(zip(columns, data_names(len(columns)), strict=True))
        return out.select(*[pl.col(c).cast(pl.String).alias(names[c]) for c in columns],
                          pl.col(GIDX).cast(pl.Int64), pl.col(TAG).cast(pl.Int32),
                          pl.col(GROUP).cast(pl.Int64), pl.col(LINE).cast(pl.String))

    def groups(self, frame: pl.DataFrame, records: Records) -> Groups:
        """The bucket's groups as `groups.find_groups` describes them: members sorted by group
        and position, each group's size, sorted reasons (`groups.reasons_of`), `large` and
        `conflict` (the different-people guard, `groups.with_conflicts`)."""
        at = pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX)
        members = frame.select(pl.col(GROUP).cast(pl.UInt32).alias("group"), at).sort("group", IDX)
        edges = frame.select(at, pl.col(KEYS).alias("key")).explode("key").drop_nulls("key")
        linked = Linked(edges=edges, labels=members.select(IDX, pl.col("group").alias("label")))
        reasons = reasons_of(linked, members, by="group")
        info = (members.group_by("group").agg(pl.len().cast(pl.UInt32).alias("size"))
                .join(reasons, on="group").sort("group")
                .with_columns((pl.col("size") > self.max_group).alias("large")))
        return Groups(members=members, info=with_conflicts(records, members, info))


def small_strings(table):
    """polars gives `large_string` (and lists of them); pyspark's Arrow functions are checked
    against `string`: a cast of the column types only (values under 2 GB a batch)."""
    import pyarrow as pa

    def small(t: pa.DataType) -> pa.DataType:
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            return pa.string()
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            return pa.list_(small(t.value_type))
        return t

    return table.cast(pa.schema([pa.field(f.name, small(f.type)) for f in table.schema]))


def output_schema(n_columns: int) -> str:
    """The Spark schema of `MergeBucket`'s rows (DDL)."""
    data = ", ".join(f"{c} string" for c in data_names(n_columns))
    return f"{data + ', ' if data else ''}{GIDX} long, {TAG} int, {GROUP} long, {LINE} string"


def bucket_error(line: str) -> LeadtoolError:
    """The user error a bucket stopped on (`MergeBucket.error_row`), as the local path raises it."""
    from .. import errors

    found = json.loads(line)
    kind = getattr(errors, found["type"], None)
    kind = kind if isinstance(kind, type) and issubclass(kind, LeadtoolError) else LeadtoolError
    return kind(found["message"], file=found["file"], line=found["line"], column=found["column"])
