"""`leadtool check` (docs/check.md): validate a dataset for CI. Every rule is a polars filter over the
whole frame; only the final, capped list of problems becomes Python dicts.

Rules (their names are the stable ids `--ignore` and `[check] ignore` take):

- `duplicates`: every record of a duplicate group but the group's first record in input order
  (the message names that one), when there are more groups than `max_duplicates`; the groups are
  those `dupes` finds with the same options (closed records left out).
- `duplicate-id`: each record whose id cell (stripped, non-empty) an earlier record already has;
  only when an id column exists.
- `missing-required`: each record with an empty required field; one problem (line 1) per file
  that lacks a required column.
- `missing-field`: one problem (line 1) per file in which no column holds a field that another
  rule needs: the email for `duplicates` by email and for `invalid-email`, the customer or a phone
  for `--by customer` / `--by phone`.
- `invalid-email`: a non-empty `email_from` with no parseable address (docs/groups.md#email-key).
- `bad-date`: a non-empty `create_date` not in the forms of docs/formats.md#numbers-and-dates
  (ISO, or local forms with the day/month order inferred per file or given with `date_order`).
- `bad-probability`: a non-empty `probability` that is not a number (`100,0` is one) or is
  outside 0-100.
- `unknown-type`: a non-empty `type` other than `lead` / `opportunity` (any case).
- `leads-mode`: an open lead (not archived, not won) of a team whose leads mode is off in the
  config (docs/convert.md: it should have been converted).
- `fuzzy-duplicates` (only with `fuzzy`: `--fuzzy` or `[check] fuzzy`): each fuzzy suggestion
  (`check.fuzzy`); a warning, listed in `warnings` and not counted as a problem, unless the
  mode is `fail`.

Report (`CheckReport.as_dict()`, also what `--format json` prints):
`{"valid": bool, "stats": {...}, "problems": [{"rule", "file", "row", "id", "column", "value",
"message"}, ...]}`. `row` is the 1-based line where the record starts in a CSV file (header on
line 1, multi-line quoted values counted), the 1-based data row for JSON and JSON Lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl

from ..config import CHECK_FUZZY, Config
from ..errors import ConfigError, UsageError
from ..match.emails import email_keys
from ..match.groups import Linked, link_records
from ..match.placeholders import DEFAULT_RULES, is_placeholder
from ..options import comma_list
from ..records import ID, IDX, LINE, ROW, SRC, Records
from .lines import line_numbers
from .rules import (
    ALL_RULES,
    BY_FIELDS,
    ON_REQUEST,
    duplicate_texts,
    indexed,
    no_problems,
    rule_date,
    rule_duplicate_id,
    rule_duplicates,
    rule_email,
    rule_leads_mode,
    rule_missing,
    rule_missing_field,
    rule_probability,
    rule_type,
)

DEFAULT_MAX_PROBLEMS = 1000
SHOWN_PLACEHOLDERS = 10  # placeholder keys named in the stats (the count covers them all)
PROBLEM_KEYS = ("rule", "file", "row", "id", "column", "value", "message")


@dataclass
class CheckReport:
    """The outcome: `valid` is true when there is no problem at all. `problems` holds at most
    `max_problems` entries (file order, then line, then rule); `stats["problems"]` counts them
    all and `stats["by_rule"]` per rule."""

    valid: bool
    stats: dict[str, Any]
    problems: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] | None = None  # findings that do not fail the check (fuzzy, warn)

    def as_dict(self) -> dict[str, Any]:
        out = {"valid": self.valid, "stats": self.stats, "problems": self.problems}
        if self.warnings is not None:
            out["warnings"] = self.warnings
        return out


# ----------------------------------------------------------------------------- options
def parse_rules(values: Iterable[str], *, where: str = "--ignore", config_path: str | None = None) -> list[str]:
    """Rule names (repeated or comma lists); an unknown name is an error (exit 2)."""
    out: list[str] = []
    for part in comma_list(values):
        name = part.lower()
        if name not in ALL_RULES:
            msg = f"{where} {part!r}: unknown rule (rules: {', '.join(ALL_RULES)})"
            if config_path is not None:
                raise ConfigError(msg, file=config_path)
            raise UsageError(msg)
        if name not in out:
            out.append(name)
    return out


ORDER = "__lt_order"


class Where(Protocol):
    """Where records are, for the listed problems only: their file, row and id, each file's
    first record, their lines. In memory the frame tells (`InFrame`); a bounded check keeps
    what it needs of each record (`bounded.check`)."""

    def locate(self, idx: pl.Series) -> pl.DataFrame:
        """SRC, ROW and ID of the records at positions `idx` (one row each, in that order)."""
        ...

    def file_starts(self, sources: pl.Series) -> pl.Series:
        """The position of each given file's first record (of the next file's when it has none)."""
        ...

    def lines(self, idx: pl.Series) -> pl.DataFrame:
        """(IDX, LINE) covering at least the records at positions `idx` (nulls ignored)."""
        ...


@dataclass
class InFrame:
    """`Where` for records all in memory."""

    records: Records
    frame: pl.DataFrame

    def locate(self, idx: pl.Series) -> pl.DataFrame:
        return self.frame.select(SRC, ROW, ID)[idx]

    def file_starts(self, sources: pl.Series) -> pl.Series:
        return self.frame.get_column(SRC).search_sorted(sources)

    def lines(self, idx: pl.Series) -> pl.DataFrame:
        reach = idx.max()
        lines = line_numbers(self.records, 0 if reach is None else reach + 1)
        return lines.to_frame(LINE).with_row_index(IDX).with_columns(pl.col(IDX).cast(pl.UInt32))


def _in_order(parts: list[pl.DataFrame], file_level: list[dict], where: Where,
              limit: int | None) -> pl.DataFrame:
    """The first `limit` problems in file order, then line, then rule (a record's problems of
    one rule in the order found), with their file, row and id. Records are in file and row
    order, so one integer orders them: position, then rule (each part holds one rule); a
    file-level problem takes the slot just before the file's first record."""
    slots = len(ALL_RULES) + 1
    keyed = [part.with_columns(
        (pl.col(IDX).cast(pl.UInt64) * slots + 1 + ALL_RULES.index(part.get_column("rule")[0])).alias(ORDER))
        for part in parts if part.height]
    if limit == 0:  # counted, none listed
        keyed = []
    elif limit is not None and sum(part.height for part in keyed) > limit:
        # only the problems up to the limit-th key are sorted and gathered (ties kept)
        cut = pl.concat([part.get_column(ORDER) for part in keyed]).bottom_k(limit).max()
        keyed = [part.filter(pl.col(ORDER) <= cut) for part in keyed]
    found = pl.concat(keyed) if keyed else no_problems().collect().with_columns(pl.lit(0, pl.UInt64).alias(ORDER))
    found = found.sort(ORDER, maintain_order=True)
    if limit is not None:
        found = found.head(limit)
    located = pl.concat([found, where.locate(found.get_column(IDX))], how="horizontal")
    if file_level:  # a missing column: line 1 of the file, before its records
        starts = where.file_starts(pl.Series([p["src"] for p in file_level], dtype=pl.UInt32))
        n = len(file_level)
        files = pl.DataFrame(
            {IDX: [None] * n, "rule": [p["rule"] for p in file_level], "column": [p["column"] for p in file_level],
             "value": [None] * n, "message": [p["message"] for p in file_level], "ref": [None] * n,
             "post": [None] * n, "group": [None] * n, ORDER: (starts.cast(pl.UInt64) * slots).to_list(),
             SRC: [p["src"] for p in file_level], ROW: [0] * n, ID: [None] * n},
            schema=located.schema)
        located = pl.concat([files.sort(SRC, maintain_order=True), located]).sort(ORDER, maintain_order=True)
        if limit is not None:
            located = located.head(limit)
    return located.drop(ORDER)


@dataclass
class _Settings:
    """The check's options once defaults are applied (explicit value, else `[check]`)."""

    require: list[str]
    ignored: list[str]
    max_duplicates: int
    active: list[str]


def _settings(config: Config, require: Sequence[str] | None, ignore: Sequence[str] | None,
              max_duplicates: int | None, max_problems: int | None, fuzzy: str = "off") -> _Settings:
    required = comma_list(config.check_require if require is None else require)
    if ignore is None:
        ignored = parse_rules(config.check_ignore, where="check.ignore", config_path=config.path or "leadtool.toml")
    else:
        ignored = parse_rules(ignore)
    if max_duplicates is None:
        max_duplicates = config.check_max_duplicates if config.check_max_duplicates is not None else 0
    if max_duplicates < 0:
        raise UsageError(f"--max-duplicates {max_duplicates}: expected 0 or more")
    if max_problems is not None and max_problems < 0:
        raise UsageError(f"--max-problems {max_problems}: expected 0 or more")
    asked = [] if fuzzy == "off" else ["fuzzy-duplicates"]
    active = [r for r in ALL_RULES if r not in ignored and (r not in ON_REQUEST or r in asked)]
    return _Settings(required, ignored, max_duplicates, active)


def _needed_fields(active: Sequence[str], by: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(which rules need them, fields) for the `missing-field` rule: any one field of each is
    enough."""
    needs: dict[tuple[str, ...], list[str]] = {}
    if "duplicates" in active:
        for kind in by:
            needs.setdefault(BY_FIELDS[kind], []).append(f"duplicates --by {kind}")
    if "invalid-email" in active:
        needs.setdefault(BY_FIELDS["email"], []).append("invalid-email")
    return [(" and ".join(why), fields) for fields, why in needs.items()]


def _placeholders(config: Config, keys: Sequence[pl.Series]) -> dict[str, Any]:
    """How many records hold a placeholder email (never grouped), and the first of them."""
    if not keys:
        return {"placeholder_emails": 0, "placeholder_keys": []}
    return placeholder_stats(*placeholder_parts(config, keys))


def placeholder_parts(config: Config, keys: Sequence[pl.Series]) -> tuple[int, list[list[str]]]:
    """The records holding a placeholder email among those of `keys` (one email key column
    each), and per column the first placeholder keys shown (distinct, in input order): what
    `placeholder_stats` needs, taken part by part in a bounded check."""
    rules = config.placeholders or DEFAULT_RULES
    flags = pl.DataFrame({f"k{j}": k for j, k in enumerate(keys)}).select(
        is_placeholder(pl.col(f"k{j}"), rules).alias(f"p{j}") for j in range(len(keys)))
    count = int(flags.select(pl.any_horizontal(pl.all()).sum()).item())
    shown: list[list[str]] = [[] for _ in keys]
    if count:
        for j, k in enumerate(keys):
            found = k.filter(flags.get_column(f"p{j}")).unique(maintain_order=True)
            shown[j] = found.head(SHOWN_PLACEHOLDERS).to_list()
    return count, shown


def placeholder_stats(count: int, shown: Sequence[Sequence[str]]) -> dict[str, Any]:
    """The stats of `placeholder_parts`: the columns' keys one after the other, each once."""
    keys = list(dict.fromkeys(k for column in shown for k in column))[:SHOWN_PLACEHOLDERS] if count else []
    return {"placeholder_emails": count, "placeholder_keys": keys}


def _per_record_rules(records: Records, frame: pl.DataFrame, config: Config, settings: _Settings,
                      missing: pl.LazyFrame | None, date_order: str | None = None) -> list[pl.DataFrame]:
    """The rules that look at each record on its own, collected as one parallel batch."""
    active = settings.active
    rules: list[pl.LazyFrame] = []
    if "duplicate-id" in active:
        rules.append(rule_duplicate_id(records, frame))
    if missing is not None:
        rules.append(missing)
    if "bad-date" in active:
        rules.append(rule_date(records, frame, date_order))
    if "bad-probability" in active:
        rules.append(rule_probability(records, frame))
    if "unknown-type" in active:
        rules.append(rule_type(records, frame))
    if "leads-mode" in active:
        rules.append(rule_leads_mode(records, frame, config))
    return pl.collect_all(rules)


def _with_lines(records: Records, listed: pl.DataFrame, where: Where) -> list[dict[str, Any]]:
    """The listed problems as dicts, with the line of each record and of the record a message
    refers to (`ref`): computed only as far as the listed problems reach."""
    line_of = where.lines(pl.concat([listed.get_column(IDX), listed.get_column("ref")]))
    listed = (listed.join(line_of, on=IDX, how="left", maintain_order="left")
              .join(line_of.rename({IDX: "ref", LINE: "ref_line"}), on="ref", how="left", maintain_order="left"))
    message = (pl.when(pl.col("ref").is_not_null())
               .then(pl.col("message") + pl.col("ref_line").cast(pl.String) + pl.col("post").fill_null(""))
               .otherwise(pl.col("message")))
    return listed.select(
        pl.col("rule"), records.source_path().alias("file"), pl.col(LINE).fill_null(1).alias("row"),
        pl.col(ID).alias("id"), "column", "value", message.alias("message")).to_dicts()


def check_records(
    records: Records, config: Config | None = None, *, require: Sequence[str] | None = None,
    max_duplicates: int | None = None, ignore: Sequence[str] | None = None,
    by: Sequence[str] = ("email",), include_closed: bool = False, email_key: str = "first",
    canonical: bool = False, default_region: str | None = None, manual: Sequence[Sequence[str]] = (),
    max_group: int = 50, max_problems: int | None = DEFAULT_MAX_PROBLEMS, date_order: str | None = None,
    fuzzy: str | None = None, fuzzy_threshold: float | None = None,
) -> CheckReport:
    """Validate records. `require`, `max_duplicates`, `ignore` and `fuzzy` (`off`, `warn`:
    suggestions are warnings, `fail`: they are problems) default to the config's `[check]`
    table (an explicit value wins, as on the command line). `max_problems` caps the listed
    problems (None: all); the counts in `stats` are always complete. `date_order` (`dmy`/`mdy`)
    reads slash dates whose order a file does not settle."""
    config = config or Config()
    fuzzy = config.check_fuzzy if fuzzy is None else fuzzy
    if fuzzy not in CHECK_FUZZY:
        raise UsageError(f"fuzzy={fuzzy!r}: expected one of {', '.join(CHECK_FUZZY)}")
    settings = _settings(config, require, ignore, max_duplicates, max_problems, fuzzy)
    suggest = None
    if "fuzzy-duplicates" in settings.active:  # the fuzzy engine is imported when it runs only
        from ..match.fuzzy_groups import fuzzy_options
        from .fuzzy import rule_fuzzy

        suggest = fuzzy_options(config, fuzzy_threshold)
    active = settings.active
    frame = indexed(records)
    where = InFrame(records, frame)
    stats: dict[str, Any] = {"records": len(records), "files": len(records.sources),
                             "duplicate_groups": None, "records_in_duplicate_groups": None,
                             "large_groups": None, "max_duplicates": settings.max_duplicates}
    missing, file_level = (rule_missing(records, frame, settings.require)
                           if "missing-required" in active and settings.require else (None, []))
    if "missing-field" in active:
        file_level += rule_missing_field(records, _needed_fields(active, by))
    parts: list[pl.DataFrame] = []
    warned: list[pl.DataFrame] = []
    linked: Linked | None = None
    # the per-record rules (their eager parts too) run in polars, without the GIL, while the
    # email keys and the groups are found
    with ThreadPoolExecutor(max_workers=1) as pool:
        per_record = pool.submit(_per_record_rules, records, frame, config, settings, missing, date_order)
        # the email key of every record, computed once for the duplicates, the invalid emails and
        # the placeholders
        email = records.col("email_from")
        keys = email_keys(frame.get_column(email), canonical) if email else None
        more_keys = {c: email_keys(frame.get_column(c), canonical) for c in records.columns_of("email_from")[1:]}
        stats.update(_placeholders(config, [k for k in (keys, *more_keys.values()) if k is not None]))
        group_options = dict(by=by, include_closed=include_closed, email_key=email_key, canonical=canonical,
                             default_region=default_region, manual=manual, max_group=max_group, keys=keys)
        if "duplicates" in active:
            dup, dup_stats, linked = rule_duplicates(records, frame, config, group_options)
            stats.update(dup_stats)
            if dup_stats["duplicate_groups"] > settings.max_duplicates:
                parts.append(dup)
        if suggest is not None:
            exact = linked if linked is not None else link_records(records, config=config, **group_options)
            found, stats["fuzzy"] = rule_fuzzy(records, frame, exact, suggest, keys=keys,
                                               include_closed=include_closed, config=config,
                                               source_path=records.source_path("__lt_ref_src"))
            stats["fuzzy"]["mode"] = fuzzy
            (parts if fuzzy == "fail" else warned).append(found)
        if "invalid-email" in active and email and keys is not None:
            parts += pl.collect_all([rule_email(records, frame, k, c) for c, k in ((email, keys), *more_keys.items())])
        parts += per_record.result()  # their order is free: problems are sorted by rule below
    counts = Counter(p["rule"] for p in file_level)
    for part in parts:  # each holds the problems of one rule
        if part.height:
            counts[part.get_column("rule")[0]] += part.height
    problems = listed_problems(records, parts, file_level, where, linked, max_problems)
    warnings = None
    if suggest is not None and fuzzy == "warn":
        warnings = _with_lines(records, _in_order(warned, [], where, max_problems), where)
        stats["warnings"] = sum(part.height for part in warned)
    return finished(stats, counts, problems, settings, fuzzy, warnings)


def listed_problems(records: Records, parts: list[pl.DataFrame], file_level: list[dict], where: Where,
                    linked: Linked | None, limit: int | None) -> list[dict[str, Any]]:
    """The first `limit` problems of `parts` (one rule each) and `file_level`, as the report
    lists them: duplicates described, lines found."""
    listed = _in_order(parts, file_level, where, limit)
    if linked is not None and (listed.get_column("rule") == "duplicates").any():
        listed = duplicate_texts(records, where.locate, listed, linked)
    return _with_lines(records, listed, where)  # bounded by max_problems


def finished(stats: dict[str, Any], counts: Counter[str], problems: list[dict[str, Any]], settings: _Settings,
             fuzzy: str, warnings: list[dict[str, Any]] | None = None) -> CheckReport:
    """The report, its counts added to `stats`."""
    total = sum(counts.values())
    stats.update({"problems": total, "problems_listed": len(problems),
                  "by_rule": {r: int(counts.get(r, 0)) for r in settings.active
                              if not (r in ON_REQUEST and fuzzy == "warn")},
                  "ignored": settings.ignored, "required": list(settings.require)})
    return CheckReport(valid=total == 0, stats=stats, problems=problems, warnings=warnings)
