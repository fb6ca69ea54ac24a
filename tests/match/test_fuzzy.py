"""Fuzzy near-duplicates: each signal on hand-written pairs, the threshold, the blocking guard,
the group guard, and the invariants (symmetry, input order, an exact duplicate scores highest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadtool.api import to_records
from leadtool.match import groups
from leadtool.match.fuzzy import (
    DEFAULT_THRESHOLD,
    FuzzyResult,
    Scorer,
    fuzzy_edges,
    fuzzy_pairs,
    guarded_links,
)
from leadtool.match.fuzzy_blocking import candidate_pairs
from leadtool.match.fuzzy_compare import NULL, compare, encode
from leadtool.match.fuzzy_fields import company_key, extract, name_parts, phone_tail, street_parts
from leadtool.match.fuzzy_model import Model

FIRST = ["Jane", "John", "Marie", "Pierre", "Anna", "Lucas", "Emma", "Noah", "Olivia", "Liam", "Sofia",
         "Hugo", "Léa", "Tom", "Ines", "Max", "Nora", "Paul", "Eva", "Sam"]
LAST = ["Doe", "Smith", "Martin", "Dupont", "Peeters", "Janssens", "Müller", "Rossi", "Garcia", "Novak",
        "Lambert", "Moreau", "Fischer", "Weber", "Silva", "Costa", "Horvath", "Nagy", "Berg", "Visser",
        "Keller", "Brunner", "Laurent", "Girard", "Fontaine", "Roux", "Petit", "Leroy", "Simon", "Michel"]
COMPANY = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell",
           "Cyberdyne", "Soylent", "Aperture", "Oscorp", "Massive", "Dunder", "Prestige", "Monarch", "Pied",
           "Gringotts"]
CITY = ["Brussels", "Antwerp", "Ghent", "Paris", "Lyon", "Berlin", "Munich", "Amsterdam", "Madrid", "Rome"]
COLUMNS = ["id", "contact_name", "partner_name", "email_from", "phone", "street", "city", "zip"]


def background(n: int = 1200, seed: int = 7) -> pd.DataFrame:
    """People with a few exact duplicates (one email address), so that the model has
    something to learn from; ids 1..n (and more for the duplicates)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        first, last = FIRST[rng.integers(len(FIRST))], LAST[rng.integers(len(LAST))]
        company = COMPANY[rng.integers(len(COMPANY))]
        row = {"contact_name": f"{first} {last}", "partner_name": f"{company} {k % 7}",
               "email_from": f"{first.lower()}.{last.lower()}{k}@example{k % 13}.com",
               "phone": f"+32 2 {rng.integers(100, 999)} {rng.integers(10, 99)} {rng.integers(10, 99)}",
               "street": f"{rng.integers(1, 300)} {LAST[rng.integers(len(LAST))]} Street",
               "city": CITY[rng.integers(len(CITY))], "zip": str(rng.integers(1000, 9999))}
        rows.append(row)
        if rng.random() < 0.3:  # the same person again, as exports repeat people
            again = dict(row)
            again["street"] = "" if rng.random() < 0.5 else row["street"]
            rows.append(again)
    frame = pd.DataFrame(rows)
    frame.insert(0, "id", [str(i + 1) for i in range(len(frame))])
    return frame


def with_rows(extra: list[dict[str, str]], base: pd.DataFrame | None = None) -> pd.DataFrame:
    base = background() if base is None else base
    start = len(base) + 1
    added = pd.DataFrame([{c: r.get(c, "") for c in COLUMNS[1:]} for r in extra])
    added.insert(0, "id", [f"x{start + i}" for i in range(len(added))])
    return pd.concat([base, added], ignore_index=True).fillna("")


def score_between(frame: pd.DataFrame, id_a: str, id_b: str, **options) -> float | None:
    """The pair's score, or None when it was not scored at or above the threshold."""
    records = to_records(frame)
    result = fuzzy_pairs(records, **options)
    ids = records.frame.get_column("__lt_id").to_list()
    a, b = sorted((ids.index(id_a), ids.index(id_b)))
    found = result.pairs.filter((pl.col("idx_a") == a) & (pl.col("idx_b") == b))
    return found.get_column("score").item() if found.height else None


JANE = {"contact_name": "Jane Doe", "partner_name": "Quasar Widgets", "email_from": "jane.doe@quasarwidgets.com",
        "phone": "+32 2 555 12 34", "street": "12 Rue Haute", "city": "Namur", "zip": "5000"}


# ---- fields

def test_last_first_and_first_last_give_one_name():
    parts = name_parts(pl.Series(["Doe, Jane", "Jane Doe", "  JANE   doe ", "Dr. Jane M. Doe", "Doé, Jàne"]))
    assert parts.get_column("first").to_list() == ["jane"] * 5
    assert parts.get_column("last").to_list() == ["doe"] * 5


def test_a_single_word_is_a_last_name_and_particles_join_it():
    parts = name_parts(pl.Series(["Mitchell", "Jan Van den Berg", "De Smet, Jan"]))
    assert parts.get_column("first").to_list() == [None, "jan", "jan"]
    assert parts.get_column("last").to_list() == ["mitchell", "vandenberg", "desmet"]


def test_nicknames_have_their_long_form():
    parts = name_parts(pl.Series(["Bob Smith", "Robert Smith", "Liz Taylor"]))
    assert parts.get_column("nick").to_list() == ["robert", "robert", "elizabeth"]
    assert parts.get_column("first").to_list() == ["bob", "robert", "liz"]


def test_company_legal_forms_are_dropped():
    keys = pl.DataFrame({"c": ["ACME Corp.", "Acme Corporation", "acme", "Acme Inc", "ACME S.A.",
                               "Acme GmbH", "Acme BV", "Acme SARL", "Acme LLC", "Acme Ltd"]})
    assert set(keys.select(company_key(pl.col("c"))).to_series().to_list()) == {"acme"}
    other = pl.DataFrame({"c": ["B & Q Ltd", "Acme Consulting"]}).select(company_key(pl.col("c"))).to_series()
    assert other.to_list() == ["b and q", "acme consulting"]


def test_phone_forms_agree_on_their_last_digits():
    forms = ["+32 2 555 12 34", "+3225551234", "0032 2 555 12 34", "02/555.12.34", "(02) 555-1234"]
    tails = pl.DataFrame({"p": forms}).select(phone_tail(pl.col("p"))).to_series()
    assert set(tails.to_list()) == {"25551234"}
    assert pl.DataFrame({"p": ["12 34", "NA"]}).select(phone_tail(pl.col("p"))).to_series().to_list() == [None, None]


def test_street_forms_agree():
    frame = pl.DataFrame({"s": ["12 Main St.", "Main Street 12", "12, main   street", "Hauptstr. 5", "Hauptstraße 5"]})
    house, name = street_parts(pl.col("s"))
    out = frame.select(house.alias("h"), name.alias("n"))
    assert out.get_column("h").to_list() == ["12", "12", "12", "5", "5"]
    assert out.get_column("n").to_list() == ["mainstreet"] * 3 + ["hauptstr"] * 2


def test_placeholders_are_no_value():
    records = to_records(pd.DataFrame({"id": ["1", "2"], "contact_name": ["Jane Doe", "NA"],
                                       "city": ["n/a", "Paris"], "phone": ["-", "0"]}))
    features = extract(records)
    assert features.get_column("city").to_list() == [None, "paris"]
    assert features.get_column("last").to_list() == ["doe", None]
    assert features.get_column("phone1").to_list() == [None, None]


# ---- comparison levels

def _levels(rows: list[dict[str, str]]) -> dict[str, int]:
    frame = pd.DataFrame([{c: r.get(c, "") for c in COLUMNS[1:]} for r in rows])
    frame.insert(0, "id", ["1", "2"])
    enc = encode(extract(to_records(frame)))
    levels = compare(enc, np.array([0]), np.array([1]))
    return {k: int(v[0]) for k, v in levels.items()}


def test_email_typos_in_the_local_part_and_the_domain():
    assert _levels([{"email_from": "jane.doe@gmail.com"}, {"email_from": "jane.doe@gmial.com"}])["email"] == 2
    assert _levels([{"email_from": "jane.doe@acme.com"}, {"email_from": "jnae.doe@acme.com"}])["email"] == 2
    assert _levels([{"email_from": "jane.doe@acme.com"}, {"email_from": "jane.doe@acmee.com"}])["email"] == 2
    assert _levels([{"email_from": "jane.doe@acme.com"}, {"email_from": "jane.doe@gmail.com"}])["email"] == 1
    # two accounts, not a typo
    assert _levels([{"email_from": "john.smith1@gmail.com"}, {"email_from": "john.smith2@gmail.com"}])["email"] == 0


def test_names_in_any_order_initials_and_nicknames():
    assert _levels([{"contact_name": "Doe, Jane"}, {"contact_name": "Jane Doe"}])["first"] == 3
    swapped = _levels([{"contact_name": "Doe Jane"}, {"contact_name": "Jane Doe"}])
    assert (swapped["first"], swapped["last"]) == (3, 3)
    assert _levels([{"contact_name": "J. Doe"}, {"contact_name": "Jane Doe"}])["first"] >= 1
    assert _levels([{"contact_name": "Bob Smith"}, {"contact_name": "Robert Smith"}])["first"] == 3
    assert _levels([{"contact_name": "Anna Doe"}, {"contact_name": "Peter Doe"}])["first"] == 0


def test_missing_fields_have_no_level():
    levels = _levels([{"contact_name": "Jane Doe", "phone": "+32 2 555 12 34"}, {"contact_name": "Jane Doe"}])
    assert levels["phone"] == NULL and levels["email"] == NULL and levels["company"] == NULL
    assert levels["first"] == 3


# ---- scores on a file

def test_typo_email_is_matched():
    twin = dict(JANE, email_from="jane.doe@quasarwidgtes.com", contact_name="Doe, Jane")
    score = score_between(with_rows([JANE, twin]), "x" + str(len(background()) + 1), "x" + str(len(background()) + 2))
    assert score is not None and score >= DEFAULT_THRESHOLD


def test_same_common_name_elsewhere_is_not_matched():
    other = {"contact_name": "Jane Doe", "partner_name": "Nebula Foods", "email_from": "jdoe@nebulafoods.com",
             "phone": "+32 2 777 88 99", "street": "3 Avenue Louise", "city": "Liège", "zip": "4000"}
    start = len(background()) + 1
    assert score_between(with_rows([JANE, other]), f"x{start}", f"x{start + 1}") is None


def test_company_suffix_and_phone_form_count_for_a_match():
    twin = {"contact_name": "Jane Doe", "partner_name": "QUASAR WIDGETS Inc.", "phone": "02/555.12.34"}
    start = len(background()) + 1
    score = score_between(with_rows([JANE, twin]), f"x{start}", f"x{start + 1}")
    assert score is not None and score >= DEFAULT_THRESHOLD


def test_a_missing_field_neither_adds_nor_subtracts():
    """Each comparison's weight is 0 where a side has no value, whatever the model."""
    comparisons = compare.__defaults__[0]
    model = Model(comparisons, {c.name: np.full((4, len(c.levels)), 1.0 / len(c.levels)) for c in comparisons},
                  {c.name: np.full((4, len(c.levels)), 1.0 / len(c.levels)) for c in comparisons}, share=0.01)
    model.m["phone"][:] = [0.1, 0.9]
    model.u["phone"][:] = [0.99, 0.01]
    levels = {c.name: np.array([NULL, 0, len(c.levels) - 1]) for c in comparisons}
    weights = model.match_weights(levels, np.array([0, 1, 2]))
    for c in comparisons:
        assert weights[c.name][0] == 0.0
    assert weights["phone"][1] < 0 < weights["phone"][2]


def test_the_threshold_is_honoured():
    records = to_records(with_rows([JANE, dict(JANE, email_from="", contact_name="J. Doe")]))
    low = fuzzy_pairs(records, threshold=50)
    high = fuzzy_pairs(records, threshold=99)
    assert (low.pairs.get_column("score") >= 50).all()
    assert (high.pairs.get_column("score") >= 99).all()
    above = {tuple(p) for p in low.pairs.filter(pl.col("score") >= 99).select("idx_a", "idx_b").iter_rows()}
    assert {tuple(p) for p in high.pairs.select("idx_a", "idx_b").iter_rows()} == above
    assert low.pairs.height > 0


def test_one_huge_block_is_cut_and_reported():
    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame({
        "id": [str(i) for i in range(n)],
        "contact_name": [f"{FIRST[i % 20]} {LAST[rng.integers(30)]}" for i in range(n)],
        "partner_name": ["Megacorp"] * n,  # one company: one block of 600
        "email_from": [f"p{i}@mail{i % 9}.com" for i in range(n)],
    })
    seen: list[int] = []
    result = fuzzy_pairs(to_records(frame), on_candidates=lambda count, cut: seen.append(count))
    assert seen == [result.candidates]
    cut = [c for c in result.cut if c.kind == "company"]
    assert [(c.key, c.size) for c in cut] == [("megacorp", n)]
    assert any("megacorp" in line for line in result.warnings())
    # a sorted neighbourhood, not all 179,700 pairs of the block
    assert result.candidates < 20 * n


# ---- groups

def test_fuzzy_groups_join_the_exact_ones_with_their_reasons():
    start = len(background()) + 1
    twin = dict(JANE, email_from="jane.doe@quasarwidgtes.com")
    frame = with_rows([JANE, dict(JANE), twin])  # the first two share an address
    records = to_records(frame)
    linked = groups.link_records(records)
    result = fuzzy_pairs(records, labels=linked.labels)
    found = groups.find_groups(records, extra_edges=fuzzy_edges(result, linked.labels, len(records)))
    ids = records.frame.get_column("__lt_id")
    members = found.members.with_columns(pl.lit(ids).gather(pl.col("__lt_idx")).alias("id"))
    group = members.filter(pl.col("id") == f"x{start}").get_column("group").item()
    assert set(members.filter(pl.col("group") == group).get_column("id")) == {f"x{start}", f"x{start + 1}",
                                                                               f"x{start + 2}"}
    reasons = found.info.filter(pl.col("group") == group).get_column("reasons").item().to_list()
    fuzzy = [r for r in reasons if r.startswith("fuzzy:")]
    assert fuzzy and all("#" not in r for r in reasons)
    score, fields = fuzzy[0].split(":")[1:]
    assert int(score) >= DEFAULT_THRESHOLD and "name" in fields.split("+")
    assert f"email:{JANE['email_from']}" in reasons


class _Scorer:
    """Scores every pair not given as 10: a chain's ends do not look alike."""

    def __init__(self, n: int) -> None:
        self.hashes = np.arange(n, dtype=np.uint64) * np.uint64(2654435761)

    def score(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.full(len(a), 10.0)


def test_a_chain_of_look_alikes_is_not_one_group():
    # 0-1, 1-2, 2-3 look alike; 0 and 3 (and 0 and 2) do not
    pairs = pl.DataFrame({"idx_a": [0, 1, 2], "idx_b": [1, 2, 3], "score": [99.0, 98.0, 97.0],
                          "matched": ["name", "name", "name"]},
                         schema={"idx_a": pl.UInt32, "idx_b": pl.UInt32, "score": pl.Float64, "matched": pl.String})
    result = FuzzyResult(pairs=pairs, candidates=3, cut=[], threshold=90.0, scorer=_Scorer(4))  # type: ignore[arg-type]
    links = guarded_links(result, None, 4)
    edges = links.select("idx_a", "idx_b").rows()
    # the head meets its neighbours only; whatever is left is grouped apart, never through it
    nodes = sorted({x for e in edges for x in e})
    assert len(edges) <= 2 and nodes
    joined = {frozenset(e) for e in edges}
    assert frozenset((0, 3)) not in joined
    with pytest.raises(ValueError, match="blocking key"):
        candidate_pairs(extract(to_records(background(20))), blocking=["nope"])


def test_a_group_of_two_needs_no_head_check():
    pairs = pl.DataFrame({"idx_a": [0], "idx_b": [1], "score": [99.0], "matched": ["name"]},
                         schema={"idx_a": pl.UInt32, "idx_b": pl.UInt32, "score": pl.Float64, "matched": pl.String})
    result = FuzzyResult(pairs=pairs, candidates=1, cut=[], threshold=90.0, scorer=_Scorer(2))  # type: ignore[arg-type]
    assert guarded_links(result, None, 2).select("idx_a", "idx_b").rows() == [(0, 1)]


# ---- invariants

_BASE = background(700, seed=11)
_RECORDS = to_records(_BASE)
_RESULT = fuzzy_pairs(_RECORDS, all_pairs=True)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_BASE) - 1), st.integers(0, len(_BASE) - 1)), min_size=1, max_size=40))
def test_scores_are_symmetric(pairs):
    scorer: Scorer = _RESULT.scorer
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    assert np.allclose(scorer.score(a, b), scorer.score(b, a))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, len(_BASE) - 1), st.lists(st.integers(0, len(_BASE) - 1), min_size=1, max_size=30))
def test_an_exact_duplicate_scores_at_least_any_pair_of_its_record(record, others):
    """Adding an exact duplicate of a record: their pair scores at least as high as any pair
    of that record (a copy agrees on every field the record has, at the highest level)."""
    frame = pd.concat([_BASE, _BASE.iloc[[record]].assign(id="copy")], ignore_index=True)
    enc = encode(extract(to_records(frame)))
    scorer = Scorer(enc, _RESULT.model, np.zeros(len(frame), dtype=np.uint64))
    freq = {k: np.r_[v, v[record]] for k, v in _RESULT.model.freq.items()}
    scorer.model = Model(_RESULT.model.comparisons, _RESULT.model.m, _RESULT.model.u, _RESULT.model.share,
                         _RESULT.model.exact_rate, freq)
    copy = len(frame) - 1
    with_copy = scorer.score(np.array([record]), np.array([copy]))[0]
    rest = scorer.score(np.full(len(others), record), np.array(others))
    assert with_copy >= rest.max() - 1e-9


def _id_pairs(result: FuzzyResult, records) -> dict[frozenset, float]:
    ids = records.frame.get_column("__lt_id").to_list()
    return {frozenset((ids[a], ids[b])): s for a, b, s in result.pairs.select("idx_a", "idx_b", "score").iter_rows()}


@settings(max_examples=4, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_the_input_order(rnd):
    frame = with_rows([JANE, dict(JANE, email_from="jane.doe@quasarwidgtes.com"), dict(JANE, contact_name="J Doe")],
                      base=background(500, seed=5))
    order = list(range(len(frame)))
    rnd.shuffle(order)
    first = to_records(frame)
    second = to_records(frame.iloc[order].reset_index(drop=True))
    one = _id_pairs(fuzzy_pairs(first, threshold=50), first)
    two = _id_pairs(fuzzy_pairs(second, threshold=50), second)
    assert one.keys() == two.keys()
    assert all(abs(one[k] - two[k]) < 1e-6 for k in one)
