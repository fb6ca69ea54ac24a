"""Connected components of the record-key graph (groups.components) against a plain
union-find, on random graphs with chains, shared keys and records with several keys."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from leadtool.groups import IDX, components


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
