"""`dupes` in bounded memory (leadtool.bounded.dupes) against the in-memory one: the same text
table, JSON and CSV documents and warnings, byte for byte, with chunks and partitions small
enough that every run has many of both; its temporary folder removed however the run ends."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import leadtool.bounded.dupes as bounded_dupes
from leadtool.bounded import Sizes
from leadtool.bounded.dupes import BoundedDupes
from leadtool.bounded.narrow import GroupOptions
from leadtool.cli import app
from leadtool.io import load
from leadtool.match.groups import find_groups
from leadtool.match.table import duplicate_table
from leadtool.merge import ordered_members
from leadtool.render.dupes import csv_bytes, csv_pieces, json_bytes, json_pieces
from tests.test_bounded import _export

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "leads.csv"
runner = CliRunner()


def _dupes(args: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, ["dupes", *args])
    return result.exit_code, result.stdout, result.stderr


def _leftovers(folder: Path) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith(".leadtool-")]


@pytest.mark.parametrize("options", [[], ["--include-closed"], ["--by", "email,phone,customer"],
                                     ["--max-group", "3"], ["--email-key", "all", "--canonical-email"]])
@pytest.mark.parametrize("format", ["text", "json", "csv"])
def test_the_command_gives_the_in_memory_bytes(tmp_path, options, format):
    path = _export(tmp_path, 300, 3)
    args = [str(path), "--format", format, "--limit", "all", *options]
    memory = _dupes(args)
    passes = _dupes([*args, "--memory-limit", "20K"])
    assert memory[0] == 0
    assert passes == memory
    assert "in memory" not in passes[2]  # made in passes, not by the fallback
    assert not _leftovers(tmp_path)


def test_sample_text_with_a_limit_and_several_files(tmp_path):
    other = tmp_path / "more.csv"
    other.write_bytes(SAMPLE.read_bytes())  # every record repeated: each group's id repeats too
    for args in ([str(SAMPLE), "--limit", "3"], [str(SAMPLE), str(other), "--format", "json"],
                 [str(SAMPLE), str(other), "--limit", "0"]):
        memory = _dupes(args)
        assert _dupes([*args, "--memory-limit", "64K"]) == memory
        assert memory[0] == 0


def _library(paths, sizes: Sizes, **group):
    """The JSON and CSV documents of the bounded run, and of the in-memory code."""
    options = GroupOptions(**group)
    with BoundedDupes([str(p) for p in paths], memory_limit=1 << 30, sizes=sizes, group_options=options) as run:
        folder = run.folder
        tables = list(run.tables())
        doc = b"".join(json_pieces(run.stats(), tables))
        table_csv = b"".join(csv_pieces(t for t, _ in tables))
    assert not os.path.exists(folder)
    records = load([str(p) for p in paths])
    found = find_groups(records, by=options.by, include_closed=options.include_closed,
                        max_group=options.max_group)
    table = duplicate_table(records, found, ordered_members(records, found))
    return (doc, table_csv), (json_bytes(records, found, table), csv_bytes(table)), len(tables)


def test_many_partitions_of_one_group_each(tmp_path):
    path = _export(tmp_path, 900, 5)
    passes, memory, parts = _library([path], Sizes(chunk_bytes=4096, partition_rows=2), by=("email", "phone"))
    assert passes == memory
    assert parts > 50


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["a@x.com", "A@X.com ", "b@y.org", "", "nope", "c@z.net"]),
                               st.sampled_from(["2024-01-02 10:00:00", "2023-05-06 00:00:00", ""]),
                               st.sampled_from(["1", "2", "", "7"])), max_size=40),
       chunk=st.integers(min_value=1, max_value=6), part=st.integers(min_value=1, max_value=5))
def test_random_exports(tmp_path_factory, rows, chunk, part):
    folder = tmp_path_factory.mktemp("random")
    path = folder / "leads.csv"
    # two filled cells a row: a last line of one cell may be a report footer, left to memory
    frame = pl.DataFrame({"id": [r[2] for r in rows], "name": [f"n{k}" for k in range(len(rows))],
                          "type": ["lead"] * len(rows), "email_from": [r[0] for r in rows],
                          "create_date": [r[1] for r in rows]},
                         schema=dict.fromkeys(["id", "name", "type", "email_from", "create_date"], pl.String))
    frame.write_csv(path)
    passes, memory, _ = _library([path], Sizes(chunk_bytes=chunk * 40, partition_rows=part))
    assert passes == memory


def test_groups_of_different_people_and_large_groups_are_warned_as_in_memory(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("id,name,contact_name,partner_name,email_from,create_date\n"
                    "1,a,Ann Lee,Acme,team@acme.example,2024-01-01 00:00:00\n"
                    "2,b,Bob Stone,Other Ltd,team@acme.example,2024-01-02 00:00:00\n"
                    "3,c,Cy Moss,Third SA,team@acme.example,2024-01-03 00:00:00\n"
                    "4,d,Di Ray,,big@x.example,2024-01-03 00:00:00\n"
                    "5,e,Di Ray,,big@x.example,2024-01-04 00:00:00\n"
                    "6,f,Di Ray,,big@x.example,2024-01-05 00:00:00\n", encoding="utf-8")
    args = [str(path), "--max-group", "2", "--format", "csv"]
    memory = _dupes(args)
    assert "different people" in memory[2] and "larger than --max-group" in memory[2]
    assert _dupes([*args, "--memory-limit", "4K"]) == memory


def test_an_unreadable_date_is_an_error_before_any_output(tmp_path):
    path = tmp_path / "dates.csv"
    path.write_text("id,name,email_from,create_date\n1,a,a@x.com,2024-01-01 00:00:00\n2,b,a@x.com,someday\n",
                    encoding="utf-8")
    code, out, err = _dupes([str(path), "--format", "json", "--memory-limit", "4K"])
    assert (code, out) == (2, "")
    assert "someday" in err and str(path) in err
    assert not _leftovers(tmp_path)
    memory = _dupes([str(path), "--format", "json", "--allow-bad-dates"])
    assert _dupes([str(path), "--format", "json", "--allow-bad-dates", "--memory-limit", "4K"]) == memory
    assert "sort last" in memory[2]


def test_manual_and_fuzzy_groups_and_other_inputs_are_read_in_memory(tmp_path):
    for extra in (["--group", "11,12"], ["--fuzzy"]):
        code, _, err = _dupes([str(SAMPLE), "--memory-limit", "64K", *extra])
        assert code == 0
        assert "manual and fuzzy groups are read in memory" in err
    json_file = tmp_path / "leads.json"
    json_file.write_text('[{"id": "1", "email_from": "a@x.com"}, {"id": "2", "email_from": "a@x.com"}]',
                         encoding="utf-8")
    code, _, err = _dupes([str(json_file), "--memory-limit", "64K"])
    assert code == 0 and "--memory-limit: read in memory" in err


def test_the_temporary_folder_goes_on_interrupt(tmp_path, monkeypatch):
    path = _export(tmp_path, 300, 2)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bounded_dupes, "duplicate_table", interrupted)
    code, out, _ = _dupes([str(path), "--format", "json", "--memory-limit", "20K"])
    assert code == 130 and out == ""
    assert not _leftovers(tmp_path)


def test_a_large_input_is_read_in_passes_without_the_option(tmp_path, monkeypatch):
    import leadtool.bounded as bounded

    monkeypatch.setattr(bounded, "default_memory_limit", lambda: 20 << 10)
    path = _export(tmp_path, 400, 4)
    seen = []
    original = BoundedDupes.tables

    def tables(self):
        seen.append(True)
        return original(self)

    monkeypatch.setattr(BoundedDupes, "tables", tables)
    passes = _dupes([str(path), "--format", "csv"])
    assert seen
    monkeypatch.setattr(bounded, "needs_bounded", lambda paths, limit: False)
    assert _dupes([str(path), "--format", "csv"]) == passes
