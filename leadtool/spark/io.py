"""Records on Spark: exports read by Spark's own readers into one DataFrame of text (data
columns by position, `c0..cN-1`, never null), each record with its source, its data row in
that source, its id (docs/formats.md#field-recognition) and its place in the input order; outputs written as folders of
part files, the audit log and the output published together.

Columns are matched across files as `io.load` matches them; the header and delimiter of a CSV
file are read from its first bytes by the local code (`io.sniff_delimiter`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import polars as pl

from ..errors import InputError, UsageError
from ..fields import FieldMap
from ..io.csv_read import _first_records, sniff_delimiter
from ..io.decode import SNIFF_BYTES
from ..io.multiline import x2many_positions
from ..io.reading import _Columns, _preset_opportunities, fallback_labels
from ..io.xlsx import refuse_for_spark
from ..recognition import PresetChoice, recognise
from ..records import ID, ROW, SRC, FileFormat, Records, Source
from .apply import GIDX, data_names

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

BLANK = r"(?U)^\s*\z"  # an id cell of white space only (Java's `$` would also match before a last line break)
_NO_KINDS = pl.DataFrame()  # Spark reads no JSON: no kind columns
ROW_BITS = 40  # idx = (source << 40) + row: a trillion rows a source, in input order
_JAVA_CHARSETS = {"cp1252": "windows-1252", "latin-1": "ISO-8859-1", "latin1": "ISO-8859-1",
                  "iso-8859-1": "ISO-8859-1", "utf-8-sig": "UTF-8", "utf8": "UTF-8"}


@dataclass
class SparkRecords:
    """`frame`: the data columns `c0..cN-1` (in `records.columns` order) and the hidden
    `__lt_src`, `__lt_row`, `__lt_id`, `__lt_gidx`. `records`: columns, headers, fields and
    sources, with an empty frame."""

    frame: DataFrame
    records: Records
    ordered: bool = False  # partitions in input order, each sorted (`frame` is then also kept)


# ----------------------------------------------------------------------------- session
def spark_session(master: str | None = None, app_name: str = "leadtool") -> SparkSession:
    """The running session, else a new one: `master` (`--spark-master`), else `SPARK_MASTER`,
    else what spark-submit or spark-defaults.conf set, else local mode on every core. Local
    mode gets `SPARK_DRIVER_MEMORY` (default 4g: the driver is the only executor)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("the Spark engine needs pyspark: pip install 'leadtool[spark]'") from None
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise UsageError("the Spark engine needs Java 17 or later (JAVA_HOME, or java on the PATH)")
    builder = SparkSession.builder.appName(app_name)
    master = master or os.environ.get("SPARK_MASTER") or (None if _master_configured() else "local[*]")
    if master:
        builder = builder.master(master)
    if master is None or master.startswith("local"):
        builder = builder.config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("SPARK_LOG_LEVEL", "ERROR"))
    return spark


def _master_configured() -> bool:
    if "--master" in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        return True
    folder = os.environ.get("SPARK_CONF_DIR") or (
        os.path.join(os.environ["SPARK_HOME"], "conf") if os.environ.get("SPARK_HOME") else None)
    defaults = os.path.join(folder, "spark-defaults.conf") if folder else None
    if defaults and os.path.isfile(defaults):
        with open(defaults, encoding="utf-8") as handle:
            return any(line.split()[:1] == ["spark.master"] for line in handle)
    return False


# ----------------------------------------------------------------------------- reading
def input_kind(path: str) -> str:
    """csv, parquet or delta, from the path: a folder with `_delta_log` is a Delta table, a
    `.parquet` file or a folder of them is Parquet, anything else CSV."""
    lower = path.lower().rstrip("/")
    if os.path.isdir(path):
        if os.path.isdir(os.path.join(path, "_delta_log")):
            return "delta"
        names = os.listdir(path)
        if any(n.endswith(".parquet") for n in names):
            return "parquet"
        if any(n.endswith(".csv") for n in names):
            return "csv"
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    if lower.endswith(".delta"):
        return "delta"
    return "csv"


def read(spark: SparkSession, paths: Sequence[str], *, delimiter: str | None = None,
         encoding: str | None = None, mapping: FieldMap | None = None,
         opportunities: Sequence[str] = (), partitions: int | None = None,
         preset: PresetChoice | str | None = None) -> SparkRecords:
    """Exports (CSV files, Parquet files or folders, Delta tables) as one SparkRecords, in
    the order given; `opportunities` as `io.load`. A CSV file is parsed once, in one task
    (Spark cannot split a file whose values may hold line breaks), then spread over
    `partitions` (default: one a 96 MB of text, at least the session's parallelism) in input
    order, and kept (persisted). `preset` as `io.load` (a `PresetChoice`, or `--preset`'s text)."""
    if not paths:
        raise UsageError("no input file given")
    if "-" in paths:
        raise UsageError("--engine spark reads files, not standard input")
    all_paths = list(paths) + [p for p in opportunities if p not in paths]
    sources, frames = [], []
    parsed_csv, csv_bytes = False, 0
    for index, path in enumerate(all_paths):
        kind = input_kind(path)
        if kind == "csv":
            source, frame = _csv_source(spark, path, index, delimiter, encoding)
            parsed_csv = True
            csv_bytes += _size(spark, path)
        else:
            source, frame = _table_source(spark, path, index, kind)
        sources.append(source)
        frames.append(frame)
    opp = frozenset(i for i, p in enumerate(all_paths) if p in set(opportunities))
    result = _combine(sources, frames, mapping or {}, opp, _preset(preset))
    return _spread(result, partitions, csv_bytes) if parsed_csv else result


BYTES_A_PARTITION = 96 << 20  # of CSV text: about 250k records of an Odoo export


def _spread(srec: SparkRecords, partitions: int | None, size: int) -> SparkRecords:
    """Records parsed in one task per file, spread over partitions in input order (ranges of
    idx, each sorted) and kept: parsed once, then read from memory (or disk) by every step,
    and written out in order without another shuffle."""
    from pyspark import StorageLevel

    # kept while it is spread: the range partitioner's sample reads it once, the shuffle again
    parsed = srec.frame.persist(StorageLevel.MEMORY_AND_DISK)
    spark = parsed.sparkSession
    n = partitions or max(spark.sparkContext.defaultParallelism, -(-size // BYTES_A_PARTITION))
    spread = (parsed.repartitionByRange(max(1, n), GIDX).sortWithinPartitions(GIDX)
              .persist(StorageLevel.MEMORY_AND_DISK))
    spread.count()
    parsed.unpersist()
    return SparkRecords(frame=spread, records=srec.records, ordered=True)


def _preset(preset: PresetChoice | str | None) -> PresetChoice:
    return preset if isinstance(preset, PresetChoice) else PresetChoice.parse(preset)


def from_dataframe(df: DataFrame, mapping: FieldMap | None = None, name: str = "<dataframe>",
                   preset: PresetChoice | str | None = None) -> SparkRecords:
    """A DataFrame of text as one source. Its order is its partitions' order, unless it has
    the `__lt_src` and `__lt_row` columns (as a `read` frame gives back): keep it
    deterministic (a file scan, or persisted) since each action reads it again."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    hidden = [c for c in df.columns if c in (SRC, ROW, ID, GIDX)]
    data = [c for c in df.columns if c not in hidden]
    typed = [f.name for f in df.schema.fields if f.name in data and not isinstance(f.dataType, StringType)]
    if typed:
        raise UsageError(f"every column must be a string (text is never converted): {', '.join(typed[:5])}")
    if len(set(map(str.lower, data))) != len(data):
        raise UsageError("column names must be unique (ignoring case, as Spark resolves them)")
    source = Source(path=name, fmt=FileFormat(newline="\n"), headers=list(data), columns=[])
    positioned = df.select(*[F.col(_quoted(c)) for c in data], *[F.col(c) for c in hidden if c in (SRC, ROW)])
    positioned = positioned.toDF(*data_names(len(data)), *[c for c in hidden if c in (SRC, ROW)])
    if SRC not in hidden or ROW not in hidden:
        positioned = _numbered(positioned.drop(SRC, ROW)).withColumn(SRC, F.lit(0))
    return _combine([source], [positioned], mapping or {}, frozenset(), _preset(preset))


def _quoted(name: str) -> str:
    """A column name as Spark takes it literally (dots, spaces, backticks)."""
    return "`" + name.replace("`", "``") + "`"


def _size(spark: SparkSession, path: str) -> int:
    if "://" not in path or path.startswith("file:"):
        return os.path.getsize(path[len("file:"):] if path.startswith("file:") else path)
    fs, p = _filesystem(spark, path)
    return int(fs.getFileStatus(p).getLen())


def _head_bytes(spark: SparkSession, path: str, size: int) -> tuple[bytes, bool]:
    """The first `size` bytes of a file, and whether that is the whole file."""
    if "://" not in path or path.startswith("file:"):
        local = path[len("file:"):] if path.startswith("file:") else path
        if not os.path.isfile(local):
            raise InputError("no such file", file=path)
        with open(local, "rb") as handle:
            head = handle.read(size + 1)
        return head[:size], len(head) <= size
    fs, p = _filesystem(spark, path)
    if not fs.exists(p):
        raise InputError("no such file", file=path)
    stream = fs.open(p)
    try:
        buf = spark.sparkContext._gateway.new_array(spark.sparkContext._jvm.byte, size + 1)
        got = max(stream.read(buf, 0, size + 1), 0)
        head = bytes(buf)[:got]
    finally:
        stream.close()
    return head[:size], len(head) <= size


def _csv_source(spark: SparkSession, path: str, index: int, delimiter: str | None,
                encoding: str | None) -> tuple[Source, DataFrame]:
    """One CSV file: its header and line ending read as `io` reads them, its records by
    Spark (every value as text, quoted line breaks kept byte for byte)."""
    from pyspark.sql import functions as F

    head, complete = _head_bytes(spark, path, SNIFF_BYTES)
    refuse_for_spark(head, path)  # the library's callers too (the command line checks before Spark starts)
    codec = (encoding or "utf-8").lower().replace("_", "-")
    try:
        text = head.decode(codec if codec != "utf-8" else "utf-8", errors="ignore")
    except LookupError:
        raise UsageError(f"unknown encoding {encoding!r}") from None
    if not text.strip("\ufeff \t\r\n"):
        raise InputError("empty file (not even a header line)", file=path)
    bom = text.startswith("\ufeff")
    text = text.lstrip("\ufeff")
    fmt = FileFormat(encoding=encoding or "utf-8", bom=bom, delimiter=delimiter or sniff_delimiter(text, complete))
    first, fmt.newline, _ = _first_records(text, fmt.delimiter, limit=2, complete=complete)
    if not first:
        raise InputError("no header line", file=path)
    headers = [c for c, _ in first[0]]
    fmt.quoting = "all" if all(q for rec in first for _, q in rec) else "minimal"
    names = data_names(len(headers))
    schema = ", ".join(f"{c} string" for c in names)
    # an explicit line separator keeps `\r\n` inside quoted values as it is (Spark's parser
    # otherwise normalizes it to `\n`)
    frame = spark.read.csv(path, schema=schema, header=True, multiLine=True, sep=fmt.delimiter, quote='"',
                           escape='"', lineSep=fmt.newline, encoding=_JAVA_CHARSETS.get(codec, codec),
                           ignoreLeadingWhiteSpace=False, ignoreTrailingWhiteSpace=False, mode="PERMISSIVE")
    frame = frame.select(*[F.coalesce(F.col(c), F.lit("")).alias(c) for c in names])
    return Source(path=path, fmt=fmt, headers=headers, columns=[]), _numbered(frame).withColumn(SRC, F.lit(index))


def _table_source(spark: SparkSession, path: str, index: int, kind: str) -> tuple[Source, DataFrame]:
    """A Parquet file or folder, or a Delta table: rows in order of file name, then row in
    file (Spark's own reading order puts larger files first)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    try:
        frame = spark.read.format(kind).load(path)
    except Exception as exc:  # an unreadable table or no Delta support: one line
        raise InputError(f"cannot read as {kind}: {str(exc).splitlines()[0][:200]}", file=path) from None
    typed = [f.name for f in frame.schema.fields if not isinstance(f.dataType, StringType)]
    if typed:
        raise InputError(f"every column must be a string (text is never converted): {', '.join(typed[:5])}",
                         file=path)
    headers = list(frame.columns)
    names = data_names(len(headers))
    if kind == "parquet":
        meta = frame.select(*[F.coalesce(F.col(_quoted(h)), F.lit("")).alias(c) for h, c in zip(headers, names,
                                                                                             strict=True)],
                            F.col("_metadata.file_path").alias("__lt_file"),
                            F.col("_metadata.row_index").alias("__lt_in_file"))
        counts = sorted((r[0], r[1]) for r in meta.groupBy("__lt_file").count().collect())
        starts, total = [], 0
        for file, n in counts:
            starts.append((file, total))
            total += n
        start = spark.createDataFrame(starts or [("", 0)], "__lt_file string, __lt_start long")
        numbered = (meta.join(F.broadcast(start), on="__lt_file")
                    .select(*names, (F.col("__lt_start") + F.col("__lt_in_file") + 1).alias(ROW)))
    else:
        numbered = _numbered(frame.select(*[F.coalesce(F.col(_quoted(h)), F.lit("")).alias(c)
                                            for h, c in zip(headers, names, strict=True)]))
    fmt = FileFormat(kind="csv", newline="\n")
    return Source(path=path, fmt=fmt, headers=headers, columns=[]), numbered.withColumn(SRC, F.lit(index))


def _numbered(frame: DataFrame) -> DataFrame:
    """`__lt_row`: 1-based position in partition order (one count per partition first,
    unless there is one partition)."""
    from pyspark.sql import functions as F

    mid = F.monotonically_increasing_id()
    if frame.rdd.getNumPartitions() == 1:
        return frame.withColumn(ROW, mid + 1)
    part = F.spark_partition_id()
    counts = dict(tuple(r) for r in frame.select(part.alias("p")).groupBy("p").count().collect())
    starts, total = [], 0
    for p in range(max(counts, default=-1) + 1):
        starts.append(total)
        total += counts.get(p, 0)
    offsets = F.array(*[F.lit(s) for s in starts]) if starts else F.array(F.lit(0))
    return frame.withColumn(ROW, F.element_at(offsets, part + 1) + (mid - F.shiftleft(part.cast("long"), 33)) + 1)


def _combine(sources: list[Source], frames: list[DataFrame], mapping: FieldMap,
             opportunity_sources: frozenset[int], preset: PresetChoice | None = None) -> SparkRecords:
    """Columns recognised and matched across sources by the local reader's own code
    (`recognition.recognise`, `reading._Columns`: presets, translated labels, several columns
    a field); a column a source lacks is empty for its records; ids as `io.with_ids`."""
    from pyspark.sql import functions as F

    columns = _Columns()
    opportunity_sources = set(opportunity_sources)
    for index, source in enumerate(sources):
        source.recognition = recognise(source.headers, mapping, preset)
        x2many = x2many_positions(source)
        if x2many:  # continuation lines are folded by the local reader only (io.multiline)
            raise UsageError(f"{source.path}: Odoo multi-line records (the column {source.headers[x2many[0]]!r}) "
                             "are read by the local engine only: merge without --engine spark")
        columns.add(source, source.recognition.fields, _NO_KINDS)
        if _preset_opportunities(source):
            opportunity_sources.add(index)
    names = data_names(len(columns.columns))
    parts = []
    for source, frame in zip(sources, frames, strict=True):
        here = {col: f"c{i}" for i, col in enumerate(source.columns)}
        parts.append(frame.select(*[F.col(here[c]).alias(n) if c in here else F.lit("").alias(n)
                                    for c, n in zip(columns.columns, names, strict=True)],
                                  F.col(SRC).cast("int").alias(SRC), F.col(ROW).cast("long").alias(ROW)))
    frame = parts[0]
    for part in parts[1:]:
        frame = frame.unionByName(part)
    records = Records(frame=pl.DataFrame(), columns=columns.columns, headers=columns.headers, sources=sources,
                      fields=columns.fields, more_columns=columns.more,
                      opportunity_sources=frozenset(opportunity_sources))
    row = F.col(ROW).cast("string")
    labels = fallback_labels(sources)
    fallback = (F.concat(F.element_at(F.array(*[F.lit(s) for s in labels]), F.col(SRC) + 1), F.lit(":"), row)
                if len(sources) > 1 else row)
    id_col = records.col("id")
    ident = (F.when(F.col(names[columns.columns.index(id_col)]).rlike(BLANK), fallback)
             .otherwise(F.col(names[columns.columns.index(id_col)])) if id_col else fallback)
    frame = frame.withColumn(ID, ident).withColumn(GIDX, F.shiftleft(F.col(SRC).cast("long"), ROW_BITS) + F.col(ROW))
    return SparkRecords(frame=frame, records=records)


def count_rows(srec: SparkRecords) -> SparkRecords:
    """The sources with their row counts (the audit's run event names them)."""
    from pyspark.sql import functions as F

    counts = dict(tuple(r) for r in srec.frame.groupBy(SRC).agg(F.max(ROW)).collect())
    sources = [replace(s, rows=int(counts.get(i, 0))) for i, s in enumerate(srec.records.sources)]
    return replace(srec, records=replace(srec.records, sources=sources))


# ----------------------------------------------------------------------------- writing
def output_kind(path: str, fmt: str | None = None) -> str:
    kind = fmt or ("parquet" if path.lower().rstrip("/").endswith((".parquet", ".pq"))
                   else "delta" if path.lower().rstrip("/").endswith(".delta") else "csv")
    if kind not in ("csv", "parquet", "delta"):
        raise UsageError(f"output format {kind!r}: expected csv, parquet or delta")
    return kind


def write_records(frame: DataFrame, records: Records, path: str, kind: str, fmt: FileFormat) -> None:
    """The data columns of `frame` (in its order) as a folder of part files, named by the
    input's headers (CSV: the first input's delimiter, quoting and line ending)."""
    names = [records.headers[c] for c in records.columns]
    if len(set(map(str.lower, names))) != len(names):  # Spark refuses repeated names
        names = list(records.columns)
    out = frame.select(*data_names(len(records.columns))).toDF(*names)
    if kind == "csv":
        out.write.csv(path, header=True, sep=fmt.delimiter or ",", quote='"', escape='"',
                      quoteAll=fmt.quoting == "all", lineSep=fmt.newline, emptyValue="", nullValue="",
                      ignoreLeadingWhiteSpace=False, ignoreTrailingWhiteSpace=False,
                      encoding=_JAVA_CHARSETS.get(fmt.encoding.lower(), fmt.encoding))
    else:
        out.write.format(kind).save(path)


def write_lines(lines: DataFrame, path: str) -> None:
    """A DataFrame of one string column as text part files, one value a line."""
    lines.write.text(path)


def _filesystem(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), p


def staging_path(target: str) -> str:
    head, _, name = target.rstrip("/").rpartition("/")
    return f"{head + '/' if head else ''}.{name}.{os.getpid()}.staging"


def publish(spark: SparkSession, pairs: Sequence[tuple[str, str]]) -> None:
    """Each staging folder replaces its target, in the order given (the audit log before the
    output, as `outputs.write_run`): a failure before this leaves every target as it was."""
    for staging, target in pairs:
        fs, t = _filesystem(spark, target)
        _, s = _filesystem(spark, staging)
        if fs.exists(t):
            fs.delete(t, True)
        if not fs.rename(s, t):
            raise InputError("could not move the written folder into place", file=target)


def discard(spark: SparkSession, paths: Sequence[str]) -> None:
    for path in paths:
        fs, p = _filesystem(spark, path)
        if fs.exists(p):
            fs.delete(p, True)
