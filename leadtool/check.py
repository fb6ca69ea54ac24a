"""`leadtool check` (SPEC 5): validate a dataset for CI. Every rule is a polars filter over the
whole frame; only the final, capped list of problems becomes Python dicts.

Rules (their names are the stable ids `--ignore` and `[check] ignore` take):

- `duplicates`: every record of a duplicate group but the group's first record in input order
  (the message names that one), when there are more groups than `max_duplicates`; the groups are
  those `dupes` finds with the same options (closed records left out).
- `duplicate-id`: each record whose id cell (stripped, non-empty) an earlier record already has;
  only when an id column exists.
- `missing-required`: each record with an empty required field; one problem (line 1) per file
  that lacks a required column.
- `invalid-email`: a non-empty `email_from` with no parseable address (SPEC 1.3).
- `bad-date`: a non-empty `create_date` not in the forms of SPEC 3.1.
- `bad-probability`: a non-empty `probability` that is not a number (`100,0` is one) or is
  outside 0-100.
- `unknown-type`: a non-empty `type` other than `lead` / `opportunity` (any case).
- `leads-mode`: an open lead (not archived, not won) of a team whose leads mode is off in the
  config (SPEC 4: it should have been converted).

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
from typing import Any

import polars as pl

from .config import Config
from .emails import email_keys
from .errors import ConfigError, UsageError
from .fields import FIELDS, resolve_headers
from .groups import IDX, Linked, link_records, reasons_of
from .normalize import closed_expr, instant_expr, is_empty, number_expr, type_expr
from .records import ID, ROW, SRC, Records

RULES: tuple[str, ...] = (
    "duplicates", "duplicate-id", "missing-required", "invalid-email", "bad-date",
    "bad-probability", "unknown-type", "leads-mode",
)
RULE_HELP: dict[str, str] = {
    "duplicates": "a record of a duplicate group after its first (more groups than --max-duplicates)",
    "duplicate-id": "the same id on several records",
    "missing-required": "an empty required field, or a required column missing from a file",
    "invalid-email": "a non-empty email_from with no parseable address",
    "bad-date": "a non-empty create_date that is not a date",
    "bad-probability": "a probability that is not a number or is outside 0-100",
    "unknown-type": "a type other than lead or opportunity",
    "leads-mode": "an open lead of a team whose leads mode is off (should be converted)",
}
DEFAULT_MAX_PROBLEMS = 1000
PROBLEM_KEYS = ("rule", "file", "row", "id", "column", "value", "message")
LINE = "__lt_line"

# one row per problem: `message` + the line of record `ref` + `post` when `ref` is set (lines are
# computed at the end, only as far as the listed problems reach; duplicates get their texts
# only then too, from their `group`)
_SCHEMA = {IDX: pl.UInt32, "rule": pl.String, "column": pl.String, "value": pl.String,
           "message": pl.String, "ref": pl.UInt32, "post": pl.String, "group": pl.UInt32}


@dataclass
class CheckReport:
    """The outcome: `valid` is true when there is no problem at all. `problems` holds at most
    `max_problems` entries (file order, then line, then rule); `stats["problems"]` counts them
    all and `stats["by_rule"]` per rule."""

    valid: bool
    stats: dict[str, Any]
    problems: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "stats": self.stats, "problems": self.problems}


# ----------------------------------------------------------------------------- options
def parse_rules(values: Iterable[str], *, where: str = "--ignore", config_path: str | None = None) -> list[str]:
    """Rule names (repeated or comma lists); an unknown name is an error (exit 2)."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in RULES:
                msg = f"{where} {part.strip()!r}: unknown rule (rules: {', '.join(RULES)})"
                if config_path is not None:
                    raise ConfigError(msg, file=config_path)
                raise UsageError(msg)
            if name not in out:
                out.append(name)
    return out


def parse_require(values: Iterable[str]) -> list[str]:
    """`--require name,email_from` (comma lists, repeatable): fields or headers."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            if part.strip() and part.strip() not in out:
                out.append(part.strip())
    return out


def _required_column(records: Records, name: str) -> str | None:
    """The internal column of a required name: a field (technical name or Odoo label), else a
    header as written in the file; None when no file has it."""
    fld = name if name in FIELDS else resolve_headers([name], {}).get(0)
    if fld and records.col(fld):
        return records.col(fld)
    for col, header in records.headers.items():
        if header == name:
            return col
    return None


# ----------------------------------------------------------------------------- line numbers
def line_numbers(records: Records, upto: int | None = None) -> pl.Series:
    """The 1-based line where each record starts in its file (frame order; only the first
    `upto` records when given), for editors.

    CSV: the header is line 1 (plus the newlines inside quoted header cells), and each record
    starts one line after the previous one plus the newlines inside its quoted values, counted
    per cell and summed cumulatively per file. JSON and JSON Lines: the data row number."""
    frame = records.frame if upto is None else records.frame.head(upto)
    csv_sources = [i for i, s in enumerate(records.sources) if s.fmt.kind == "csv"]
    row = pl.col(ROW).cast(pl.Int64)
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
    return frame.select(line.alias(LINE)).to_series()


# ----------------------------------------------------------------------------- rules
def _indexed(records: Records) -> pl.DataFrame:
    return records.frame.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX))


def _empty() -> pl.LazyFrame:
    return pl.LazyFrame(schema=_SCHEMA)


def _problems(frame: pl.DataFrame | pl.LazyFrame, mask: pl.Expr, rule: str, column: str | None, value: pl.Expr,
              message: pl.Expr) -> pl.LazyFrame:
    # lazy, so that the filter only copies the columns the result needs, and so that all the
    # per-record rules run as one parallel batch (`pl.collect_all`)
    return frame.lazy().filter(mask).select(
        pl.col(IDX), pl.lit(rule).alias("rule"), pl.lit(column, dtype=pl.String).alias("column"),
        value.cast(pl.String).alias("value"), message.alias("message"),
        pl.lit(None, dtype=pl.UInt32).alias("ref"), pl.lit(None, dtype=pl.String).alias("post"),
        pl.lit(None, dtype=pl.UInt32).alias("group"))


def _quoted(expr: pl.Expr, width: int = 60) -> pl.Expr:
    """A value inside a message: quoted, shortened."""
    short = pl.when(expr.str.len_chars() > width).then(expr.str.slice(0, width - 1) + "…").otherwise(expr)
    return "'" + short + "'"


def _file_label(records: Records, src: str = SRC) -> pl.Expr:
    """The file (as given) of the source number in column `src`."""
    return pl.col(src).replace_strict(list(range(len(records.sources))),
                                      [s.path for s in records.sources], return_dtype=pl.String)


def _elsewhere(records: Records, ref_src: str) -> pl.Expr:
    """` of FILE` when the referenced record is in another file than the problem's."""
    return pl.when(pl.col(SRC) != pl.col(ref_src)).then(" of " + _file_label(records, ref_src)).otherwise(pl.lit(""))


def _rule_duplicates(records: Records, frame: pl.DataFrame, config: Config | None,
                     group_options: dict[str, Any]) -> tuple[pl.DataFrame, dict[str, int], Linked]:
    """Every grouped record but the first of its group in input order, naming that first one
    (not necessarily the head a merge would keep: that depends on --head). The groups are not
    numbered nor described here: `_duplicate_texts` does it for the listed ones only."""
    linked = link_records(records, config=config, **group_options)
    sizes = linked.labels.get_column("label").value_counts(name="size").get_column("size")
    stats = {"duplicate_groups": sizes.len(), "records_in_duplicate_groups": linked.labels.height,
             "large_groups": int((sizes > group_options["max_group"]).sum())}
    none = pl.lit(None, dtype=pl.String)
    # a record's label is the first record of its group
    out = linked.labels.filter(pl.col(IDX) != pl.col("label")).select(
        pl.col(IDX), pl.lit("duplicates").alias("rule"), none.alias("column"), none.alias("value"),
        none.alias("message"), pl.col("label").alias("ref"), none.alias("post"),
        pl.lit(None, dtype=pl.UInt32).alias("group"))
    return out, stats, linked


def _duplicate_texts(records: Records, frame: pl.DataFrame, listed: pl.DataFrame, linked: Linked) -> pl.DataFrame:
    """The group number, value (reasons), message and post of the listed duplicates. Groups
    are numbered as `dupes` numbers them: in input order of their first record (label)."""
    dup = pl.col("rule") == "duplicates"
    firsts = listed.filter(dup).get_column("ref").unique()
    reasons = (reasons_of(linked, linked.labels.filter(pl.col("label").is_in(firsts.implode())))
               .select(pl.col("label").alias("ref"), pl.col("reasons").list.join(" ").alias("__lt_reasons")))
    listed = listed.join(reasons, on="ref", how="left", maintain_order="left")
    ref = listed.get_column("ref").fill_null(0)
    listed = listed.with_columns(
        frame.get_column(SRC).gather(ref).alias("__lt_ref_src"), frame.get_column(ID).gather(ref).alias("__lt_ref_id"),
        pl.when(dup).then(pl.lit(linked.group_numbers(ref))).alias("group"))
    elsewhere = _elsewhere(records, "__lt_ref_src")
    return listed.with_columns(
        pl.when(dup).then(pl.col("__lt_reasons")).otherwise(pl.col("value")).alias("value"),
        pl.when(dup).then(pl.format("duplicate of id {} on line ", pl.col("__lt_ref_id")))
        .otherwise(pl.col("message")).alias("message"),
        pl.when(dup).then(pl.format("{} (group {}: {})", elsewhere, pl.col("group"), pl.col("__lt_reasons")))
        .otherwise(pl.col("post")).alias("post"),
    ).drop("__lt_ref_src", "__lt_ref_id", "__lt_reasons")


def _rule_duplicate_id(records: Records, frame: pl.DataFrame) -> pl.LazyFrame:
    col = records.col("id")
    if not col:
        return _empty()
    stripped = pl.col(col).str.strip_chars()
    # repeats are rare: a sort of numbers finds the candidates much faster than a hash table
    # of a million strings. The usual ids are whole numbers (a repeated number is a candidate
    # only: '7' and '007' are two ids), else the stripped values' hashes (collisions included).
    values = frame.get_column(col).cast(pl.UInt64, strict=False)
    if values.null_count():  # a cell that is not a plain number: blank, text, spaces
        values = frame.select(stripped.hash()).to_series()
    # in id order already, as exports often are: no sort needed
    ordered = values if values.is_sorted() or values.is_sorted(descending=True) else values.sort()
    candidates = ordered.filter(ordered == ordered.shift(1))
    if candidates.is_empty():
        return _empty()
    ids = (frame.lazy().filter(pl.lit(values).is_in(candidates.unique().implode()))
           .select(pl.col(IDX), pl.col(SRC), stripped.alias("v"), pl.col(col).alias("raw")))
    repeated = ids.filter((pl.len().over("v") > 1) & (pl.col("v") != ""))
    dup = repeated.with_columns(pl.col(IDX).first().over("v").alias("first_idx"),
                                pl.col(SRC).first().over("v").alias("first_src")).filter(
        pl.col(IDX) != pl.col("first_idx"))
    elsewhere = _elsewhere(records, "first_src")
    return dup.select(pl.col(IDX), pl.lit("duplicate-id").alias("rule"), pl.lit(records.headers[col]).alias("column"),
                      pl.col("raw").alias("value"),
                      pl.format("id {} is already used by the record on line ", _quoted(pl.col("v"))).alias("message"),
                      pl.col("first_idx").alias("ref"), elsewhere.alias("post"),
                      pl.lit(None, dtype=pl.UInt32).alias("group"))


def _rule_missing(records: Records, frame: pl.DataFrame, require: Sequence[str]) -> tuple[pl.LazyFrame, list[dict]]:
    """Empty required cells, and (separately) files without a required column."""
    parts: list[pl.LazyFrame] = []
    file_level: list[dict] = []
    for name in require:
        col = _required_column(records, name)
        have = [i for i, s in enumerate(records.sources) if col is not None and col in s.columns]
        for i in range(len(records.sources)):
            if i not in have:
                file_level.append({"src": i, "column": name,
                                   "message": f"required column {name!r} is missing from the file"})
        if not have:
            continue
        mask = pl.col(SRC).is_in(have) & is_empty(pl.col(col))
        parts.append(_problems(frame, mask, "missing-required", records.headers[col], pl.col(col),
                               pl.lit(f"required field {name!r} is empty")))
    return (pl.concat(parts) if parts else _empty()), file_level


def _rule_email(records: Records, frame: pl.DataFrame, keys: pl.Series) -> pl.LazyFrame:
    col = records.col("email_from")
    # a key is missing for empty cells and invalid ones only: the rest are never looked at
    rest = frame.lazy().filter(pl.lit(keys).is_null())
    return _problems(rest, ~is_empty(pl.col(col)), "invalid-email", records.headers[col], pl.col(col),
                     pl.format("invalid email {}: no address found", _quoted(pl.col(col))))


def _rule_date(records: Records, frame: pl.DataFrame) -> pl.LazyFrame:
    col = records.col("create_date")
    if not col:
        return _empty()
    # Odoo's own form parses in one pass; only the rest goes through every form of SPEC 3.1
    odoo_form = pl.col(col).str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False, exact=True, cache=False)
    rest = frame.lazy().select(IDX, col).filter(odoo_form.is_null()).collect()  # a few records
    bad = ~is_empty(pl.col(col)) & instant_expr(pl.col(col)).is_null()
    return _problems(rest, bad, "bad-date", records.headers[col], pl.col(col),
                     pl.format("create_date {} is not a date (YYYY-MM-DD[ HH:MM:SS] or ISO 8601)",
                               _quoted(pl.col(col))))


def _rule_probability(records: Records, frame: pl.DataFrame) -> pl.LazyFrame:
    col = records.col("probability")
    if not col:
        return _empty()
    # the usual cell is a plain number from 0 to 100: only the others need the full parse
    plain = pl.col(col).cast(pl.Float64, strict=False).is_between(0, 100)
    frame = frame.filter(~plain.fill_null(False))
    number = number_expr(pl.col(col))
    bad_number = number.is_null() | number.is_nan()
    mask = ~is_empty(pl.col(col)) & (bad_number | (number < 0) | (number > 100))
    message = (pl.when(bad_number).then(pl.format("probability {} is not a number", _quoted(pl.col(col))))
               .otherwise(pl.format("probability {} is outside 0-100", _quoted(pl.col(col)))))
    return _problems(frame, mask, "bad-probability", records.headers[col], pl.col(col), message)


def _rule_type(records: Records, frame: pl.DataFrame) -> pl.LazyFrame:
    col = records.col("type")
    if not col:
        return _empty()
    value = pl.col(col).str.strip_chars().str.to_lowercase()
    mask = (value != "") & ~value.is_in(["lead", "opportunity"])
    frame = frame.filter(~pl.col(col).is_in(["lead", "opportunity", ""]))  # the usual cells, cheaply
    return _problems(frame, mask, "unknown-type", records.headers[col], pl.col(col),
                     pl.format("type {} is neither lead nor opportunity", _quoted(pl.col(col))))


def _rule_leads_mode(records: Records, frame: pl.DataFrame, config: Config | None) -> pl.LazyFrame:
    if config is None or (config.leads_enabled and not config.teams_without_leads()):
        return _empty()  # every team keeps its leads
    col = records.col("team_id")
    team = pl.col(col).str.strip_chars() if col else pl.lit("", dtype=pl.String)
    open_leads = frame.filter((type_expr(records) == "lead") & ~closed_expr(records, config))
    teams = open_leads.select(team.unique()).to_series().to_list()  # a handful of distinct teams
    off = [t for t in teams if not config.team_uses_leads(t)]
    if not off:
        return _empty()
    message = (pl.when(team == "")
               .then(pl.lit("lead without a team while leads mode is off ([leads] enabled = false): "
                            "it should have been converted (leadtool convert)"))
               .otherwise(pl.format("lead of team {} whose leads mode is off: it should have been "
                                    "converted (leadtool convert)", _quoted(team))))
    return _problems(open_leads, team.is_in(off), "leads-mode", records.headers[col] if col else None,
                     team if col else pl.lit(None, dtype=pl.String), message)


# ----------------------------------------------------------------------------- the check
ORDER = "__lt_order"


def _in_order(parts: list[pl.DataFrame], file_level: list[dict], frame: pl.DataFrame,
              limit: int | None) -> pl.DataFrame:
    """The first `limit` problems in file order, then line, then rule (a record's problems of
    one rule in the order found), with their file, row and id. Records are in file and row
    order, so one integer orders them: position, then rule (each part holds one rule); a
    file-level problem takes the slot just before the file's first record."""
    slots = len(RULES) + 1
    keyed = [part.with_columns(
        (pl.col(IDX).cast(pl.UInt64) * slots + 1 + RULES.index(part.get_column("rule")[0])).alias(ORDER))
        for part in parts if part.height]
    if limit is not None and sum(part.height for part in keyed) > limit:
        # only the problems up to the limit-th key are sorted and gathered (ties kept)
        cut = pl.concat([part.get_column(ORDER) for part in keyed]).bottom_k(limit).max()
        keyed = [part.filter(pl.col(ORDER) <= cut) for part in keyed]
    found = pl.concat(keyed) if keyed else _empty().collect().with_columns(pl.lit(0, pl.UInt64).alias(ORDER))
    found = found.sort(ORDER, maintain_order=True)
    if limit is not None:
        found = found.head(limit)
    located = pl.concat([found, frame.select(SRC, ROW, ID)[found.get_column(IDX)]], how="horizontal")
    if file_level:  # a missing column: line 1 of the file, before its records
        starts = frame.get_column(SRC).search_sorted(pl.Series([p["src"] for p in file_level], dtype=pl.UInt32))
        n = len(file_level)
        files = pl.DataFrame(
            {IDX: [None] * n, "rule": ["missing-required"] * n, "column": [p["column"] for p in file_level],
             "value": [None] * n, "message": [p["message"] for p in file_level], "ref": [None] * n,
             "post": [None] * n, "group": [None] * n, ORDER: (starts.cast(pl.UInt64) * slots).to_list(),
             SRC: [p["src"] for p in file_level], ROW: [0] * n, ID: [None] * n},
            schema=located.schema)
        located = pl.concat([files.sort(SRC, maintain_order=True), located]).sort(ORDER, maintain_order=True)
        if limit is not None:
            located = located.head(limit)
    return located.drop(ORDER)


def check_records(
    records: Records, config: Config | None = None, *, require: Sequence[str] | None = None,
    max_duplicates: int | None = None, ignore: Sequence[str] | None = None,
    by: Sequence[str] = ("email",), include_closed: bool = False, email_key: str = "first",
    canonical: bool = False, default_region: str | None = None, manual: Sequence[Sequence[str]] = (),
    max_group: int = 50, max_problems: int | None = DEFAULT_MAX_PROBLEMS,
) -> CheckReport:
    """Validate records. `require`, `max_duplicates` and `ignore` default to the config's
    `[check]` table (an explicit value wins, as on the command line). `max_problems` caps the
    listed problems (None: all); the counts in `stats` are always complete."""
    config = config or Config()
    if require is None:
        require = config.check_require
    require = parse_require(require)
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
    active = [r for r in RULES if r not in ignored]

    frame = _indexed(records)
    stats: dict[str, Any] = {"records": len(records), "files": len(records.sources),
                             "duplicate_groups": None, "records_in_duplicate_groups": None,
                             "large_groups": None, "max_duplicates": max_duplicates}
    file_level: list[dict] = []
    if "missing-required" in active and require:
        missing, file_level = _rule_missing(records, frame, require)

    def per_record_rules() -> list[pl.DataFrame]:
        rules: list[pl.LazyFrame] = []
        if "duplicate-id" in active:
            rules.append(_rule_duplicate_id(records, frame))
        if "missing-required" in active and require:
            rules.append(missing)
        if "bad-date" in active:
            rules.append(_rule_date(records, frame))
        if "bad-probability" in active:
            rules.append(_rule_probability(records, frame))
        if "unknown-type" in active:
            rules.append(_rule_type(records, frame))
        if "leads-mode" in active:
            rules.append(_rule_leads_mode(records, frame, config))
        return pl.collect_all(rules)

    parts: list[pl.DataFrame] = []
    linked: Linked | None = None
    # the per-record rules (their eager parts too) run in polars, without the GIL, while the
    # email keys and the groups are found
    with ThreadPoolExecutor(max_workers=1) as pool:
        per_record = pool.submit(per_record_rules)
        # the email key of every record, computed once for the duplicates and the invalid emails
        email = records.col("email_from")
        keys = email_keys(frame.get_column(email), canonical) if email else None
        if "duplicates" in active:
            group_options = dict(by=by, include_closed=include_closed, email_key=email_key, canonical=canonical,
                                 default_region=default_region, manual=manual, max_group=max_group, keys=keys)
            dup, dup_stats, linked = _rule_duplicates(records, frame, config, group_options)
            stats.update(dup_stats)
            if dup_stats["duplicate_groups"] > max_duplicates:
                parts.append(dup)
        if "invalid-email" in active and email and keys is not None:
            parts.append(_rule_email(records, frame, keys).collect())
        parts += per_record.result()  # their order is free: problems are sorted by rule below
    counts = Counter({"missing-required": len(file_level)})
    for part in parts:  # each holds the problems of one rule
        if part.height:
            counts[part.get_column("rule")[0]] += part.height
    listed = _in_order(parts, file_level, frame, max_problems)
    total = sum(counts.values())
    if linked is not None and (listed.get_column("rule") == "duplicates").any():
        listed = _duplicate_texts(records, frame, listed, linked)
    # line numbers only as far as the listed problems reach (a referenced record comes earlier)
    reach = listed.select(pl.max_horizontal(pl.col(IDX).max(), pl.col("ref").max())).item()
    lines = line_numbers(records, 0 if reach is None else reach + 1)
    line_of = lines.to_frame(LINE).with_row_index(IDX).with_columns(pl.col(IDX).cast(pl.UInt32))
    listed = (listed.join(line_of, on=IDX, how="left", maintain_order="left")
              .join(line_of.rename({IDX: "ref", LINE: "ref_line"}), on="ref", how="left", maintain_order="left"))
    message = (pl.when(pl.col("ref").is_not_null())
               .then(pl.col("message") + pl.col("ref_line").cast(pl.String) + pl.col("post").fill_null(""))
               .otherwise(pl.col("message")))
    listed = listed.select(
        pl.col("rule"), _file_label(records).alias("file"), pl.col(LINE).fill_null(1).alias("row"),
        pl.col(ID).alias("id"), "column", "value", message.alias("message"))
    problems = listed.to_dicts()  # bounded by max_problems
    stats.update({
        "problems": total,
        "problems_listed": len(problems),
        "by_rule": {r: int(counts.get(r, 0)) for r in active},
        "ignored": ignored,
        "required": list(require),
    })
    return CheckReport(valid=total == 0, stats=stats, problems=problems)
