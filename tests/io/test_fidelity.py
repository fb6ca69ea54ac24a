"""Nothing lost, nothing altered (issue 13, items 7, 8, 9, 13 and 21): a record no rule changes
is written back as the bytes it was read from; changed records are encoded in their file's style;
blank lines and a trailing ^Z are not records; odd inputs are one-line errors
(docs/formats.md#what-comes-back-byte-for-byte)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import polars as pl
import pytest
from conftest import assert_one_line_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadtool.io as lio
from leadtool.io import spans
from leadtool.match.groups import find_groups
from leadtool.merge import merge_query, plan_merge
from leadtool.records import HASH, ID, LOADED


@pytest.fixture(params=["python", "numpy"])
def scanner(request, monkeypatch) -> str:
    """Small files are scanned with Python's csv module, large ones with numpy: both, always."""
    if request.param == "numpy":
        monkeypatch.setattr(spans, "NUMPY_FROM", 0)
    return request.param


def merged(cli, tmp_path: Path, name: str, data: bytes, *args: str) -> bytes:
    src = tmp_path / name
    src.write_bytes(data)
    out = tmp_path / f"out-{name}"
    result = cli("merge", src, "-o", out, "--yes", "--quiet", *args)
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def undone(cli, tmp_path: Path, name: str) -> bytes:
    out = tmp_path / f"out-{name}"
    back = tmp_path / f"back-{name}"
    result = cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", back, "--quiet")
    assert result.exit_code == 0, result.output
    return back.read_bytes()


# ----------------------------------------------------------------------------- item 7
def test_odd_quoting_of_untouched_rows_is_kept(cli, tmp_path: Path, scanner: str) -> None:
    data = (b'id,name,email_from,note\r\n1,"Smith" Jr,a@x.com,""\r\n2,"Bob",b@x.com,"x"\r\n'
            b'3,Ann,a@x.com,n\r\n')
    out = merged(cli, tmp_path, "q.csv", data)
    # 1 is the head (3 merged into it): its note is filled, so it is encoded; 2 is untouched
    assert out == b'id,name,email_from,note\r\n1,Smith Jr,a@x.com,n\r\n2,"Bob",b@x.com,"x"\r\n'
    # undo puts the head's values back (encoded: the audit log holds values, not bytes)
    assert undone(cli, tmp_path, "q.csv") == (b'id,name,email_from,note\r\n1,Smith Jr,a@x.com,\r\n'
                                              b'2,"Bob",b@x.com,"x"\r\n3,Ann,a@x.com,n\r\n')


def test_a_head_that_keeps_its_values_keeps_its_bytes(cli, tmp_path: Path, scanner: str) -> None:
    data = b'id,name,email_from\r\n1,"Smith" Jr,a@x.com\r\n2,"",b@x.com\r\n3,"Smith" Jr,a@x.com\r\n'
    out = merged(cli, tmp_path, "q.csv", data)
    assert out == b'id,name,email_from\r\n1,"Smith" Jr,a@x.com\r\n2,"",b@x.com\r\n'


def test_quote_nonnumeric_files_keep_their_quotes(cli, tmp_path: Path, scanner: str) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerows([["id", "name", "email_from", "probability"], [1, "Smith", "a@x.com", 10],
                      [2, "Bob", "b@x.com", 20.5], [3, "", "a@x.com", 0]])
    data = buf.getvalue().encode()
    records = lio.load([str(_write(tmp_path / "nn.csv", data))])
    assert records.sources[0].fmt.quoting == "nonnumeric"
    out = merged(cli, tmp_path, "nn.csv", data)
    # the head (1) takes nothing from 3 (its values are all there): every row as it was
    assert out == b'"id","name","email_from","probability"\r\n1,"Smith","a@x.com",10\r\n2,"Bob","b@x.com",20.5\r\n'
    # a changed row is written the same way: numbers bare, text quoted
    name = records.columns[1]
    changed = records.with_frame(records.frame.with_columns(
        pl.when(pl.col(ID) == "2").then(pl.lit("Bo, b")).otherwise(pl.col(name)).alias(name)))
    assert b"".join(lio.encode_chunks(changed)).splitlines()[2] == b'2,"Bo, b","b@x.com",20.5'


@pytest.mark.parametrize(("ending", "name"), [(b"\r", "cr"), (b"mixed", "mixed")])
def test_line_endings_of_untouched_rows_are_kept(cli, tmp_path: Path, scanner: str, ending: bytes,
                                                 name: str) -> None:
    ends = [b"\n", b"\r\n", b"\n", b"\r\n", b"\n"] if ending == b"mixed" else [ending] * 5
    rows = [b"id,name,email_from", b"1,A,a@x.com", b"2,B,b@x.com", b'3,"C\r\nc",a@x.com', b"4,D,d@x.com"]
    data = b"".join(r + e for r, e in zip(rows, ends, strict=True))
    out = merged(cli, tmp_path, f"{name}.csv", data)
    # 3 merges into 1, which takes nothing: 1 keeps its bytes; 3's line is gone
    expected = b"".join(r + e for r, e in zip(rows, ends, strict=True) if not r.startswith(b"3,"))
    assert out == expected
    # undo re-encodes the records it restores (the head's and 3's values, from the audit log),
    # with the file's line ending; every other row keeps its own
    back = undone(cli, tmp_path, f"{name}.csv")
    restored = [e if k not in (1, 3) else ends[0] for k, e in enumerate(ends)]
    assert back == b"".join(r + e for r, e in zip(rows, restored, strict=True))


@pytest.mark.parametrize("name", ["o.csv", "o.json", "o.jsonl"])
def test_a_restored_record_that_carries_its_text_is_written_as_it(tmp_path: Path, scanner: str,
                                                                  name: str) -> None:
    """The hook undo can use: a record without bytes to copy, given its original text (RAW,
    RAW_END) and HASH, is written as that text while its values are unchanged."""
    from leadtool.io.writing import content_hash, original_texts
    from leadtool.records import RAW, RAW_END

    data = {"o.csv": b'id,name\n1,"A"\r\n2,"B" b\n\n3,C',
            "o.json": b'[{"id": "1"},\n  {"id":"2"} , {"id": "3"}]\n',
            "o.jsonl": b'{"id": "1"}\r\n{"id":"2"}\n\n{"id": "3"}'}[name]
    records = lio.load([str(_write(tmp_path / name, data))])
    texts = original_texts(records)
    kept = records.frame.with_columns(texts)
    for gone in range(3):  # each record in turn taken out, then put back from its values and text
        rest = kept.filter(pl.int_range(pl.len()) != gone)
        if name == "o.csv":
            assert b"".join(lio.encode_chunks(records.with_frame(rest))) != data
        restored = kept.slice(gone, 1).with_columns(pl.lit(None, dtype=pl.UInt32).alias(LOADED))
        back = pl.concat([rest.slice(0, gone), restored, rest.slice(gone)])
        back = back.with_columns(content_hash(records, back).alias(HASH).zip_with(
            back.get_column(LOADED).is_null(), pl.repeat(None, back.height, dtype=pl.UInt64, eager=True)))
        assert b"".join(lio.encode_chunks(records.with_frame(back))) == data
        # changed since: encoded after all
        col = records.columns[-1]
        edited = back.with_columns(pl.when(pl.col(LOADED).is_null()).then(pl.lit("9")).otherwise(pl.col(col))
                                   .alias(col))
        assert b"".join(lio.encode_chunks(records.with_frame(edited))) != data
    assert texts.get_column(RAW).to_list()[1] in ('2,"B" b', '{"id":"2"}')
    assert texts.get_column(RAW_END).to_list()[0] in ("\r\n", ",\n  ")


def test_a_changed_row_keeps_its_own_line_ending(cli, tmp_path: Path, scanner: str) -> None:
    data = b"id,name,email_from,city\n1,A,a@x.com,\r\n2,B,b@x.com,Gent\n3,C,a@x.com,Lille\n"
    out = merged(cli, tmp_path, "h.csv", data)
    assert out == b"id,name,email_from,city\n1,A,a@x.com,Lille\r\n2,B,b@x.com,Gent\n"


def test_blank_lines_and_a_trailing_eof_mark_are_not_records(cli, tmp_path: Path, scanner: str) -> None:
    data = b"id,name,email_from\n1,A,a@x.com\n\n2,B,b@x.com\n  \n4,D,d@x.com\n\x1a"
    path = _write(tmp_path / "b.csv", data)
    records = lio.load([str(path)])
    assert records.frame.get_column(ID).to_list() == ["1", "2", "4"]
    assert [r[1] for r in records.data().rows()] == ["A", "B", "D"]
    result = cli("inspect", path, "--format", "json")
    assert json.loads(result.stdout)[0]["rows"] == 3
    assert merged(cli, tmp_path, "b.csv", data) == data  # nothing to merge: every byte kept
    # the line numbers of check still count the blank lines
    dup = data.replace(b"4,D,d@x.com", b"4,D,a@x.com")
    path.write_bytes(dup)
    report = cli("check", path, "--format", "github")
    assert "line=6" in report.stdout and "on line 2" in report.stdout


def test_blank_line_where_a_record_was_merged_away(cli, tmp_path: Path, scanner: str) -> None:
    data = b"id,name,email_from\r\n1,A,a@x.com\r\n2,B,a@x.com\r\n\r\n3,C,c@x.com\r\n\x1a"
    out = merged(cli, tmp_path, "b.csv", data)
    # the blank line went with the record before it; the end-of-file mark stays at the end
    assert out == b"id,name,email_from\r\n1,A,a@x.com\r\n3,C,c@x.com\r\n\x1a"


def test_json_lines_blank_lines_kept(cli, tmp_path: Path, scanner: str) -> None:
    data = (b'{"id": "1", "email_from": "a@x.com"}\n\n{"id": "2", "email_from": "b@x.com"}\r\n'
            b'{"id": "3",  "email_from": "a@x.com"}\n\n')
    out = merged(cli, tmp_path, "b.jsonl", data)
    assert out == b'{"id": "1", "email_from": "a@x.com"}\n\n{"id": "2", "email_from": "b@x.com"}\r\n\n'


def test_forced_delimiter_reads_with_it_and_writes_rows_as_read(cli, tmp_path: Path, scanner: str) -> None:
    data = b'id,name,email_from\r\n1,"Smith" Jr,a@x.com\r\n2,"",a@x.com\r\n'
    path = _write(tmp_path / "c.csv", data)
    records = lio.load([str(path)], delimiter=";")
    assert records.sources[0].headers == ["id,name,email_from"]
    assert merged(cli, tmp_path, "c.csv", data, "--delimiter", ";") == data


# ----------------------------------------------------------------------------- item 8
@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("given", [True, False])
def test_utf16_and_utf32_by_their_byte_order_mark(cli, tmp_path: Path, codec: str, given: bool) -> None:
    text = "id,name,email_from\r\n1,Zoé,a@x.com\r\n2,B,b@x.com\r\n3,C,a@x.com\r\n"
    mark = {"utf-16": "\ufeff", "utf-16-be": "\ufeff", "utf-32": "\ufeff"}[codec]
    data = (mark + text).encode(codec) if codec != "utf-16" and codec != "utf-32" else text.encode(codec)
    path = _write(tmp_path / "u.csv", data)
    option = ["--encoding", codec.split("-")[0] + "-" + codec.split("-")[1]] if given else []
    records = lio.load([str(path)], encoding=option[1] if option else None)
    assert records.sources[0].headers == ["id", "name", "email_from"]  # no U+FEFF in the first header
    assert records.frame.get_column(ID).to_list() == ["1", "2", "3"]
    assert records.sources[0].fmt.bom
    assert lio.load([str(path)], encoding=option[1] if option else None).data().rows()[0][1] == "Zoé"
    out = merged(cli, tmp_path, "u.csv", data, *option)
    assert out == (mark + "id,name,email_from\r\n1,Zoé,a@x.com\r\n2,B,b@x.com\r\n").encode(
        codec if codec != "utf-16" and codec != "utf-32" else codec + "-le")
    assert out.count("\ufeff".encode(codec + ("-le" if codec in ("utf-16", "utf-32") else ""))) == 1
    result = cli("undo", f"{tmp_path / 'out-u.csv'}.audit.jsonl", "--input", tmp_path / "out-u.csv",
                 "-o", tmp_path / "back.csv", "--quiet", *option)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "back.csv").read_bytes() == data


def test_utf16_without_a_mark_is_named_in_the_hint(cli, tmp_path: Path) -> None:
    path = _write(tmp_path / "n.csv", "id,name\r\n1,Zoé\r\n".encode("utf-16-le"))
    assert_one_line_error(cli("inspect", path), "n.csv", "UTF-16", "--encoding utf-16-le")
    records = lio.load([str(path)], encoding="utf-16-le")
    assert records.sources[0].headers == ["id", "name"] and not records.sources[0].fmt.bom


# ----------------------------------------------------------------------------- item 9
@pytest.mark.parametrize(("name", "text", "line"), [
    ("d.json", '[\n  {"id": "1", "name": "A",\n   "name": "B"}\n]\n', 3),
    ("d.jsonl", '{"id": "1"}\n{"id": "2", "name": "A", "name": "B"}\n', 2),
    ("n.json", '[{"id": "1", "x": {"a": 1, "a": 2}}]', 1),
])
def test_a_key_given_twice_is_refused(cli, tmp_path: Path, scanner: str, name: str, text: str, line: int) -> None:
    path = _write(tmp_path / name, text.encode())
    key = '"a"' if name == "n.json" else '"name"'
    assert_one_line_error(cli("inspect", path), name, f"line {line}", key, "twice")


def test_keys_that_look_alike_are_not_repeats(tmp_path: Path, scanner: str) -> None:
    text = '[{"a": "x:y", "b\\"": "\\\\", "c": {"a": 1}, "a:": [{"a": 2}]}]'
    records = lio.load([str(_write(tmp_path / "k.json", text.encode()))])
    assert records.sources[0].headers == ["a", 'b"', "c", "a:"]


def test_json_array_tags_are_united_as_a_json_array(cli, tmp_path: Path, scanner: str) -> None:
    objects = [{"id": "1", "tag_ids": ["a", "b"], "email_from": "a@x.com"},
               {"id": "2", "tag_ids": ["b", "c, d"], "email_from": "a@x.com"},
               {"id": "3", "tag_ids": [1, 2], "email_from": "c@x.com"},
               {"id": "4", "tag_ids": False, "email_from": "c@x.com"},
               {"id": "5", "tag_ids": [3, 1], "email_from": "c@x.com"},
               {"id": "6", "tag_ids": "x,y", "email_from": "d@x.com"},
               {"id": "7", "tag_ids": "y, z", "email_from": "d@x.com"}]
    data = json.dumps(objects, indent=2).encode() + b"\n"
    out = json.loads(merged(cli, tmp_path, "t.json", data))
    assert [o["tag_ids"] for o in out] == [["a", "b", "c, d"], [1, 2, 3], "x,y,z"]
    assert undone(cli, tmp_path, "t.json") == data


# ----------------------------------------------------------------------------- item 13
@pytest.mark.parametrize("verbose", [[], ["--verbose"]])
@pytest.mark.parametrize("name", ["deep.json", "deep.jsonl"])
def test_deeply_nested_json_is_a_one_line_error(cli, tmp_path: Path, verbose: list[str], name: str) -> None:
    deep = '{"id": "1", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    text = f"[\n{deep}\n]\n" if name.endswith(".json") else f'{{"id": "0"}}\n{deep}\n'
    path = _write(tmp_path / name, text.encode())
    assert_one_line_error(cli("inspect", path, *verbose), name, "line 2", "nested too deeply")


@pytest.mark.parametrize("name", ["s.json", "s.jsonl"])
@pytest.mark.parametrize("escape", ["\\ud800", "\\udc00", "\\ud800\\u0041"])
def test_a_lone_surrogate_is_a_one_line_error(cli, tmp_path: Path, scanner: str, name: str, escape: str) -> None:
    line = '{"id": "1", "name": "ok \\ud83d\\ude00"}\n{"id": "2", "name": "' + escape + '"}'
    text = f"[\n{line.replace(chr(10), ',' + chr(10))}\n]" if name.endswith(".json") else line
    path = _write(tmp_path / name, text.encode())
    assert_one_line_error(cli("merge", path, "-o", tmp_path / "o.json", "--yes"), name,
                          "line 3" if name.endswith(".json") else "line 2", escape[:6], "half of a UTF-16 pair")


def test_a_lone_surrogate_in_a_key(cli, tmp_path: Path) -> None:
    path = _write(tmp_path / "k.jsonl", b'{"id": "1", "\\udfff": "x"}\n')
    assert_one_line_error(cli("inspect", path), "k.jsonl", "line 1", "half of a UTF-16 pair")


# ----------------------------------------------------------------------------- item 21
@pytest.mark.parametrize("layout", ["per-line", "indent-2", "compact", "crlf-per-line"])
def test_json_array_layout_kept_and_undo_exact(cli, tmp_path: Path, scanner: str, layout: str) -> None:
    objects = [{"id": "1", "email_from": "a@x.com", "city": ""}, {"id": "2", "email_from": "b@x.com", "city": "Gent"},
               {"id": "3", "email_from": "a@x.com", "city": "Lille"}, {"id": "4", "email_from": "d@x.com", "city": ""}]
    if layout == "indent-2":
        text = json.dumps(objects, indent=2) + "\n"
    elif layout == "compact":
        text = json.dumps(objects)
    else:
        nl = "\r\n" if layout == "crlf-per-line" else "\n"
        text = "[" + nl + ("," + nl).join(json.dumps(o) for o in objects) + nl + "]" + nl
    data = text.encode()
    out = merged(cli, tmp_path, "a.json", data)
    head = dict(objects[0], city="Lille")
    expected = [head, objects[1], objects[3]]
    if layout == "indent-2":
        assert out.decode() == json.dumps(expected, indent=2) + "\n"
    elif layout == "compact":
        assert out.decode() == json.dumps(expected)
    else:
        assert out.decode() == "[" + nl + ("," + nl).join(json.dumps(o) for o in expected) + nl + "]" + nl
    assert undone(cli, tmp_path, "a.json") == data


def test_the_last_object_merged_away_leaves_valid_json(cli, tmp_path: Path, scanner: str) -> None:
    data = b'[\n{"id": "1", "email_from": "a@x.com"},\n{"id": "2", "email_from": "a@x.com"}\n]\n'
    assert merged(cli, tmp_path, "l.json", data) == b'[\n{"id": "1", "email_from": "a@x.com"}\n]\n'
    assert undone(cli, tmp_path, "l.json") == data


# ----------------------------------------------------------------------------- writing
def test_records_without_their_bytes_are_encoded(tmp_path: Path) -> None:
    path = _write(tmp_path / "w.csv", b'id,name\n1,"A"\n2,B\n')
    records = lio.load([str(path)])
    assert b"".join(lio.encode_chunks(records)) == path.read_bytes()
    # a DataFrame made elsewhere has no bytes to copy: every row encoded in the file's style
    assert b"".join(lio.encode_chunks(records.with_frame(records.frame.drop(LOADED)))) == b"id,name\n1,A\n2,B\n"
    # a value changed without anyone saying so is still caught by its hash
    touched = records.with_frame(records.frame.with_columns(pl.lit("Z").alias(records.columns[1])))
    assert b"".join(lio.encode_chunks(touched)) == b"id,name\n1,Z\n2,Z\n"
    assert HASH not in records.frame.columns  # the hashes as read live beside the bytes


def test_a_second_file_in_another_style_is_written_in_the_first_ones(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", b'id,name\r\n1,"A"\r\n')
    b = _write(tmp_path / "b.csv", b'id,name\n2,"B"\n')
    c = _write(tmp_path / "c.csv", b'id,name\r\n3,"C"\r\n')
    records = lio.load([str(a), str(b), str(c)])
    # a's and c's rows are copied (same style); b's line ending differs: encoded
    assert b"".join(lio.encode_chunks(records)) == b'id,name\r\n1,"A"\r\n2,B\r\n3,"C"\r\n'


def test_files_read_with_places_left_for_later_are_all_copied(tmp_path: Path, monkeypatch) -> None:
    """Large files without blank lines get their records' places only when a writer asks: the
    second file's too."""
    monkeypatch.setattr(spans, "NUMPY_FROM", 0)
    a = _write(tmp_path / "a.csv", b'id,name\r\n1,"A"\r\n')
    b = _write(tmp_path / "b.csv", b'id,name\r\n2,"B"\r\n3,x\r\n')
    records = lio.load([str(a), str(b)])
    assert all(s.spans.starts is None for s in records.sources)  # nothing found yet
    assert b"".join(lio.encode_chunks(records)) == b'id,name\r\n1,"A"\r\n2,"B"\r\n3,x\r\n'


def test_without_final_newline_a_merged_away_last_row(cli, tmp_path: Path, scanner: str) -> None:
    data = b"id,name,email_from\n1,A,a@x.com\n2,B,b@x.com\n3,C,a@x.com"
    assert merged(cli, tmp_path, "n.csv", data) == b"id,name,email_from\n1,A,a@x.com\n2,B,b@x.com"
    assert undone(cli, tmp_path, "n.csv") == data


def test_untouched_rows_copied_from_a_large_mapped_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("leadtool.io.decode._MAP_FROM", 1)
    monkeypatch.setattr("leadtool.io.writing._CHUNK", 64)
    monkeypatch.setattr("leadtool.io.writing._ROWS", 5)
    rows = [f'{i},"N {i}",{i % 7}@x.com,"a\r\nb"\n' if i % 3 else f"{i},N {i},{i % 7}@x.com,\n"
            for i in range(1, 60)]
    data = ("id,name,email_from,note\n" + "".join(rows)).encode()
    path = _write(tmp_path / "m.csv", data)
    records = lio.load([str(path)])
    assert records.sources[0].spans is not None and not isinstance(records.sources[0].spans.raw, bytes)
    out = tmp_path / "o.csv"
    lio.write(records, str(out))
    assert out.read_bytes() == data


# ----------------------------------------------------------------------------- properties
_VALUES = st.sampled_from(["", "a", "Smith Jr", "x,y", 'say "hi"', "two\nlines", "cr\r\nlf", "  pad ",
                           "00123", "12", "3.5", "Zoé", "NA", ";", "|"])


@st.composite
def exports(draw) -> tuple[bytes, list[list[str]]]:
    """A CSV export as odd tools write them: a quoting style (needless quotes, Python's
    QUOTE_NONNUMERIC, a value after a closing quote), LF/CRLF/CR or mixed line endings, blank
    lines, a trailing ^Z, with or without a final line ending. Returns its bytes and values."""
    ncols = draw(st.integers(2, 4))
    nrows = draw(st.integers(0, 7))
    header = ["id", "email_from", *[f"c{i}" for i in range(ncols - 2)]]
    rows = [[str(r + 1), draw(st.sampled_from(["a@x.com", "b@x.com", "", "c@x.com"])),
             *[draw(_VALUES) for _ in range(ncols - 2)]] for r in range(nrows)]
    style = draw(st.sampled_from(["minimal", "all", "needless", "nonnumeric", "after-quote"]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    if ending == "\r":  # a bare CR inside a value would be a line break to an exact reader
        rows = [[v.replace("\r\n", "\n") for v in row] for row in rows]

    def cell(value: str, header_cell: bool) -> str:
        special = any(c in value for c in ',"\r\n')
        quote = '"' + value.replace('"', '""') + '"'
        if style == "all" or special:
            return quote
        if style == "nonnumeric":
            return value if not header_cell and value.replace(".", "", 1).isdigit() else quote
        if style == "needless" and value and draw(st.booleans()):
            return quote
        if style == "after-quote" and len(value) > 1 and " " not in value and draw(st.booleans()):
            return f'"{value[:1]}"{value[1:]}'  # as "Smith" Jr: read as Smith Jr
        return value

    out = []
    for k, row in enumerate([header, *rows]):
        line_end = (draw(st.sampled_from(["\n", "\r\n"])) if ending == "mixed" else ending)
        if k > 0 and draw(st.integers(0, 4)) == 0:
            out.append(draw(st.sampled_from(["", "  ", "\t"])) + line_end)  # a blank line
        out.append(",".join(cell(v, k == 0) for v in row) + line_end)
    text = "".join(out)
    if not draw(st.booleans()):
        text = text.rstrip("\r\n")
    data = text.encode()
    if draw(st.integers(0, 3)) == 0:
        data += b"\x1a"
    return data, rows


_TMP = tempfile.mkdtemp(prefix="leadtool-fidelity-")


def _record_bytes(records) -> dict[str, bytes]:
    """Each record's own text (without its line ending), by id."""
    sp = records.sources[0].spans
    assert sp.ready()
    ends, starts = sp.ends.to_list(), sp.starts.to_list()
    return {rid: bytes(sp.raw[starts[i]:ends[i]]) for i, rid in enumerate(records.frame.get_column(ID).to_list())}


@pytest.mark.parametrize("numpy_from", [1 << 20, 0])
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(export=exports())
def test_exports_come_back_byte_for_byte(export, numpy_from: int) -> None:
    data, rows = export
    old = spans.NUMPY_FROM
    spans.NUMPY_FROM = numpy_from
    try:
        path = _write(Path(_TMP) / "e.csv", data)
        records = lio.load([str(path)], delimiter=",")
        assert records.data().rows() == [tuple(r) for r in rows]  # blank lines and ^Z are not records
        out = Path(_TMP) / "o.csv"
        lio.write(records, str(out))
        assert out.read_bytes() == data
        # a merge: every record that is not a changed head keeps its bytes exactly
        plan = plan_merge(records, find_groups(records))
        lio.write(records.with_frame(merge_query(records, plan)), str(out))
        result = lio.load([str(out)], delimiter=",")
        changed = set(plan.groups.filter(pl.col("group").is_in(plan.changes.get_column("group").implode()))
                      .get_column("head").to_list())
        before, after = _record_bytes(records), _record_bytes(result)
        away = {i for ids in plan.merged_groups.get_column("merged").to_list() for i in ids}
        assert set(after) == set(before) - away
        for rid, text in after.items():
            if rid not in changed:
                assert text == before[rid], rid
        expected = records.with_frame(merge_query(records, plan).collect())
        assert result.data().rows() == expected.data().rows()
    finally:
        spans.NUMPY_FROM = old


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(export=exports())
def test_both_scanners_find_the_same_records(export) -> None:
    data, _ = export
    path = _write(Path(_TMP) / "s.csv", data)
    found = []
    old = spans.NUMPY_FROM
    try:
        for numpy_from in (1 << 20, 0):
            spans.NUMPY_FROM = numpy_from
            records = lio.load([str(path)], delimiter=",")
            sp = records.sources[0].spans
            assert sp.ready()
            found.append((records.data().rows(), sp.starts.to_list(), sp.ends.to_list(), sp.head_end,
                          records.sources[0].skipped_lines, repr(records.sources[0].fmt)))
    finally:
        spans.NUMPY_FROM = old
    assert found[0] == found[1]


@st.composite
def json_exports(draw) -> tuple[bytes, str]:
    """A JSON array or JSON Lines file laid out by hand: odd spaces, separators and line endings
    between and inside objects, blank lines."""
    kind = draw(st.sampled_from(["json", "jsonl"]))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    objects = []
    for k in range(draw(st.integers(1, 6))):
        obj = {"id": str(k + 1), "email_from": draw(st.sampled_from(["a@x.com", "b@x.com", ""]))}
        if draw(st.booleans()):
            obj["tag_ids"] = draw(st.sampled_from([["a", "b"], ["b"], [1, 2], False, "x,y"]))
        if draw(st.booleans()):
            obj["city"] = draw(_VALUES)
        objects.append(obj)

    def text(obj: dict) -> str:
        item = draw(st.sampled_from([", ", ",", " , "]))
        key = draw(st.sampled_from([": ", ":", " : "]))
        pairs = [json.dumps(k) + key + json.dumps(v, separators=(item, key)) for k, v in obj.items()]
        return "{" + item.join(pairs) + "}"

    if kind == "jsonl":
        body = "".join(text(o) + nl + (nl if draw(st.integers(0, 3)) == 0 else "") for o in objects)
    else:
        seps = [draw(st.sampled_from([",", ", ", "," + nl, "," + nl + "  ", " ," + nl])) for _ in objects]
        body = ("[" + draw(st.sampled_from(["", nl, nl + "  "]))
                + "".join(text(o) + (seps[k] if k < len(objects) - 1 else "") for k, o in enumerate(objects))
                + draw(st.sampled_from(["", nl])) + "]" + draw(st.sampled_from(["", nl])))
    return body.encode(), kind


@pytest.mark.parametrize("numpy_from", [1 << 20, 0])
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(export=json_exports())
def test_json_exports_come_back_byte_for_byte(export, numpy_from: int) -> None:
    data, kind = export
    path = _write(Path(_TMP) / f"j.{kind}", data)
    old = spans.NUMPY_FROM
    spans.NUMPY_FROM = numpy_from
    try:
        _json_export_checked(path, kind, data)
    finally:
        spans.NUMPY_FROM = old


def _json_export_checked(path: Path, kind: str, data: bytes) -> None:
    records = lio.load([str(path)])
    out = Path(_TMP) / f"o.{kind}"
    lio.write(records, str(out))
    assert out.read_bytes() == data
    plan = plan_merge(records, find_groups(records))
    lio.write(records.with_frame(merge_query(records, plan)), str(out))
    result = lio.load([str(out)])  # still valid JSON
    changed = set(plan.groups.filter(pl.col("group").is_in(plan.changes.get_column("group").implode()))
                  .get_column("head").to_list())
    before, after = _record_bytes(records), _record_bytes(result)
    for rid, text in after.items():
        if rid not in changed:
            assert text == before[rid], rid
    expected = records.with_frame(merge_query(records, plan).collect())
    assert _filled(result) == _filled(expected)  # a key absent from every object left is absent


def _filled(records) -> list[dict[str, str]]:
    return [{records.headers[c]: v for c, v in zip(records.columns, row, strict=True) if v != ""}
            for row in records.data().rows()]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    os.utime(path)
    return path
