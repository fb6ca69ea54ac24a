"""io.spans: the record places in a file's bytes and the bytes of chosen records."""

from __future__ import annotations

import mmap

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from leadtool.io.spans import gather


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=400), st.lists(st.integers(min_value=0, max_value=400), max_size=40),
       st.binary(max_size=5))
def test_gather_gives_the_ranges_one_after_the_other(tmp_path_factory, data, cuts, prefix):
    cuts = sorted({c for c in cuts if c <= len(data)})
    # ranges between consecutive cuts, every other one (some touch when a cut repeats a stop)
    ranges = [(a, b) for k, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)) if k % 2 == 0 or b - a == 1]
    starts = np.array([a for a, _ in ranges], dtype=np.int64)
    stops = np.array([b for _, b in ranges], dtype=np.int64)
    expected = prefix + b"".join(data[a:b] for a, b in ranges)
    assert gather(data, starts, stops, prefix) == expected
    if data:  # a mapped file too (its pages released behind the read)
        path = tmp_path_factory.mktemp("gather") / "f.bin"
        path.write_bytes(data)
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as raw:
            assert gather(raw, starts, stops, prefix) == expected
