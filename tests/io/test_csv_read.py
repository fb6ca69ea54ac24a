"""io.csv_read: a large CSV parsed by polars, with the records' places found beside it."""

from __future__ import annotations

import pytest

from leadtool.errors import InputError
from leadtool.io.csv_read import read_csv
from leadtool.io.spans import NUMPY_FROM, csv_lines_by_quotes
from leadtool.records import FileFormat


def _csv(rows: int, *, blank: bool = False, newline: bytes = b"\n") -> bytes:
    lines = [b"id,name,description"]
    for k in range(rows):
        note = b'"two\r\nlines, ""quoted"""' if k % 7 == 0 else b"plain note"
        lines.append(b"%d,Lead %d,%s" % (k, k, note))
        if blank and k % 1000 == 500:
            lines.append(b"")
    return newline.join(lines) + newline


@pytest.mark.parametrize("blank", [False, True])
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_the_places_found_beside_polars_are_those_found_alone(blank, newline):
    data = _csv(60_000, blank=blank, newline=newline)
    assert len(data) >= NUMPY_FROM  # polars parses it
    plain = read_csv(data, 0, "f.csv", FileFormat(encoding="utf-8"))
    placed = read_csv(data, 0, "f.csv", FileFormat(encoding="utf-8"), with_lines=True)
    assert plain.lines is None
    assert placed.frame.equals(plain.frame)
    assert placed.lines is not None
    expected = csv_lines_by_quotes(data, 0, len(data), ",")
    assert expected is not None
    assert placed.lines.starts.equals(expected.starts) and placed.lines.ends.equals(expected.ends)
    assert (placed.records is None) == (not blank)  # blank lines: the records are told apart now


@pytest.mark.parametrize("tail", [b"9,Bare\rreturn,x\n", b'9,Stray "quote,x\n', b'9,"closed" then text,x\n'])
def test_quoting_only_an_exact_reader_splits_reads_as_without_the_places(tail):
    data = _csv(60_000) + tail
    plain = read_csv(data, 0, "f.csv", FileFormat(encoding="utf-8"))
    placed = read_csv(data, 0, "f.csv", FileFormat(encoding="utf-8"), with_lines=True)
    assert placed.lines is None
    assert placed.frame.equals(plain.frame)


def test_a_quote_never_closed_is_the_same_error():
    data = _csv(60_000) + b'9,Open,"never closed\n'
    with pytest.raises(InputError) as plain:
        read_csv(data, 0, "f.csv", FileFormat(encoding="utf-8"))
    with pytest.raises(InputError) as placed:
        read_csv(data, 0, "f.csv", FileFormat(encoding="utf-8"), with_lines=True)
    assert str(placed.value) == str(plain.value)
