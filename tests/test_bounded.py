"""The bounded-memory merge (leadtool.bounded) against the in-memory one: the same output and
audit log, byte for byte, with chunks and partitions small enough that every run has many of
both; its temporary folder removed on success, error and interruption."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadtool.bounded as bounded
import leadtool.runs as runs
from leadtool.bounded import NotBounded, Sizes, merge_files, needs_bounded, parse_size
from leadtool.bounded.narrow import GroupOptions
from leadtool.errors import UsageError
from leadtool.io import load
from leadtool.match.groups import find_groups
from leadtool.merge import plan_merge
from leadtool.runs import write_merge

ROOT = Path(__file__).resolve().parents[1]
AT = "2024-05-06T07:08:09Z"


def _generator():
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(runs, "now_utc", lambda: AT)
    monkeypatch.setattr(bounded, "now_utc", lambda: AT)


def _export(folder: Path, rows: int, seed: int, quote_all: bool = False) -> Path:
    """A generated export (tags, multi-line notes with CR LF inside, HTML notes, closed records,
    imported old records, ties) made harder: a large group, closed records in a group, blank
    ids, tricky cells and shared customers and phones."""
    path = folder / f"gen_{rows}_{seed}.csv"
    _generator().generate(rows, str(path), seed=seed, quote_all=quote_all, quiet=True)
    if quote_all:
        return path
    frame = pl.read_csv(path, infer_schema=False).fill_null("")
    cols = {c: frame.get_column(c).to_list() for c in frame.columns}
    for k in range(12):
        cols["email_from"][rows // 2 + k] = "Big Group <BIG@example.com>"
    for k, row in enumerate(range(rows // 3, rows // 3 + 6)):
        cols["email_from"][row] = "closed.mix@example.org"
        cols["active"][row] = "False" if k % 3 == 1 else cols["active"][row]
        cols["probability"][row] = "100,0" if k % 3 == 2 else cols["probability"][row]
    for k, row in enumerate(range(rows // 4, rows // 4 + 10)):
        cols["email_from"][row] = f' "Tricky, T" <Tricky@Example.COM>{" " * k}'
        cols["description"][row] = ["  spaced  ", 'say "hi"', "a\r\nb", "a\r\nb\r\n", "00123", "NA", "",
                                    "<p>x</p>", "Zoë\n", "  "][k]
        cols["tag_ids"][row] = ["vip, hot", "hot,new", "", "Äpfel", "vip"][k % 5]
    for k in range(0, 8, 2):
        cols["partner_id"][10 + k] = cols["partner_id"][40 + k] = f"Chain Co {k}"
        cols["mobile"][40 + k] = cols["mobile"][70 + k] = f"+32 2 555 {k:02d} 01"
    cols["id"][rows // 4 + 5] = ""
    out = folder / f"edited_{rows}_{seed}.csv"
    pl.DataFrame(cols, schema=dict.fromkeys(frame.columns, pl.String)).write_csv(
        out, quote_style="necessary", line_terminator="\r\n" if seed % 2 else "\n")
    return out


def _in_memory(paths, output, *, by=("email",), include_closed=False, max_group=50, head="oldest",
               allow_large=False, allow_conflicts=False):
    records = load([str(p) for p in paths])
    groups = find_groups(records, by=by, include_closed=include_closed, max_group=max_group)
    plan = plan_merge(records, groups, head=head, allow_large=allow_large, allow_conflicts=allow_conflicts)
    write_merge(records, plan, str(output), str(output) + ".audit.jsonl")
    return plan.summary()


def _bounded(paths, output, *, by=("email",), include_closed=False, max_group=50, head="oldest",
             allow_large=False, allow_conflicts=False, chunk_bytes=16384, partition_rows=40):
    return merge_files([str(p) for p in paths], str(output), memory_limit="64M", head=head,
                       allow_large=allow_large, allow_conflicts=allow_conflicts,
                       group_options=GroupOptions(by=by, include_closed=include_closed, max_group=max_group),
                       sizes=Sizes(chunk_bytes=chunk_bytes, partition_rows=partition_rows))


def _same(tmp_path, paths, **options):
    ref, out = tmp_path / "ref.csv", tmp_path / "out.csv"
    expected = _in_memory(paths, ref, **options)
    got = _bounded(paths, out, **options)
    assert out.read_bytes() == ref.read_bytes()
    assert (tmp_path / "out.csv.audit.jsonl").read_bytes().replace(b"out.csv", b"ref.csv") == \
        (tmp_path / "ref.csv.audit.jsonl").read_bytes()
    assert {k: got[k] for k in expected} == expected
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".leadtool-merge")]
    return got


@pytest.mark.parametrize("seed", [1, 2])
def test_many_partitions_give_the_in_memory_bytes(tmp_path, seed):
    path = _export(tmp_path, 1500, seed)
    got = _same(tmp_path, [path], max_group=10)
    assert got["groups"] > 20  # many partitions of 40 records, many chunks of 16 KB
    assert got["skipped_large_groups"] >= 1


def test_every_key_closed_records_and_odoo_heads(tmp_path):
    path = _export(tmp_path, 1200, 3)
    _same(tmp_path, [path], by=("email", "customer", "phone"), include_closed=True, head="odoo",
          max_group=10, allow_large=True, allow_conflicts=True)


def test_quoted_file_and_several_files(tmp_path):
    one = _export(tmp_path, 500, 4, quote_all=True)
    two = _export(tmp_path, 400, 5)
    frame = pl.read_csv(two, infer_schema=False)
    three = tmp_path / "reordered.csv"
    frame.select(list(reversed([c for c in frame.columns if c != "x_source"]))).write_csv(three)
    _same(tmp_path, [one, two])
    _same(tmp_path, [two, three])


def test_one_partition_and_one_chunk(tmp_path):
    path = _export(tmp_path, 900, 6)
    ref, out = tmp_path / "ref.csv", tmp_path / "out.csv"
    _in_memory([path], ref)
    _bounded([path], out, chunk_bytes=1 << 30, partition_rows=1 << 30)
    assert out.read_bytes() == ref.read_bytes()


def test_no_final_newline_and_last_record_merged_away(tmp_path):
    path = tmp_path / "small.csv"
    path.write_bytes(b"id,email_from,description\r\n1,a@x.org,one\r\n2,b@x.org,\r\n3,a@x.org,\"x\r\ny\"\r\n"
                     b"4,c@x.org,four\r\n5,b@x.org,five")
    ref, out = tmp_path / "ref.csv", tmp_path / "out.csv"
    _in_memory([path], ref)
    _bounded([path], out, chunk_bytes=16, partition_rows=2)
    assert out.read_bytes() == ref.read_bytes()
    assert not out.read_bytes().endswith(b"\r\n")


def test_the_temporary_folder_goes_on_error_and_interrupt(tmp_path, monkeypatch):
    path = _export(tmp_path, 600, 7)
    import leadtool.bounded.stream as stream

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(stream, "write_output", broken)
    monkeypatch.setattr(bounded, "write_output", broken)
    with pytest.raises(RuntimeError):
        _bounded([path], tmp_path / "out.csv")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bounded, "write_output", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _bounded([path], tmp_path / "out.csv")
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]
    assert not (tmp_path / "out.csv").exists()


def test_a_late_audit_move_does_not_bring_back_a_removed_staging_file(tmp_path):
    """The audit log is moved onto its staging file in a second thread: when the output's writer
    fails first, the run removes its staging files, and the move must not make one again (it
    left `.out.csv.audit.jsonl.*.staging` behind now and then)."""
    from leadtool.io.files import OutputError, discard, move_onto_temp, new_temp

    events = tmp_path / "events"
    events.write_text("x", encoding="utf-8")
    staging = new_temp(str(tmp_path), str(tmp_path / "out.csv.audit.jsonl"), ".staging", staging=True)
    discard(staging)
    with pytest.raises(OutputError):
        move_onto_temp(str(events), staging)
    assert not os.path.exists(staging) and events.exists()
    staging = new_temp(str(tmp_path), str(tmp_path / "out.csv.audit.jsonl"), ".staging", staging=True)
    move_onto_temp(str(events), staging)
    assert Path(staging).read_text(encoding="utf-8") == "x"
    discard(staging)


def test_inputs_it_does_not_read(tmp_path):
    json_file = tmp_path / "leads.json"
    json_file.write_text('[{"id": "1", "email_from": "a@x.org"}]')
    with pytest.raises(NotBounded):
        merge_files([str(json_file)], str(tmp_path / "out.json"))
    odd = tmp_path / "odd.csv"
    odd.write_bytes(b'id,email_from\n1,a"b@x.org\n')
    with pytest.raises(NotBounded):
        merge_files([str(odd)], str(tmp_path / "out.csv"))
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_sizes_and_when_the_bounded_path_is_taken(tmp_path):
    assert parse_size("4G") == 4 << 30
    assert parse_size("1.5g") == 3 << 29
    assert parse_size("800K") == 800 << 10
    assert parse_size("512MB") == 512 << 20
    with pytest.raises(UsageError):
        parse_size("lots")
    path = tmp_path / "a.csv"
    path.write_bytes(b"id\n" + b"1\n" * 1000)
    assert needs_bounded([str(path)], 1000)
    assert not needs_bounded([str(path)], 1 << 20)
    assert not needs_bounded(["-"], 1)


def test_command_line_passes_and_ctrl_c(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from leadtool.cli import app

    path = _export(tmp_path, 400, 8)
    runner = CliRunner()
    ref, out = tmp_path / "ref.csv", tmp_path / "out.csv"
    assert runner.invoke(app, ["merge", str(path), "-o", str(ref), "--yes", "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["merge", str(path), "-o", str(out), "--yes", "--quiet", "--memory-limit", "20K"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == ref.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bounded, "write_output", interrupted)
    again = tmp_path / "again.csv"
    result = runner.invoke(app, ["merge", str(path), "-o", str(again), "--yes", "--quiet", "--memory-limit", "20K"])
    assert result.exit_code == 130
    assert not again.exists()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_repeated_ids_without_a_shared_email(tmp_path):
    """Records grouped only by a repeated id (their emails differ or are empty) and records that
    share nothing: grouping is given only the records sharing a key or an id, with the same result."""
    rows = ["id,name,email_from,create_date"]
    for k in range(60):
        rows.append(f"{k},n{k},u{k}@example.com,2024-01-{1 + k % 28:02d} 10:00:00")
    rows += ["7,again,,2023-01-01 00:00:00", "8,other,x8@example.com,2025-01-01 00:00:00",
             ",blank,,2024-02-02 00:00:00", ",blank2,,2024-02-03 00:00:00", "70,a,s@example.com,2024-03-03 00:00:00",
             "71,b,S@Example.com,2024-03-01 00:00:00"]
    path = tmp_path / "ids.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    got = _same(tmp_path, [path])
    assert got["groups"] == 3 and got["records_merged_away"] == 3


def test_several_files_of_one_style_are_copied_without_a_parse(tmp_path, monkeypatch):
    import leadtool.bounded.stream as stream

    path = _export(tmp_path, 1200, 7)
    lines = path.read_bytes().split(b"\n")
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_bytes(b"\n".join(lines[:600]) + b"\n")
    two.write_bytes(b"\n".join([lines[0], *lines[600:]]))

    def no_parse(*args):
        raise AssertionError("the last pass parsed the inputs again")

    monkeypatch.setattr(stream, "iter_known_chunks", no_parse)
    got = _same(tmp_path, [one, two], max_group=10)
    assert got["groups"] > 20


def _naive_cuts(data: bytes, size: int) -> tuple[int, list[int]]:
    """Record ends (just after a line feed outside quotes), the header's and then the first at or
    after each wanted place."""
    ends, inside = [], False
    for at, byte in enumerate(data):
        if byte == 34:
            inside = not inside
        elif byte == 10 and not inside:
            ends.append(at + 1)
    header = ends[0] if ends else len(data)
    cuts, want = [], max(size, header + 1)
    for end in ends:
        if end >= want and end < len(data):
            cuts.append(end)
            want = end + size
    return header, [header, *cuts, len(data)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"a", b",", b"\n", b'"', b"\r\n", b"xyz" * 5]), max_size=300),
       st.integers(min_value=1, max_value=80))
def test_chunk_cuts_fall_on_record_ends(tmp_path_factory, pieces, size):
    import mmap

    from leadtool.bounded.chunks import _record_cuts

    data = b"".join(pieces)
    if data.count(b'"') % 2:
        data += b'"'
    path = tmp_path_factory.mktemp("cuts") / "f.csv"
    path.write_bytes(data or b"h")
    with open(path, "rb") as handle:
        raw = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        assert _record_cuts(raw, 0, len(raw), size) == _naive_cuts(bytes(raw), size)


@pytest.mark.parametrize("known", [True, False])
def test_audit_log_moved_into_place_or_copied_with_the_time_put_in(tmp_path, known):
    """The run's time known before planning (no one is asked): the events are written as they
    will be and the file is moved into place; else (a prompt may wait) they carry a stand-in
    that the copy replaces. Both give the in-memory bytes."""
    path = _export(tmp_path, 500, 8)
    ref, out = tmp_path / "ref.csv", tmp_path / "out.csv"
    _in_memory([path], ref)
    run = bounded.BoundedMerge([str(path)], memory_limit=64 << 20, output=str(out),
                               sizes=Sizes(chunk_bytes=16384, partition_rows=40), at=AT if known else None)
    with run:
        run.group()
        planned = run.plan()
        body = Path(planned.audit).read_bytes()
        assert (b'"at":"' + AT.encode() + b'"' in body) == known
        assert (b"0000-00-00T00:00:00Z" in body) != known
        run.write(str(out))
        assert os.path.exists(planned.audit) != known  # moved, or copied from
    assert out.read_bytes() == ref.read_bytes()
    assert (tmp_path / "out.csv.audit.jsonl").read_bytes().replace(b"out.csv", b"ref.csv") == \
        (tmp_path / "ref.csv.audit.jsonl").read_bytes()


def test_chunks_of_blank_lines_keep_the_heads_in_their_chunks(tmp_path):
    """Runs of blank lines longer than a chunk make chunks without records: each still starts
    where the next record is (the chunk of a head is found by a binary search over the starts),
    and the heads after them take their merged values."""
    rows = ["id,name,email_from,phone,create_date"]
    for k in range(1, 81):
        late = k > 62  # the oldest records, after the blank lines, without a phone: heads filled
        rows.append(f"{k},Lead {k},p{k % 7}@x.com,{'' if late else f'+32 2 555 {k:04d}'},"
                    f"{2020 if late else 2024}-01-{k % 28 + 1:02d} 10:00:00")
        if k in (20, 40, 62):
            rows += [""] * 9000
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    got = _same(tmp_path, [path])
    assert got["records_merged_away"] == 73
    with bounded.BoundedMerge([str(path)], memory_limit=64 << 20, output=str(tmp_path / "o.csv"),
                              sizes=Sizes(chunk_bytes=4096, partition_rows=5)) as run:
        run.plan()
        rows_per_chunk = run.inputs.files[0].rows
        assert 0 in rows_per_chunk  # chunks without a record
        starts = run.chunk_starts
        assert starts == sorted(starts)
        assert starts == [sum(rows_per_chunk[:k]) for k in range(len(rows_per_chunk))]


def test_the_spill_parses_only_the_grouped_records(tmp_path, monkeypatch):
    """Pass 2 gathers the grouped records' bytes and parses them alone: no chunk is parsed
    whole (the in-memory bytes all the same)."""
    import leadtool.bounded.partitions as partitions

    path = _export(tmp_path, 700, 9)
    parsed = []
    read = partitions.read_records
    monkeypatch.setattr(partitions, "read_records", lambda *a: parsed.append(len(a[2])) or read(*a))
    monkeypatch.setattr(partitions, "read_chunk", lambda *a: pytest.fail("a whole chunk parsed"))
    _same(tmp_path, [path])
    assert parsed and sum(parsed) < 700 / 2  # the grouped records, a minority


@pytest.mark.parametrize("before", [False, True])
def test_a_gathered_last_record_that_looks_like_a_footer_is_read_with_its_chunk(tmp_path, monkeypatch, before):
    """A one-cell line after a blank line is a report footer at the end of a file. Gathered
    alone, the grouped records of a chunk may end with one that is not a footer in its file:
    then the whole chunk is parsed, and the output is the in-memory one (also when the file
    is not the first one)."""
    import leadtool.bounded.partitions as partitions

    path = tmp_path / "footer_like.csv"
    path.write_bytes(b"email_from,id,name\nb@x.org,2,B1\na@x.org,0,A0\na@x.org,1,A\n\nb@x.org\n"
                     b"c@x.org,3,C\nd@x.org,5,D\n")
    first = tmp_path / "first.csv"
    first.write_bytes(b"email_from,id,name\ne@x.org,10,E\na@x.org,11,A1\nf@x.org,12,F\n")
    answers = []
    read = partitions.read_records
    monkeypatch.setattr(partitions, "read_records", lambda *a: answers.append(read(*a)) or answers[-1])
    got = _same(tmp_path, [first, path] if before else [path])
    assert got["records_merged_away"] == 2 + before
    assert answers[-1] is None  # gathered alone they ended with a "footer": the chunk was read whole
    assert len(answers) == 1 + before


def test_chunks_that_polars_parses_give_the_in_memory_bytes(tmp_path):
    """Chunks of a megabyte or more are parsed by polars, with the records' places found beside
    it (the test exports above make chunks that Python's reader parses)."""
    path = _export(tmp_path, 4000, 10)
    assert path.stat().st_size > (1 << 20) + 1000
    ref, out = tmp_path / "ref.csv", tmp_path / "out.csv"
    expected = _in_memory([path], ref)
    got = _bounded([path], out, chunk_bytes=1 << 20, partition_rows=400)
    assert out.read_bytes() == ref.read_bytes()
    assert (tmp_path / "out.csv.audit.jsonl").read_bytes().replace(b"out.csv", b"ref.csv") == \
        (tmp_path / "ref.csv.audit.jsonl").read_bytes()
    assert {k: got[k] for k in expected} == expected
