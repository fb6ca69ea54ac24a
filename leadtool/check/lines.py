"""Line numbers of records in their files, for editors and CI annotations."""

from __future__ import annotations

import polars as pl

from ..records import LINE, ROW, SRC, Records


def line_numbers(records: Records, upto: int | None = None) -> pl.Series:
    """The 1-based line where each record starts in its file (frame order; only the first
    `upto` records when given), for editors.

    CSV: the header is line 1 (plus the newlines inside quoted header cells), and each record
    starts one line after the previous one plus the newlines inside its quoted values, counted
    per cell and summed cumulatively per file. JSON and JSON Lines: the data row number. A
    workbook: the sheet's row number (the header is row 1)."""
    frame = records.frame if upto is None else records.frame.head(upto)
    csv_sources = [i for i, s in enumerate(records.sources) if s.fmt.kind == "csv"]
    sheets = [i for i, s in enumerate(records.sources) if s.fmt.kind == "xlsx"]
    row = pl.col(ROW).cast(pl.Int64)
    if sheets:
        row = pl.when(pl.col(SRC).is_in(sheets)).then(row + 1).otherwise(row)
    if not csv_sources or not records.columns:
        return frame.select(row.alias(LINE)).to_series()
    # counted column by column in one select (in parallel: inside sum_horizontal they are not)
    counts = frame.select(pl.col(c).str.count_matches("\n", literal=True).alias(f"__lt_nl{k}")
                          for k, c in enumerate(records.columns))
    frame = pl.concat([frame.select(SRC, ROW), counts.select(
        pl.sum_horizontal(pl.all()).cast(pl.Int64).alias("__lt_nl"))], how="horizontal")
    newlines = pl.col("__lt_nl")
    header_nl = pl.col(SRC).replace_strict(
        list(range(len(records.sources))), [s.header_newlines for s in records.sources],
        return_dtype=pl.Int64)
    before = newlines.cum_sum() - newlines
    line = 1 + header_nl + row + (before.over(SRC) if len(records.sources) > 1 else before)
    if len(csv_sources) < len(records.sources):
        line = pl.when(pl.col(SRC).is_in(csv_sources)).then(line).otherwise(row)
    return frame.select(line.alias(LINE)).to_series() + _blank_lines_before(records, frame)


def _blank_lines_before(records: Records, frame: pl.DataFrame) -> pl.Series | int:
    """Blank lines are not records, but they are lines: those before each record."""
    extra: pl.Series | int = 0
    for k, source in enumerate(records.sources):
        if not source.skipped_lines:
            continue
        rows, counts = zip(*source.skipped_lines, strict=True)
        # the last entry at or before each record's row (none: 0)
        at = pl.Series(rows, dtype=pl.Int64).search_sorted(frame.get_column(ROW).cast(pl.Int64), side="right")
        before = pl.concat([pl.Series([0], dtype=pl.Int64), pl.Series(counts, dtype=pl.Int64)]).gather(at)
        extra = extra + pl.select(pl.when(pl.lit(frame.get_column(SRC)) == k).then(pl.lit(before)).otherwise(0)
                                  ).to_series()
    return extra

