"""The typed views of text cells (normalize.py): their fast paths give what the plain
definitions give, for any text."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from leadtool.match.normalize import ARCHIVED_VALUES, _archived, number_expr

CELLS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["100", "100,0", " 55.5 ", "1e2", "-1", "nan", "inf", "1,5", "True", "False",
                     " FALSE ", "No", "0", "1", "yes", "", "  ", "\u00a0no\u00a0"]),
    st.none(),
)


@given(st.lists(CELLS, max_size=40))
def test_numbers_as_the_plain_definition(cells: list[str | None]) -> None:
    values = pl.Series("v", cells, dtype=pl.String)
    plain = values.str.strip_chars().str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    fast = pl.select(number_expr(pl.lit(values))).to_series()
    assert fast.is_null().to_list() == plain.is_null().to_list()
    assert fast.fill_null(0).fill_nan(-1).to_list() == plain.fill_null(0).fill_nan(-1).to_list()


@given(st.lists(CELLS, max_size=40))
def test_archived_as_the_plain_definition(cells: list[str | None]) -> None:
    values = pl.Series("v", cells, dtype=pl.String)
    plain = values.str.strip_chars().str.to_lowercase().is_in(ARCHIVED_VALUES).fill_null(False)
    assert _archived(values).to_list() == plain.to_list()


def test_number_forms() -> None:
    values = pl.Series(["100,0", " 55.5 ", "1e2", "", "x", None, "100"])
    assert pl.select(number_expr(pl.lit(values))).to_series().to_list() == [100.0, 55.5, 100.0, None, None, None, 100.0]
