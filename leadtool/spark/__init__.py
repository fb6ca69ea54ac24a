"""`merge` on Spark (docs/spark.md): the same groups, merged records and audit events as
the local path, for leads that live in a Spark platform or outgrow one machine.

    import leadtool.spark
    merged_df, audit_df = leadtool.spark.merge(df, by=("email", "customer"))

Keys and groups are computed by Spark (`keys`, `groups`); every group is planned,
applied and audited by the local code (`merge.plan_merge`, `merge.merge_query`,
`audit.merge_event_chunks`) inside `groupBy(bucket).applyInArrow`, a bucket holding many whole
groups (`apply`). Heads' new values then replace their originals and merged-away records
drop out in one range-partitioned pass that also puts the output in input order.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..audit.events import default_audit_path, now_utc, run_event
from ..config import Config, load_config
from ..errors import UsageError
from ..fields import FieldMap, check_mapped_headers
from ..io import refuse_overwrite
from ..match.dates import DateOptions
from ..match.groups import check_link_options, parse_by
from ..match.manual import parse_group_options, read_groups_file
from ..recognition import PresetChoice
from ..records import ID, ROW, SRC, FileFormat, Records
from .apply import (
    AUDIT_ROW,
    AWAY_ROW,
    BAD_DATE_ROW,
    ERROR_ROW,
    GIDX,
    GROUP,
    HEAD_ROW,
    HELD_ROW,
    KEYS,
    LINE,
    TAG,
    MergeBucket,
    bucket_error,
    data_names,
    output_schema,
)
from .groups import has_repeated_ids, key_edges, link, manual_edges, numbered
from .io import (
    SparkRecords,
    count_rows,
    discard,
    from_dataframe,
    output_kind,
    publish,
    read,
    spark_session,
    staging_path,
    write_lines,
    write_records,
)
from .keys import file_dates

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkMerge", "merge", "merge_files", "merge_records", "read", "spark_session"]
BUCKET = "__lt_bucket"
BUCKET_ROWS = 50_000  # grouped records a bucket holds at most, on average (one Python call each)
BROADCAST_BYTES = 512 << 20  # a side of a join this small (estimated) is sent whole to every executor
MEMBER_BYTES = 64  # a member row (idx, group, its keys), estimated
HEAD_BYTES, AWAY_BYTES = 800, 24  # a head's new values (a whole record), a merged-away mark


@dataclass
class SparkMerge:
    """The result of `merge_records`. `merged()`: the output records (data columns `c0..` and
    `__lt_gidx`), in input order. `audit`: one merge event a merged group (`group`, `line`: its
    JSON line). `applied` (what the buckets gave back) and `members` are kept (persisted or
    checkpointed) so that the output and the audit log do not plan twice."""

    frame: DataFrame
    ordered: bool
    audit: DataFrame
    applied: DataFrame
    members: DataFrame
    records: Records
    max_group: int
    allow_large: bool
    broadcast_bytes: int = BROADCAST_BYTES
    _summary: dict[str, int] | None = None

    def summary(self) -> dict[str, int]:
        """As `MergePlan.summary`, plus `groups_found` (every group, large ones too). The first
        call runs the merges (their results are kept)."""
        from pyspark.sql import functions as F

        if self._summary is None:
            tags = dict(tuple(r) for r in self.applied.groupBy(TAG).count().collect())
            if tags.get(ERROR_ROW):
                first = self.applied.filter(F.col(TAG) == ERROR_ROW).orderBy(GROUP).select(LINE).first()
                raise bucket_error(first[0])
            sizes = self.members.groupBy(GROUP).count()
            found = sizes.agg(F.count(F.lit(1)), F.sum((F.col("count") > self.max_group).cast("int"))).first()
            large = int(found[1] or 0)
            self._summary = {"groups": int(tags.get(AUDIT_ROW, 0)), "records_merged_away": int(tags.get(AWAY_ROW, 0)),
                             "skipped_large_groups": 0 if self.allow_large else large,
                             "skipped_conflicts": int(tags.get(HELD_ROW, 0)),
                             "groups_found": int(found[0] or 0)}
        return self._summary

    def merged(self) -> DataFrame:
        """The output: each head's row replaced by its new values, merged-away records left out.
        An input already in order (a CSV read) is joined with the few changed rows sent whole
        to every executor, which keeps its order and moves nothing else; otherwise records and
        changes meet in range partitions of their idx, which also sorts them."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        data = data_names(len(self.records.columns))
        updates = self.applied.filter(F.col(TAG).isin(HEAD_ROW, AWAY_ROW)).select(*data, GIDX, TAG)
        s = self.summary()
        size = s["groups"] * HEAD_BYTES + s["records_merged_away"] * AWAY_BYTES
        if self.ordered and size <= self.broadcast_bytes:
            new = updates.select(GIDX, TAG, *[F.col(c).alias(f"__lt_new_{c}") for c in data])
            joined = self.frame.join(F.broadcast(new), on=GIDX, how="left")
            head = F.col(TAG) == HEAD_ROW
            return (joined.filter(F.col(TAG).isNull() | head)
                    .select(*[F.when(head, F.col(f"__lt_new_{c}")).otherwise(F.col(c)).alias(c) for c in data], GIDX))
        top = F.max(TAG).over(Window.partitionBy(GIDX))
        return (self.frame.select(*data, GIDX, F.lit(0).alias(TAG)).unionByName(updates)
                .repartitionByRange(GIDX).withColumn("__lt_top", top)
                .filter((F.col(TAG) == F.col("__lt_top")) & (F.col(TAG) != AWAY_ROW))
                .sortWithinPartitions(GIDX).select(*data, GIDX))

    def bad_dates(self) -> tuple[int, str | None]:
        """How many grouped records sort last for want of a readable create_date
        (--allow-bad-dates), and the first one's id (in group order)."""
        from pyspark.sql import functions as F

        bad = self.applied.filter(F.col(TAG) == BAD_DATE_ROW)
        first = bad.orderBy(GROUP, GIDX).select(LINE).first()
        return (bad.count(), first[0]) if first is not None else (0, None)

    def large_groups(self, limit: int = 5) -> list[int]:
        from pyspark.sql import functions as F

        sizes = self.members.groupBy(GROUP).count().filter(F.col("count") > self.max_group)
        return [int(r[0]) for r in sizes.select(GROUP).orderBy(GROUP).limit(limit).collect()]

    def audit_lines(self) -> DataFrame:
        return self.audit.orderBy(GROUP).select(LINE)


def _config(config: Config | str | None) -> Config:
    if isinstance(config, Config):
        return config
    return load_config(config) if config else Config()


def describe(spark: SparkSession, what: str | None) -> None:
    """Name the jobs that follow in Spark's UI and REST API (the benchmark reads them)."""
    spark.sparkContext.setJobDescription(f"leadtool: {what}" if what else None)


def _checkpointer(spark: SparkSession):
    """Cut a frame's lineage where an iteration would grow it: a reliable checkpoint when the
    session has a checkpoint folder, else a local one (kept by the executors)."""
    reliable = spark.sparkContext.getCheckpointDir() is not None

    def checkpoint(frame: DataFrame, eager: bool = True) -> DataFrame:
        return frame.checkpoint(eager=eager) if reliable else frame.localCheckpoint(eager=eager)

    return checkpoint


def merge_records(srec: SparkRecords, *, by: Sequence[str] = ("email",), head: str = "oldest",
                  include_closed: bool = False, max_group: int = 50, allow_large: bool = False,
                  allow_conflicts: bool = False, email_key: str = "first", canonical: bool = False,
                  default_region: str | None = None,
                  manual: Sequence[Sequence[str]] = (), config: Config | str | None = None,
                  at: str | None = None, bucket_rows: int = BUCKET_ROWS,
                  broadcast_bytes: int = BROADCAST_BYTES, dates: DateOptions | None = None) -> SparkMerge:
    """Find the groups, merge each one by the local rules and give back the output records and
    the merge events, as Spark frames (see `SparkMerge`). Options as `groups.find_groups` and
    `merge.plan_merge` (`dates`: --date-order, --allow-bad-dates); `at` is the events' time
    (default: now). Finds the groups at once; the merges run when a result is first asked for
    (a user error a bucket stops on is raised then)."""
    from pyspark.sql import functions as F

    from ..merge import HEADS

    cfg = _config(config)
    by = parse_by(by)
    check_link_options(by, email_key, max_group, default_region)
    if head not in HEADS:
        raise UsageError(f"--head {head!r}: expected one of {', '.join(HEADS)}")
    frame, records = srec.frame, srec.records
    spark = frame.sparkSession
    describe(spark, "finding the groups")
    checkpoint = _checkpointer(spark)
    repeated = has_repeated_ids(frame)
    edges = key_edges(frame, records, by=by, include_closed=include_closed, email_key=email_key,
                      canonical=canonical, default_region=default_region, config=cfg, repeated_ids=repeated)
    hand = manual_edges(frame, manual)
    if hand is not None:
        edges = edges.unionByName(hand)
    several_emails = len(records.columns_of("email_from")) > 1
    members, _ = link(edges, one_key_each=(by == ["email"] and email_key == "first" and not manual
                                           and not repeated and not several_emails),
                      repeats=email_key == "all" or "phone" in by or bool(manual) or several_emails,
                      checkpoint=checkpoint)
    # kept once found: the numbering reads the labels twice, and the key pass runs Python
    members, grouped_records = numbered(checkpoint(members))
    # partitions sized by the data, not by spark.sql.shuffle.partitions: a kept (persisted)
    # frame keeps its partitions, and every later stage would run that many tasks
    parallelism = spark.sparkContext.defaultParallelism
    buckets = max(parallelism, math.ceil(grouped_records / max(bucket_rows, 1)))
    members = members.coalesce(max(parallelism, math.ceil(grouped_records / 1_000_000))).persist()
    # the members sent whole to every executor when they are few: the records stay in place
    # and only the grouped ones move (to their bucket)
    small = grouped_records * MEMBER_BYTES <= broadcast_bytes
    grouped = (frame.join(F.broadcast(members) if small else members, on=GIDX)
               .withColumn(BUCKET, F.pmod(F.col(GROUP), F.lit(buckets)))
               .select(*data_names(len(records.columns)), SRC, ROW, ID, GIDX, GROUP, KEYS, BUCKET)
               .repartition(buckets, BUCKET))  # one bucket a partition, about
    dates = dates or DateOptions()
    created = records.col("create_date")
    if head == "oldest" and dates.order is None and created:
        # a bucket holds part of each file: each file's day/month order comes from its whole column
        describe(spark, "reading the order of local dates")
        dates = replace(dates, files=file_dates(frame, data_names(len(records.columns))[
            records.columns.index(created)]))
    job = MergeBucket(records=records.with_frame(records.frame.clear()), head=head, config=cfg,
                      allow_large=allow_large, allow_conflicts=allow_conflicts, max_group=max_group,
                      at=at or now_utc(), dates=dates)
    schema = output_schema(len(records.columns))
    by_bucket = grouped.groupBy(BUCKET)
    if hasattr(by_bucket, "applyInArrow"):
        applied = by_bucket.applyInArrow(_through_arrow(job), schema)
    else:  # Spark 3.5: the same function through pandas
        applied = by_bucket.applyInPandas(_through_pandas(job), schema)
    applied = applied.persist()
    audit = applied.filter(F.col(TAG) == AUDIT_ROW).select(GROUP, LINE)
    return SparkMerge(frame=frame, ordered=srec.ordered, audit=audit, applied=applied, members=members,
                      records=records, max_group=max_group, allow_large=allow_large,
                      broadcast_bytes=broadcast_bytes)


def _through_arrow(job: MergeBucket):
    """A plain function of one argument: pyspark counts a callable's arguments to tell
    `f(table)` from `f(key, table)`, and would count a method's `self`."""
    def apply(table):  # pyarrow.Table -> pyarrow.Table
        return job(table)

    return apply


def _through_pandas(job: MergeBucket):
    def apply(frame):  # pandas.DataFrame -> pandas.DataFrame
        import pyarrow as pa

        return job(pa.Table.from_pandas(frame, preserve_index=False)).to_pandas()

    return apply


def merge(df: DataFrame, *, by: Sequence[str] = ("email",), head: str = "oldest", include_closed: bool = False,
          max_group: int = 50, allow_large: bool = False, allow_conflicts: bool = False, email_key: str = "first",
          canonical: bool = False,
          default_region: str | None = None, manual: Sequence[Sequence[str]] = (),
          config: Config | str | None = None, mapping: FieldMap | None = None,
          preset: PresetChoice | str | None = None, dates: DateOptions | None = None,
          at: str | None = None) -> tuple[DataFrame, DataFrame]:
    """Merge the duplicate leads of a DataFrame whose every column is a string.

    Returns `(merged_df, audit_df)`: the records after the merge with `df`'s columns, in input
    order (`df`'s partition order, or its `__lt_src`/`__lt_row` columns when it has them), and
    the merge events as JSON lines (`group`, `line`: the audit log's lines, docs/audit.md). Columns
    are recognised from their names (docs/formats.md#field-recognition), `mapping` (field -> column
    or columns) and `preset` (`--preset`: a name, a file or `odoo`) as the local reader does;
    `dates` as `--date-order` and `--allow-bad-dates`."""
    cfg = _config(config)
    srec = from_dataframe(df, mapping={**cfg.map, **(mapping or {})}, preset=preset)
    result = merge_records(srec, by=by, head=head, include_closed=include_closed, max_group=max_group,
                           allow_large=allow_large, allow_conflicts=allow_conflicts, email_key=email_key,
                           canonical=canonical,
                           default_region=default_region, manual=manual, config=cfg, at=at, dates=dates)
    names = [result.records.headers[c] for c in result.records.columns]
    from pyspark.sql import functions as F

    audit = result.audit.orderBy(GROUP).select(F.col(GROUP).alias("group"), F.col(LINE).alias("line"))
    return result.merged().select(*data_names(len(names))).toDF(*names), audit


def merge_files(inputs: Sequence[str], output: str, audit: str | None = None, *, spark: SparkSession | None = None,
                master: str | None = None, output_format: str | None = None, delimiter: str | None = None,
                encoding: str | None = None, mapping: FieldMap | None = None,
                opportunities: Sequence[str] = (), config: Config | str | None = None, dry_run: bool = False,
                preset: PresetChoice | str | None = None, confirm=None,
                **options: Any) -> tuple[dict[str, int], SparkMerge]:
    """`leadtool merge --engine spark`: read the inputs (CSV, Parquet, Delta), merge, and write
    `output` and the audit log (default: OUTPUT.audit.jsonl) as folders of part files, the
    audit's first line the run event. Both are written to staging folders first and replace
    their targets together. `options` as `merge_records`; `confirm(summary, result)` may say no."""
    if output == "-":
        raise UsageError("--engine spark writes folders of part files: -o - is not supported")
    audit = audit or default_audit_path(output)
    kind = output_kind(output, output_format)
    given = list(inputs) + list(opportunities)
    if output in given or audit in given:
        raise UsageError(f"{output if output in given else audit}: refusing to overwrite an input; choose another -o")
    # the folder checks apply to this machine's files (a cluster's URIs are Spark's to check)
    refuse_overwrite([p for p in (output, audit) if "://" not in p], [p for p in given if "://" not in p])
    cfg = _config(config)
    spark = spark or spark_session(master)
    describe(spark, "reading")
    srec = count_rows(read(spark, inputs, delimiter=delimiter, encoding=encoding,
                           mapping={**cfg.map, **(mapping or {})}, opportunities=opportunities, preset=preset))
    check_mapped_headers({**cfg.map, **(mapping or {})}, srec.records.sources, options=mapping or {},
                         config_path=cfg.path)
    at = options.pop("at", None) or now_utc()
    result = merge_records(srec, config=cfg, at=at, **options)
    describe(spark, "merging the groups")
    summary = result.summary()
    summary["records_kept"] = sum(s.rows for s in result.records.sources) - summary["records_merged_away"]
    if dry_run or (confirm is not None and not confirm(summary, result)):
        describe(spark, None)
        return summary, result
    first = result.records.sources[0].fmt
    fmt = first if first.kind == "csv" else FileFormat(newline="\n")
    header = json.dumps(run_event("merge", result.records, output, at), ensure_ascii=False)
    lines = (spark.createDataFrame([(0, header)], f"{GROUP} long, {LINE} string")
             .unionByName(result.audit).orderBy(GROUP).select(LINE))
    staged = [(staging_path(audit), audit), (staging_path(output), output)]
    try:
        describe(spark, "writing the audit log")
        write_lines(lines, staged[0][0])
        describe(spark, "writing the output")
        write_records(result.merged(), result.records, staged[1][0], kind, fmt)
        publish(spark, staged)
    finally:
        describe(spark, None)
        discard(spark, [s for s, _ in staged])
    return summary, result


#: `merge` options that --engine spark does not take: (the flag, its value when not given)
UNSUPPORTED = {"fuzzy_merge": ("--fuzzy-merge", None), "preview": ("--preview", "20")}
#: options with nothing to do on Spark: no progress bars there, no preview to detail
HARMLESS = frozenset({"verbose", "no_progress"})


def refuse_unsupported(options: dict[str, Any]) -> None:
    """A `merge` option that the Spark engine would otherwise ignore is a usage error, never
    silently dropped (an option unknown here counts as given unless it is off or empty)."""
    for name, value in options.items():
        if name in HARMLESS:
            continue
        flag, default = UNSUPPORTED.get(name, ("--" + name.replace("_", "-"), None))
        if value != default and value not in (False, [], ()):
            raise UsageError(f"{flag} is not supported with --engine spark")


def run_merge_command(engine: str, files: list[str], output: str, *, audit: str | None, dry_run: bool, yes: bool,
                      by: list[str] | None, include_closed: bool, email_key: str, canonical_email: bool,
                      default_region: str | None, group: list[str] | None, groups: str | None, max_group: int,
                      allow_large_groups: bool, head: str, config: str | None, map: list[str] | None,
                      encoding: str | None, delimiter: str | None, opportunities: list[str] | None,
                      quiet: bool, spark_master: str | None, allow_conflicts: bool = False,
                      preset: str | None = None, date_order: str | None = None, allow_bad_dates: bool = False,
                      **others: Any) -> None:
    """The `merge` command with `--engine spark`: what the local command prints, without the
    preview tables (the groups are spread over the cluster)."""
    import typer

    from ..fields import parse_map_options
    from ..render.console import err_console
    from ..render.tables import merge_summary
    from ..render.text import line, literal, warning

    if engine != "spark":
        raise UsageError(f"--engine {engine!r}: expected local or spark")
    refuse_unsupported(others)
    cfg = load_config(config)
    dates = DateOptions(date_order, allow_bad_dates)
    choice = PresetChoice.parse(preset)
    manual = parse_group_options(group or []) + (read_groups_file(groups) if groups else [])
    if delimiter == "\\t" or (delimiter or "").lower() == "tab":
        delimiter = "\t"
    err = err_console()
    audit_path = audit or default_audit_path(output)

    def confirm(summary: dict[str, int], result: SparkMerge) -> bool:
        show(summary, result)
        if yes or not (sys.stdin.isatty() and sys.stdout.isatty()):
            return True
        return typer.confirm(f"Write {output} and {audit_path}?", default=True, err=True)

    def show(summary: dict[str, int], result: SparkMerge) -> None:
        bad, first = result.bad_dates()
        if bad:  # as the local command warns (--allow-bad-dates)
            err.print(warning(f"{bad} record(s) in duplicate groups have a create_date that cannot be read (id ",
                              literal(first), f"{', ...' if bad > 1 else ''}): they sort last (--allow-bad-dates)"))
        if summary["skipped_large_groups"]:
            err.print(warning(f"{summary['skipped_large_groups']} group(s) larger than --max-group {max_group}: "
                              "not merged without --allow-large-groups"))
        if summary.get("skipped_conflicts"):
            err.print(warning(f"{summary['skipped_conflicts']} group(s) of clearly different people: not merged "
                              "without --allow-conflicts"))
        if not quiet:
            err.print(line(merge_summary(summary, summary["groups"], None)), highlight=False)

    options = parse_map_options(map or [])
    summary, result = merge_files(
        files, output, audit, master=spark_master, delimiter=delimiter, encoding=encoding,
        mapping=options, opportunities=opportunities or [], config=cfg, preset=choice, dates=dates,
        dry_run=dry_run, confirm=confirm, by=parse_by(by or []), include_closed=include_closed,
        email_key=email_key, canonical=canonical_email, default_region=default_region, manual=manual,
        max_group=max_group, allow_large=allow_large_groups, allow_conflicts=allow_conflicts, head=head)
    if dry_run:
        show(summary, result)
        err.print("dry run: nothing written", highlight=False)
    elif not quiet:
        err.print(line("wrote ", literal(output), f" ({summary['records_kept']:,} records) and ", literal(audit_path),
                       " (folders of part files)"), highlight=False)
