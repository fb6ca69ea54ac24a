"""The `fuzzy-duplicates` rule of `leadtool check --fuzzy` (docs/check.md#fuzzy-suggestions):
one finding per fuzzy suggestion (a link that would join two records exact matching leaves
apart), on the later record of the two, naming the earlier one. A warning unless `[check]
fuzzy = "fail"`."""

from __future__ import annotations

from typing import Any

import polars as pl

from ..config import Config
from ..match.fuzzy import A, B
from ..match.fuzzy_groups import FuzzyOptions, fuzzy_links
from ..match.groups import Linked
from ..records import ID, IDX, SRC, Records

RULE = "fuzzy-duplicates"


def rule_fuzzy(records: Records, frame: pl.DataFrame, linked: Linked, options: FuzzyOptions, *,
               keys: pl.Series | None, include_closed: bool, config: Config | None,
               source_path: pl.Expr) -> tuple[pl.DataFrame, dict[str, Any]]:
    """(one problem row per suggestion, the rule's stats). `source_path`: the path of the
    source number in column `__lt_ref_src`."""
    links, result = fuzzy_links(records, options, linked, keys=keys, include_closed=include_closed, config=config)
    later = pl.max_horizontal(A, B)
    earlier = pl.min_horizontal(A, B)
    rows = links.select(later.alias(IDX), earlier.alias("ref"), "score", "matched")
    ref = rows.get_column("ref")
    rows = rows.with_columns(frame.get_column(SRC).gather(rows.get_column(IDX)).alias("__lt_src"),
                             frame.get_column(SRC).gather(ref).alias("__lt_ref_src"),
                             frame.get_column(ID).gather(ref).alias("__lt_ref_id"))
    elsewhere = pl.when(pl.col("__lt_src") != pl.col("__lt_ref_src")).then(" of " + source_path).otherwise(pl.lit(""))
    score = pl.col("score").floor().cast(pl.Int64).cast(pl.String)
    problems = rows.select(
        pl.col(IDX).cast(pl.UInt32), pl.lit(RULE).alias("rule"), pl.lit(None, dtype=pl.String).alias("column"),
        pl.format("fuzzy:{}:{}", score, pl.col("matched")).alias("value"),
        pl.format("possible duplicate of id {} on line ", pl.col("__lt_ref_id")).alias("message"),
        pl.col("ref").cast(pl.UInt32),
        pl.format("{} (fuzzy score {}: {})", elsewhere, pl.col("score").round(2), pl.col("matched")).alias("post"),
        pl.lit(None, dtype=pl.UInt32).alias("group"))
    stats = {"threshold": options.threshold, "candidate_pairs": result.candidates, "suggestions": problems.height}
    return problems, stats
