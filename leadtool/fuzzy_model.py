"""Fellegi-Sunter weights learnt from the file itself. For each comparison level, m (how
often two records of one person agree that way) and u (how often two records of different
people do) come from expectation-maximisation over the candidate pairs; a pair's score is
the posterior probability (0-100) that its two records are one person. A missing field
adds nothing and takes nothing.

Two departures from the textbook model, both because CRM records are not independent field
by field, and both measured (benchmarks/README.md):
- a few comparisons are modelled given another (strata): colleagues share their company's
  address and switchboard, and people with one name write similar email addresses; so the
  probabilities of `phone` and `address` differ where the company agrees, and those of
  `email` where the name does;
- u is estimated among the candidate pairs (blocking chose them for agreeing somewhere:
  random pairs would make every candidate look like a match), started from random pairs;
  random pairs still say how rare a value is (term frequencies: `smith` says less than
  `quackenbush`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .fuzzy_compare import NULL, Comparison, Encoded, compare

RANDOM_PAIRS = 150_000
_GOLDEN = 0.6180339887498949
# comparison -> what its probabilities depend on (in both classes): colleagues share a
# workplace's address and switchboard, the parts of an address go together, and people with
# one name write similar email addresses
PARENTS = {"email": "name", "phone": "workplace", "street": "company", "city": "street", "zip": "street"}


def _top(c: Comparison) -> int:
    return len(c.levels) - 1


def strata(levels: dict[str, np.ndarray], comparisons: tuple[Comparison, ...]) -> dict[str, np.ndarray]:
    """For each comparison whose parent can be told from `comparisons`: 1 where the parent
    agrees (exactly; for a street, at the same number), else 0."""
    by_name = {c.name: c for c in comparisons}

    def exact(name: str, at: int = 0) -> np.ndarray | None:
        c = by_name.get(name)
        return None if c is None else levels[name] >= _top(c) - at

    agree: dict[str, np.ndarray] = {}
    for name, value in (("company", exact("company")), ("street", exact("street", at=1))):
        if value is not None:
            agree[name] = value
    if "first" in by_name and "last" in by_name:
        agree["name"] = exact("first") & exact("last")
    places = [v for v in (exact("company"), exact("street")) if v is not None]
    if places:
        agree["workplace"] = np.logical_or.reduce(places)
    return {c.name: agree[PARENTS[c.name]].astype(np.int64) for c in comparisons
            if PARENTS.get(c.name) in agree}


@dataclass
class Model:
    """`m[name]`, `u[name]`: probability of each level (columns) given a match / given
    different people, one row per stratum; `share`: the share of matches among the pairs
    the model describes; `exact_rate`: how often two random records share a value (each
    tf comparison); `freq`: per record, the frequency of its value of each tf feature."""

    comparisons: tuple[Comparison, ...]
    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    share: float
    exact_rate: dict[str, float] = field(default_factory=dict)
    freq: dict[str, np.ndarray] = field(default_factory=dict)
    iterations: int = 0

    def tables(self) -> dict[str, np.ndarray]:
        """log2(m/u) per stratum and level, made non-decreasing with the level (an exact
        agreement never weighs less than a partial one) and never negative when exact."""
        out = {}
        for c in self.comparisons:
            w = np.log2(self.m[c.name] / self.u[c.name])
            w = np.maximum.accumulate(w, axis=1)
            w[:, -1] = np.maximum(w[:, -1], 0.0)
            out[c.name] = w
        return out

    def match_weights(self, levels: dict[str, np.ndarray], a: np.ndarray) -> dict[str, np.ndarray]:
        """Each comparison's weight (bits) for each pair; 0 where a side has no value. An
        exact agreement on a tf feature is worth more for a rare value and less for a common
        one: its weight moves by log2(how often random records agree / this value's
        frequency), never below the level under it."""
        tables = self.tables()
        stratum = strata(levels, self.comparisons)
        out = {}
        for c in self.comparisons:
            lv, table = levels[c.name], tables[c.name]
            s = stratum.get(c.name, np.zeros(len(lv), dtype=np.int64))
            w = np.where(lv == NULL, 0.0, table[s, np.maximum(lv, 0)])
            top = _top(c)
            rate = self.exact_rate.get(c.name)
            if c.tf and c.tf in self.freq and rate:
                # values shared by colleagues (a company's address) are not adjusted within it
                exact = (lv == top) & (s == 0)
                tf = np.maximum(self.freq[c.tf][a[exact]], 1e-12)
                floor = np.maximum(table[0, top - 1], 0.0) if top >= 1 else 0.0
                w[exact] = np.maximum(w[exact] + np.log2(rate / tf), floor)
            out[c.name] = w
        return out

    def scores(self, levels: dict[str, np.ndarray], a: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(score 0-100 of each pair, the per-comparison weights)."""
        parts = self.match_weights(levels, a)
        total = np.log2(self.share / (1 - self.share)) + sum(parts.values())
        return 100.0 / (1.0 + np.exp2(-np.clip(total, -1000, 1000))), parts


def random_pairs(order: np.ndarray, count: int = RANDOM_PAIRS) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of distinct records spread over `order` (records sorted by content, so that the
    sample does not depend on the input order): record i with record i + s for a few
    strides s."""
    n = len(order)
    if n < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    strides = min(max(1, -(-count // n)), n - 1)
    i = np.arange(n)
    a_parts, b_parts = [], []
    seen: set[int] = set()
    k = 1
    while len(seen) < strides and k < 10 * strides + 10:
        s = 1 + int(((k * _GOLDEN) % 1.0) * (n - 1))
        k += 1
        if s in seen or (n - s) in seen or s >= n:
            continue
        seen.add(s)
        a_parts.append(order[i])
        b_parts.append(order[(i + s) % n])
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    if len(a) > count:
        # an even spread over the records, not the first ones only
        keep = np.linspace(0, len(a) - 1, count).astype(np.int64)
        a, b = a[keep], b[keep]
    return a, b


def exact_rate(codes: np.ndarray) -> float:
    """Probability that two random records with a value share it: sum c(c-1) / N(N-1)."""
    present = codes[codes >= 0]
    n = len(present)
    if n < 2:
        return 0.0
    counts = np.unique(present, return_counts=True)[1].astype(np.float64)
    return float((counts * (counts - 1)).sum() / (n * (n - 1.0)))


def random_u(enc: Encoded, comparisons: tuple[Comparison, ...], a: np.ndarray, b: np.ndarray,
             rates: dict[str, float]) -> dict[str, np.ndarray]:
    """u of every level among random pairs (a, b), one row per stratum (the same row
    twice: random pairs hardly ever share a company or a name); the exact level from value
    frequencies where known (`rates`), since no sample sees two records share a rare value."""
    levels = compare(enc, a, b, comparisons)
    out = {}
    for c in comparisons:
        lv = levels[c.name]
        size, top = len(c.levels), _top(c)
        counts = np.bincount(lv[lv >= 0], minlength=size).astype(np.float64)
        exact = rates.get(c.name, (counts[top] + 0.5) / (counts.sum() + 1.0))
        rest = counts[:top] + 0.5  # half a pair: no level is impossible
        u = np.empty(size)
        u[:top] = (1.0 - exact) * rest / rest.sum()
        u[top] = max(exact, 0.5 / max(counts.sum(), 1.0))
        out[c.name] = np.vstack([u, u]) / u.sum()
    return out


def _patterns(levels: dict[str, np.ndarray], names: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Distinct level combinations (one array per comparison) and how many pairs have each."""
    frame = pl.DataFrame({n: levels[n] for n in names})
    grouped = frame.group_by(names).len().sort(names)
    return ({n: grouped.get_column(n).to_numpy().astype(np.int64) for n in names},
            grouped.get_column("len").to_numpy().astype(np.float64))


def expectation_maximisation(levels: dict[str, np.ndarray], comparisons: tuple[Comparison, ...],
                             u_start: dict[str, np.ndarray], *, fix_u: bool = False, iterations: int = 300,
                             tol: float = 1e-6) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float, int]:
    """(m, u, share of matches, iterations) by EM over the pairs' level patterns, u started
    from `u_start` (kept as it is with `fix_u`)."""
    names = [c.name for c in comparisons]
    pats, counts = _patterns(levels, names)
    stratum = strata(pats, comparisons)
    # two records with one email address are one person: such pairs hold the match class to
    # people, where it could drift to colleagues or neighbours (as Splink's session blocked
    # on email trains it)
    anchored = (pats["email"] == _top(comparisons[names.index("email")]) if "email" in pats
                else np.zeros(len(counts), dtype=bool))
    m, u = {}, {k: v.copy() for k, v in u_start.items()}
    for c in comparisons:
        size = len(c.levels)
        start = np.geomspace(1.0, 4.0 ** (size - 1), size)  # agreement far likelier among matches
        m[c.name] = np.vstack([start, start]) / start.sum()
    share, total, done = 0.05, counts.sum(), 0
    for done in range(1, iterations + 1):  # noqa: B007 - the count is returned
        odds = np.full(len(counts), np.log(share) - np.log1p(-share))
        for c in comparisons:
            lv = pats[c.name]
            has = lv >= 0
            s = stratum.get(c.name, np.zeros(len(lv), dtype=np.int64))
            odds[has] += np.log(m[c.name][s[has], lv[has]]) - np.log(u[c.name][s[has], lv[has]])
        post = 1.0 / (1.0 + np.exp(-np.clip(odds, -700, 700)))
        post[anchored] = 1.0
        wm, wu = counts * post, counts * (1.0 - post)
        new_share = float(wm.sum() / total)
        change = abs(new_share - share)
        share = min(max(new_share, 1e-9), 1 - 1e-9)
        for c in comparisons:
            lv = pats[c.name]
            has = lv >= 0
            s = stratum.get(c.name, np.zeros(len(lv), dtype=np.int64))
            size = len(c.levels)
            cell = s[has] * size + lv[has]
            # a small prior (0.2% of the matches in each level) keeps a level never seen among
            # matches from weighing minus infinity
            mm = np.bincount(cell, weights=wm[has], minlength=2 * size).reshape(2, size).astype(np.float64)
            mm += 0.002 * mm.sum(axis=1, keepdims=True) + 1e-3
            new_m = mm / mm.sum(axis=1, keepdims=True)
            change = max(change, float(np.abs(new_m - m[c.name]).max()))
            m[c.name] = new_m
            if not fix_u:
                uu = np.bincount(cell, weights=wu[has], minlength=2 * size).reshape(2, size).astype(np.float64)
                uu += 0.002 * uu.sum(axis=1, keepdims=True) + 1e-3
                u[c.name] = uu / uu.sum(axis=1, keepdims=True)
        if change < tol:
            break
    return m, u, share, done


def value_frequencies(enc: Encoded, comparisons: tuple[Comparison, ...], dedupe: np.ndarray | None = None
                      ) -> dict[str, np.ndarray]:
    """Per record, the share of records (with a value) that have its value; records of one
    email address count once (`dedupe`: a code per record, -1 for none), so that a person's
    many records do not make a rare name look common."""
    out = {}
    for c in comparisons:
        if not c.tf:
            continue
        codes = enc.codes[c.tf]
        frame = pl.DataFrame({"v": codes, "d": dedupe if dedupe is not None else np.full(len(codes), -1)})
        frame = frame.with_row_index("i").with_columns(
            pl.when(pl.col("d") >= 0).then(pl.col("d")).otherwise(-1 - pl.col("i").cast(pl.Int64)).alias("d"))
        distinct = frame.filter(pl.col("v") >= 0).unique(["v", "d"])
        present = max(distinct.height, 1)
        counts = distinct.group_by("v").len()
        freq = (frame.join(counts, on="v", how="left", maintain_order="left").get_column("len")
                .fill_null(1).cast(pl.Float64) / present)
        out[c.tf] = freq.to_numpy()
    return out


EXACT_CODES = {"email": "email", "first": "first", "last": "last", "company": "company", "phone": "phone1",
               "address": "address", "street": "address", "city": "city", "zip": "zip"}


def fit(enc: Encoded, comparisons: tuple[Comparison, ...], levels: dict[str, np.ndarray],
        random_a: np.ndarray, random_b: np.ndarray, *, fix_u: bool = False) -> Model:
    """The model of the candidate pairs' `levels`: EM started from random pairs' u."""
    rates = {c.name: exact_rate(enc.codes[EXACT_CODES[c.name]]) for c in comparisons if c.name in EXACT_CODES}
    u0 = random_u(enc, comparisons, random_a, random_b, rates)
    freq = value_frequencies(enc, comparisons, enc.codes["email"])
    if len(next(iter(levels.values()), [])) == 0:
        m = {c.name: np.vstack([np.geomspace(1.0, 4.0 ** (len(c.levels) - 1), len(c.levels))] * 2)
             for c in comparisons}
        m = {k: v / v.sum(axis=1, keepdims=True) for k, v in m.items()}
        return Model(comparisons, m, u0, share=1e-6, exact_rate=rates, freq=freq)
    m, u, share, its = expectation_maximisation(levels, comparisons, u0, fix_u=fix_u)
    return Model(comparisons, m, u, share=share, exact_rate=rates, freq=freq, iterations=its)
