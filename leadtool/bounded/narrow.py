"""The first pass of a bounded merge: every chunk is read once, and only what grouping needs is
kept: each eligible record's place, id and keys (the email key already computed, the way
`find_groups` takes it from a caller), tens of bytes a record instead of the whole record.
The places of the records in their files and the hashes of their values as read are kept too:
the last pass copies untouched records from them. Groups are then found by the same code as in
memory (`match.groups.find_groups`): they are the same groups, numbered the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import polars as pl

from ..config import Config
from ..match.emails import email_keys
from ..match.groups import Groups, find_groups
from ..match.normalize import closed_expr
from ..records import ID, IDX, KEY, LOADED, SRC, Records, Spans, value_hash
from .chunks import Chunk, Inputs, file_spans, iter_chunks, read_ahead

PLACE = "__lt_place"  # a record's place among all records (LOADED), kept beside the narrow frame
_ID_BLANK = "__lt_id_cell"  # "" where the id cell is blank: all that grouping reads of it


@dataclass
class GroupOptions:
    """`find_groups`' options (manual groups and fuzzy matching take the in-memory path)."""

    by: Sequence[str] = ("email",)
    include_closed: bool = False
    email_key: str = "first"
    canonical: bool = False
    default_region: str | None = None
    max_group: int = 50


@dataclass
class Found:
    """The first pass's result: groups (`members` by place among all records), the records per
    file and their spans."""

    groups: Groups
    spans: list[Spans]
    total: int


def _narrow_columns(records: Records, options: GroupOptions) -> list[str]:
    """The data columns grouping reads beside the email key: phones, customer, further email
    columns (every email column with `--email-key all`)."""
    needed = {"customer": ["partner_id"], "phone": ["phone", "mobile", "country_id"]}
    cols = [c for kind in options.by for f in needed.get(kind, []) for c in records.columns_of(f)]
    emails = records.columns_of("email_from")
    if "email" in options.by:
        cols += emails if options.email_key == "all" else emails[1:]
    return [*dict.fromkeys(cols)]


def _narrow(chunk: Chunk, options: GroupOptions, config: Config | None) -> pl.DataFrame:
    records = chunk.records
    frame = records.frame
    emails = records.columns_of("email_from")
    keyed = "email" in options.by and options.email_key == "first" and bool(emails)
    id_col = records.col("id")
    cols = [
        pl.col(LOADED).alias(PLACE), pl.col(ID), pl.col(SRC),
        (pl.when(pl.col(id_col).str.contains(r"^\s*$")).then(pl.lit("")).otherwise(pl.lit("x"))
         if id_col else pl.lit("")).alias(_ID_BLANK),
        *(pl.col(c) for c in _narrow_columns(records, options)),
    ]
    if keyed:
        cols.append(pl.lit(email_keys(frame.get_column(emails[0]), options.canonical)).alias(KEY))
    narrow = frame.select(cols)
    if not options.include_closed:  # a closed record joins no automatic group: it is left out here
        eligible = frame.select(~closed_expr(records, config)).to_series()
        narrow = narrow.filter(eligible)
    return narrow


def find_bounded_groups(inputs: Inputs, options: GroupOptions, config: Config | None,
                        progress: Callable[[int, int], None] | None = None) -> Found:
    """Read every chunk once, keep the narrow frame and the spans, find the groups."""
    parts: list[pl.DataFrame] = []
    starts: list[list[pl.Series]] = [[] for _ in inputs.files]
    ends: list[list[pl.Series]] = [[] for _ in inputs.files]
    hashes: list[list[pl.Series]] = [[] for _ in inputs.files]
    tails = [f.header_stop for f in inputs.files]
    finals = [True for _ in inputs.files]
    firsts: list[int] = []
    total = 0
    count = len(inputs.chunk_list())
    for done, chunk in enumerate(read_ahead(iter_chunks(inputs))):
        f = chunk.file
        if chunk.index == 0:
            firsts.append(total)
        source = inputs.files[f].source
        hashed = [*dict.fromkeys(source.columns)]
        hashes[f].append(value_hash(chunk.records.frame, hashed))
        starts[f].append(chunk.starts)
        ends[f].append(chunk.ends)
        tails[f], finals[f] = chunk.tail, chunk.final_newline
        parts.append(_narrow(chunk, options, config))
        total += len(chunk.records)
        if progress:
            progress(done + 1, count)
    spans = []
    for f, file in enumerate(inputs.files):
        file.source.rows = sum(file.rows)
        file.fmt.final_newline = finals[f]
        file.source.spans = spans_f = file_spans(file, firsts[f], starts[f], ends[f], tails[f], hashes[f])
        spans.append(spans_f)
    narrow = pl.concat(parts) if parts else pl.DataFrame()
    return Found(groups=_groups(inputs, narrow, options, config), spans=spans, total=total)


def _candidates(narrow: pl.DataFrame) -> pl.DataFrame:
    """The records that may be grouped: with the email key as the only key, those sharing their
    key or their id with another record (the others have no edge). Grouping works on fewer
    records: at 20M rows its work on every record was the run's peak memory (benchmarks/README.md).
    The records keep their order, so the groups and their numbers are the same."""
    if KEY not in narrow.columns or set(narrow.columns) != {PLACE, ID, SRC, _ID_BLANK, KEY}:
        return narrow
    return narrow.filter((pl.col(KEY).is_not_null() & pl.col(KEY).is_duplicated()) | pl.col(ID).is_duplicated())


NARROW_FIELDS = ("email_from", "partner_id", "phone", "mobile", "country_id")  # what grouping reads


def narrow_records(meta: Records, frame: pl.DataFrame, data: list[str], more: dict[str, str]) -> Records:
    """A narrow frame as the records grouping reads: the data columns `data`, the fields of
    `NARROW_FIELDS` (and `more`), the files as `meta` has them."""
    fields = {k: v for k, v in meta.fields.items() if k in NARROW_FIELDS} | more
    return Records(frame=frame, columns=data, headers={c: meta.headers.get(c, c) for c in data}, fields=fields,
                   sources=[replace(s, recognition=None) for s in meta.sources],
                   more_columns=meta.more_columns, opportunity_sources=meta.opportunity_sources)


def _groups(inputs: Inputs, narrow: pl.DataFrame, options: GroupOptions, config: Config | None) -> Groups:
    """`find_groups` over the narrow frame; members given by their place among all records.
    Conflicts (different people) are found per partition, where the names are."""
    narrow = _candidates(narrow)
    meta = inputs.meta()
    records = narrow_records(meta, narrow.drop(KEY) if KEY in narrow.columns else narrow,
                             [c for c in narrow.columns if c not in (PLACE, ID, SRC, KEY)],
                             {"id": _ID_BLANK} if meta.col("id") else {})
    keys = narrow.get_column(KEY) if KEY in narrow.columns else None
    found = find_groups(records, by=options.by, include_closed=True, email_key=options.email_key,
                        canonical=options.canonical, default_region=options.default_region,
                        max_group=options.max_group, config=config, keys=keys)
    places = narrow.get_column(PLACE)
    members = found.members.with_columns(places.gather(found.members.get_column(IDX)).alias(IDX))
    return Groups(members=members, info=found.info.drop("conflict"))
