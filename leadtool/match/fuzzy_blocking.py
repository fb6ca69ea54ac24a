"""Candidate pairs for fuzzy matching: records that share at least one blocking key (same
company, same surname and first initial, ...), never all pairs. A block too large to compare
fully is cut to a sorted neighbourhood and reported, never dropped silently.

Pairs are found by polars self-joins per key; nothing here depends on the input order
(blocks are ordered by the records' content, never by their position)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

A, B = "idx_a", "idx_b"
IDX = "__lt_idx"
MAX_BLOCK = 16  # a block of more records is compared to a sorted neighbourhood only
WINDOW = 2  # each record of a cut block meets this many neighbours on each side


@dataclass(frozen=True)
class BlockingKey:
    """`key(features)`: an expression giving zero or one key (or a list) per record."""

    name: str
    key: Callable[[], pl.Expr]
    # content the records of a cut block are sorted by, so that near values meet
    order: tuple[str, ...] = ("last", "first", "company", "email")


def _email_prefix() -> pl.Expr:
    local = pl.col("local")
    return pl.when(local.str.len_chars() >= 3).then(pl.col("domain") + " " + local.str.slice(0, 3))


BLOCKING_KEYS: dict[str, BlockingKey] = {k.name: k for k in (
    BlockingKey("company", lambda: pl.when(pl.col("company").str.len_chars() >= 2)
                .then(pl.col("company")), order=("last", "first", "email")),
    BlockingKey("name", lambda: pl.col("last") + " " + pl.col("nick").str.slice(0, 1),
                order=("company", "email", "first", "zip")),
    BlockingKey("last", lambda: pl.when(pl.col("last").str.len_chars() >= 2).then(pl.col("last")),
                order=("first", "company", "zip", "email")),
    BlockingKey("phonetic", lambda: pl.col("phonetic"), order=("company", "email", "zip")),
    BlockingKey("address", lambda: pl.col("zip") + " " + pl.col("house"), order=("street", "last", "first")),
    BlockingKey("street", lambda: pl.when(pl.col("street").str.len_chars() >= 4).then(pl.col("street")),
                order=("city", "house", "last", "first")),
    BlockingKey("zip", lambda: pl.col("zip"), order=("last", "first", "street")),
    BlockingKey("phone", lambda: pl.concat_list(pl.col("phone1").str.slice(-7), pl.col("phone2").str.slice(-7))),
    BlockingKey("email_prefix", _email_prefix, order=("local", "last", "first")),
    BlockingKey("email_local", lambda: pl.when(pl.col("local").str.len_chars() >= 4).then(pl.col("local")),
                order=("domain", "last", "first")),
)}
DEFAULT_BLOCKING = tuple(BLOCKING_KEYS)


@dataclass(frozen=True)
class CutBlock:
    """A block too large to compare fully: only neighbours in content order were paired."""

    kind: str
    key: str
    size: int

    def __str__(self) -> str:
        return f"{self.kind} block {self.key!r} ({self.size:,} records) compared to its {2 * WINDOW} nearest only"


@dataclass
class Candidates:
    pairs: pl.DataFrame  # idx_a < idx_b (UInt32), unique
    cut: list[CutBlock]


_ORDER = "__lt_order:"  # a column's rank in text order: sorting numbers is cheaper than text


def _keys(features: pl.DataFrame, kind: BlockingKey) -> pl.DataFrame:
    """(idx, key, its hash, sort rank, tie) of the records that have this kind of key."""
    frame = features.select(IDX, kind.key().alias("key"), pl.col(_ORDER + kind.order[0]).alias("o"), "tie")
    if frame.schema["key"] == pl.List(pl.String):
        # a record's keys are side by side once exploded: a repeated one is its neighbour
        frame = frame.explode("key").filter(
            (pl.col("key") != pl.col("key").shift(1)).fill_null(True) | (pl.col(IDX) != pl.col(IDX).shift(1)))
    frame = frame.filter(pl.col("key").str.len_bytes() > 0)
    return frame.with_columns(pl.col("key").hash(seed=3).alias("h"))


def _all_pairs(small: pl.DataFrame) -> pl.DataFrame:
    """Every pair (a < b) of records with the same key hash `h`: sorted by key, then position,
    each record meets the next 1, 2, ... of its block (a block is small: no hash join)."""
    ordered = small.sort("h", IDX)
    h, idx = ordered.get_column("h").to_numpy(), ordered.get_column(IDX).to_numpy()
    a_parts, b_parts = [], []
    for d in range(1, len(h)):
        same = np.flatnonzero(h[d:] == h[:-d])
        if not len(same):
            break
        a_parts.append(idx[same])
        b_parts.append(idx[same + d])
    if not a_parts:
        return pl.DataFrame(schema={A: pl.UInt32, B: pl.UInt32})
    return pl.DataFrame({A: np.concatenate(a_parts), B: np.concatenate(b_parts)})


def _pairs_of_kind(frame: pl.DataFrame, kind: str, max_block: int, window: int,
                   cut: list[CutBlock]) -> pl.DataFrame:
    frame = frame.with_columns(pl.len().over("h").alias("n")).filter(pl.col("n") > 1)
    full = _all_pairs(frame.filter(pl.col("n") <= max_block).select(IDX, "h"))
    big = frame.filter(pl.col("n") > max_block)
    if big.height == 0:
        return full
    sizes = big.group_by("h").agg(pl.col("key").first(), pl.len().alias("n"))
    cut.extend(CutBlock(kind, k, n) for k, n in sizes.select("key", "n").iter_rows())
    # sorted by the block's order column, then content; copies of one record (identical
    # content) by a hash of their position: a fixed order, whatever the sort does with ties
    big = big.sort("h", "o", "tie", pl.col(IDX).hash(seed=5)).select(IDX, "h")
    near = [big.select(pl.col(IDX).alias(A), pl.col(IDX).shift(-d).alias(B),
                       (pl.col("h") == pl.col("h").shift(-d)).alias("same"))
            .filter(pl.col("same")).select(A, B) for d in range(1, window + 1)]
    near = pl.concat(near).select(pl.min_horizontal(A, B).alias(A), pl.max_horizontal(A, B).alias(B))
    return pl.concat([full, near])


def candidate_pairs(features: pl.DataFrame, *, blocking: Sequence[str] = DEFAULT_BLOCKING,
                    keep: pl.Series | None = None, max_block: int = MAX_BLOCK,
                    window: int = WINDOW, ranks: dict[str, np.ndarray] | None = None) -> Candidates:
    """Pairs (idx_a < idx_b) of records sharing a key of one of the `blocking` kinds;
    `keep`: the records that take part (a boolean per record), all when None; `ranks`: the
    rank of each record's value in text order, for the columns a cut block is sorted by
    (`fuzzy_compare.encode`'s codes), computed here when not given."""
    unknown = [b for b in blocking if b not in BLOCKING_KEYS]
    if unknown:
        raise ValueError(f"unknown blocking key {unknown[0]!r}: expected one of {', '.join(BLOCKING_KEYS)}")
    needed = {c for b in blocking for c in BLOCKING_KEYS[b].order[:1]} | {
        "company", "last", "nick", "phonetic", "zip", "house", "street", "phone1", "phone2", "local", "domain"}
    ordering = sorted({BLOCKING_KEYS[b].order[0] for b in blocking})
    ranks = ranks or {}
    frame = features.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(IDX), features.hash_rows(seed=7).alias("tie"),
        *sorted(needed & set(features.columns)),
        *(pl.lit(pl.Series(ranks[c])).alias(_ORDER + c) if c in ranks
          else pl.col(c).rank("dense").fill_null(0).alias(_ORDER + c) for c in ordering))
    if keep is not None:
        frame = frame.filter(keep)
    cut: list[CutBlock] = []
    parts = [_pairs_of_kind(_keys(frame, BLOCKING_KEYS[b]), b, max_block, window, cut) for b in blocking]
    cut.sort(key=lambda c: (-c.size, c.kind, c.key))
    pairs = pl.concat([*parts, pl.DataFrame(schema={A: pl.UInt32, B: pl.UInt32})])
    # one 64-bit number per pair: the union is a sort and a look at each one's neighbour (a
    # hash unique and then a sort cost several times more)
    packed = pairs.select((pl.col(A).cast(pl.UInt64) * (1 << 32) + pl.col(B)).alias("p")).to_series().sort()
    packed = packed.filter((packed != packed.shift(1)).fill_null(True))
    pairs = packed.to_frame("p").select((pl.col("p") // (1 << 32)).cast(pl.UInt32).alias(A),
                                        (pl.col("p") % (1 << 32)).cast(pl.UInt32).alias(B))
    return Candidates(pairs=pairs, cut=cut)
