"""Comparison levels of record pairs, field by field, in bulk: each field of a pair is null
(a side has no value), disagrees (level 0) or agrees at one of a few ordered levels (exact is
the highest). Similarities are computed with rapidfuzz once per distinct pair of values,
never once per record pair, and never in a Python loop."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler


@dataclass(frozen=True)
class Comparison:
    """`levels[k]` names level k (0: the values disagree); the last level is exact
    agreement. `tf`: the feature whose value frequency adjusts the exact level (an exact
    match on a rare name says more than on `smith`)."""

    name: str
    levels: tuple[str, ...]
    tf: str | None = None


COMPARISONS: tuple[Comparison, ...] = (
    Comparison("email", ("different", "same local part", "typo", "exact")),
    Comparison("first", ("different", "initial or close", "similar", "exact"), tf="first"),
    Comparison("last", ("different", "close", "similar", "exact"), tf="last"),
    Comparison("company", ("different", "similar", "exact"), tf="company"),
    Comparison("phone", ("different", "exact"), tf="phone1"),
    Comparison("street", ("different", "other number", "no number", "similar", "exact"), tf="address"),
    Comparison("city", ("different", "similar", "exact"), tf="city"),
    Comparison("zip", ("different", "one character", "exact"), tf="zip"),
)
BY_NAME = {c.name: c for c in COMPARISONS}
NULL = -1  # level of a field a side does not have


@dataclass
class Encoded:
    """Each feature as integer codes (-1 for null) into its own vocabulary of distinct
    values; first and last names share one vocabulary, so that a swap is seen."""

    codes: dict[str, np.ndarray]
    vocab: dict[str, np.ndarray]  # object arrays of str
    lengths: dict[str, np.ndarray]  # characters of each vocabulary word
    initials: dict[str, np.ndarray]  # first character of each word (object arrays)

    def __len__(self) -> int:
        return len(next(iter(self.codes.values())))


def _encode(columns: list[pl.Series]) -> tuple[list[np.ndarray], pl.Series]:
    distinct = pl.concat([c.drop_nulls() for c in columns]).unique().sort()
    table = distinct.alias("v").to_frame().with_row_index("code")
    codes = []
    for column in columns:
        joined = (column.alias("v").to_frame()
                  .join(table, on="v", how="left", maintain_order="left").get_column("code"))
        codes.append(joined.cast(pl.Int32).fill_null(NULL).to_numpy())
    return codes, distinct


def encode(features: pl.DataFrame) -> Encoded:
    enc = Encoded({}, {}, {}, {})
    for group in (("first", "last", "nick"), ("company",), ("email",), ("local",), ("domain",),
                  ("house",), ("street",), ("city",), ("zip",)):
        parts, words = _encode([features.get_column(c) for c in group])
        for name, part in zip(group, parts, strict=True):
            enc.codes[name] = part
            enc.vocab[name] = words.to_numpy()
            enc.lengths[name] = words.str.len_chars().to_numpy()
            enc.initials[name] = words.str.slice(0, 1).to_numpy()
            if name == "local":
                enc.initials["local_digits"] = words.str.replace_all(r"\D", "").to_numpy()
    for name in ("phone1", "phone2"):
        enc.codes[name] = features.get_column(name).cast(pl.Int64, strict=False).fill_null(NULL).to_numpy()
    street, house = enc.codes["street"].astype(np.int64), enc.codes["house"].astype(np.int64)
    enc.codes["address"] = np.where(street >= 0, street * (len(enc.vocab["house"]) + 1) + house + 1, NULL)
    return enc


def _similarity(words: np.ndarray, ca: np.ndarray, cb: np.ndarray, scorer, cutoff: float) -> np.ndarray:
    """scorer(words[ca], words[cb]) for code pairs, computed once per distinct pair."""
    if len(ca) == 0:
        return np.zeros(0, dtype=np.float32)
    lo, hi = np.minimum(ca, cb).astype(np.int64), np.maximum(ca, cb).astype(np.int64)
    key = pl.Series("k", (lo << 32) | hi)
    distinct = key.unique().to_numpy()
    values = process.cpdist(words[distinct >> 32], words[distinct & 0xFFFFFFFF], scorer=scorer,
                            score_cutoff=cutoff, workers=-1)
    table = pl.DataFrame({"k": distinct, "s": values})
    return key.to_frame().join(table, on="k", how="left", maintain_order="left").get_column("s").to_numpy()


def _sides(enc: Encoded, name: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = enc.codes[name]
    ca, cb = codes[a], codes[b]
    return ca, cb, (ca < 0) | (cb < 0)


def _graded(enc: Encoded, name: str, ca: np.ndarray, cb: np.ndarray, null: np.ndarray,
            bounds: tuple[float, ...], scorer=JaroWinkler.normalized_similarity) -> np.ndarray:
    """Level by similarity: exact is len(bounds) + 1, sim >= bounds[k] is k + 1, else 0."""
    top = len(bounds) + 1
    level = np.zeros(len(ca), dtype=np.int8)
    equal = (ca == cb) & ~null
    level[equal] = top
    todo = np.flatnonzero(~null & ~equal)
    sim = _similarity(enc.vocab[name], ca[todo], cb[todo], scorer, min(bounds))
    graded = np.zeros(len(todo), dtype=np.int8)
    for k, bound in enumerate(bounds):
        graded[sim >= bound] = k + 1
    level[todo] = graded
    level[null] = NULL
    return level


def _email(enc: Encoded, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ca, cb, null = _sides(enc, "email", a, b)
    level = np.zeros(len(a), dtype=np.int8)
    level[(ca == cb) & ~null] = 3
    la, lb, _ = _sides(enc, "local", a, b)
    da, db, _ = _sides(enc, "domain", a, b)
    todo = ~null & (ca != cb)
    same_local, same_domain = todo & (la == lb), todo & (da == db)
    # a typo: the same local part at a domain one or two edits away (`acme.com`, `acme.co`),
    # or a local part one or two edits away at the same domain (free-mail typos are mapped
    # to their domain already)
    i = np.flatnonzero(same_local)
    near_domain = _similarity(enc.vocab["domain"], da[i], db[i], OSA.distance, 2) <= 2
    j = np.flatnonzero(same_domain & ~same_local)
    lengths, digits = enc.lengths["local"], enc.initials["local_digits"]
    # `john.smith1` and `john.smith2` are two accounts, not a typo
    long_enough = (np.minimum(lengths[la[j]], lengths[lb[j]]) >= 4) & (digits[la[j]] == digits[lb[j]])
    near_local = (_similarity(enc.vocab["local"], la[j], lb[j], OSA.distance, 2) <= 2) & long_enough
    level[i[~near_domain]] = 1
    level[i[near_domain]] = 2
    level[j[near_local]] = 2
    level[null] = NULL
    return level


def _names(enc: Encoded, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fa, fb, fnull = _sides(enc, "first", a, b)
    la, lb, lnull = _sides(enc, "last", a, b)
    na, nb, _ = _sides(enc, "nick", a, b)
    last = _graded(enc, "last", la, lb, lnull, (0.8, 0.92))
    # a nickname is its long form: `Bob` = `Robert`
    first = _graded(enc, "first", np.where(na == nb, na, fa), np.where(na == nb, nb, fb), fnull, (0.8, 0.92))
    # `Doe Jane` against `Jane Doe`: compared crosswise when that agrees better
    cross = np.flatnonzero(~fnull & ~lnull & (first == 0) & (last <= 1))
    if len(cross):
        one = _graded(enc, "last", fa[cross], lb[cross], np.zeros(len(cross), bool), (0.8, 0.92))
        two = _graded(enc, "last", la[cross], fb[cross], np.zeros(len(cross), bool), (0.8, 0.92))
        better = (one >= 1) & (two >= 1)
        first[cross[better]], last[cross[better]] = one[better], two[better]
    # an initial (`J.`) agrees with any first name that starts with it
    lengths, initials = enc.lengths["first"], enc.initials["first"]
    todo = np.flatnonzero(first == 0)
    short = (lengths[fa[todo]] == 1) | (lengths[fb[todo]] == 1)
    first[todo[short & (initials[fa[todo]] == initials[fb[todo]])]] = 1
    return first, last


def _phone(enc: Encoded, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a1, a2 = enc.codes["phone1"][a], enc.codes["phone2"][a]
    b1, b2 = enc.codes["phone1"][b], enc.codes["phone2"][b]
    has_a, has_b = (a1 >= 0) | (a2 >= 0), (b1 >= 0) | (b2 >= 0)

    def same(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x == y) & (x >= 0)

    equal = same(a1, b1) | same(a1, b2) | same(a2, b1) | same(a2, b2)
    return np.where(has_a & has_b, equal.astype(np.int8), np.int8(NULL))


def _street(enc: Encoded, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """0 different, 1 same street at another number, 2 same street (a number missing),
    3 similar street and same number, 4 exact; NULL when a side has no street."""
    ca, cb, null = _sides(enc, "street", a, b)
    ha, hb, hnull = _sides(enc, "house", a, b)
    similar = _graded(enc, "street", ca, cb, null, (0.88,)) >= 1
    level = np.where(similar, np.where(hnull, 2, np.where(ha == hb, 3, 1)), 0).astype(np.int8)
    level[similar & ~hnull & (ha == hb) & (ca == cb)] = 4
    level[null] = NULL
    return level


def _zip(enc: Encoded, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """0 different, 1 one character apart, 2 exact."""
    ca, cb, null = _sides(enc, "zip", a, b)
    level = np.zeros(len(a), dtype=np.int8)
    level[(ca == cb) & ~null] = 2
    todo = np.flatnonzero(~null & (ca != cb))
    lengths = enc.lengths["zip"]
    close = (_similarity(enc.vocab["zip"], ca[todo], cb[todo], OSA.distance, 1) <= 1) & (
        lengths[ca[todo]] == lengths[cb[todo]])
    level[todo[close]] = 1
    level[null] = NULL
    return level


def compare(enc: Encoded, a: np.ndarray, b: np.ndarray, comparisons: tuple[Comparison, ...] = COMPARISONS
            ) -> dict[str, np.ndarray]:
    """The level (int8, NULL when a side has no value) of every comparison for the pairs
    (a[i], b[i]); symmetric in a and b."""
    out: dict[str, np.ndarray] = {}
    wanted = {c.name for c in comparisons}
    if "email" in wanted:
        out["email"] = _email(enc, a, b)
    if wanted & {"first", "last"}:
        out["first"], out["last"] = _names(enc, a, b)
    if "company" in wanted:
        out["company"] = _graded(enc, "company", *_sides(enc, "company", a, b), (0.9,))
    if "phone" in wanted:
        out["phone"] = _phone(enc, a, b)
    if "street" in wanted:
        out["street"] = _street(enc, a, b)
    if "city" in wanted:
        out["city"] = _graded(enc, "city", *_sides(enc, "city", a, b), (0.88,))
    if "zip" in wanted:
        out["zip"] = _zip(enc, a, b)
    return {c.name: out[c.name] for c in comparisons}
