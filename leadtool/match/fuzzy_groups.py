"""Fuzzy suggestions joined to the exact groups (docs/groups.md#fuzzy-suggestions): what
`dupes --fuzzy`, `merge --fuzzy-merge`, `check --fuzzy`, `inspect --fuzzy` and the library
share.

    options = fuzzy_options(config, threshold=None, merge=None)
    found = find_fuzzy_groups(records, options, by=..., manual=...)   # a Groups
    details = suggestion_details(found, members)                      # score against the head

The exact groups are found first; the fuzzy engine (`fuzzy.fuzzy_pairs`, `fuzzy.guarded_links`)
then joins them and the records outside them; each link is an extra edge of the groups."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from ..config import Config
from ..errors import ConfigError, UsageError
from ..io.jsontext import json_str
from ..records import FUZZY_SCORES, ID, IDX, SRC, Records
from .emails import email_keys
from .fuzzy import DEFAULT_THRESHOLD, A, B, FuzzyResult, fuzzy_pairs, guarded_links, link_edges
from .fuzzy_blocking import DEFAULT_BLOCKING, CutBlock
from .fuzzy_compare import BY_NAME
from .groups import Groups, Linked, find_groups, link_records
from .normalize import closed_expr

#: what a suggestion is scored on (`name` is the first and the last name)
FIELD_NAMES = ("email", "name", "company", "phone", "street", "city", "zip")
_COMPARED = {"name": ("first", "last")}
#: `[fuzzy.columns]` keys and the field each reads by default
COLUMN_FIELDS = {"name": "contact_name", "company": "partner_name", "email": "email_from", "phone": "phone",
                 "mobile": "mobile", "street": "street", "city": "city", "zip": "zip"}


@dataclass(frozen=True)
class FuzzyOptions:
    """`threshold`: the lowest score of a suggestion; `merge`: the lowest score of a link that
    is merged (None: suggestions are never merged); `fields` (of FIELD_NAMES), `blocking` (of
    fuzzy_blocking.BLOCKING_KEYS) and `columns` (key of COLUMN_FIELDS -> header) as the
    config's `[fuzzy]` gives them."""

    threshold: float = DEFAULT_THRESHOLD
    fields: tuple[str, ...] = FIELD_NAMES
    blocking: tuple[str, ...] = DEFAULT_BLOCKING
    columns: tuple[tuple[str, str], ...] = ()
    merge: float | None = None
    config_path: str | None = None

    @property
    def comparisons(self) -> tuple[str, ...]:
        return tuple(c for f in self.fields for c in _COMPARED.get(f, (f,)))

    @property
    def suggest_at(self) -> float:
        """The engine's threshold: a merge below the suggestions' threshold lowers it."""
        return self.threshold if self.merge is None else min(self.threshold, self.merge)


def _score(value: float | None, option: str) -> float | None:
    if value is not None and not 0 <= value <= 100:
        raise UsageError(f"{option} {value:g}: expected a score from 0 to 100")
    return value


def fuzzy_options(config: Config | None = None, threshold: float | None = None,
                  merge: float | None = None) -> FuzzyOptions:
    """The options of a run: the command line's, else the config's `[fuzzy]`, else the defaults."""
    fc = config.fuzzy if config is not None else None
    threshold = _score(threshold, "--fuzzy-threshold")
    if threshold is None:
        threshold = fc.threshold if fc is not None and fc.threshold is not None else DEFAULT_THRESHOLD
    blocking = [b for b in DEFAULT_BLOCKING if fc is None or b not in fc.drop_blocking]
    blocking += [b for b in (fc.add_blocking if fc else []) if b not in blocking]
    return FuzzyOptions(threshold=threshold, fields=tuple(fc.fields) if fc and fc.fields else FIELD_NAMES,
                        blocking=tuple(blocking), columns=tuple(fc.columns.items()) if fc else (),
                        merge=_score(merge, "--fuzzy-merge"), config_path=config.path if config else None)


def fuzzy_view(records: Records, options: FuzzyOptions) -> Records:
    """The records as the fuzzy engine reads them: `[fuzzy.columns]` points a field at
    another column (a header as the files write it), for fuzzy matching only."""
    if not options.columns:
        return records
    by_header = {}
    for col, header in records.headers.items():
        by_header.setdefault(header, col)
    fields = dict(records.fields)
    for key, header in options.columns:
        col = by_header.get(header)
        if col is None:
            raise ConfigError(f"fuzzy.columns.{key}: no input file has the header {header!r}",
                              file=options.config_path or "leadtool.toml")
        fields[COLUMN_FIELDS[key]] = col
    return replace(records, fields=fields)


@dataclass
class FuzzyGroups(Groups):
    """The exact and fuzzy groups (a `Groups`: every command takes it as it is); `info` also
    has `fuzzy_score` (the lowest score of the links that joined the group, null for an exact
    group) and FUZZY_SCORES (the links as the audit's merge event writes them). `links`: idx_a,
    idx_b, score, matched, group; `nodes`: each record's exact group (its label, or itself)."""

    links: pl.DataFrame = None  # type: ignore[assignment]
    result: FuzzyResult = None  # type: ignore[assignment]
    nodes: np.ndarray = None  # type: ignore[assignment]


def _with_links(records: Records, groups: Groups, links: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(info with fuzzy_score and FUZZY_SCORES, links with their group)."""
    links = links.join(groups.members.select(pl.col(IDX).alias(A), "group"), on=A, how="left",
                       maintain_order="left")
    ids = records.frame.select(pl.col(ID))
    named = links.with_columns(ids[links.get_column(A)].get_column(ID).alias("id_a"),
                               ids[links.get_column(B)].get_column(ID).alias("id_b"))
    pair = pl.concat_str(pl.lit('{"records":['), json_str(pl.col("id_a")), pl.lit(","), json_str(pl.col("id_b")),
                         pl.lit('],"score":'), pl.col("score").round(2).cast(pl.String), pl.lit(',"matched":'),
                         json_str(pl.col("matched")), pl.lit("}"))
    per_group = (named.sort("group", A, B).group_by("group", maintain_order=True)
                 .agg(pl.col("score").min().alias("fuzzy_score"),
                      (pl.lit(',"scores":[') + pair.str.join(",") + pl.lit("]")).alias(FUZZY_SCORES)))
    per_group = per_group.cast({"group": pl.UInt32, "fuzzy_score": pl.Float64, FUZZY_SCORES: pl.String})
    info = groups.info.join(per_group, on="group", how="left", maintain_order="left")
    return info, links


def _eligible(records: Records, include_closed: bool, config: Config | None) -> pl.Series | None:
    """The records that take part (open ones, unless `include_closed`): one boolean each."""
    if include_closed:
        return None
    # with_columns gives a constant (a file without `active` and `probability`) every row
    return records.frame.with_columns((~closed_expr(records, config)).alias("__lt_open")).get_column("__lt_open")


def fuzzy_links(records: Records, options: FuzzyOptions, linked: Linked, *, keys: pl.Series | None = None,
                include_closed: bool = False, config: Config | None = None,
                on_candidates: Callable[[int, list[CutBlock]], None] | None = None
                ) -> tuple[pl.DataFrame, FuzzyResult]:
    """The guarded fuzzy links (idx_a, idx_b, score, matched) that join the exact groups of
    `linked` and the records outside them, and the engine's result. Closed records take part
    only with `include_closed`; `keys`: the email keys when the caller has them."""
    if keys is None and records.col("email_from"):
        keys = email_keys(records.frame.get_column(records.col("email_from")))
    eligible = _eligible(records, include_closed, config)
    result = fuzzy_pairs(fuzzy_view(records, options), threshold=options.suggest_at, fields=options.comparisons,
                         blocking=options.blocking, keys=keys, eligible=eligible, labels=linked.labels,
                         on_candidates=on_candidates)
    links = guarded_links(result, linked.labels, len(records))
    if options.merge is not None:
        links = links.filter(pl.col("score") >= options.merge)
    return links, result


def find_fuzzy_groups(records: Records, options: FuzzyOptions, *, by: Sequence[str] = ("email",),
                      include_closed: bool = False, email_key: str = "first", canonical: bool = False,
                      default_region: str | None = None, manual: Sequence[Sequence[str]] = (),
                      max_group: int = 50, config: Config | None = None,
                      on_candidates: Callable[[int, list[CutBlock]], None] | None = None) -> FuzzyGroups:
    """The exact groups (as `groups.find_groups` with the same options) joined by fuzzy links
    scored `options.threshold` or more; with `options.merge`, only the links scored that
    much or more are kept (the rest of a group stays apart). `on_candidates(count, cut)` is
    called before the long part (comparing the candidate pairs)."""
    email = records.col("email_from")
    keys = email_keys(records.frame.get_column(email), canonical) if email else None
    options_exact = dict(by=by, include_closed=include_closed, email_key=email_key, canonical=canonical,
                         default_region=default_region, manual=manual, max_group=max_group, config=config,
                         keys=keys)
    linked = link_records(records, **options_exact)
    links, result = fuzzy_links(records, options, linked, keys=keys, include_closed=include_closed, config=config,
                                on_candidates=on_candidates)
    found = find_groups(records, extra_edges=link_edges(links), **options_exact)
    info, links = _with_links(records, found, links)
    nodes = np.arange(len(records))
    if linked.labels.height:
        nodes[linked.labels.get_column(IDX).to_numpy()] = linked.labels.get_column("label").to_numpy()
    return FuzzyGroups(members=found.members, info=info, links=links, result=result, nodes=nodes)


def _level_names(name: str, levels: np.ndarray) -> pl.Series:
    """Each level's name (`exact`, `typo`, ...), null where a side has no value."""
    names = BY_NAME[name].levels
    return pl.Series(name, levels, dtype=pl.Int64).replace_strict(
        list(range(len(names))), list(names), default=None, return_dtype=pl.String)


def compared_frame(result: FuzzyResult, a: np.ndarray, b: np.ndarray) -> pl.DataFrame:
    """score, matched and one column per comparison (its level's name) of the pairs (a, b)."""
    scorer = result.scorer
    levels = scorer.levels(a, b)
    scores, _ = scorer.model.scores(levels, a)
    return pl.DataFrame([pl.Series("score", np.round(scores, 2), dtype=pl.Float64),
                         *(_level_names(k, v) for k, v in levels.items())])


#: per record, the level of each comparison against the head: a column `vs_<comparison>`
VS = "vs_"


def suggestion_details(found: FuzzyGroups, members: pl.DataFrame) -> pl.DataFrame:
    """For each row of `members` (group, idx, pos in head order, as `merge.ordered_members`
    gives them): `score`, the record's own score against its group's head, `compared`
    (`email: typo; first: exact; ...`) and the level of each comparison (`vs_email`, ...);
    null for the head and for the records of the head's exact group."""
    names = list(found.result.model.comparisons)
    schema = {"score": pl.Float64, "compared": pl.String, **{VS + c.name: pl.String for c in names}}
    none = pl.DataFrame({k: pl.Series([None] * members.height, dtype=t) for k, t in schema.items()})
    if members.height == 0:
        return none
    fuzzy = found.info.filter(pl.col("fuzzy_score").is_not_null()).select("group")
    heads = members.filter(pl.col("pos") == 0).select("group", pl.col(IDX).alias("head"))
    rows = (members.with_row_index("row").join(fuzzy, on="group").join(heads, on="group")
            .filter(pl.col("pos") > 0))
    idx, head = rows.get_column(IDX).to_numpy().astype(np.int64), rows.get_column("head").to_numpy().astype(np.int64)
    apart = found.nodes[idx] != found.nodes[head]
    rows = rows.filter(pl.Series(apart))
    if rows.height == 0:
        return none
    frame = compared_frame(found.result, head[apart], idx[apart])
    levels = [c for c in frame.columns if c != "score"]
    text = pl.concat_str([pl.lit(f"{n}: ") + pl.col(n) for n in levels], separator="; ", ignore_nulls=True)
    detail = frame.select("score", text.alias("compared"), *(pl.col(n).alias(VS + n) for n in levels))
    at = rows.get_column("row")
    return pl.DataFrame({c: none.get_column(c).scatter(at, detail.get_column(c)) for c in none.columns})


def fuzzy_stats(found: FuzzyGroups) -> dict[str, int]:
    """Counts for the outputs: groups a fuzzy link joined, links, candidate pairs."""
    return {"fuzzy_groups": int(found.info.get_column("fuzzy_score").is_not_null().sum()),
            "fuzzy_links": found.links.height, "candidate_pairs": found.result.candidates}


def fuzzy_table(table: pl.DataFrame, found: FuzzyGroups, members: pl.DataFrame) -> pl.DataFrame:
    """`match.table.duplicate_table` (its rows are `members`' rows) with `group_score` (the
    lowest score of the links that joined the group, null for an exact group) and, per
    record, `suggestion_details`."""
    group_score = (table.select("group").join(found.info.select("group", "fuzzy_score"), on="group",
                                              how="left", maintain_order="left").get_column("fuzzy_score"))
    return pl.concat([table.with_columns(group_score.alias("group_score")), suggestion_details(found, members)],
                     how="horizontal")


def fuzzy_counts(records: Records, options: FuzzyOptions, config: Config | None = None,
                 on_candidates: Callable[[int, list[CutBlock]], None] | None = None) -> list[dict[str, int]]:
    """Per input file (the file on its own, as `inspect` counts duplicate groups): the fuzzy
    suggestions (links) and the groups they join."""
    out = []
    for i in range(len(records.sources)):
        part = records.with_frame(records.frame.filter(pl.col(SRC) == i))
        found = find_fuzzy_groups(part, options, config=config, on_candidates=on_candidates)
        out.append({"fuzzy_suggestions": found.links.height,
                    "fuzzy_groups": int(found.info.get_column("fuzzy_score").is_not_null().sum())})
    return out


def scored_pairs(records: Records, options: FuzzyOptions, *, by: Sequence[str] = ("email",),
                 include_closed: bool = False, email_key: str = "first", canonical: bool = False,
                 default_region: str | None = None, manual: Sequence[Sequence[str]] = (),
                 max_group: int = 50, config: Config | None = None) -> pl.DataFrame:
    """Every candidate pair scored `options.threshold` or more, before any grouping: idx_a,
    idx_b (positions), id_a, id_b, score, matched, `exact` (the two are in one exact group
    already) and the level of each comparison (`email`: `typo`, ...; null where a side has no
    value). Sorted by score, highest first, then position."""
    email = records.col("email_from")
    keys = email_keys(records.frame.get_column(email), canonical) if email else None
    linked = link_records(records, by=by, include_closed=include_closed, email_key=email_key, canonical=canonical,
                          default_region=default_region, manual=manual, max_group=max_group, config=config,
                          keys=keys)
    eligible = _eligible(records, include_closed, config)
    result = fuzzy_pairs(fuzzy_view(records, options), threshold=options.threshold, fields=options.comparisons,
                         blocking=options.blocking, keys=keys, eligible=eligible)
    pairs = result.pairs
    a, b = pairs.get_column(A).to_numpy().astype(np.int64), pairs.get_column(B).to_numpy().astype(np.int64)
    nodes = np.arange(len(records))
    if linked.labels.height:
        nodes[linked.labels.get_column(IDX).to_numpy()] = linked.labels.get_column("label").to_numpy()
    ids = records.frame.get_column(ID)
    levels = [_level_names(c.name, pairs.get_column(f"level_{c.name}").fill_null(-1).to_numpy())
              for c in result.model.comparisons]
    return (pl.DataFrame([pairs.get_column(A), pairs.get_column(B), ids.gather(a).alias("id_a"),
                          ids.gather(b).alias("id_b"), pairs.get_column("score"), pairs.get_column("matched"),
                          pl.Series("exact", nodes[a] == nodes[b]), *levels])
            .sort(["score", A, B], descending=[True, False, False]))
