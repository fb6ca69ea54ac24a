"""Duplicate groups on Spark (docs/groups.md): the same record-key graph as `groups.py`, its connected
components found by the large-star/small-star algorithm (Kiveris et al., "Connected Components
in MapReduce and Beyond", 2014: O(log^2 n) rounds of joins and group-bys, however long the
chains of shared keys), groups numbered in input order of their first record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..config import Config
from ..errors import UsageError
from ..match.groups import _ROW_ID as ROW_ID
from ..match.placeholders import DEFAULT_RULES, pattern
from ..records import ID, SRC, Records
from .apply import GIDX, GROUP, KEYS, data_names
from .io import BLANK
from .keys import PHONES, KeyInputs, email_key_col, email_keys_all_col, stripped_col

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

KEY, ROOT, SRC_, DST = "__lt_key", "__lt_root", "__lt_src_node", "__lt_dst_node"
ID_KEY = "__lt_id_key"
BY_FIELDS = {"email": ("email_from",), "customer": ("partner_id",), "phone": ("phone", "mobile", "country_id")}
CLOSED_FIELDS = ("active", "probability", "stage_id")


def key_edges(frame: DataFrame, records: Records, *, by: Sequence[str], include_closed: bool,
              email_key: str, canonical: bool, default_region: str | None,
              config: Config | None, repeated_ids: bool = False) -> DataFrame:
    """(idx, key) for every automatic key of every eligible record; a key's text carries its
    kind (`email:`, `customer:`, `phone:`, `id:`) as the reasons show it. Every email column
    feeds the email key (`--map email_from=A --map email_from=B`); placeholder addresses
    (`[emails.placeholders]`) join nothing; `repeated_ids`: records that share an id get the
    key `id:ID` (`rowid:ID` for a fallback id), as `groups.repeated_id_edges`."""
    from pyspark.sql import functions as F

    position = {c: i for i, c in enumerate(records.columns)}
    names = data_names(len(records.columns))
    wanted = [c for kind in by for f in BY_FIELDS[kind] for c in records.columns_of(f)]
    if not include_closed:
        wanted += [c for f in CLOSED_FIELDS for c in records.columns_of(f)] + preset_closed_columns(records)
    cols = [(names[position[c]], c) for c in dict.fromkeys(wanted)]
    ident = []
    if repeated_ids:
        id_col = records.col("id")
        fallback = F.col(names[position[id_col]]).rlike(BLANK) if id_col else F.lit(True)
        ident = [F.concat(F.when(fallback, F.lit(ROW_ID)).otherwise(F.lit("id:")), F.col(ID)).alias(ID_KEY)]
    narrow = frame.select(F.col(GIDX), F.col(SRC), *[F.col(n) for n, _ in cols], *ident)
    phones = "phone" in by and bool(records.col("phone") or records.col("mobile"))
    if not include_closed or phones:  # rules that only the local code knows: on Arrow batches
        job = KeyInputs(idx=GIDX, names=tuple(cols), records=records.with_frame(records.frame.clear()),
                        include_closed=include_closed, phones=phones, default_region=default_region,
                        config=config)
        schema = ", ".join([f"{GIDX} long", f"{SRC} int", *(f"{n} string" for n, _ in cols),
                            *([f"{ID_KEY} string"] if ident else []),
                            *([f"{PHONES} array<string>"] if phones else [])])
        narrow = narrow.mapInArrow(job, schema)
    spark_name = dict((c, n) for n, c in cols)
    parts = []
    emails = records.columns_of("email_from") if "email" in by else []
    for email in emails:
        if email_key == "all":
            part = narrow.select(GIDX, F.explode(email_keys_all_col(spark_name[email], canonical)).alias(KEY))
        else:
            part = narrow.select(GIDX, email_key_col(spark_name[email], canonical).alias(KEY))
        parts.append(part.select(GIDX, F.concat(F.lit("email:"), F.col(KEY)).alias(KEY)))
    if emails:
        placeholder = placeholder_regex(config)
        if placeholder is not None:
            parts = [p.filter(~F.col(KEY).rlike(placeholder)) for p in parts]
    cust = records.col("partner_id")
    if "customer" in by and cust:
        value = stripped_col(F.col(spark_name[cust]))
        parts.append(narrow.select(GIDX, F.when(value != "", F.concat(F.lit("customer:"), value)).alias(KEY)))
    if phones:
        parts.append(narrow.select(GIDX, F.explode(PHONES).alias(KEY)))
    if ident:
        parts.append(narrow.select(GIDX, F.col(ID_KEY).alias(KEY)))
    edges = None
    for part in parts:
        part = part.filter(F.col(KEY).isNotNull())
        edges = part if edges is None else edges.unionByName(part)
    return edges if edges is not None else frame.sparkSession.createDataFrame([], f"{GIDX} long, {KEY} string")


def preset_closed_columns(records: Records) -> list[str]:
    """The columns a file's preset reads to tell a closed record (`Resolved.closed_expr`)."""
    out = []
    for source in records.sources:
        found = source.recognition
        if found is not None and found.preset is not None:
            at = [*found.preset.true_columns, *found.preset.closed_values]
            out += [source.columns[i] for i in at]
    return out


def placeholder_regex(config: Config | None) -> str | None:
    """`placeholders.pattern` over `email:KEY` for Java's engine: `(?U)` for Unicode classes and
    case as in Rust, `\\z` for Rust's `$` (Java's also matches before a last line break)."""
    regex = pattern((config.placeholders if config else None) or DEFAULT_RULES, "email:")
    if regex is None:
        return None
    assert regex.startswith("(?i)")
    return "(?iU)" + regex[len("(?i)"):].replace(r"\s*$", r"\s*\z")


def has_repeated_ids(frame: DataFrame) -> bool:
    """Whether two records share an id (one job over the ids: the usual answer is no)."""
    from pyspark.sql import functions as F

    return bool(frame.groupBy(ID).count().filter(F.col("count") > 1).limit(1).count())


def manual_edges(frame: DataFrame, manual: Sequence[Sequence[str]]) -> DataFrame | None:
    """(idx, `manual:K`) for the records of each manual group (the first record of each id)."""
    from pyspark.sql import functions as F

    if not manual:
        return None
    rows = []
    for k, group in enumerate(manual):
        if len(group) < 2:
            raise UsageError(f"--group {','.join(group)}: a group needs at least two ids")
        rows += [(rid, f"manual:{k}") for rid in group]
    wanted = frame.sparkSession.createDataFrame(rows, f"{ID} string, {KEY} string")
    firsts = (frame.join(wanted.select(ID).distinct(), on=ID, how="left_semi")
              .groupBy(ID).agg(F.min(GIDX).alias(GIDX)))
    found = {r[0] for r in firsts.select(ID).collect()}
    missing = [rid for rid, _ in rows if rid not in found]
    if missing:
        raise UsageError(f"--group: no record has the id {missing[0]!r}")
    return wanted.join(firsts, on=ID).select(GIDX, KEY)


def link(edges: DataFrame, *, one_key_each: bool, repeats: bool, checkpoint) -> tuple[DataFrame, DataFrame]:
    """(members, kept): every record that shares a key with another one, with the label of its
    component (its lowest idx) and the keys (held by two records or more) it has; `kept` is
    (idx, key, root). `one_key_each`: no record holds two keys, so that a key's records are
    its component; `repeats`: a record may give the same key twice."""
    from pyspark.sql import functions as F

    if repeats:
        edges = edges.distinct()
    stats = edges.groupBy(KEY).agg(F.min(GIDX).alias(ROOT), F.count(F.lit(1)).alias("__lt_n"))
    kept = edges.join(stats.filter(F.col("__lt_n") > 1).select(KEY, ROOT), on=KEY)
    if one_key_each:
        return kept.select(GIDX, F.col(ROOT).alias("__lt_label"), F.array(KEY).alias(KEYS)), kept
    star = (kept.filter(F.col(GIDX) != F.col(ROOT))
            .select(F.col(GIDX).alias(SRC_), F.col(ROOT).alias(DST)).distinct())
    parents = components(checkpoint(star, eager=False), checkpoint)
    keys = kept.groupBy(GIDX).agg(F.collect_list(KEY).alias(KEYS))
    members = (keys.join(parents.withColumnRenamed(SRC_, GIDX), on=GIDX, how="left")
               .select(GIDX, F.coalesce(F.col(DST), F.col(GIDX)).alias("__lt_label"), KEYS))
    return members, kept


def components(edges: DataFrame, checkpoint, max_rounds: int = 100) -> DataFrame:
    """(src, dst): each node that is not the lowest of its component, with that lowest node.
    `edges` (src > dst) is rewritten by large-star and small-star steps until it is a forest
    of stars: every src has one dst and no dst is a src. `checkpoint` cuts each round's
    lineage, so that the plan does not grow with the rounds."""
    for _ in range(max_rounds):
        if _is_star_forest(edges):  # this job also writes the round's checkpoint
            return edges
        edges = checkpoint(_small_star(_large_star(edges)), eager=False)
    raise RuntimeError(f"connected components: no convergence after {max_rounds} rounds")


def _large_star(edges: DataFrame) -> DataFrame:
    """Every node's larger neighbours are linked to its smallest neighbour (or itself)."""
    from pyspark.sql import functions as F

    both = edges.unionByName(edges.select(F.col(DST).alias(SRC_), F.col(SRC_).alias(DST)))
    least = both.groupBy(SRC_).agg(F.least(F.min(DST), F.col(SRC_)).alias("__lt_m"))
    return (both.filter(F.col(DST) > F.col(SRC_)).join(least, on=SRC_)
            .select(F.col(DST).alias(SRC_), F.col("__lt_m").alias(DST)).distinct())


def _small_star(edges: DataFrame) -> DataFrame:
    """Every node and its smaller neighbours are linked to the smallest of them."""
    from pyspark.sql import functions as F

    least = edges.groupBy(SRC_).agg(F.min(DST).alias("__lt_m"))
    moved = (edges.join(least, on=SRC_).select(F.col(DST).alias(SRC_), F.col("__lt_m").alias(DST))
             .filter(F.col(SRC_) != F.col(DST)))
    return moved.unionByName(least.select(SRC_, F.col("__lt_m").alias(DST))).distinct()


def _is_star_forest(edges: DataFrame) -> bool:
    """Every src has one dst and no dst is a src: one aggregation (one job)."""
    from pyspark.sql import functions as F

    as_src = edges.select(SRC_, F.lit(1).alias("__lt_out"), F.lit(0).alias("__lt_in"))
    as_dst = edges.select(F.col(DST).alias(SRC_), F.lit(0).alias("__lt_out"), F.lit(1).alias("__lt_in"))
    per_node = as_src.unionByName(as_dst).groupBy(SRC_).agg(F.sum("__lt_out").alias("o"), F.sum("__lt_in").alias("i"))
    bad = per_node.agg(F.sum(((F.col("o") > 1) | ((F.col("o") > 0) & (F.col("i") > 0))).cast("long"))).first()[0]
    return not bad


def numbered(members: DataFrame, shift: int = 16) -> tuple[DataFrame, int]:
    """Members with their group number: 1..n in input order of the groups' first records (the
    rank of the label among labels), and how many members there are. Ranked inside ranges of
    labels (label >> shift) after a count per range, so that no sort puts every group in one
    partition."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    labels = members.select("__lt_label").distinct()
    ranges = F.shiftright(F.col("__lt_label"), shift).alias("__lt_range")
    counts = sorted(tuple(r) for r in members.groupBy(ranges).agg(
        F.count_distinct("__lt_label"), F.count(F.lit(1))).collect())
    starts, total = [], 0
    for rng, n, _ in counts:
        starts.append((rng, total))
        total += n
    spark = members.sparkSession
    start = spark.createDataFrame(starts or [(0, 0)], "__lt_range long, __lt_start long")
    ranked = (labels.withColumn("__lt_range", ranges).join(F.broadcast(start), on="__lt_range")
              .select("__lt_label", (F.col("__lt_start") + F.row_number().over(
                  Window.partitionBy("__lt_range").orderBy("__lt_label"))).alias(GROUP)))
    return members.join(ranked, on="__lt_label").drop("__lt_label"), sum(c[2] for c in counts)
