"""Placeholder emails never form a group; groups of clearly different people are held back."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadtool.errors import ConfigError
from leadtool.match.placeholders import (
    DEFAULT_RULES,
    conflict_reason,
    conflict_reasons,
    is_placeholder,
    name_key_expr,
    placeholder_keys,
    rules_from_config,
)


def _flags(keys, rules=DEFAULT_RULES):
    return pl.select(is_placeholder(pl.lit(pl.Series(keys, dtype=pl.String)), rules)).to_series().to_list()


@pytest.mark.parametrize("key", [
    "a@a.com", "x@x.com", "A@A.COM", "aaa@aaa.com", "xxx@xxx.com", "zz@zzzz.de", "1@1.com",
    "test@test.com", "noemail@acme.com", "none@acme.com", "na@acme.com", "unknown@acme.com",
    "noreply@acme.com", "no-reply@shop.example", "donotreply@bank.com", "jane@noemail.com",
    "bob@none.org", "email@email.com", " a@a.com ",
])
def test_placeholders(key):
    assert _flags([key]) == [True]


@pytest.mark.parametrize("key", [
    "jane@example.com", "john@acme.test", "x@acme.invalid", "info@acme.com", "sales@acme.com",
    "a@b.com", "ab@ab.com", "aa@aab.com", "anna@anna.com", "bob@x.com", "aaa@aaa", "nadia@acme.com",
    "nonexistent@acme.com", "", None,
])
def test_not_placeholders(key):
    assert _flags([key]) == [False]


def test_config_extends_and_replaces():
    rules = rules_from_config({"addresses": ["Info@Acme.com"], "local_parts": ["sales"], "domain_names": ["fake"]})
    assert _flags(["info@acme.com", "sales@x.com", "me@fake.io", "a@a.com"], rules) == [True, True, True, True]
    bare = rules_from_config({"defaults": False, "repeated_character": False, "addresses": ["q@q.com"]})
    assert _flags(["a@a.com", "noemail@x.com", "q@q.com"], bare) == [False, False, True]
    assert rules_from_config(None) is DEFAULT_RULES


def test_config_unknown_key_is_named():
    with pytest.raises(ConfigError, match="unknown key 'adresses'"):
        rules_from_config({"adresses": ["a@b.c"]}, "my.toml")
    with pytest.raises(ConfigError, match="expected a list"):
        rules_from_config({"addresses": "a@a.com"})


def test_placeholder_keys_listed_once_in_order():
    keys = pl.Series(["b@b.com", "jane@example.com", "a@a.com", "b@b.com", None])
    assert placeholder_keys(keys) == ["b@b.com", "a@a.com"]


@given(st.sampled_from("abcxyz019"), st.integers(1, 5), st.integers(1, 5), st.sampled_from(["com", "de", "co.uk"]))
def test_repeated_character_addresses(ch, n, m, tld):
    assert _flags([f"{ch * n}@{ch * m}.{tld}"]) == [True]


def test_name_key_ignores_case_accents_punctuation_and_order():
    names = pl.Series(["Smith, John", "john SMITH", "Jöhn  Smith.", "", "  ", None])
    got = pl.select(name_key_expr(pl.lit(names))).to_series().to_list()
    assert got == ["john smith", "john smith", "john smith", None, None, None]


def test_conflict_guard_holds_back_different_people():
    # the Salesforce case: a@a.com on several people at several companies
    reason = conflict_reason(["Ann Lee", "Bob Stone", "Carla Diaz"], ["Acme", "Beta", "Acme"])
    assert reason and reason.startswith("3 different people")
    two = conflict_reason(["Ann Lee", "Bob Stone"], ["Acme", "Beta"])
    assert two and "different companies" in two


def test_conflict_guard_lets_the_same_person_merge():
    assert conflict_reason(["Ann Lee", "LEE, Ann", "ann lee"], ["Acme", "Beta", ""]) is None
    assert conflict_reason(["Ann Lee", "Ann B. Lee"], ["Acme", "ACME"]) is None  # two spellings, one company
    assert conflict_reason(["Ann Lee", ""], ["Acme", "Beta"]) is None  # one name known
    assert conflict_reason([], []) is None


def test_conflict_reasons_over_many_groups():
    frame = pl.DataFrame({
        "group": [1, 1, 2, 2, 2, 3, 3],
        "contact_name": ["Ann Lee", "Ann Lee", "A One", "B Two", "C Three", "Dan", "Eve"],
        "partner_name": ["Acme", "Acme", "", "", "", "X", "Y"],
    })
    got = conflict_reasons(frame, "group", "contact_name", "partner_name")
    assert got["group"].to_list() == [2, 3]
    assert got["reason"][0] == "3 different people: A One, B Two, C Three"
    assert "(Dan, Eve)" in got["reason"][1] and "(X, Y)" in got["reason"][1]
    no_company = conflict_reasons(frame, "group", "contact_name")
    assert no_company["group"].to_list() == [2]
