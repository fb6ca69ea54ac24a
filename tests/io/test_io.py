"""Reading and writing exports byte for byte (docs/formats.md#reading-files)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import polars as pl
import pytest
from conftest import SAMPLE_FILES, SAMPLES, assert_one_line_error
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import leadtool.io as lio
from leadtool.errors import InputError, UsageError
from leadtool.records import ID, LOADED, ROW, SRC


def roundtrip(path: Path | str) -> bytes:
    records = lio.load([str(path)])
    return b"".join(lio.encode_chunks(records))


def data_rows(records) -> list[tuple[str, ...]]:
    return records.frame.select(records.columns).rows()


# ----------------------------------------------------------------------------- samples
@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_sample_round_trip_is_byte_identical(name: str, tmp_path: Path) -> None:
    src = SAMPLES / name
    records = lio.load([str(src)])
    assert len(records) > 0
    out = tmp_path / f"out-{name}"
    lio.write(records, str(out))
    assert out.read_bytes() == src.read_bytes()


def test_samples_are_what_their_generator_makes(tmp_path: Path) -> None:
    # the committed files are exactly what samples/make_samples.py writes
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.HERE = tmp_path
    module.main()
    for name in SAMPLE_FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_sample_formats_are_recognised() -> None:
    fmt = lio.load([str(SAMPLES / "leads.csv")]).sources[0].fmt
    assert (fmt.kind, fmt.delimiter, fmt.quoting, fmt.newline, fmt.encoding, fmt.bom) == (
        "csv", ",", "all", "\r\n", "utf-8", False)
    fmt = lio.load([str(SAMPLES / "leads_cp1252.csv")]).sources[0].fmt
    assert (fmt.kind, fmt.delimiter, fmt.quoting, fmt.newline, fmt.encoding) == (
        "csv", ";", "minimal", "\r\n", "cp1252")
    fmt = lio.load([str(SAMPLES / "leads.json")]).sources[0].fmt
    assert (fmt.kind, fmt.json_indent) == ("json", 2)
    assert lio.load([str(SAMPLES / "leads.jsonl")]).sources[0].fmt.kind == "jsonl"


def test_multiline_values_keep_crlf() -> None:
    records = lio.load([str(SAMPLES / "leads.csv")])
    notes = records.frame.get_column(records.col("description")).to_list()
    assert "Called twice.\r\nWants a quote for 20 chairs." in notes
    assert "Met at the fair.\nFollow up in spring." in notes  # a bare \n stays bare


# ----------------------------------------------------------------------------- property
_CELLS = st.one_of(
    st.sampled_from(["", " ", "NA", "N/A", "null", "00123", '"', '""', ",", ";", "\t", "|",
                     "\n", "\r\n", "\r", "a,b", 'say "hi"', "x\r\ny", "  lead  ", "Müller"]),
    st.lists(st.sampled_from(list('ab ,;|"\t\n\r0é') + ["\r\n"]), max_size=6).map("".join),
    st.text(max_size=6),
)


@st.composite
def tables(draw) -> list[list[str]]:
    ncols = draw(st.integers(1, 6))
    nrows = draw(st.integers(0, 8))
    return [[draw(_CELLS) for _ in range(ncols)] for _ in range(nrows + 1)]


_TMP = tempfile.mkdtemp(prefix="leadtool-prop-")


def _roundtrip_bytes(data: bytes, name: str) -> bytes:
    path = os.path.join(_TMP, name)
    with open(path, "wb") as handle:
        handle.write(data)
    return roundtrip(path)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables(), st.sampled_from([csv.QUOTE_ALL, csv.QUOTE_MINIMAL]),
       st.sampled_from(["\r\n", "\n"]))
def test_csv_written_by_python_round_trips(table, quoting, newline) -> None:
    # Exclusion 1: Python's writer (3.11/3.12) quotes only the characters of its own line
    # terminator, so with "\n" it writes a cell holding "\r" unquoted. A bare \r outside
    # quotes is a line break for many readers (Python's own csv reader reads 'x\ry' as two
    # records), so such a file has no single meaning.
    assume(not (quoting == csv.QUOTE_MINIMAL and newline == "\n"
                and any("\r" in c for row in table for c in row)))
    buf = io.StringIO(newline="")
    csv.writer(buf, quoting=quoting, lineterminator=newline).writerows(table)
    data = buf.getvalue().encode("utf-8")
    # Exclusion 2: a file of nothing but white space (a header of one blank cell, unquoted)
    # is reported as an empty file rather than read as a one-column table.
    assume(data.strip(b" \t\r\n"))
    assert _roundtrip_bytes(data, "t.csv") == data


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables(), st.sampled_from([csv.QUOTE_ALL, csv.QUOTE_MINIMAL]))
def test_csv_values_are_read_exactly(table, quoting) -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf, quoting=quoting, lineterminator="\r\n").writerows(table)
    data = buf.getvalue().encode("utf-8")
    assume(data.strip(b" \t\r\n"))  # see exclusion 2 above
    path = os.path.join(_TMP, "v.csv")
    Path(path).write_bytes(data)
    # the delimiter is given: a table like [[";"]] alone is as much a `;` file with two blank
    # headers as a `,` file with one; sniffing is tested on its own below
    records = lio.load([path], delimiter=",")
    assert records.sources[0].headers == table[0]
    assert [list(r) for r in data_rows(records)] == table[1:]


_KEYS = st.lists(st.text(max_size=5), min_size=0, max_size=5, unique=True)


@st.composite
def json_objects(draw) -> list[dict[str, str]]:
    keys = draw(_KEYS)
    n = draw(st.integers(0, 6))
    objects = []
    for _ in range(n):
        # each object holds some of the keys, in the same relative order
        present = [k for k in keys if draw(st.booleans())]
        objects.append({k: draw(_CELLS) for k in present})
    return objects


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(json_objects(), st.sampled_from([None, 2, 4]), st.booleans(), st.booleans())
def test_json_written_by_python_round_trips(objects, indent, ascii_, final_newline) -> None:
    data = (json.dumps(objects, indent=indent, ensure_ascii=ascii_)
            + ("\n" if final_newline else "")).encode("utf-8")
    assert _roundtrip_bytes(data, "t.json") == data


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(json_objects().filter(bool), st.booleans())
def test_json_lines_round_trip(objects, ascii_) -> None:
    data = "".join(json.dumps(o, ensure_ascii=ascii_) + "\n" for o in objects).encode("utf-8")
    assert _roundtrip_bytes(data, "t.jsonl") == data


_JSON_VALUES = st.one_of(_CELLS, st.integers(-10**20, 10**20), st.floats(allow_nan=False, allow_infinity=False),
                         st.booleans(), st.none(), st.lists(st.one_of(st.integers(), _CELLS), max_size=3),
                         st.dictionaries(st.text(max_size=3), st.booleans(), max_size=2))


@st.composite
def json_mixed_objects(draw) -> list[dict]:
    keys = draw(_KEYS)
    return [{k: draw(_JSON_VALUES) for k in keys if draw(st.booleans())} for _ in range(draw(st.integers(0, 5)))]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(json_mixed_objects(), st.sampled_from([(None, None), (None, (",", ":")), (2, None), (4, None)]),
       st.booleans(), st.booleans())
def test_json_numbers_constants_and_nested_values_round_trip(objects, layout, lines, ascii_) -> None:
    """Numbers, true/false/null, nested arrays and objects and absent keys come back as written."""
    indent, separators = layout
    if lines:
        assume(objects)
        data = "".join(json.dumps(o, ensure_ascii=ascii_, separators=separators) + "\n" for o in objects)
        assert _roundtrip_bytes(data.encode("utf-8"), "t.jsonl") == data.encode("utf-8")
    else:
        data = json.dumps(objects, indent=indent, ensure_ascii=ascii_, separators=separators) + "\n"
        assert _roundtrip_bytes(data.encode("utf-8"), "t.json") == data.encode("utf-8")


# ----------------------------------------------------------------------------- values as text
def test_csv_values_are_text_exactly_as_written(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_bytes(b'id,zip,a,b,c,d\r\n00123,01000,NA,null,N/A,\r\n"007","","NA ",Null,n/a," "\r\n')
    records = lio.load([str(path)])
    assert data_rows(records) == [("00123", "01000", "NA", "null", "N/A", ""),
                                  ("007", "", "NA ", "Null", "n/a", " ")]
    assert records.frame.get_column(ID).to_list() == ["00123", "007"]
    # rows no rule changes come back as they were read, needless quotes included
    assert roundtrip(path) == path.read_bytes()
    # a changed row is written in the file's style (here: quoted where needed)
    changed = records.with_frame(records.frame.with_columns(
        pl.when(pl.col(ID) == "007").then(pl.lit("x,y")).otherwise(pl.col("d")).alias("d")))
    assert b"".join(lio.encode_chunks(changed)) == (b'id,zip,a,b,c,d\r\n00123,01000,NA,null,N/A,\r\n'
                                                    b'007,,NA ,Null,n/a,"x,y"\r\n')


def test_json_literals_kept_as_json_text(tmp_path: Path) -> None:
    text = ('[{"id": 7, "p": 2.50, "big": 1e5, "ok": true, "no": false, "none": null, '
            '"s": "00123", "n": "12"}]\n')
    path = tmp_path / "v.json"
    path.write_text(text, encoding="utf-8")
    records = lio.load([str(path)])
    assert data_rows(records) == [("7", "2.50", "1e5", "true", "false", "null", "00123", "12")]
    assert roundtrip(path).decode() == text  # numbers stay numbers, strings stay strings


def test_json_missing_key_stays_missing(tmp_path: Path) -> None:
    text = '[{"a": "1", "b": "2"}, {"b": ""}, {"a": "", "b": "3"}]'
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    records = lio.load([str(path)])
    assert data_rows(records) == [("1", "2"), ("", ""), ("", "3")]
    assert roundtrip(path).decode() == text


def test_bom_kept(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbfname;email_from\r\nA;a@x.com\r\n"
    path = tmp_path / "bom.csv"
    path.write_bytes(data)
    records = lio.load([str(path)])
    assert records.sources[0].fmt.bom
    assert records.sources[0].headers == ["name", "email_from"]
    assert records.col("email_from") is not None
    assert roundtrip(path) == data


def test_tab_and_pipe_sniffed(tmp_path: Path) -> None:
    for delim in ("\t", "|"):
        path = tmp_path / "d.txt"
        data = f"name{delim}city\nA, B{delim}Gent\n".encode()
        path.write_bytes(data)
        records = lio.load([str(path)])
        assert records.sources[0].fmt.delimiter == delim
        assert data_rows(records) == [("A, B", "Gent")]
        assert roundtrip(path) == data


def test_semicolon_file_with_commas_in_values(tmp_path: Path) -> None:
    # the header alone has as many ',' as ';', the rows decide
    path = tmp_path / "s.csv"
    data = b"name,title;tags\nA;a,b\nB;c\n"
    path.write_bytes(data)
    records = lio.load([str(path)])
    assert records.sources[0].fmt.delimiter == ";"
    assert data_rows(records) == [("A", "a,b"), ("B", "c")]
    assert records.sources[0].headers == ["name,title", "tags"]


@pytest.mark.parametrize("data", [b'"""",;;\r\n', b';;,""""\r\n'])
def test_delimiter_without_stray_quotes_preferred(tmp_path: Path, data: bytes) -> None:
    # found by hypothesis: with ';' these lines would leave a quote inside an unquoted cell
    # or text after a closing quote; with ',' they are clean RFC 4180
    path = tmp_path / "q.csv"
    path.write_bytes(data)
    assert lio.load([str(path)]).sources[0].fmt.delimiter == ","
    assert roundtrip(path) == data


def test_quoted_semicolon_file_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(b'a;b,c\n"x";1,2\n')
    records = lio.load([str(path)])
    assert records.sources[0].fmt.delimiter == ";"
    assert data_rows(records) == [("x", "1,2")]


def test_header_without_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b"a,b")
    records = lio.load([str(path)])
    assert records.sources[0].headers == ["a", "b"] and len(records) == 0
    assert roundtrip(path) == b"a,b"


def test_headers_polars_would_not_take_literally(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    data = b"*,^a.*$,__lt_src,name\n1,2,3,4\n"
    path.write_bytes(data)
    records = lio.load([str(path)])
    assert data_rows(records) == [("1", "2", "3", "4")]
    assert records.frame.get_column(SRC).to_list() == [0]
    assert roundtrip(path) == data


def test_duplicate_and_blank_headers_kept(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    data = b"name,,name,email_from\r\nA,1,B,a@x.com\r\n"
    path.write_bytes(data)
    records = lio.load([str(path)])
    assert records.sources[0].headers == ["name", "", "name", "email_from"]
    assert len(records.columns) == 4
    assert data_rows(records) == [("A", "1", "B", "a@x.com")]
    assert roundtrip(path) == data


# ----------------------------------------------------------------------------- bad input (CLI)
def test_missing_file(cli, tmp_path: Path) -> None:
    assert_one_line_error(cli("inspect", tmp_path / "nope.csv"), "nope.csv", "no such file")


def test_unterminated_quote_names_the_opening_line(cli, tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(b'a,b\r\n"x\r\ny",1\r\n2,3\r\n"z,4\r\n5,6\r\n')
    line = assert_one_line_error(cli("inspect", path), "q.csv", "line 5")
    assert "unterminated" in line


def test_unterminated_quote_in_large_file(cli, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    body = b"".join(b'%d,"v%d"\n' % (i, i) for i in range(20000))
    path.write_bytes(b"a,b\n" + body + b'20000,"open\n20001,x\n')
    assert_one_line_error(cli("inspect", path), "big.csv", "line 20002", "unterminated")


@pytest.mark.parametrize("text", ['{"a": 1}', "[1, 2]", '"x"', '[{"a": 1}, 3]', "{}"])
def test_json_not_an_array_of_objects(cli, tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    assert_one_line_error(cli("inspect", path), "x.json", "array of objects")


def test_invalid_json(cli, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[\n{"a": 1},\n{"a": }\n]')
    assert_one_line_error(cli("inspect", path), "x.json", "line 3", "invalid JSON")


@pytest.mark.parametrize("bad", [b"\xff\xfe\xfa", b"\x80\x81", b"\xc3\x28\xa0\xa1"])
def test_invalid_utf8_without_encoding(cli, tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"name,city\r\nok,ok\r\n" + bad + b",x\r\n")
    assert_one_line_error(cli("inspect", path), "u.csv", "line 3", "UTF-8", "--encoding")


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"\xef\xbb\xbf"])
def test_empty_file(cli, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(data)
    assert_one_line_error(cli("inspect", path), "e.csv", "empty")


def test_header_only_is_valid(cli, tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b'"id","name","email_from"\r\n')
    result = cli("inspect", path, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["rows"] == 0
    assert roundtrip(path) == path.read_bytes()


def test_row_with_more_cells_than_header(cli, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(b"a,b\r\n1,2\r\n\"x\r\ny\",2\r\n1,2,3\r\n")
    assert_one_line_error(cli("inspect", path), "m.csv", "line 5", "3 cells")


def test_row_with_fewer_cells_is_padded(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b,c\n1,2\n")
    assert data_rows(lio.load([str(path)])) == [("1", "2", "")]


def test_cp1252_detected(cli, tmp_path: Path) -> None:
    path = tmp_path / "cp.csv"
    data = "name;city;note\r\nMüller;Köln;café – “good”\r\nSéverine;Liège;\r\n".encode("cp1252")
    path.write_bytes(data)
    result = cli("inspect", path, "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)[0]
    assert summary["encoding"] == "cp1252" and summary["rows"] == 2
    records = lio.load([str(path)])
    assert data_rows(records)[0] == ("Müller", "Köln", "café – “good”")
    out = tmp_path / "out.csv"
    lio.write(records, str(out))
    assert out.read_bytes() == data


def test_encoding_judged_on_the_whole_file(cli, tmp_path: Path) -> None:
    # the first 64 KB are plain ASCII: the accents (or the broken byte) come much later
    rows = ["id;name;city"] + [f"{i};Name {i};Gent" for i in range(20000)]
    tail = ["20000;Müller;Köln", "20001;Séverine;café"]
    data = ("\r\n".join(rows + tail) + "\r\n").encode("cp1252")
    path = tmp_path / "late.csv"
    path.write_bytes(data)
    records = lio.load([str(path)])
    assert records.sources[0].fmt.encoding == "cp1252"
    assert data_rows(records)[-2:] == [("20000", "Müller", "Köln"), ("20001", "Séverine", "café")]
    out = tmp_path / "out.csv"
    lio.write(records, str(out))
    assert out.read_bytes() == data
    bad = tmp_path / "bad.csv"
    bad.write_bytes(data.replace("Müller".encode("cp1252"), b"M\xc3\x28ller"))
    assert_one_line_error(cli("inspect", bad), "bad.csv", "line 20002", "UTF-8")


def test_encoding_option(cli, tmp_path: Path) -> None:
    path = tmp_path / "l1.csv"
    path.write_bytes("name,city\nMüller,café\n".encode("latin-1"))
    result = cli("inspect", path, "--encoding", "latin-1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["encoding"] == "latin-1"
    records = lio.load([str(path)], encoding="latin-1")
    assert data_rows(records) == [("Müller", "café")]
    # an explicit UTF-8 on a latin-1 file is an error, not a guess
    assert_one_line_error(cli("inspect", path, "--encoding", "utf-8"), "l1.csv", "UTF-8")
    assert_one_line_error(cli("inspect", path, "--encoding", "klingon"), "klingon")


def test_stdin(cli) -> None:
    data = b'"id","name","email_from"\r\n"1","A","a@x.com"\r\n"2","B","A@X.COM"\r\n'
    result = cli("inspect", "-", "--format", "json", input=data)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)[0]
    assert summary["file"] == "-" and summary["rows"] == 2
    assert summary["duplicate_groups"] == 1


# ----------------------------------------------------------------------------- atomic writing
def _records(tmp_path: Path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"a,b\r\n1,2\r\n3,4\r\n")
    return lio.load([str(src)])


def _fail_in_encode_chunks(monkeypatch) -> None:
    def failing(records, fmt=None):
        yield b"a,b\r\n"
        raise OSError("disk full")

    monkeypatch.setattr("leadtool.io.writing.encode_chunks", failing)


def _fail_in_polars_writer(monkeypatch) -> None:
    def failing(self, file, *args, **kwargs):
        file.write(b"1,2\r\n")
        raise OSError("disk full")

    monkeypatch.setattr(pl.LazyFrame, "sink_csv", failing)


@pytest.mark.parametrize("kind", ["csv", "csv-encoded", "json", "cp1252"])
def test_write_failure_leaves_nothing(tmp_path: Path, monkeypatch, kind: str) -> None:
    src = tmp_path / f"in.{'json' if kind == 'json' else 'csv'}"
    if kind == "json":
        src.write_text('[{"a": "1"}, {"a": "2"}]')
    else:
        src.write_bytes("a,b\r\nMüller,2\r\n3,4\r\n".encode("cp1252" if kind == "cp1252"
                                                                  else "utf-8"))
    records = lio.load([str(src)])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    # a failure after some bytes were written: in polars' writer (UTF-8 CSV with no record to
    # copy goes straight to the file) or in the chunk writer (copied records, JSON, other
    # encodings)
    if kind == "csv-encoded":
        records = records.with_frame(records.frame.drop(LOADED))
        _fail_in_polars_writer(monkeypatch)
    else:
        _fail_in_encode_chunks(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        lio.write(records, str(out_dir / "new.csv"))
    assert list(out_dir.iterdir()) == []  # no partial file, no temp file

    existing = out_dir / "old.csv"
    existing.write_bytes(b"precious\n")
    with pytest.raises(OSError):
        lio.write(records, str(existing))
    assert existing.read_bytes() == b"precious\n"
    assert [p.name for p in out_dir.iterdir()] == ["old.csv"]


def test_csv_without_final_newline_written_back(tmp_path: Path) -> None:
    for data in (b"a,b\r\n1,2\r\n3,4", b'"a","b"\n"1","2"', b"a\n"):
        path = tmp_path / "n.csv"
        path.write_bytes(data)
        out = tmp_path / "o.csv"
        lio.write(lio.load([str(path)]), str(out))
        assert out.read_bytes() == data


def test_write_to_stdout(tmp_path: Path, capfdbinary) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(b"\xef\xbb\xbfa;b\r\n1;2")
    lio.write(lio.load([str(path)]), "-")
    assert capfdbinary.readouterr().out == b"\xef\xbb\xbfa;b\r\n1;2"


def test_write_replaces_existing_output(tmp_path: Path) -> None:
    records = _records(tmp_path)
    out = tmp_path / "o.csv"
    out.write_bytes(b"old")
    lio.write(records, str(out))
    assert out.read_bytes() == b"a,b\r\n1,2\r\n3,4\r\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "o.csv"]


def test_write_to_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        lio.write(_records(tmp_path), str(tmp_path / "nope" / "o.csv"))


def test_unencodable_character_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cp.csv"
    path.write_bytes("name\nMüller\n".encode("cp1252"))
    records = lio.load([str(path)])
    col = records.columns[0]
    records = records.with_frame(records.frame.with_columns(pl.lit("日本").alias(col)))
    out = tmp_path / "o.csv"
    with pytest.raises(InputError, match="cp1252"):
        lio.write(records, str(out))
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cp.csv"]


# ----------------------------------------------------------------------------- overwrite
def test_refuse_overwrite(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"a\n1\n")
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(src)
    monkeypatch.chdir(tmp_path)
    for out in ["in.csv", str(src), "sub/../in.csv", "./in.csv", str(link)]:
        with pytest.raises(UsageError, match="overwrite an input"):
            lio.refuse_overwrite([out], ["in.csv"])
    with pytest.raises(UsageError):
        lio.refuse_overwrite([None, "out.csv", "link.csv"], [str(src)])
    lio.refuse_overwrite(["out.csv", "-", None], ["in.csv", "-"])  # allowed
    assert src.read_bytes() == b"a\n1\n"


# ----------------------------------------------------------------------------- several files
def test_several_files(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_bytes(b"name,Email\nAnn,ann@x.com\nBob,bob@x.com\n")
    b.write_bytes(b"email_from;city;x_note\ncy@x.com;Gent;00123\n")
    records = lio.load([str(a), str(b)])
    assert [records.headers[c] for c in records.columns] == ["name", "Email", "city", "x_note"]
    assert records.col("email_from") == records.columns[1]
    assert data_rows(records) == [("Ann", "ann@x.com", "", ""), ("Bob", "bob@x.com", "", ""),
                                  ("", "cy@x.com", "Gent", "00123")]
    assert records.frame.get_column(ID).to_list() == ["a.csv:1", "a.csv:2", "b.csv:1"]
    assert records.frame.get_column(SRC).to_list() == [0, 0, 1]
    assert records.frame.get_column(ROW).to_list() == [1, 2, 1]
    assert [s.name for s in records.sources] == ["a.csv", "b.csv"]
    # written in the first file's format, with the union of columns
    assert b"".join(lio.encode_chunks(records)) == (
        b"name,Email,city,x_note\nAnn,ann@x.com,,\nBob,bob@x.com,,\n,cy@x.com,Gent,00123\n")


def test_ids_one_file(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_bytes(b"id,name\n7,A\n,B\n__export__.crm_lead_9,C\n")
    records = lio.load([str(a)])
    assert records.frame.get_column(ID).to_list() == ["7", "2", "__export__.crm_lead_9"]
    b = tmp_path / "b.csv"
    b.write_bytes(b"name\nA\nB\n")
    assert lio.load([str(b)]).frame.get_column(ID).to_list() == ["1", "2"]


def test_stdin_only_once() -> None:
    with pytest.raises(UsageError):
        lio.load(["-", "-"])
    with pytest.raises(UsageError):
        lio.load([])


def test_outputs_are_ordinary_files(tmp_path: Path) -> None:
    """mkstemp makes 0600 files: a written output gets the usual mode, or the replaced file's."""
    from leadtool.io import load, write
    from leadtool.io.files import _UMASK

    src = tmp_path / "in.csv"
    src.write_text("id,email_from\n1,a@x.com\n")
    out = tmp_path / "out.csv"
    write(load([str(src)]), str(out))
    assert out.stat().st_mode & 0o777 == 0o666 & ~_UMASK
    out.chmod(0o640)
    write(load([str(src)]), str(out))
    assert out.stat().st_mode & 0o777 == 0o640


# ----------------------------------------------------------------------------- mapped files
_CASES = {
    "crlf-quoted": b'"id","name"\r\n"1","a\r\nb"\r\n"2",""\r\n',
    "bom": b"\xef\xbb\xbfid,name\n1,x\n",
    "no-final-newline": b"id;name\n1;x",
    "cp1252-late": ("id;name\r\n" + "".join(f"{i};n{i}\r\n" for i in range(9000)) + "9;Müller\r\n").encode("cp1252"),
    "broken-utf8-late": b"id,name\n" + b"".join(b"%d,n\n" % i for i in range(9000)) + b"9,M\xc3\x28ller\n",
    "odd-quotes": b'id,name\n1,5" screen\n2,x\n',
    "unterminated": b'id,name\n1,"open\n2,x\n',
    "ragged": b"id,name\n1,x,y\n",
    "blank": b"\r\n\r\n",
    "json": b'[{"id": 1, "name": "x"}]',
}


def _outcome(path: Path):
    try:
        records = lio.load([str(path)])
    except (InputError, UsageError) as exc:
        return str(exc)
    return records.frame.rows(), records.columns, repr(records.sources[0].fmt)


@pytest.mark.parametrize("name", list(_CASES))
def test_mapped_file_reads_as_a_copied_one(tmp_path: Path, monkeypatch, name: str) -> None:
    # large files are mapped (and polars reads them by path): everything must come out the same
    path = tmp_path / (name + (".json" if name == "json" else ".csv"))
    path.write_bytes(_CASES[name])
    copied = _outcome(path)
    monkeypatch.setattr("leadtool.io.decode._MAP_FROM", 1)
    mapped = _outcome(path)
    assert mapped == copied


def test_json_with_escapes_and_a_raw_del_is_not_an_ascii_file() -> None:
    # json.dumps(ensure_ascii=True) would have escaped the DEL: this file was not written so
    data = json.dumps([{"\x1f\x7f": "\x7f"}], ensure_ascii=False).encode("utf-8")
    assert _roundtrip_bytes(data, "t.json") == data


@pytest.mark.parametrize("map_from", [1, 1 << 30])  # mapped, and read whole
def test_an_error_while_reading_is_not_masked(tmp_path: Path, monkeypatch, map_from: int) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"id,name\n1,x\n")
    monkeypatch.setattr("leadtool.io.decode._MAP_FROM", map_from)

    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr("leadtool.io.reading._parse", broken)
    with pytest.raises(ValueError, match="boom"):
        lio.load([str(path)])


@pytest.mark.parametrize(("text", "line", "needle"), [
    ('{"a": 1}\n{"a": 2}, {"a": 3}\n', 2, "invalid JSON"),  # a valid array item, not a JSON line
    ('{"a": 1}\n\n[{"a": 2}]\n', 3, "must be an object"),
    ('{"a": 1}\r\n{"a": \r\n', 2, "invalid JSON"),
])
def test_json_lines_errors_name_the_line(cli, tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(text.encode("utf-8"))
    assert_one_line_error(cli("inspect", path), "x.jsonl", f"line {line}", needle)


def test_json_lines_read_at_once_keep_blank_lines_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    data = b'{"id": "1", "n": 1.50}\r\n\r\n{"id": "2", "n": null}\r\n'
    path.write_bytes(data)
    records = lio.load([str(path)])
    assert data_rows(records) == [("1", "1.50"), ("2", "null")]


def test_stray_quotes_are_read_leniently_and_written_back_as_read(tmp_path: Path) -> None:
    # not RFC 4180: a quote inside an unquoted value, a value after a closing quote. Read as
    # Excel reads them; rows no rule changes are written back as they were; a changed one in
    # standard quoting
    path = tmp_path / "stray.csv"
    path.write_bytes(b'id,name\n1,5" screen\n2,"x"y\n3,plain\n')
    records = lio.load([str(path)])
    assert data_rows(records) == [("1", '5" screen'), ("2", "xy"), ("3", "plain")]
    assert roundtrip(path) == path.read_bytes()
    name = records.columns[1]
    changed = records.with_frame(records.frame.with_columns(
        pl.when(pl.col(ID) == "1").then(pl.lit('6" screen')).otherwise(pl.col(name)).alias(name)))
    assert b"".join(lio.encode_chunks(changed)) == b'id,name\n1,"6"" screen"\n2,"x"y\n3,plain\n'


def test_a_polars_panic_falls_back_to_the_exact_reader(tmp_path: Path, monkeypatch) -> None:
    """A Rust panic inside polars is a BaseException (pyo3's PanicException), not an
    Exception: the reader must still fall back to Python's csv and give the same values."""
    import polars as pl

    import leadtool.io as lio

    path = tmp_path / "leads.csv"
    path.write_bytes(b'id,name,notes\n1,"Ann","two\nlines"\n2,Bob,00123\n')
    expected = lio.load([str(path)]).frame.drop(ID).rows()

    def panic(*args, **kwargs):
        raise pl.exceptions.PanicException("boom")

    monkeypatch.setattr(pl, "read_csv", panic)
    assert lio.load([str(path)]).frame.drop(ID).rows() == expected
