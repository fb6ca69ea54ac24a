"""`check` in bounded memory (leadtool.bounded.check) against the in-memory check: the same report
(stats, problems in order with their files, lines, ids, values and messages, warnings) with
chunks so small that every input has many of them; the same errors; no record kept whole."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadtool.bounded.check as bcheck
from leadtool.bounded import NotBounded, Sizes
from leadtool.bounded.check import check_files
from leadtool.check import check_records
from leadtool.config import Config, TeamConfig
from leadtool.errors import UsageError
from leadtool.io import load
from leadtool.match.dates import order_evidence, parse_dates
from leadtool.records import ID

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = ROOT / "tests" / "fixtures" / "exports"
LIMITS = (None, 0, 1, 3, 1000)


def _in_memory(paths, **kw):
    load_kw = {k: kw.pop(k) for k in ("encoding", "delimiter", "mapping", "opportunities", "preset") if k in kw}
    return check_records(load([str(p) for p in paths], **load_kw), kw.pop("config", None), **kw)


def _bounded(paths, chunk=200, **kw):
    return check_files([str(p) for p in paths], memory_limit=1 << 30, sizes=Sizes(chunk_bytes=chunk), **kw)


def same(paths, chunk=200, **kw):
    """The two reports, as JSON (key order included)."""
    want = json.dumps(_in_memory(paths, **dict(kw)).as_dict(), indent=1)
    got = json.dumps(_bounded(paths, chunk, **dict(kw)).as_dict(), indent=1)
    assert got == want
    return json.loads(want)


def write(folder: Path, name: str, text: str, newline: str = "\n", bom: bool = False) -> Path:
    path = folder / name
    data = text.replace("\n", newline).encode("utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + data if bom else data)
    return path


# ----------------------------------------------------------------------------- fixtures and samples
@pytest.mark.parametrize("name", ["samples/leads.csv",
                                  *(str(p.relative_to(ROOT)) for p in sorted(EXPORTS.glob("*.csv")))])
@pytest.mark.parametrize("limit", LIMITS)
def test_fixtures_and_samples(name, limit):
    path = ROOT / name
    try:
        _bounded([path], max_problems=limit)
    except NotBounded:  # another encoding, a report footer, Odoo's multi-line records: memory's
        with pytest.raises(NotBounded):
            _bounded([path], chunk=1 << 20)
        return
    except UsageError as exc:  # an ambiguous date order: the same error
        with pytest.raises(UsageError) as memory:
            _in_memory([path], max_problems=limit)
        assert str(memory.value) == str(exc)
        return
    for chunk in (1, 200, 1 << 20):
        same([path], chunk, max_problems=limit)


def test_fixtures_with_options():
    path = ROOT / "samples" / "leads.csv"
    same([path], by=["email", "phone", "customer"], include_closed=True, max_problems=None)
    same([path], by=["phone"], max_problems=None, require=["name", "Notes", "phone"])
    same([path], email_key="all", canonical=True, max_problems=7, ignore=["invalid-email"])
    same([path], max_duplicates=100, max_problems=None)
    same([path, EXPORTS / "odoo_en.csv"], max_problems=None)


# ----------------------------------------------------------------------------- generated inputs
HEADER = "id,name,type,active,email_from,probability,create_date,team_id,stage_id,description\n"


def _line(values: list[str]) -> str:
    """A CSV line, values quoted where needed."""
    return ",".join('"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v for v in values)


def _rows(seed: int, n: int, start_id: int = 1, dates: str = "dmy") -> list[str]:
    """Records exercising every rule: repeated ids (spaces, blanks), shared emails, closed
    records, placeholders, invalid emails, bad probabilities and types, local and bad dates,
    multi-line values, teams."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rid = rng.choice([str(start_id + i)] * 6 + [str(start_id + rng.randrange(n)), f" {start_id + i // 2} ", "",
                                                     "x-7", "x-7 "])
        name = rng.choice(["Alpha", "", "  ", "Multi\nline, name", "Zoë", 'say "hi"'])
        typ = rng.choice(["lead", "opportunity", "", "Opportunité", "deal", "LEAD"])
        active = rng.choice(["True", "True", "True", "False", ""])
        email = rng.choice(["a@example.com", "B <b@example.com>", "c@example.com", "NA", "", "noemail@example.com",
                            "a@a.com", f"u{i}@example.com", "A@Example.COM", '"x, y" <b@EXAMPLE.com>', "not an email"])
        prob = rng.choice(["10", "100", "55.5", "100,0", "abc", "-3", "250", "", "0"])
        day = rng.randrange(1, 13)
        local = f"0{rng.randrange(1, 10)}/0{rng.randrange(1, 10)}/2023"
        date = rng.choice(["2024-01-02 10:00:00", "2024-01-02", "", "2023-05-04T10:22:00Z", f"{day:02d}/{day:02d}/2023",
                           "04.05.2023", "31.02.2023", "not a date",
                           local if rng.random() < 0.05 else "2024-03-04 05:06:07"])
        team = rng.choice(["Europe", "Keep", "", "Sales"])
        stage = rng.choice(["New", "Won", "Qualified", ""])
        desc = rng.choice(["", "plain", "two\nlines", "three\r\nlines\n", "00123"])
        rows.append(_line([rid, name, typ, active, email, prob, date, team, stage, desc]))
    if dates == "dmy":  # the order settled by a late record only
        rows.append(f"{start_id + n},Late,lead,True,late@example.com,5,25/12/2023,Europe,New,")
    elif dates == "mdy":
        rows.append(f"{start_id + n},Late,lead,True,late@example.com,5,12/25/2023,Europe,New,")
    return rows


def _file(folder: Path, name: str, seed: int, n: int = 60, start_id: int = 1, dates: str = "dmy",
          header: str = HEADER, newline: str = "\n", bom: bool = False, blank: bool = False) -> Path:
    rows = _rows(seed, n, start_id, dates)
    if blank:
        rows = [r if k % 7 else r + "\n" for k, r in enumerate(rows)]
    return write(folder, name, header + "\n".join(rows) + "\n", newline, bom)


@pytest.mark.parametrize("seed", [0, 3, 4])  # LF with a BOM; CR LF, BOM, blank lines; LF, blank lines
def test_generated_every_rule(tmp_path, seed):
    path = _file(tmp_path, "a.csv", seed, newline="\r\n" if seed % 2 else "\n", bom=seed % 3 == 0, blank=seed > 2)
    cfg = Config(leads_enabled=False, teams={"Keep": TeamConfig(use_leads=True)})
    # chunks of 777 bytes (6 chunks); of 1 byte (one record a chunk) and of 200 for two limits
    for limit in LIMITS:
        doc = same([path], 777, config=cfg, require=["name", "Notes", "email_from"], max_problems=limit)
        for chunk in {None: (1,), 3: (200,)}.get(limit, ()):
            same([path], chunk, config=cfg, require=["name"], max_problems=limit)
    assert all(doc["stats"]["by_rule"][r] for r in ("duplicates", "duplicate-id", "missing-required", "invalid-email",
                                                    "bad-date", "bad-probability", "unknown-type", "leads-mode"))
    assert doc["stats"]["placeholder_emails"]
    same([path], 777, config=cfg, ignore=["duplicates", "bad-date"], max_problems=3)
    same([path], 777, ignore=["duplicate-id", "invalid-email", "missing-required"], require=["name"], max_problems=None)
    same([path], 777, include_closed=True, max_duplicates=2, max_problems=None)
    same([path], 777, date_order="mdy", max_problems=None)


def test_two_files_ids_and_groups_across_them(tmp_path):
    a = _file(tmp_path, "a.csv", 11, n=80)
    b = _file(tmp_path, "b.csv", 12, n=50, start_id=40, dates="mdy", newline="\r\n")  # ids 40..80 again
    header = "id,name,email_from,create_date\n"  # no type, probability, team: missing-field, missing-required
    c = write(tmp_path, "c.csv",
              header + "5,Five,a@example.com,2024-01-01\n \n7,Seven,,\n5 ,Again,x@y.org,13/02/2023\n")
    d = write(tmp_path, "d.csv", "id,name\n1,One\n")  # no email column at all
    for limit in (0, 3, None):  # the last report lists every problem
        doc = same([a, b, c, d], 700, require=["name", "probability"], max_problems=limit)
        same([d, c, b, a], 700, require=["probability"], max_problems=limit)
    same([d, c, b, a], 90, require=["probability"], max_problems=None)  # about one record a chunk
    assert doc["stats"]["by_rule"]["missing-field"] == 1
    assert any(" of " in p["message"] for p in doc["problems"] if p["rule"] in ("duplicate-id", "duplicates"))
    same([a, b], opportunities=[str(b)], config=Config(leads_enabled=False), max_problems=None)


def test_header_cells_with_newlines_and_quoted_values(tmp_path):
    header = '"id","na\nme","email_from","create_date","probability"\n'
    rows = ['"1","A\nB","a@x.org","2024-01-01","x"', '', '"2","C","a@x.org","13/01/2023","7"',
            '"1","D\r\nE\nF","NA","bad","7"', '', '', '"3","G","b@x.org","","200"']
    for newline in ("\n", "\r\n"):
        path = write(tmp_path, f"q{len(newline)}.csv", header + "\n".join(rows) + "\n", newline, bom=True)
        for chunk in (1, 30, 1000):
            doc = same([path], chunk, max_problems=None)
    assert [p["row"] for p in doc["problems"]] == sorted(p["row"] for p in doc["problems"])
    assert {p["row"] for p in doc["problems"]} == {3, 6, 7, 12}  # lines 1-2: the header; 5, 10, 11: blank


def test_no_final_newline_and_no_records(tmp_path):
    a = write(tmp_path, "a.csv", "id,email_from\n1,a@x.org\n1,a@x.org")
    b = write(tmp_path, "b.csv", "id,email_from\n")
    for paths in ([a], [b], [a, b], [b, a]):
        same(paths, max_problems=None)
        same(paths, 1, max_problems=1, require=["id"])


def test_dates_settled_late_or_never(tmp_path):
    head = "id,create_date\n"
    early = [f"{k},0{k % 9 + 1}/0{k % 7 + 1}/2023" for k in range(1, 200)]
    dmy = write(tmp_path, "dmy.csv", head + "\n".join([*early, "999,31/12/2023", "1000,12/31/2023x"]) + "\n")
    mdy = write(tmp_path, "mdy.csv", head + "\n".join([*early, "999,12/31/2023", "1000,31.02.2023"]) + "\n")
    for limit in (None, 1):
        same([dmy], 400, max_problems=limit)
        same([mdy, dmy], 400, max_problems=limit)
    unsettled = write(tmp_path, "unsettled.csv", head + "\n".join(early) + "\n")
    both = write(tmp_path, "both.csv", head + "\n".join(["1,13/14/2023", *early, "999,31/12/2023", "1000,12/31/2023"]))
    for paths in ([unsettled], [dmy, both], [both, unsettled]):
        with pytest.raises(UsageError) as memory:
            _in_memory(paths)
        with pytest.raises(UsageError) as chunked:
            _bounded(paths, 400)
        assert str(chunked.value) == str(memory.value)
    same([unsettled, both], 400, date_order="dmy", max_problems=None)
    same([unsettled], 400, ignore=["bad-date"])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["1/2/2023", "13/2/2023", "2/13/2023", "13/14/2023", "4.5.2023", "4-5-2023",
                                  "04-05-23", "1/1/23", "2023-01-02", "x", " 3 / 4 / 2023 10:22 PM", "5/5/2020",
                                  "12/12/12", "0/5/2023"]), min_size=1, max_size=12))
def test_date_evidence_adds_up_to_parse_dates(values):
    """Split anywhere, the parts' evidence says what the whole column's parse says."""
    whole = parse_dates(pl.Series(values))
    for cut in range(len(values) + 1):
        parts = [order_evidence(pl.Series(p, dtype=pl.String)) for p in (values[:cut], values[cut:]) if p]
        dmy, mdy = any(p["dmy"] for p in parts), any(p["mdy"] for p in parts)
        first = [p for p in parts if p["conflicting"] is not None]
        unsettled = [p for p in parts if p["unsettled"] is not None]
        if dmy != mdy:
            assert whole.order == ("dmy" if dmy else "mdy") and not whole.ambiguous
        elif dmy:
            assert whole.ambiguous and whole.conflicting and whole.ambiguous_example == first[0]["conflicting"]
        elif unsettled:
            assert whole.ambiguous and not whole.conflicting and whole.ambiguous_example == unsettled[0]["unsettled"]
        else:
            assert not whole.ambiguous


# ----------------------------------------------------------------------------- random inputs
_CELLS = ["", " ", "1", "2", " 2", "x", "a@x.org", "A@X.org ", "b@y.org", "NA", "noemail@x.org", "Won", "False", "True",
          "lead", "opportunity", "deal", "100", "abc", "13/01/2023", "01/02/2023", "02/01/2023", "2024-01-01",
          "Europe", '"a\nb"', '"c,d"', '"e ""q"""', "4.5.2023"]
_HEADERS = ["id", "email_from", "stage_id", "active", "type", "probability", "create_date", "team_id", "name",
            "phone", "partner_id"]


@st.composite
def _csv_files(draw):
    files = []
    for _ in range(draw(st.integers(1, 3))):
        cols = draw(st.lists(st.sampled_from(_HEADERS), min_size=1, max_size=6, unique=True))
        rows = draw(st.lists(st.lists(st.sampled_from(_CELLS), min_size=len(cols), max_size=len(cols)), max_size=25))
        blank = draw(st.booleans())
        lines = [",".join(cols)] + [",".join(r) + ("\n" if blank and k % 4 == 0 else "") for k, r in enumerate(rows)]
        files.append(("\n".join(lines) + "\n", draw(st.sampled_from(["\n", "\r\n"]))))
    return files


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=_csv_files(), chunk=st.sampled_from([1, 40, 100000]), limit=st.sampled_from([None, 0, 1, 3]),
       by=st.sampled_from([("email",), ("email", "phone"), ("customer",)]), closed=st.booleans())
def test_random_files_give_the_same_report(tmp_path_factory, files, chunk, limit, by, closed):
    folder = tmp_path_factory.mktemp("random")
    paths = [write(folder, f"f{k}.csv", text, newline) for k, (text, newline) in enumerate(files)]
    kw = dict(max_problems=limit, by=list(by), include_closed=closed, require=["name", "id"])
    try:
        want = json.dumps(_in_memory(paths, **kw).as_dict())
    except UsageError as exc:  # an ambiguous date order: the same error (or memory's, which gives it)
        with pytest.raises((UsageError, NotBounded)) as chunked:
            _bounded(paths, chunk, **kw)
        assert isinstance(chunked.value, NotBounded) or str(chunked.value) == str(exc)
        return
    try:
        got = json.dumps(_bounded(paths, chunk, **kw).as_dict())
    except NotBounded:
        return
    assert got == want


# ----------------------------------------------------------------------------- limits of the path
def test_what_it_leaves_to_memory(tmp_path):
    path = _file(tmp_path, "a.csv", 1)
    with pytest.raises(NotBounded):
        _bounded([path], fuzzy="warn")
    with pytest.raises(NotBounded):
        _bounded([path], config=Config(check_fuzzy="fail"))
    with pytest.raises(NotBounded):
        _bounded([path], manual=[["1", "2"]])
    same([path], manual=[["1", "2"]], ignore=["duplicates"])  # no groups looked for: nothing to leave
    same([path], config=Config(check_fuzzy="warn"), ignore=["fuzzy-duplicates"])
    with pytest.raises(NotBounded):
        _bounded(["-"])
    with pytest.raises(NotBounded):
        _bounded([ROOT / "samples" / "leads.json"])
    with pytest.raises(UsageError, match="--max-problems"):
        _bounded([path], max_problems=-1)
    with pytest.raises(UsageError, match="--email-key"):
        _bounded([path], email_key="some")


def test_memory_limit_gives_the_chunk_size(tmp_path, monkeypatch):
    path = _file(tmp_path, "a.csv", 2, n=400)
    seen = []
    real = bcheck.open_inputs
    monkeypatch.setattr(bcheck, "open_inputs", lambda paths, size, **kw: seen.append(size) or real(paths, size, **kw))
    want = _in_memory([path]).as_dict()
    assert check_files([str(path)], memory_limit=1 << 30).as_dict() == want
    assert seen == [Sizes.of(1 << 30).chunk_bytes]


def test_no_record_is_kept_whole(tmp_path, monkeypatch):
    """What the pass keeps of each record: its start, its id hash and, when it may group, its
    place, id and keys; no chunk frame outlives its chunk, and problems are kept up to the limit."""
    path = _file(tmp_path, "a.csv", 3, n=600)
    passes = []
    real = bcheck._Pass.chunk

    def spy(self, chunk):
        real(self, chunk)
        passes.append((self, list(self.narrow), list(self.hashes), list(self.starts),
                       [k.held for k in self.kept.values()], [k.held for d in self.dates for k in d.bad.values()]))

    monkeypatch.setattr(bcheck._Pass, "chunk", spy)
    report = _bounded([path], 300, max_problems=5)
    assert len({id(p[0]) for p in passes}) == 1 and len(passes) > 20
    _, narrow, hashes, starts, held, dates_held = passes[-1]
    data = set(load([str(path)]).columns)
    assert len(narrow) == len(hashes) == len(starts) == len(passes)
    for frame in narrow:
        assert not data.intersection(frame.columns)  # keys only, never a record's values
        assert set(frame.columns) <= {bcheck.PLACE, ID, bcheck.KEY}
    assert all(s.dtype == pl.UInt64 for s in hashes) and all(s.dtype == pl.Int64 for s in starts)
    assert max(held) == 5 and max(dates_held) <= 5
    assert report.stats["problems"] > 5 and report.stats["problems_listed"] == 5


# ----------------------------------------------------------------------------- the command line
def _check(args: list[str]) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from leadtool.cli import app

    result = CliRunner().invoke(app, ["check", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("format", ["text", "json", "github"])
def test_the_command_gives_the_in_memory_report(tmp_path, format):
    from tests.test_bounded import _export

    path = _export(tmp_path, 500, 6)
    args = [str(path), "--format", format, "--max-problems", "40", "--limit", "all", "--require", "phone"]
    memory = _check(args)
    passes = _check([*args, "--memory-limit", "20K"])
    assert memory[0] == 1
    assert passes == memory
    assert "in memory" not in passes[2]


def test_the_command_leaves_fuzzy_manual_and_workbooks_to_memory(tmp_path):
    for extra in (["--fuzzy"], ["--group", "11,12"]):
        code, _, err = _check([str(ROOT / "samples" / "leads.csv"), "--memory-limit", "64K", *extra])
        assert code == 1
        assert "manual and fuzzy groups are checked in memory" in err
    listed = tmp_path / "leads.json"
    listed.write_text('[{"id": "1", "email_from": "a@x.com"}, {"id": "1", "email_from": "b@x.com"}]',
                      encoding="utf-8")
    code, out, err = _check([str(listed), "--memory-limit", "64K", "--format", "json"])
    assert code == 1 and "--memory-limit: checked in memory" in err
    assert json.loads(out)["stats"]["by_rule"]["duplicate-id"] == 1


def test_a_large_input_is_checked_in_passes_without_the_option(tmp_path, monkeypatch):
    import leadtool.bounded as bounded

    path = tmp_path / "leads.csv"
    path.write_bytes((ROOT / "samples" / "leads.csv").read_bytes())
    calls = []
    original = bcheck.check_files
    monkeypatch.setattr(bcheck, "check_files", lambda *a, **k: calls.append(1) or original(*a, **k))
    memory = _check([str(path), "--format", "json"])
    assert not calls
    monkeypatch.setattr(bounded, "default_memory_limit", lambda: 16 << 10)
    assert _check([str(path), "--format", "json"]) == memory
    assert calls
