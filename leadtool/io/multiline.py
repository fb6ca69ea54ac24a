"""Odoo's multi-line records (docs/formats.md#odoo-multi-line-records).

Odoo's export dialog writes a many2many or one2many sub-field (`Tags/Tag Name`) over several
lines: a record's first line holds every field and its first value, each further value a line of
its own whose every other cell is empty. Such continuation lines are folded into the record they
follow when a file is read (the values of the x2many columns joined in order with `,`), so that
counting, grouping and merging see one record; its bytes span all its lines, so an untouched
record is copied whole. A record that is written anew is spread back over lines the same way:
one value per line, as Odoo wrote it (`spread`).

The x2many columns of a file: those of an x2many field (`fields.X2MANY_FIELDS`) written in Odoo's
`Field/Sub field` form, and the other headers of that form that name no field (another x2many's
sub-field, `Activities/Summary`) when an x2many field is among them, in a file that no other
CRM's preset reads. A continuation line
has every other column empty and some x2many cell filled, and follows a record. Everything here
is polars expressions over the whole frame: no Python loop over rows.
"""

from __future__ import annotations

import re

import polars as pl

from ..fields import X2MANY_FIELDS
from ..records import Source, value_hash

_SUB_FIELD = re.compile(r"^[^/]*\S/\S[^/]*$")  # `Tags/Tag Name`, `tag_ids/name`: no spaces around the slash
_RECORD = SPREAD_RECORD = "__lt_record"
_LINE = "__lt_line_k"


def x2many_positions(source: Source) -> list[int]:
    """The header positions of a file's x2many sub-field columns (none: not an Odoo file)."""
    found = source.recognition
    if source.fmt.kind not in ("csv", "xlsx") or found is None or found.preset is not None:
        return []
    out = [i for i, h in enumerate(source.headers)
           if _SUB_FIELD.match(h) and (found.fields.get(i) in X2MANY_FIELDS or i not in found.fields)]
    # an x2many field's own column decides: a header like `N/A` or `Yes/No` alone is not Odoo's layout
    if not any(found.fields.get(i) in X2MANY_FIELDS for i in out):
        return []
    return out if len(out) < len(source.headers) else []


def fold(source: Source, frame: pl.DataFrame) -> pl.DataFrame:
    """The file's records with their continuation lines folded in (`frame` as parsed, columns
    c0..cN-1); updates the source's record places, row count and blank-line counts."""
    x2many = x2many_positions(source)
    source.x2many = x2many
    if not x2many or frame.height < 2:
        return frame
    names = [f"c{i}" for i in range(len(source.headers))]
    multi = [names[i] for i in x2many]
    other = [c for c in names if c not in multi]
    cont = frame.select((pl.all_horizontal(pl.col(c) == "" for c in other)
                         & pl.any_horizontal(pl.col(c) != "" for c in multi)
                         & (pl.int_range(pl.len()) > 0)).alias("k")).to_series()
    if not cont.any():
        return frame
    heads = (~cont).arg_true().cast(pl.Int64)
    record = (~cont).cast(pl.UInt32).cum_sum() - 1
    folded = (frame.with_columns(record.alias(_RECORD))
              .group_by(_RECORD, maintain_order=True)
              .agg(*[pl.col(c).first() for c in other],
                   *[pl.col(c).filter(pl.col(c) != "").str.join(",") for c in multi])
              .select(names))
    lasts = pl.concat([heads.slice(1) - 1, pl.Series([frame.height - 1], dtype=pl.Int64)])
    source.multiline = int((lasts > heads).sum())
    source.rows = folded.height
    _fold_places(source, frame, names, heads, lasts)
    _fold_skipped(source, heads)
    return folded


def _fold_places(source: Source, frame: pl.DataFrame, names: list[str], heads: pl.Series,
                 lasts: pl.Series) -> None:
    """A folded record's bytes run from its first line's start to its last line's end."""
    spans = source.spans
    if spans is None:
        return
    if spans.locate is not None:  # places left for later: found now, from the lines as parsed
        found, spans.locate = spans.locate(value_hash(frame, names)), None
        if found is None:
            return
        spans.head_end, spans.starts, spans.ends = found
    if spans.starts is None or spans.ends is None:
        return
    spans.starts = pl.concat([spans.starts.gather(heads), spans.starts.tail(1)])
    spans.ends = spans.ends.gather(lasts)


def _fold_skipped(source: Source, heads: pl.Series) -> None:
    """Line numbers: the lines before a record that are not records (blank lines, and now the
    continuation lines) counted for each record whose count grows."""
    old_rows = heads + 1
    before = pl.repeat(0, len(heads), dtype=pl.Int64, eager=True)
    if source.skipped_lines:
        rows, counts = zip(*source.skipped_lines, strict=True)
        at = pl.Series(rows, dtype=pl.Int64).search_sorted(old_rows, side="right")
        before = pl.concat([pl.Series([0], dtype=pl.Int64), pl.Series(counts, dtype=pl.Int64)]).gather(at)
    extra = before + heads - pl.int_range(len(heads), eager=True, dtype=pl.Int64)
    grows = (extra != extra.shift(1, fill_value=0))
    new_rows = pl.int_range(1, len(heads) + 1, eager=True, dtype=pl.Int64)
    source.skipped_lines = list(zip(new_rows.filter(grows).to_list(), extra.filter(grows).to_list(), strict=True))


def spread(frame: pl.DataFrame | pl.LazyFrame, columns: list[str], multi: list[str]
           ) -> pl.DataFrame | pl.LazyFrame:
    """Records as the lines Odoo writes them in: the x2many values of `multi` split on `,`, the
    first on the record's line with every other field, each further one on a line of its own
    whose other cells are empty. A row `__lt_record` says which record each line belongs to."""
    k = pl.col(_LINE)
    lines = pl.max_horizontal(pl.col(c).str.split(",").list.len() for c in multi).fill_null(1)
    return (frame.select(columns).with_row_index(_RECORD)
            .with_columns(pl.int_ranges(0, lines).alias(_LINE)).explode(_LINE)
            .select(_RECORD, *[
                pl.col(c).str.split(",").list.get(k, null_on_oob=True).fill_null("").alias(c) if c in multi
                else pl.when(k == 0).then(pl.col(c)).otherwise(pl.lit("")).alias(c) for c in columns]))


def spread_texts(texts: pl.Series, records: pl.Series, newline: str) -> pl.Series:
    """The text of each record: its lines' texts (`spread`'s rows encoded) joined by `newline`."""
    return (pl.DataFrame({_RECORD: records, "t": texts}).group_by(_RECORD, maintain_order=True)
            .agg(pl.col("t").str.join(newline)).get_column("t"))


def output_multi(sources: list[Source], columns: list[str]) -> list[str]:
    """The output columns to spread over lines: the x2many columns of the first input, whose
    layout the output takes."""
    if not sources or not sources[0].x2many:
        return []
    first = sources[0]
    return [c for c in dict.fromkeys(first.columns[i] for i in first.x2many) if c in columns]


__all__ = ["SPREAD_RECORD", "fold", "output_multi", "spread", "spread_texts", "x2many_positions"]
