"""The bound that lets fuzzy matching skip pairs: it is never below a pair's real weight, so no
pair that reaches the threshold is ever skipped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadtool.api import to_records
from leadtool.match.fuzzy import fuzzy_pairs
from leadtool.match.fuzzy_bounds import Bounds, cheap_masks, reachable

FIRST = ["Jane", "Jean", "John", "Marie", "Bob", "Robert", "Anna", "Ann", "Noah", "Liam", "Léa", "Lea"]
LAST = ["Doe", "Smith", "Smyth", "Martin", "Dupont", "Dupond", "Peeters", "Müller", "Muller", "Rossi"]


def _people(n: int = 900, seed: int = 5) -> pd.DataFrame:
    """Look-alikes on purpose: close names, shared companies, addresses, phones and domains,
    missing values, swapped names."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        first, last = FIRST[rng.integers(len(FIRST))], LAST[rng.integers(len(LAST))]
        name = f"{last}, {first}" if rng.random() < 0.1 else (f"{last} {first}" if rng.random() < 0.05 else
                                                              f"{first} {last}")
        company = f"Company {rng.integers(40)}" + (" Inc." if rng.random() < 0.3 else "")
        domain = ["acme.com", "gmail.com", "gmial.com"][rng.integers(3)]
        street = ["Main St.", "Main Street", "Rue Haute"][rng.integers(3)]
        rows.append({
            "id": str(k + 1), "contact_name": "" if rng.random() < 0.1 else name,
            "partner_name": "" if rng.random() < 0.2 else company,
            "email_from": "" if rng.random() < 0.3 else
            f"{first.lower()}.{last.lower()}{rng.integers(3)}@{domain}",
            "phone": "" if rng.random() < 0.4 else f"+32 2 555 {rng.integers(10, 30)} {rng.integers(10, 20)}",
            "street": "" if rng.random() < 0.3 else f"{rng.integers(1, 20)} {street}",
            "city": ["Namur", "NAMUR", "Liège", "Liege", ""][rng.integers(5)],
            "zip": ["5000", "5001", "4000", ""][rng.integers(4)],
        })
    return pd.DataFrame(rows)


_RECORDS = to_records(_people())
_ALL = fuzzy_pairs(_RECORDS, all_pairs=True)  # every candidate pair scored, none skipped
_A = _ALL.pairs.get_column("idx_a").to_numpy().astype(np.int64)
_B = _ALL.pairs.get_column("idx_b").to_numpy().astype(np.int64)
_SCORES = _ALL.pairs.get_column("score").to_numpy()


@pytest.mark.parametrize("threshold", [30.0, 60.0, 90.0, 96.0, 99.0, 99.9])
def test_every_pair_that_reaches_the_threshold_is_kept(threshold):
    enc, model = _ALL.scorer.enc, _ALL.model
    kept = reachable(model, enc, _A, _B, threshold)
    reaching = np.flatnonzero(_ALL.scorer.score(_A, _B) >= threshold)
    assert len(reaching) > 0
    assert set(reaching.tolist()) <= set(kept.tolist())
    assert len(kept) < len(_A)  # and it does skip pairs


def test_the_pairs_scored_are_those_without_the_bound():
    for threshold in (50.0, 96.0):
        pruned = fuzzy_pairs(_RECORDS, threshold=threshold)
        full = _ALL.pairs.filter(_ALL.pairs.get_column("score") >= threshold)
        assert pruned.pairs.select("idx_a", "idx_b", "score").equals(full.select("idx_a", "idx_b", "score"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_RECORDS) - 1), st.integers(0, len(_RECORDS) - 1)),
                min_size=1, max_size=200))
def test_the_bound_is_never_below_the_weight(pairs):
    """Any pair, candidate or not: the bound from the codes alone is at least its weight."""
    enc, model = _ALL.scorer.enc, _ALL.model
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    upper = Bounds(model).upper(cheap_masks(enc, a, b, {c.name for c in model.comparisons}), a)
    weights = model.match_weights(_ALL.scorer.levels(a, b), a)
    assert (upper >= sum(weights.values()) - 1e-9).all()
