"""`check` in bounded memory (issue #16): the report of `check.check_records` over CSV exports read
a chunk at a time (`chunks`), holding tens of bytes a record instead of the whole record.

One pass over the chunks, whose records carry their place among all records (`LOADED`), used as
the rules' record position:
- the rules that look at each record alone (`missing-required`, `invalid-email`, `bad-probability`,
  `unknown-type`, `leads-mode`) and the placeholder counts run per chunk; each rule's problems
  are all counted and the first `max_problems` kept (the report lists the first ones in record
  order, so they are among each rule's first ones);
- `bad-date`: the day/month order of slash dates is the file's, told by all its values: per
  chunk, what they say of the order (as `dates.parse_dates` infers it) and the dates that each
  order leaves unread are kept; the file's order is settled after the pass (an ambiguous file is
  the same usage error as in memory);
- `duplicate-id`: a hash of each record's stripped id; after the pass the chunks holding a
  repeated hash are read again for the exact ids (usually none);
- `duplicates`: the narrow frame of `narrow` (place, id, keys of the records that may group),
  linked by the in-memory code (`match.groups.link_records`) after the pass;
- the byte where each record starts: the line of a listed record is 1 + the line feeds before
  it in its file, counted after the pass for the listed problems (and the records they name) only.
The per-file rules (`missing-field`, a missing required column) read the headers.

    from leadtool.bounded.check import check_files
    report = check_files(["leads.csv"], memory_limit=1 << 30)

Manual groups and fuzzy suggestions take the in-memory path (`NotBounded`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from ..check.report import (
    DEFAULT_MAX_PROBLEMS,
    SHOWN_PLACEHOLDERS,
    CheckReport,
    _needed_fields,
    _settings,
    finished,
    listed_problems,
    placeholder_parts,
    placeholder_stats,
)
from ..check.rules import (
    date_problems,
    date_rest,
    duplicate_problems,
    repeated_ids,
    rule_email,
    rule_leads_mode,
    rule_missing,
    rule_missing_field,
    rule_probability,
    rule_type,
)
from ..config import CHECK_FUZZY, Config
from ..errors import UsageError
from ..fields import FieldMap
from ..io.spans import np_module, release
from ..match.dates import ORDERS, ambiguous_order, order_evidence, parse_dates
from ..match.emails import email_keys
from ..match.groups import Linked, check_link_options, link_records
from ..match.normalize import closed_expr
from ..recognition import PresetChoice
from ..records import ID, IDX, KEY, LINE, LOADED, ROW, SRC, Records
from .chunks import Chunk, Inputs, NotBounded, iter_chunks, open_inputs, read_ahead, read_chunk
from .narrow import PLACE, GroupOptions, _narrow_columns, narrow_records

if TYPE_CHECKING:
    from . import Sizes


@dataclass
class _Kept:
    """One rule's problems (one email column's for `invalid-email`): all counted, the first
    `limit` kept with their records' ids (column ID). Parts come in record order (chunk after
    chunk, file after file)."""

    limit: int | None
    count: int = 0
    held: int = 0
    parts: list[pl.DataFrame] = field(default_factory=list)

    def add(self, part: pl.DataFrame, counted: bool = True) -> None:
        if counted:
            self.count += part.height
        room = None if self.limit is None else self.limit - self.held
        if not part.height or room == 0:
            return
        part = part.sort(IDX, maintain_order=True)  # a record's problems of one rule keep their order
        if room is not None:
            part = part.head(room)
        self.parts.append(part)
        self.held += part.height

    def frame(self) -> pl.DataFrame | None:
        return pl.concat(self.parts).drop(ID) if self.parts else None

    def ids(self) -> list[pl.DataFrame]:
        return [part.select(IDX, ID) for part in self.parts]


@dataclass
class _FileDates:
    """What a file's create_date column says of its day/month order so far, and the dates each
    order leaves unread (`bad`, one `_Kept` per order)."""

    bad: dict[str, _Kept]
    dmy: bool = False
    mdy: bool = False
    conflicting: str | None = None  # the first date with a != b (shown when both orders are told)
    unsettled: str | None = None  # the first date that only an order reads (shown when none is told)


class _Where:
    """Where the records are, from what the pass kept: a record's file and row from its place,
    its id from the problems kept and the narrow frame, its line from its start in its file."""

    def __init__(self, inputs: Inputs, firsts: list[int], starts: pl.Series, ids: pl.DataFrame,
                 narrow: pl.DataFrame | None) -> None:
        self.inputs = inputs
        self.firsts = pl.Series(firsts, dtype=pl.Int64)
        self.starts = starts
        self.ids = ids.unique(IDX, keep="first", maintain_order=True)
        self.narrow = narrow

    def _sources(self, idx: pl.Series) -> pl.Series:
        # the last file whose first record is at or before the place (files without records skipped)
        return (self.firsts.search_sorted(idx.cast(pl.Int64), side="right") - 1).cast(pl.UInt32)

    def locate(self, idx: pl.Series) -> pl.DataFrame:
        src = self._sources(idx)
        row = (idx.cast(pl.Int64) - self.firsts.gather(src) + 1).cast(pl.UInt32)
        ids = idx.cast(pl.UInt32).to_frame(IDX).join(self.ids, on=IDX, how="left", maintain_order="left").get_column(ID)
        if self.narrow is not None and self.narrow.height and ids.null_count():  # grouped records
            places = self.narrow.get_column(PLACE)
            at = places.search_sorted(idx.cast(pl.UInt32)).clip(0, len(places) - 1)
            hit = places.gather(at) == idx.cast(pl.UInt32)
            ids = ids.fill_null(pl.select(pl.when(pl.lit(hit)).then(pl.lit(self.narrow.get_column(ID).gather(at))))
                                .to_series())
        return pl.DataFrame({SRC: src, ROW: row, ID: ids})

    def file_starts(self, sources: pl.Series) -> pl.Series:
        return self.firsts.gather(sources)

    def lines(self, idx: pl.Series) -> pl.DataFrame:
        places = idx.drop_nulls().unique().sort().cast(pl.UInt32)
        src = self._sources(places)
        starts = self.starts.gather(places)
        lines = pl.Series([0] * len(places), dtype=pl.Int64)
        for f in src.unique().sort().to_list():
            mine = (src == f).arg_true()
            at = starts.gather(mine)  # ascending: places are, and a file's records are in byte order
            lines = lines.scatter(mine, _lines_at(self.inputs.files[f].raw, at.to_list()))
        return pl.DataFrame({IDX: places, LINE: lines})


_BLOCK = 1 << 24  # bytes looked at a time when line feeds are counted


def _lines_at(raw: Any, starts: list[int]) -> list[int]:
    """1 + the line feeds before each of the ascending byte places `starts`: one scan of the file
    as far as the last one, a block at a time."""
    np = np_module()
    view = np.frombuffer(raw, dtype=np.uint8)
    try:
        out, count, at = [], 0, 0
        for start in starts:
            while at < start:
                stop = min(start, at + _BLOCK)
                count += int(np.count_nonzero(view[at:stop] == 10))
                release(raw, at, stop)
                at = stop
            out.append(1 + count)
        return out
    finally:
        del view


class _Pass:
    """What the pass keeps, and the work on each chunk."""

    def __init__(self, inputs: Inputs, config: Config, active: Sequence[str], require: Sequence[str],
                 options: GroupOptions, limit: int | None, date_order: str | None) -> None:
        self.inputs, self.config, self.active, self.require = inputs, config, active, require
        self.options, self.limit, self.date_order = options, limit, date_order
        self.meta = inputs.meta()
        self.kept: dict[str, _Kept] = {}  # rule parts in the in-memory order (ties of a record keep it)
        self.placeholders = 0
        self.shown: list[list[str]] = [[] for _ in self.meta.columns_of("email_from")]
        self.dates = [_FileDates({o: _Kept(limit) for o in ([date_order] if date_order else ORDERS)})
                      for _ in inputs.files]
        self.hashes: list[pl.Series] = []
        self.narrow: list[pl.DataFrame] = []
        self.starts: list[pl.Series] = []
        self.total = 0

    def _keep(self, name: str, part: pl.DataFrame) -> None:
        self.kept.setdefault(name, _Kept(self.limit)).add(part)

    def chunk(self, chunk: Chunk) -> None:
        records = chunk.records
        base = self.total
        self.total += len(records)
        self.starts.append(chunk.starts)
        frame = records.frame.with_columns(pl.col(LOADED).alias(IDX))
        active = self.active
        emails = records.columns_of("email_from")
        keys = [email_keys(frame.get_column(c), self.options.canonical) for c in emails]
        if keys:
            count, shown = placeholder_parts(self.config, keys)
            self.placeholders += count
            for j, column in enumerate(shown):
                self.shown[j] = list(dict.fromkeys([*self.shown[j], *column]))[:SHOWN_PLACEHOLDERS]
        lazies: list[tuple[str, pl.LazyFrame]] = []
        if "invalid-email" in active and emails:
            lazies += [(f"invalid-email {c}", rule_email(records, frame, k, c))
                       for c, k in zip(emails, keys, strict=True)]
        if "missing-required" in active and self.require:
            lazies.append(("missing-required", rule_missing(records, frame, self.require)[0]))
        if "bad-probability" in active:
            lazies.append(("bad-probability", rule_probability(records, frame)))
        if "unknown-type" in active:
            lazies.append(("unknown-type", rule_type(records, frame)))
        if "leads-mode" in active:
            lazies.append(("leads-mode", rule_leads_mode(records, frame, self.config)))
        ids = frame.get_column(ID)
        for (name, _), part in zip(lazies, pl.collect_all([lazy for _, lazy in lazies]), strict=True):
            self._keep(name, part.with_columns(ids.gather(part.get_column(IDX) - base).alias(ID)))
        if "bad-date" in active:
            self._dates(chunk.file, records, frame)
        id_col = records.col("id")
        if "duplicate-id" in active and id_col:
            stripped = pl.col(id_col).str.strip_chars()
            self.hashes.append(frame.select(pl.when(stripped != "").then(stripped.hash())).to_series())
        if "duplicates" in active:
            self.narrow.append(self._narrow(records, frame, keys[0] if keys else None))

    def _dates(self, f: int, records: Records, frame: pl.DataFrame) -> None:
        col = records.col("create_date")
        if not col:
            return
        rest = date_rest(frame, col, ID)
        if not rest.height:
            return
        dates = self.dates[f]
        values = rest.get_column(col)
        if self.date_order is None:
            found = order_evidence(values)
            dates.dmy |= bool(found["dmy"])
            dates.mdy |= bool(found["mdy"])
            dates.conflicting = dates.conflicting or found["conflicting"]
            dates.unsettled = dates.unsettled or found["unsettled"]
        for order, kept in dates.bad.items():
            result = parse_dates(values, order)
            bad = rest.filter(result.instants.is_null())
            problems = date_problems(records, bad).collect()
            kept.add(problems.with_columns(bad.get_column(ID)))

    def _narrow(self, records: Records, frame: pl.DataFrame, key: pl.Series | None) -> pl.DataFrame:
        """The records that may group, with what grouping reads (as `narrow._narrow`, with the
        email key computed once for every rule)."""
        options = self.options
        keyed = "email" in options.by and options.email_key == "first" and key is not None
        cols = [pl.col(LOADED).alias(PLACE), pl.col(ID), *(pl.col(c) for c in _narrow_columns(records, options))]
        if keyed:
            cols.append(pl.lit(key).alias(KEY))
        narrow = frame.select(cols)
        if not options.include_closed:  # a closed record joins no automatic group
            narrow = narrow.filter(frame.select(~closed_expr(records, self.config)).to_series())
        return narrow

    def settle_dates(self) -> None:
        """Each file's unread dates under its order (an ambiguous file: the in-memory error)."""
        col = self.meta.col("create_date")
        if not col:
            return
        into = self.kept.setdefault("bad-date", _Kept(self.limit))
        for f, dates in enumerate(self.dates):
            order = self.date_order
            if order is None:
                if dates.dmy != dates.mdy:
                    order = "dmy" if dates.dmy else "mdy"
                elif dates.dmy:
                    raise ambiguous_order(dates.conflicting, True, self.meta.headers[col], self.inputs.files[f].path)
                elif dates.unsettled is not None:
                    raise ambiguous_order(dates.unsettled, False, self.meta.headers[col], self.inputs.files[f].path)
                else:  # nothing to settle: dots, and slash dates whose day is their month, read alike
                    order = "mdy"
            kept = dates.bad[order]
            into.count += kept.count
            for part in kept.parts:  # files in order: their first problems are the rule's first
                into.add(part, counted=False)

    def repeated_ids(self) -> None:
        """`duplicate-id`: the records whose id hash another has, read again, their ids compared."""
        if not self.hashes:
            return
        hashes = pl.concat(self.hashes)
        self.hashes = []
        places = (hashes.to_frame("h").select(pl.arg_where(pl.col("h").is_not_null() & pl.col("h").is_duplicated()))
                  .to_series().cast(pl.UInt32))
        kept = self.kept.setdefault("duplicate-id", _Kept(self.limit))
        if places.is_empty():
            return
        col = self.meta.col("id")
        assert col is not None
        found = pl.concat(list(_reread(self.inputs, places, [IDX, SRC, col, ID])))
        problems = repeated_ids(self.meta, found.lazy().select(IDX, SRC, col)).collect()
        ids = found.select(IDX, ID)
        kept.add(problems.join(ids, on=IDX, how="left", maintain_order="left"))

    def duplicates(self, max_group: int) -> tuple[pl.DataFrame, dict[str, int], Linked, pl.DataFrame]:
        """`duplicates` over the narrow frame: its problems and stats, the links by place."""
        narrow = pl.concat(self.narrow) if self.narrow else pl.DataFrame(schema={PLACE: pl.UInt32, ID: pl.String})
        self.narrow = []
        options = self.options
        candidates = narrow
        if KEY in narrow.columns and set(narrow.columns) == {PLACE, ID, KEY}:
            # the email key alone joins records: only those sharing one can group (`narrow._candidates`)
            candidates = narrow.filter(pl.col(KEY).is_not_null() & pl.col(KEY).is_duplicated())
        data = [c for c in candidates.columns if c not in (PLACE, ID, KEY)]
        records = narrow_records(self.meta, candidates.select(PLACE, *data), data, {})
        keys = candidates.get_column(KEY) if KEY in candidates.columns else None
        linked = link_records(records, by=options.by, include_closed=True, email_key=options.email_key,
                              canonical=options.canonical, default_region=options.default_region,
                              max_group=max_group, config=self.config, keys=keys, repeated_ids=False)
        places = candidates.get_column(PLACE)
        linked = Linked(
            edges=linked.edges.with_columns(places.gather(linked.edges.get_column(IDX)).alias(IDX)),
            labels=linked.labels.select(places.gather(linked.labels.get_column(IDX)).alias(IDX),
                                        places.gather(linked.labels.get_column("label")).alias("label")),
            prefix=linked.prefix)
        out, stats = duplicate_problems(linked, max_group)
        return out, stats, linked, narrow.select(PLACE, ID)


def _reread(inputs: Inputs, places: pl.Series, columns: list[str]) -> Iterator[pl.DataFrame]:
    """`columns` of the records at `places` (ascending), read again from the chunks holding them."""
    wanted: list[tuple[int, int, int, int]] = []
    loaded = 0
    for f, file in enumerate(inputs.files):
        row = 1
        for k, n in enumerate(file.rows):
            lo, hi = places.search_sorted(loaded), places.search_sorted(loaded + n)
            if hi > lo:
                wanted.append((f, k, loaded, row))
            loaded += n
            row += n
    chunks = (read_chunk(inputs, f, k, first, row) for f, k, first, row in wanted)
    yield pl.DataFrame(schema={IDX: pl.UInt32, SRC: pl.UInt32, columns[2]: pl.String, ID: pl.String})
    for chunk in read_ahead(chunks):
        frame = chunk.records.frame.with_columns(pl.col(LOADED).alias(IDX))
        yield frame.filter(pl.col(IDX).is_in(places.implode())).select(columns)


def check_files(
    paths: Sequence[str], *, memory_limit: int, config: Config | None = None, encoding: str | None = None,
    delimiter: str | None = None, mapping: FieldMap | None = None, opportunities: Sequence[str] = (),
    preset: PresetChoice | None = None, require: Sequence[str] | None = None, max_duplicates: int | None = None,
    ignore: Sequence[str] | None = None, by: Sequence[str] = ("email",), include_closed: bool = False,
    email_key: str = "first", canonical: bool = False, default_region: str | None = None, max_group: int = 50,
    max_problems: int | None = DEFAULT_MAX_PROBLEMS, date_order: str | None = None,
    manual: Sequence[Sequence[str]] = (), fuzzy: str | None = None, fuzzy_threshold: float | None = None,
    sizes: Sizes | None = None, progress: Callable[[str, int, int], None] | None = None,
) -> CheckReport:
    """`check_records(load(paths, ...), config, ...)`'s report, equal to it, for CSV files read a
    chunk at a time within about `memory_limit` bytes. Raises `NotBounded` for the inputs the
    chunked reader leaves to memory, for manual groups and for fuzzy suggestions (`fuzzy` or
    `[check] fuzzy`): they are the in-memory path's (`manual`, `fuzzy` and `fuzzy_threshold`
    are taken only to say so)."""
    from . import Sizes

    config = config or Config()
    fuzzy = config.check_fuzzy if fuzzy is None else fuzzy
    if fuzzy not in CHECK_FUZZY:
        raise UsageError(f"fuzzy={fuzzy!r}: expected one of {', '.join(CHECK_FUZZY)}")
    settings = _settings(config, require, ignore, max_duplicates, max_problems, fuzzy)
    active = settings.active
    if "fuzzy-duplicates" in active:
        raise NotBounded("fuzzy suggestions")
    if manual and "duplicates" in active:
        raise NotBounded("manual groups")
    if "duplicates" in active:
        check_link_options(by, email_key, max_group, default_region)
    sizes = sizes or Sizes.of(memory_limit)
    inputs = open_inputs(paths, sizes.chunk_bytes, encoding=encoding, delimiter=delimiter, mapping=mapping,
                         opportunities=opportunities, preset=preset)
    meta = inputs.meta()
    options = GroupOptions(by=tuple(by), include_closed=include_closed, email_key=email_key, canonical=canonical,
                           default_region=default_region, max_group=max_group)
    run = _Pass(inputs, config, active, settings.require, options, max_problems, date_order)
    count = len(inputs.chunk_list())
    for done, chunk in enumerate(read_ahead(iter_chunks(inputs))):
        run.chunk(chunk)
        if progress:
            progress("checking", done + 1, count)
    stats: dict[str, Any] = {"records": run.total, "files": len(meta.sources),
                             "duplicate_groups": None, "records_in_duplicate_groups": None,
                             "large_groups": None, "max_duplicates": settings.max_duplicates}
    file_level = (rule_missing(meta, meta.frame, settings.require)[1]
                  if "missing-required" in active and settings.require else [])
    if "missing-field" in active:
        file_level += rule_missing_field(meta, _needed_fields(active, by))
    stats.update(placeholder_stats(run.placeholders, run.shown) if run.shown
                 else {"placeholder_emails": 0, "placeholder_keys": []})
    linked: Linked | None = None
    narrow: pl.DataFrame | None = None
    dup: pl.DataFrame | None = None
    if "duplicates" in active:
        dup, dup_stats, linked, narrow = run.duplicates(max_group)
        stats.update(dup_stats)
        if dup_stats["duplicate_groups"] <= settings.max_duplicates:
            dup = None
    if "duplicate-id" in active:
        run.repeated_ids()
    if "bad-date" in active:
        run.settle_dates()
    counts: Counter[str] = Counter(p["rule"] for p in file_level)
    parts: list[pl.DataFrame] = []
    ids: list[pl.DataFrame] = []
    if dup is not None:
        counts["duplicates"] += dup.height
        duplicates = _Kept(max_problems)
        duplicates.add(dup.with_columns(pl.lit(None, dtype=pl.String).alias(ID)))
        if (frame := duplicates.frame()) is not None:
            parts.append(frame)  # their ids are the narrow frame's
    for name, kept in run.kept.items():
        counts[name.split(" ")[0]] += kept.count
        if (frame := kept.frame()) is not None:
            parts.append(frame)
            ids += kept.ids()
    firsts, first = [], 0
    for file in inputs.files:
        firsts.append(first)
        first += sum(file.rows)
    where = _Where(inputs, firsts, pl.concat(run.starts) if run.starts else pl.Series([], dtype=pl.Int64),
                   pl.concat(ids) if ids else pl.DataFrame(schema={IDX: pl.UInt32, ID: pl.String}), narrow)
    problems = listed_problems(meta, parts, file_level, where, linked, max_problems)
    return finished(stats, counts, problems, settings, fuzzy)
