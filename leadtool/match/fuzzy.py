"""Fuzzy near-duplicates (docs/groups.md): records of one person that share no
email key, found by blocking, scored 0-100 by Fellegi-Sunter weights learnt from the file
itself, and joined to the exact groups under a guard that stops chains of look-alikes.

    result = fuzzy_pairs(records)                  # pairs scored >= threshold, and why
    edges = fuzzy_edges(result, linked)            # extra edges for groups.find_groups
    groups = find_groups(records, extra_edges=edges)

Modules: `fuzzy_fields` (what is compared), `fuzzy_blocking` (which pairs),
`fuzzy_compare` (comparison levels), `fuzzy_model` (weights and scores)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from ..records import Records
from .fuzzy_blocking import DEFAULT_BLOCKING, MAX_BLOCK, WINDOW, A, B, CutBlock, candidate_pairs
from .fuzzy_bounds import reachable
from .fuzzy_compare import BY_NAME, COMPARISONS, Comparison, Encoded, compare, encode
from .fuzzy_fields import extract
from .fuzzy_model import Model, fit, random_pairs

DEFAULT_THRESHOLD = 96.0
IDX = "__lt_idx"
FIELDS = tuple(c.name for c in COMPARISONS)
# how a pair's matched fields are named in its reason: first and last name read as one
_SHOWN = {"first": "name", "last": "name"}


@dataclass
class Scorer:
    """What scoring a pair needs: the encoded fields and the fitted model."""

    enc: Encoded
    model: Model
    hashes: np.ndarray  # content hash of each record (ties in content-ordered choices)

    def levels(self, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        return compare(self.enc, a, b, self.model.comparisons)

    def score(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        levels = self.levels(a, b)
        return self.model.scores(levels, a)[0]


@dataclass
class FuzzyResult:
    """`pairs`: one row per scored pair (idx_a < idx_b, positions in Records.frame), its
    `score` (0-100), each comparison's level (`level_<field>`, null where a side has no
    value) and `matched` (the fields that speak for the match, `~` when only close, e.g.
    `name+email~+phone`). `candidates`: pairs compared; `cut`: blocks too large to compare
    fully (each compared to a sorted neighbourhood)."""

    pairs: pl.DataFrame
    candidates: int
    cut: list[CutBlock]
    threshold: float
    scorer: Scorer
    timings: dict[str, float] = field(default_factory=dict)
    # candidate pairs to score (not inside one group, a few per two groups); those that cannot
    # reach the threshold are left out by their bound (fuzzy_bounds) before their strings are compared
    compared: int = 0

    @property
    def model(self) -> Model:
        return self.scorer.model

    def warnings(self, limit: int | None = 5) -> list[str]:
        return cut_warnings(self.cut, limit)


def cut_warnings(cut: list[CutBlock], limit: int | None = 5) -> list[str]:
    """One line per cut block, the largest first, at most `limit` (None: all) and a count of
    the rest."""
    cut = sorted(cut, key=lambda c: (-c.size, c.kind, c.key))
    shown = cut if limit is None else cut[:limit]
    lines = [str(c) for c in shown]
    if len(cut) > len(shown):
        lines.append(f"{len(cut) - len(shown):,} more blocks compared to their nearest records only")
    return lines


def _matched(levels: dict[str, np.ndarray], weights: dict[str, np.ndarray],
             comparisons: tuple[Comparison, ...]) -> pl.Series:
    """`name+email~+phone`: the comparisons with positive weight, exact ones bare."""
    n = len(next(iter(levels.values()))) if levels else 0
    parts = []
    names = [c.name for c in comparisons]
    for c in comparisons:
        if c.name == "last" and "first" in names:
            continue
        lv, w = levels[c.name], weights[c.name]
        top = len(c.levels) - 1
        shown, good, exact = c.name, w > 0, lv == top
        if c.name == "first" and "last" in names:
            wl, ll = weights["last"], levels["last"]
            top_l = len(BY_NAME["last"].levels) - 1
            both = good & (wl > 0)
            parts.append(np.where(both, np.where(exact & (ll == top_l), "name", "name~"),
                                  np.where(good, np.where(exact, "first", "first~"),
                                           np.where(wl > 0, np.where(ll == top_l, "last", "last~"), ""))))
            continue
        parts.append(np.where(good, np.where(exact, shown, shown + "~"), ""))
    if not parts:
        return pl.Series("matched", [""] * n, dtype=pl.String)
    frame = pl.DataFrame({str(k): p for k, p in enumerate(parts)})
    joined = frame.select(pl.concat_list(pl.all()).list.eval(pl.element().filter(pl.element() != ""))
                          .list.join("+").alias("matched"))
    return joined.get_column("matched")


def _order(features: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    hashes = features.hash_rows(seed=11).to_numpy()
    return np.argsort(hashes, kind="stable"), hashes


TRAIN_PAIRS = 400_000  # candidate pairs the model is fitted on (a sample beyond that)
PER_LINK = 4  # pairs compared between two groups (or a group and a record)


def _node_of(labels: pl.DataFrame | None, n: int) -> np.ndarray:
    """The exact group of every record (its label), a record outside them its own."""
    node = np.arange(n)
    if labels is not None and labels.height:
        node[labels.get_column(IDX).to_numpy()] = labels.get_column("label").to_numpy()
    return node


def _first_per_link(a: np.ndarray, b: np.ndarray, node: np.ndarray, hashes: np.ndarray,
                    per_link: int) -> np.ndarray:
    """Positions of the pairs worth comparing: between two different groups, at most
    `per_link` for each two groups (in content order)."""
    # two records outside any group are two nodes met by this one pair: kept as they are
    grouped = np.bincount(node, minlength=len(node))[node] > 1
    touch = np.flatnonzero(grouped[a] | grouped[b])
    na, nb = node[a[touch]], node[b[touch]]
    lo, hi = np.minimum(na, nb), np.maximum(na, nb)
    apart = lo != hi
    if per_link <= 0 or not apart.any():
        keep = np.ones(len(a), dtype=bool)
        keep[touch[~apart]] = False
        return np.flatnonzero(keep)
    at = touch[apart]
    # the two nodes as one number, sorted with the pairs' content order (polars sorts on
    # both cores; numpy's lexsort of millions of pairs is several times slower)
    link = (lo[apart].astype(np.uint64) << np.uint64(32)) | hi[apart].astype(np.uint64)
    order = (pl.DataFrame({"g": link, "k": hashes[a[at]] ^ hashes[b[at]]})
             .with_row_index("i").sort("g", "k", maintain_order=True).get_column("i").to_numpy())
    sorted_link = link[order]
    start = np.r_[True, sorted_link[1:] != sorted_link[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(len(order)), 0))
    chosen = at[order[(np.arange(len(order)) - first) < per_link]]
    keep = np.ones(len(a), dtype=bool)
    keep[touch] = False
    keep[chosen] = True
    return np.flatnonzero(keep)


def _sample(a: np.ndarray, b: np.ndarray, hashes: np.ndarray, count: int) -> np.ndarray:
    """Positions of about `count` pairs chosen by content (the same whatever the order)."""
    if len(a) <= count:
        return np.arange(len(a))
    key = (hashes[a] ^ hashes[b]) & np.uint64((1 << 30) - 1)
    return np.flatnonzero(key < np.uint64(int((1 << 30) * count / len(a))))


def fuzzy_pairs(records: Records, *, threshold: float = DEFAULT_THRESHOLD,
                fields: Sequence[str] = FIELDS, blocking: Sequence[str] = DEFAULT_BLOCKING,
                keys: pl.Series | None = None, eligible: pl.Series | None = None,
                labels: pl.DataFrame | None = None, max_block: int = MAX_BLOCK, window: int = WINDOW,
                per_link: int = PER_LINK, all_pairs: bool = False,
                on_candidates: Callable[[int, list[CutBlock]], None] | None = None) -> FuzzyResult:
    """Pairs of records scored `threshold` or more (all compared pairs with `all_pairs`).

    `fields`: the comparisons used (of FIELDS); `blocking`: the kinds of blocking keys (of
    fuzzy_blocking.BLOCKING_KEYS); `keys`: the email key of each record when the caller has
    it; `eligible`: a boolean per record, the records that take part (all when None);
    `labels`: the exact groups (`groups.Linked.labels`): pairs inside one are not scored
    (they are grouped already) and at most `per_link` pairs are scored between two groups;
    `on_candidates(count, cut_blocks)` is called once the candidate pairs are known, before
    they are compared (the long part). The result does not depend on the input order."""
    import time

    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        timings[name] = time.perf_counter() - started - sum(timings.values())

    unknown = [f for f in fields if f not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown fuzzy field {unknown[0]!r}: expected one of {', '.join(FIELDS)}")
    comparisons = tuple(c for c in COMPARISONS if c.name in fields)
    features = extract(records, keys)
    lap("fields")
    enc = encode(features)
    lap("encode")
    # encoded codes are ranks in text order: what a cut block is sorted by
    cand = candidate_pairs(features, blocking=blocking, keep=eligible, max_block=max_block, window=window,
                           ranks=enc.codes)
    lap("blocking")
    if on_candidates is not None:
        on_candidates(cand.pairs.height, cand.cut)
    order, hashes = _order(features)
    if eligible is not None:
        order = order[eligible.to_numpy()[order]]
    a = cand.pairs.get_column(A).to_numpy().astype(np.int64)
    b = cand.pairs.get_column(B).to_numpy().astype(np.int64)
    lap("order")
    # the model learns from candidate pairs of every kind, those inside a group included
    train = _sample(a, b, hashes, TRAIN_PAIRS)
    ra, rb = random_pairs(order)
    model = fit(enc, comparisons, compare(enc, a[train], b[train], comparisons), ra, rb, hashes, len(order))
    lap("model")
    scored = _first_per_link(a, b, _node_of(labels, len(features)), hashes, per_link) if labels is not None \
        else np.arange(len(a))
    a, b = a[scored], b[scored]
    compared = len(a)
    lap("per link")
    if not all_pairs:  # only the pairs that can still reach the threshold are compared in full
        reach = reachable(model, enc, a, b, threshold)
        a, b = a[reach], b[reach]
        lap("prune")
    levels = compare(enc, a, b, comparisons)
    lap("compare")
    scores, weights = model.scores(levels, a)
    keep = np.ones(len(a), dtype=bool) if all_pairs else scores >= threshold
    kept_levels = {k: v[keep] for k, v in levels.items()}
    pairs = pl.DataFrame({
        A: pl.Series(a[keep], dtype=pl.UInt32), B: pl.Series(b[keep], dtype=pl.UInt32),
        "score": np.round(scores[keep], 2),
        **{f"level_{k}": pl.Series(v, dtype=pl.Int8) for k, v in kept_levels.items()},
    }).with_columns(pl.when(pl.col(f"level_{c.name}") >= 0).then(pl.col(f"level_{c.name}"))
                    .alias(f"level_{c.name}") for c in comparisons)
    pairs = pairs.with_columns(_matched(kept_levels, {k: v[keep] for k, v in weights.items()}, comparisons))
    lap("score")
    return FuzzyResult(pairs=pairs, candidates=cand.pairs.height, cut=cand.cut, threshold=threshold,
                       scorer=Scorer(enc, model, hashes), timings=timings, compared=compared)


def _components(x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Component label (its smallest member) of nodes 0..size-1 joined by edges (x, y):
    min-label propagation with pointer jumping."""
    label = np.arange(size)
    if len(x) == 0:
        return label
    while True:
        low = np.minimum(label[x], label[y])
        new = label.copy()
        np.minimum.at(new, x, low)
        np.minimum.at(new, y, low)
        new = new[new]
        if np.array_equal(new, label):
            return label
        label = new


def _best_edges(na: np.ndarray, nb: np.ndarray, score: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Positions of the best pair (highest score, then `rank`) between each two nodes."""
    lo, hi = np.minimum(na, nb), np.maximum(na, nb)
    order = np.lexsort((rank, -score, hi, lo))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (lo[order][1:] != lo[order][:-1]) | (hi[order][1:] != hi[order][:-1])
    return order[first]


def _cross_scores(scorer: Scorer, node: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                  limit: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, lo, hi) of the best pair between nodes xs[k] and ys[k], never compared
    directly: up to `limit` records of each (in content order), all pairs between them
    scored at once."""
    hashes = scorer.hashes
    recs = np.flatnonzero(np.isin(node, np.concatenate([xs, ys])))
    recs = recs[np.lexsort((hashes[recs], node[recs]))]
    owner = node[recs]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    counts = np.minimum(np.diff(np.r_[starts, len(recs)]), limit)
    first = np.searchsorted(owner[starts], xs), np.searchsorted(owner[starts], ys)
    sx, sy = starts[first[0]], starts[first[1]]
    cx, cy = counts[first[0]], counts[first[1]]
    size = cx * cy
    key = np.repeat(np.arange(len(xs)), size)
    within = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
    a = recs[sx[key] + within // cy[key]]
    b = recs[sy[key] + within % cy[key]]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    score = scorer.score(lo, hi)
    best = _best_edges(key, key, score, hashes[lo] ^ hashes[hi])
    return score[best], lo[best], hi[best]


def guarded_links(result: FuzzyResult, labels: pl.DataFrame | None, n: int, rounds: int = 3) -> pl.DataFrame:
    """The fuzzy pairs that join groups, under a guard against chains: the exact groups
    (`labels`: idx and label of every grouped record, as `groups.Linked.labels`) and the
    records outside them are nodes; a set of nodes joined by fuzzy pairs becomes one group
    only through its head (the node with the most records): every other node must score the
    threshold against the head itself, not merely against a neighbour. A node that does not
    is left out, and its own neighbours are grouped again without the head (a few rounds).

    Returns one row per link: idx_a, idx_b (the best pair between the node and its head),
    score, matched."""
    node = np.arange(n)
    if labels is not None and labels.height:
        node[labels.get_column(IDX).to_numpy()] = labels.get_column("label").to_numpy()
    sizes = np.bincount(node, minlength=n)
    pairs = result.pairs.filter(pl.col("score") >= result.threshold)
    a = pairs.get_column(A).to_numpy().astype(np.int64)
    b = pairs.get_column(B).to_numpy().astype(np.int64)
    score = pairs.get_column("score").to_numpy()
    matched = pairs.get_column("matched")
    hashes = result.scorer.hashes
    na, nb = node[a], node[b]
    apart = np.flatnonzero(na != nb)
    best = apart[_best_edges(na[apart], nb[apart], score[apart], hashes[a[apart]] ^ hashes[b[apart]])]
    a, b, score, na, nb = a[best], b[best], score[best], na[best], nb[best]
    matched = matched.gather(best)
    # the best pair of every two nodes, found by their key (one per two nodes)
    edge_key = np.minimum(na, nb) * n + np.maximum(na, nb)
    by_key = np.argsort(edge_key)
    sorted_keys = edge_key[by_key]
    found_parts: list[np.ndarray] = []
    cross: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    x_na, x_nb, x_score = na, nb, score
    for _ in range(rounds):
        if not len(x_na):
            break
        nodes, inverse = np.unique(np.concatenate([x_na, x_nb]), return_inverse=True)
        x, y = inverse[: len(x_na)], inverse[len(x_na):]
        comp = _components(x, y, len(nodes))
        # head: most records, then the most evidence (sum of scores), then content
        strength = (np.bincount(x, weights=x_score, minlength=len(nodes))
                    + np.bincount(y, weights=x_score, minlength=len(nodes)))
        order = np.lexsort((hashes[nodes], -strength, -sizes[nodes], comp))
        is_head = np.ones(len(order), dtype=bool)
        is_head[1:] = comp[order][1:] != comp[order][:-1]
        head_of = np.empty(len(nodes), dtype=np.int64)
        head_of[comp[order[is_head]]] = order[is_head]
        head = head_of[comp]
        others = np.flatnonzero(head != np.arange(len(nodes)))
        xs, hs = nodes[others], nodes[head[others]]
        keys = np.minimum(xs, hs) * n + np.maximum(xs, hs)
        at = np.minimum(np.searchsorted(sorted_keys, keys), max(len(sorted_keys) - 1, 0))
        known = sorted_keys[at] == keys if len(sorted_keys) else np.zeros(len(keys), dtype=bool)
        found_parts.append(by_key[at[known]])
        xs, hs = xs[~known], hs[~known]
        if not len(xs):
            break
        s, p, q = _cross_scores(result.scorer, node, xs, hs)
        ok = s >= result.threshold
        cross.append((p[ok], q[ok], s[ok]))
        # the nodes left out are grouped again among themselves
        left = xs[~ok]
        keep = np.isin(x_na, left) & np.isin(x_nb, left)
        x_na, x_nb, x_score = x_na[keep], x_nb[keep], x_score[keep]
    found = np.concatenate(found_parts) if found_parts else np.zeros(0, dtype=np.int64)
    parts = [pl.DataFrame({A: a[found], B: b[found], "score": score[found], "matched": matched.gather(found)})]
    p = np.concatenate([c[0] for c in cross]) if cross else np.zeros(0, dtype=np.int64)
    if len(p):
        q = np.concatenate([c[1] for c in cross])
        levels = result.scorer.levels(p, q)
        weights = result.model.match_weights(levels, p)
        parts.append(pl.DataFrame({A: p, B: q, "score": np.concatenate([c[2] for c in cross]),
                                   "matched": _matched(levels, weights, result.model.comparisons)}))
    frame = pl.concat([part.cast({A: pl.Int64, B: pl.Int64, "score": pl.Float64, "matched": pl.String})
                       for part in parts])
    return frame.with_columns(pl.col(A).cast(pl.UInt32), pl.col(B).cast(pl.UInt32)).sort(A, B)


def fuzzy_edges(result: FuzzyResult, labels: pl.DataFrame | None, n: int) -> pl.DataFrame:
    """`guarded_links` as extra edges for `groups.find_groups(extra_edges=...)`."""
    return link_edges(guarded_links(result, labels, n))


def link_edges(links: pl.DataFrame) -> pl.DataFrame:
    """Links (idx_a, idx_b, score, matched) as extra edges for `groups.find_groups`: each
    link's two records share the key `fuzzy:SCORE:FIELDS#k` (the reason shown is
    `fuzzy:SCORE:FIELDS`, SCORE rounded down)."""
    keyed = links.with_row_index("k").with_columns(
        pl.format("fuzzy:{}:{}#{}", pl.col("score").floor().cast(pl.Int64), pl.col("matched"), pl.col("k"))
        .alias("key"))
    return pl.concat([keyed.select(pl.col(A).alias(IDX), "key"), keyed.select(pl.col(B).alias(IDX), "key")])
