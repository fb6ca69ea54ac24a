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
TF_BOOST = 4.0
_GOLDEN = 0.6180339887498949
# comparison -> what its probabilities depend on (in both classes): colleagues share a
# workplace's address and switchboard and write alike email addresses at one domain, and
# people with one name write similar email addresses
PARENTS: dict[str, tuple[str, ...]] = {
    "email": ("name", "workplace"), "phone": ("workplace",), "street": ("company",), "city": ("street", "company"),
    "zip": ("street", "company")}
ROWS = 4  # strata: which of (at most two) parents agree
IDENTITY = ("first", "last", "email", "phone")  # what tells two people apart
_IDENTITY_OF = {"name": ("first", "last")}


def _top(c: Comparison) -> int:
    return len(c.levels) - 1


def _agreements(levels: dict[str, np.ndarray], comparisons: tuple[Comparison, ...]) -> dict[str, np.ndarray]:
    by_name = {c.name: c for c in comparisons}

    def exact(name: str, below: int = 0) -> np.ndarray | None:
        c = by_name.get(name)
        return None if c is None else levels[name] >= _top(c) - below

    agree: dict[str, np.ndarray] = {}
    # a street agrees at the same number, its name written alike (`Str.`, `Straße`)
    for name, below in (("company", 0), ("street", 1)):
        value = exact(name, below)
        if value is not None:
            agree[name] = value
    if "first" in by_name and "last" in by_name:
        agree["name"] = exact("first") & exact("last")
    places = [agree[k] for k in ("company", "street") if k in agree]
    if places:
        agree["workplace"] = np.logical_or.reduce(places)
    return agree


def strata(levels: dict[str, np.ndarray], comparisons: tuple[Comparison, ...]) -> dict[str, np.ndarray]:
    """For each comparison with parents: which of them agree (bit k for the k-th parent)."""
    agree = _agreements(levels, comparisons)
    out = {}
    for c in comparisons:
        row = None
        for k, parent in enumerate(PARENTS.get(c.name, ())):
            if parent in agree:
                bit = agree[parent].astype(np.int64) << k
                row = bit if row is None else row | bit
        if row is not None:
            out[c.name] = row
    return out


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
        """log2(m/u) per stratum and level, never negative when exact, and no level above
        the next one up (a partial agreement never weighs more than an exact one: a level
        that neither class shows would otherwise take any weight)."""
        out = {}
        for c in self.comparisons:
            w = np.log2(self.m[c.name] / self.u[c.name])
            w[:, -1] = np.maximum(w[:, -1], 0.0)
            w = np.minimum.accumulate(w[:, ::-1], axis=1)[:, ::-1]
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
                # a rare value adds at most TF_BOOST bits: a value rare in the file is often
                # shared by people who belong together (a small company, a family)
                w[exact] = np.maximum(w[exact] + np.minimum(np.log2(rate / tf), TF_BOOST), floor)
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
        u = np.maximum(u, 1e-9)  # a column of one value leaves no room for the other levels
        out[c.name] = np.vstack([u] * ROWS) / u.sum()
    return out


def _patterns(levels: dict[str, np.ndarray], names: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Distinct level combinations (one array per comparison) and how many pairs have each."""
    frame = pl.DataFrame({n: levels[n] for n in names})
    grouped = frame.group_by(names).len().sort(names)
    return ({n: grouped.get_column(n).to_numpy().astype(np.int64) for n in names},
            grouped.get_column("len").to_numpy().astype(np.float64))


def _default_m(c: Comparison) -> np.ndarray:
    start = np.geomspace(1.0, 4.0 ** (len(c.levels) - 1), len(c.levels))  # agreement likelier among matches
    return start / start.sum()


@dataclass(frozen=True)
class Session:
    """An EM session as Splink trains one: the pairs that agree exactly on `on` (records
    sharing an email address, a name, ...), where only the comparisons of `learn` are
    estimated; the others agree by construction or go with what was blocked on."""

    name: str
    on: tuple[str, ...]
    learn: tuple[str, ...]


SESSIONS = (
    Session("email", ("email",), ("first", "last", "company", "phone", "street", "city", "zip")),
    Session("name", ("first", "last"), ("email", "company", "phone", "street", "city", "zip")),
    Session("street", ("street",), ("first", "last", "email")),
    Session("company", ("company",), ("first", "last", "email")),
)
MIN_SESSION = 50  # pairs; fewer estimate nothing


def _session(pats: dict[str, np.ndarray], counts: np.ndarray, stratum: dict[str, np.ndarray],
             comparisons: tuple[Comparison, ...], learn: list[Comparison], u: dict[str, np.ndarray],
             iterations: int = 200, tol: float = 1e-6) -> tuple[dict[str, np.ndarray], float, int]:
    """m of the `learn` comparisons and the share of matches, u fixed."""
    m = {c.name: _default_m(c) for c in learn}
    share, total, done = 0.5, counts.sum(), 0
    for done in range(1, iterations + 1):  # noqa: B007 - the count is returned
        odds = np.full(len(counts), np.log(share) - np.log1p(-share))
        for c in learn:
            lv = pats[c.name]
            has = lv >= 0
            s = stratum.get(c.name, np.zeros(len(lv), dtype=np.int64))
            odds[has] += np.log(m[c.name][lv[has]]) - np.log(u[c.name][s[has], lv[has]])
        post = 1.0 / (1.0 + np.exp(-np.clip(odds, -700, 700)))
        wm = counts * post
        new_share = float(wm.sum() / total)
        change = abs(new_share - share)
        share = min(max(new_share, 1e-9), 1 - 1e-9)
        for c in learn:
            lv = pats[c.name]
            has = lv >= 0
            mm = np.bincount(lv[has], weights=wm[has], minlength=len(c.levels)).astype(np.float64)
            # a small prior (0.2% of the matches in each level): a level never seen among
            # matches does not weigh minus infinity
            mm += 0.002 * mm.sum() + 1e-3
            new_m = mm / mm.sum()
            change = max(change, float(np.abs(new_m - m[c.name]).max()))
            m[c.name] = new_m
        if change < tol:
            break
    return m, share, done


def train(levels: dict[str, np.ndarray], comparisons: tuple[Comparison, ...], u: dict[str, np.ndarray]
          ) -> tuple[dict[str, np.ndarray], dict[str, float], int]:
    """m of every comparison, averaged over the sessions that estimate it (weighted by the
    matches each found), and each session's share of matches."""
    names = [c.name for c in comparisons]
    by_name = {c.name: c for c in comparisons}
    pats, counts = _patterns(levels, names)
    stratum = strata(pats, comparisons)
    sums = {c.name: np.zeros(len(c.levels)) for c in comparisons}
    mass = dict.fromkeys(names, 0.0)
    shares: dict[str, float] = {}
    iterations = 0
    for session in SESSIONS:
        if not all(n in by_name for n in session.on):
            continue
        inside = np.logical_and.reduce([pats[n] == _top(by_name[n]) for n in session.on])
        learn = [by_name[n] for n in session.learn if n in by_name]
        if counts[inside].sum() < MIN_SESSION or not learn:
            continue
        sub = {k: v[inside] for k, v in pats.items()}
        m, share, its = _session(sub, counts[inside], {k: v[inside] for k, v in stratum.items()},
                                 comparisons, learn, u)
        iterations += its
        shares[session.name] = share
        found = share * counts[inside].sum()
        for c in learn:
            sums[c.name] += found * m[c.name]
            mass[c.name] += found
    out = {c.name: sums[c.name] / mass[c.name] if mass[c.name] > 0 else _default_m(c) for c in comparisons}
    return out, shares, iterations


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


_SESSION_CODES = {"name": ("first", "last"), "street": ("address",), "email": ("email",), "company": ("company",)}


def prior_from(shares: dict[str, float], m: dict[str, np.ndarray], enc: Encoded,
               comparisons: tuple[Comparison, ...], fallback: float) -> float:
    """The probability that two records match: each session gives P(match) = P(match |
    agree on its key) P(agree) / P(agree | match), P(agree) counted over all pairs of records
    that have the key; the median of these (in log) is taken, each session being biased its
    own way (look-alikes inflate the name session, large groups the email one)."""
    by_name = {c.name: c for c in comparisons}
    estimates = []
    for session in SESSIONS:
        if session.name not in shares:
            continue
        codes = _joint(enc, _SESSION_CODES[session.name])
        present = codes[codes >= 0]
        if len(present) < 2:
            continue
        counts = np.unique(present, return_counts=True)[1].astype(np.float64)
        agree = float((counts * (counts - 1)).sum() / (len(present) * (len(present) - 1.0)))
        agree_m = float(np.prod([m[n][_top(by_name[n])] for n in session.on]))
        estimates.append(shares[session.name] * agree / max(agree_m, 1e-12))
    if not estimates:
        return fallback
    return float(min(max(np.exp(np.median(np.log(np.maximum(estimates, 1e-12)))), 1e-12), 0.5))


def within(codes: np.ndarray, hashes: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Random pairs of records that share a code: sorted by code (then content), each
    record with the next few of its code."""
    idx = np.flatnonzero(codes >= 0)
    # by code, then content (polars sorts on both cores; numpy's lexsort is slow on millions)
    order = (pl.DataFrame({"c": codes[idx], "h": hashes[idx]}).with_row_index("i")
             .sort("c", "h", maintain_order=True).get_column("i").to_numpy())
    idx = idx[order]
    a_parts, b_parts, found = [], [], 0
    for step in range(1, 9):
        same = codes[idx[:-step]] == codes[idx[step:]]
        a_parts.append(idx[:-step][same])
        b_parts.append(idx[step:][same])
        found += int(same.sum())
        if found >= count:
            break
    if not a_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(a_parts)[:count], np.concatenate(b_parts)[:count]


# the codes two records share when a parent agrees
_PARENT_CODES = {"company": (("company",),), "street": (("street",),), "name": (("first", "last"),),
                 "workplace": (("company",), ("address",))}


def _joint(enc: Encoded, names: tuple[str, ...]) -> np.ndarray:
    codes = enc.codes[names[0]].astype(np.int64)
    for name in names[1:]:
        other = enc.codes[name].astype(np.int64)
        codes = np.where((codes >= 0) & (other >= 0), codes * (int(other.max(initial=-1)) + 2) + other, -1)
    return codes


def _shared(enc: Encoded, parents: tuple[str, ...], hashes: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Random pairs of records that agree on every one of `parents` (a workplace: the same
    company, or the same address)."""
    a_parts, b_parts = [], []
    options = [_PARENT_CODES[p] for p in parents]
    combos = [()]
    for choice in options:
        combos = [c + (o,) for c in combos for o in choice]
    for combo in combos:
        codes = _dense(_joint(enc, tuple(n for group in combo for n in group)))
        a, b = within(codes, hashes, count // len(combos))
        a_parts.append(a)
        b_parts.append(b)
    return np.concatenate(a_parts), np.concatenate(b_parts)


def _dense(codes: np.ndarray) -> np.ndarray:
    """Codes renumbered 0..k-1 (a joint code can outgrow 64 bits when joined again)."""
    present = codes >= 0
    out = np.full(len(codes), -1, dtype=np.int64)
    out[present] = np.unique(codes[present], return_inverse=True)[1]
    return out


def conditional_u(enc: Encoded, comparisons: tuple[Comparison, ...], u: dict[str, np.ndarray],
                  hashes: np.ndarray, count: int = RANDOM_PAIRS // 3) -> dict[str, np.ndarray]:
    """`u` with its rows for agreeing parents from random pairs that share those parents; a
    row too rare to sample keeps the row of one parent fewer."""
    known = set(_agreements({c.name: np.zeros(1, dtype=np.int64) for c in comparisons}, comparisons))
    out = {k: v.copy() for k, v in u.items()}
    wanted: dict[tuple[str, ...], list[tuple[Comparison, int]]] = {}
    for c in comparisons:
        parents = PARENTS.get(c.name, ())
        for row in range(1, ROWS):
            chosen = tuple(p for k, p in enumerate(parents) if row >> k & 1)
            if chosen and len(chosen) == bin(row).count("1") and set(chosen) <= known:
                wanted.setdefault(chosen, []).append((c, row))
    sampled: dict[tuple[str, ...], dict[str, np.ndarray]] = {}
    for chosen, targets in wanted.items():
        a, b = _shared(enc, chosen, hashes, count)
        children = tuple(dict.fromkeys(c for c, _ in targets))
        # a rare parent value (a small company, an address) is shared mostly by the records
        # of one person: pairs that agree on who they are (name, email, phone) are left out
        covered = {n for p in chosen for n in _IDENTITY_OF.get(p, (p,))} | {c.name for c in children}
        checks = tuple(c for c in comparisons if c.name in IDENTITY and c.name not in covered)
        if checks and len(a):
            levels = compare(enc, a, b, checks)
            # names count as agreeing when merely close: a typo does not make a stranger
            stranger = np.logical_and.reduce([
                levels[c.name] <= 0 if c.name in ("first", "last") else levels[c.name] != _top(c) for c in checks])
            a, b = a[stranger], b[stranger]
        if len(a) >= 100:
            sampled[chosen] = random_u(enc, children, a, b, {})
    for c in comparisons:
        parents = PARENTS.get(c.name, ())
        for row in range(1, ROWS):  # rows in increasing order: a fallback is set before it is used
            chosen = tuple(p for k, p in enumerate(parents) if row >> k & 1)
            found = sampled.get(chosen, {}).get(c.name) if len(chosen) == bin(row).count("1") else None
            out[c.name][row] = found[0] if found is not None else out[c.name][row & (row - 1)]
    return out


def fit(enc: Encoded, comparisons: tuple[Comparison, ...], levels: dict[str, np.ndarray],
        random_a: np.ndarray, random_b: np.ndarray, hashes: np.ndarray, records: int) -> Model:
    """The model: u from random pairs (and from pairs sharing a parent), m by EM sessions
    over the candidate pairs' `levels`, the prior from the sessions."""
    rates = {c.name: exact_rate(enc.codes[EXACT_CODES[c.name]]) for c in comparisons if c.name in EXACT_CODES}
    u = conditional_u(enc, comparisons, random_u(enc, comparisons, random_a, random_b, rates), hashes)
    freq = value_frequencies(enc, comparisons, enc.codes["email"])
    m, shares, its = train(levels, comparisons, u)
    fallback = 1.0 / max(records, 2)  # one duplicate per record, when nothing tells
    prior = prior_from(shares, m, enc, comparisons, fallback)
    return Model(comparisons, {k: np.vstack([v] * ROWS) for k, v in m.items()}, u, share=prior,
                 exact_rate=rates, freq=freq, iterations=its)
