"""Which candidate pairs can still reach the threshold, found without comparing most of them.

Most candidate pairs are strangers who share one blocking key: their score stays far below
the threshold whatever their string similarities turn out to be. Each field of a pair starts
as the set of levels it can still be at, known at once from the integer codes (null, equal,
or a set of partial levels: `jane@x` and `jean@y` share neither local part nor domain, so
the email can only disagree). The best weight over that set (and over the strata its parents
can be in) bounds the pair's score from above. String similarities are then computed field by
field, the most telling first, only for the pairs whose bound still reaches the threshold.
The pairs left are scored exactly as before: the bound only skips pairs that cannot reach it.
"""

from __future__ import annotations

import numpy as np

from .fuzzy_compare import BY_NAME, Encoded, _phone, compare
from .fuzzy_model import PARENTS, ROWS, TF_BOOST, Model

# the order in which fields are compared: names decide most pairs, then the rest by cost
STAGES = (("first", "last"), ("email",), ("company",), ("street",), ("city",), ("zip",))
_ALL = np.uint8(0xFF)


def _bit(level: int) -> np.uint8:
    return np.uint8(1 << level)


def _known(level: np.ndarray) -> np.ndarray:
    """Levels (NULL: -1) as masks: one bit, 0 for a missing value (weight 0)."""
    return np.where(level >= 0, np.left_shift(1, np.maximum(level, 0)), 0).astype(np.uint8)


def cheap_masks(enc: Encoded, a: np.ndarray, b: np.ndarray, names: set[str]) -> dict[str, np.ndarray]:
    """For each comparison, the levels each pair can be at (bit k: level k; 0: a side has no
    value), from the codes alone; mirrors `fuzzy_compare`'s rules."""
    c = enc.codes
    out: dict[str, np.ndarray] = {}

    def sides(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, y = c[name][a], c[name][b]
        return x, y, (x < 0) | (y < 0)

    if "email" in names:
        ca, cb, null = sides("email")
        la, lb = c["local"][a], c["local"][b]
        da, db = c["domain"][a], c["domain"][b]
        mask = np.where(la == lb, 0b0110, np.where(da == db, 0b0101, 0b0001))
        out["email"] = np.where(null, 0, np.where(ca == cb, 0b1000, mask)).astype(np.uint8)
    if names & {"first", "last"}:
        fa, fb, fnull = sides("first")
        la, lb, lnull = sides("last")
        na, nb = c["nick"][a], c["nick"][b]
        # a swap (`Doe Jane`) can make a name exact: its first name is the other's last
        first = np.where(na == nb, 0b1000, 0b0111 | np.where(fa == lb, 0b1000, 0))
        last = np.where(la == lb, 0b1000, 0b0111 | np.where(la == fb, 0b1000, 0))
        out["first"] = np.where(fnull, 0, first).astype(np.uint8)
        out["last"] = np.where(lnull, 0, last).astype(np.uint8)
    if "phone" in names:
        out["phone"] = _known(_phone(enc, a, b))
    if "street" in names:
        ca, cb, null = sides("street")
        ha, hb, hnull = sides("house")
        same = np.where(hnull, 0b00100, np.where(ha == hb, 0b10000, 0b00010))
        near = 0b00001 | np.where(hnull, 0b00100, np.where(ha == hb, 0b01000, 0b00010))
        out["street"] = np.where(null, 0, np.where(ca == cb, same, near)).astype(np.uint8)
    for name in ("company", "city", "zip"):
        if name in names:
            ca, cb, null = sides(name)
            out[name] = np.where(null, 0, np.where(ca == cb, 0b100, 0b011)).astype(np.uint8)
    return out


def _tops(masks: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(may agree, surely agrees) for each parent of `fuzzy_model.strata`."""
    def state(name: str, lowest: int) -> tuple[np.ndarray, np.ndarray]:
        m = masks[name]
        agreeing = np.uint8((0xFF << lowest) & 0xFF)
        return (m & agreeing) != 0, (m != 0) & ((m & ~agreeing) == 0)

    out = {}
    if "company" in masks:
        out["company"] = state("company", len(BY_NAME["company"].levels) - 1)
    if "street" in masks:
        out["street"] = state("street", len(BY_NAME["street"].levels) - 2)
    if "first" in masks and "last" in masks:
        f, g = state("first", 3), state("last", 3)
        out["name"] = (f[0] & g[0], f[1] & g[1])
    places = [out[k] for k in ("company", "street") if k in out]
    if places:
        out["workplace"] = (np.logical_or.reduce([p[0] for p in places]), np.logical_or.reduce([p[1] for p in places]))
    return out


class Bounds:
    """The model's weights as lookup tables: for each comparison, the best weight a pair can
    have given the states of its strata's parents (for each parent: may it agree, does it
    surely agree; 2 bits each) and the set of levels the comparison can be at (a mask)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.tables = model.tables()
        self.luts: dict[str, np.ndarray] = {}
        for c in model.comparisons:
            table = self.tables[c.name]
            size = len(c.levels)
            parents = len(PARENTS.get(c.name, ()))
            lut = np.zeros((1 << (2 * parents), 1 << size))
            for state in range(1 << (2 * parents)):
                # a state that cannot occur (sure but not may) keeps every row
                rows = [r for r in range(ROWS) if _allowed(r, state, parents)] or list(range(ROWS))
                for levels in range(1, 1 << size):
                    picked = table[rows][:, [k for k in range(size) if levels >> k & 1]]
                    lut[state, levels] = picked.max()
            self.luts[c.name] = lut  # levels 0: a missing value weighs nothing

    def upper(self, masks: dict[str, np.ndarray], a: np.ndarray) -> np.ndarray:
        """The highest total weight each pair can still have."""
        model = self.model
        tops = _tops(masks)
        total = np.zeros(len(a))
        for c in model.comparisons:
            m = masks[c.name]
            state = np.zeros(len(a), dtype=np.uint8)
            for k, parent in enumerate(PARENTS.get(c.name, ())):
                if parent in tops:
                    may, sure = tops[parent]
                    state |= (may.astype(np.uint8) | (sure.astype(np.uint8) << 1)) << np.uint8(2 * k)
            w = self.luts[c.name][state, m]
            top = len(c.levels) - 1
            rate = model.exact_rate.get(c.name)
            if c.tf and c.tf in model.freq and rate:
                # a rare value's exact agreement weighs more (stratum 0 only), as match_weights says
                table = self.tables[c.name]
                row0 = (state & np.uint8(0b1010)) == 0  # no parent surely agrees
                exact = np.flatnonzero(((m >> np.uint8(top)) & 1).astype(bool) & row0)
                tf = np.maximum(model.freq[c.tf][a[exact]], 1e-12)
                floor = max(table[0, top - 1], 0.0) if top >= 1 else 0.0
                w[exact] = np.maximum(w[exact], np.maximum(table[0, top] + np.minimum(np.log2(rate / tf), TF_BOOST),
                                                          floor))
            total += w
        return total


def _allowed(row: int, state: int, parents: int) -> bool:
    """Whether strata row `row` is possible when parent k may agree (bit 2k of `state`) and
    surely agrees (bit 2k + 1)."""
    if row >> parents:
        return False  # a bit beyond the comparison's parents
    for k in range(parents):
        may, sure = state >> (2 * k) & 1, state >> (2 * k + 1) & 1
        if (row >> k & 1 and not may) or (not row >> k & 1 and sure):
            return False
    return True


CHUNK = 1 << 18  # pairs bounded at a time: the masks and their temporaries stay in cache


def reachable(model: Model, enc: Encoded, a: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
    """Positions of the pairs (a[i], b[i]) whose score may be `threshold` or more: every pair
    that scores that much is among them."""
    n = len(a)
    if not 0 < threshold < 100 or n == 0:
        return np.arange(n)
    need = np.log2(threshold / (100 - threshold)) - np.log2(model.share / (1 - model.share)) - 1e-9
    bounds = Bounds(model)
    names = {c.name for c in model.comparisons}
    kept, parts = [], []
    for start in range(0, n, CHUNK):
        sa, sb = a[start:start + CHUNK], b[start:start + CHUNK]
        masks = cheap_masks(enc, sa, sb, names)
        keep = np.flatnonzero(bounds.upper(masks, sa) >= need)
        kept.append(keep + start)
        parts.append({k: v[keep] for k, v in masks.items()})
    idx = np.concatenate(kept)
    masks = {k: np.concatenate([p[k] for p in parts]) for k in names}
    keep = np.ones(len(idx), dtype=bool)
    for stage in STAGES:
        wanted = tuple(BY_NAME[s] for s in stage if s in names)
        if not wanted or not keep.any():
            continue
        idx, masks = idx[keep], {k: v[keep] for k, v in masks.items()}
        open_ = np.logical_or.reduce([(masks[c.name] & (masks[c.name] - np.uint8(1))) != 0 for c in wanted])
        at = np.flatnonzero(open_)
        if len(at):
            levels = compare(enc, a[idx[at]], b[idx[at]], wanted)
            for c in wanted:
                masks[c.name][at] = _known(levels[c.name])
        keep = bounds.upper(masks, a[idx]) >= need
    return idx[keep]
