"""Connected components of the record-key graph (groups.components) against a plain
union-find, on random graphs with chains, shared keys and records with several keys."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from leadtool.match.groups import components
from leadtool.records import IDX


def union_find(pairs: list[tuple[int, str]]) -> dict[int, int]:
    parent: dict[object, object] = {}

    def find(x: object) -> object:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for idx, key in pairs:
        a, b = find(("r", idx)), find(("k", key))
        if a != b:
            parent[a] = b
    members: dict[object, list[int]] = {}
    for idx, _ in pairs:
        members.setdefault(find(("r", idx)), []).append(idx)
    return {idx: min(group) for group in members.values() for idx in group}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from("abcdefghijklmnop")), min_size=1, max_size=80,
                unique=True))
def test_components_label_each_record_with_the_lowest_record_of_its_component(pairs):
    edges = pl.DataFrame({IDX: [i for i, _ in pairs], "key": [k for _, k in pairs]},
                         schema={IDX: pl.UInt32, "key": pl.String})
    labels = dict(components(edges).select(IDX, "label").iter_rows())
    assert labels == union_find(pairs)


def test_a_chain_longer_than_one_round():
    """0-a-1-b-2-c-3-d-4: the label has to travel four keys."""
    pairs = [(0, "a"), (1, "a"), (1, "b"), (2, "b"), (2, "c"), (3, "c"), (3, "d"), (4, "d"), (9, "z"), (8, "z")]
    edges = pl.DataFrame({IDX: [i for i, _ in pairs], "key": [k for _, k in pairs]},
                         schema={IDX: pl.UInt32, "key": pl.String})
    labels = dict(components(edges).select(IDX, "label").iter_rows())
    assert labels == {0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 8: 8, 9: 8}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a@x.com", "B@x.com", "b@X.com", "c@y.org", "", "bad"]), min_size=1, max_size=14))
def test_one_kind_of_key_gives_the_groups_of_the_general_path(emails):
    """With email only, the edges leave out the `email:` prefix and the reasons add it; with
    email and customer the keys are prefixed in the edges. Records without a customer must
    get the same groups and reasons either way, and `link_records` labels each grouped record
    with its group's first record."""
    import tempfile
    from pathlib import Path

    from leadtool.io import load
    from leadtool.match.groups import find_groups, link_records

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leads.csv"
        path.write_text("id,email_from,partner_id\n" + "".join(
            f"{i + 1},{email},\n" for i, email in enumerate(emails)), encoding="utf-8")
        records = load([str(path)])
    one, two = find_groups(records, by=["email"]), find_groups(records, by=["email", "customer"])
    assert one.members.equals(two.members) and one.info.equals(two.info)
    assert all(r.startswith("email:") for rs in one.info["reasons"].to_list() for r in rs)
    linked = link_records(records)
    first = one.members.group_by("group").agg(pl.col(IDX).min().alias("first"))
    expected = dict(one.members.join(first, on="group").select(IDX, "first").iter_rows())
    assert dict(linked.labels.select(IDX, "label").iter_rows()) == expected
