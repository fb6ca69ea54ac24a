"""`leadtool check` (docs/check.md): rules, exit codes, reports, line numbers."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadtool.check import PROBLEM_KEYS, RULES, check_records
from leadtool.check.lines import line_numbers
from leadtool.check.rules import indexed, rule_duplicate_id
from leadtool.config import Config, TeamConfig
from leadtool.errors import ConfigError, UsageError
from leadtool.io import load
from leadtool.records import IDX
from leadtool.render.check import escape_data, escape_property, github_line, step_summary

HEADER = "id,name,type,active,email_from,probability,create_date,team_id,stage_id\n"
CLEAN = HEADER + (
    "1,Alpha,lead,True,alpha@example.com,10,2024-01-01 10:00:00,Europe,New\n"
    "2,Beta,opportunity,True,Beta <beta@example.com>,\"100,0\",2024-01-02,Europe,Won\n"
    "3,Gamma,Opportunity,True,,55.5,2024-01-03T10:00:00Z,,\n"
    "4,Delta,,False,alpha@example.com,0,,Europe,New\n"
)


def write(tmp_path: Path, text: str, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def run_json(cli, *args):
    result = cli("check", *args, "--format", "json")
    assert result.exit_code in (0, 1), (result.exit_code, result.output)
    return result, json.loads(result.stdout)


def rules_of(doc) -> list[tuple[str, int]]:
    return [(p["rule"], p["row"]) for p in doc["problems"]]


# ----------------------------------------------------------------------------- exit codes
def test_clean_file_exit_0(cli, tmp_path):
    path = write(tmp_path, CLEAN)
    result = cli("check", path)
    assert result.exit_code == 0, result.output
    assert "valid: no problems in 4 records" in result.stdout
    result, doc = run_json(cli, path)
    assert result.exit_code == 0
    assert doc["valid"] is True and doc["problems"] == []
    assert doc["stats"]["records"] == 4
    # 1 and 4 share an email but 4 is archived: closed records are left out, as in dupes
    assert doc["stats"]["duplicate_groups"] == 0


# each rule: a line appended to the clean file, the rule it breaks, the column named
BROKEN = {
    "duplicates": ("5,Eps,lead,True,ALPHA@Example.com,10,2024-02-01,Europe,New", None),
    "duplicate-id": ("2,Eps,lead,True,eps@example.com,10,2024-02-01,Europe,New", "id"),
    "invalid-email": ("5,Eps,lead,True,not an email,10,2024-02-01,Europe,New", "email_from"),
    "bad-date": ("5,Eps,lead,True,eps@example.com,10,31/31/2024,Europe,New", "create_date"),
    "bad-probability": ("5,Eps,lead,True,eps@example.com,101,2024-02-01,Europe,New", "probability"),
    "unknown-type": ("5,Eps,prospect,True,eps@example.com,10,2024-02-01,Europe,New", "type"),
    "leads-mode": ("5,Eps,lead,True,eps@example.com,10,2024-02-01,Direct Sales,New", "team_id"),
    "missing-required": ("5,,lead,True,eps@example.com,10,2024-02-01,Europe,New", "name"),
}


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_each_rule_fails_with_exit_1(cli, tmp_path, rule):
    line, column = BROKEN[rule]
    path = write(tmp_path, CLEAN + line + "\n")
    (tmp_path / "leadtool.toml").write_text('[teams."Direct Sales"]\nuse_leads = false\n')
    args = ["--config", tmp_path / "leadtool.toml", "--require", "name"]
    result = cli("check", path, *args)
    assert result.exit_code == 1, result.output
    assert rule in result.stdout
    result, doc = run_json(cli, path, *args)
    assert result.exit_code == 1
    assert doc["valid"] is False
    rid = "2" if rule == "duplicate-id" else "5"
    assert [(p["rule"], p["row"], p["id"], p["column"]) for p in doc["problems"]] == [(rule, 6, rid, column)]
    assert doc["stats"]["by_rule"][rule] == 1
    assert sum(doc["stats"]["by_rule"].values()) == doc["stats"]["problems"] == 1


def test_unreadable_file_exit_2(cli, tmp_path):
    result = cli("check", tmp_path / "missing.csv")
    assert result.exit_code == 2
    assert "missing.csv: no such file" in result.stderr
    assert result.stdout == ""
    result = cli("check", tmp_path)  # a directory
    assert result.exit_code == 2
    bad = write(tmp_path, 'id,name\n1,"never closed\n', "bad.csv")
    result = cli("check", bad, "--format", "json")
    assert result.exit_code == 2
    assert "bad.csv" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("args, needle", [
    (["--format", "xml"], "--format 'xml'"),
    (["--ignore", "nope"], "--ignore 'nope': unknown rule"),
    (["--max-duplicates", "-1"], "--max-duplicates -1"),
    (["--limit", "many"], "--limit 'many'"),
    (["--max-problems", "-3"], "--max-problems '-3'"),
    (["--by", "fax"], "--by 'fax'"),
])
def test_bad_option_exit_2(cli, tmp_path, args, needle):
    path = write(tmp_path, CLEAN)
    result = cli("check", path, *args)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("toml, needle", [
    ("[check]\nunknown = 1\n", "unknown key check.unknown"),
    ("[check]\nmax_duplicates = \"two\"\n", "check.max_duplicates must be"),
    ("[check]\nignore = [\"nope\"]\n", "check.ignore 'nope': unknown rule"),
    ("[check\n", "invalid TOML"),
])
def test_bad_config_exit_2(cli, tmp_path, toml, needle):
    path = write(tmp_path, CLEAN)
    cfg = tmp_path / "leadtool.toml"
    cfg.write_text(toml)
    result = cli("check", path, "--config", cfg)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr
    assert str(cfg) in result.stderr


def test_missing_config_file_exit_2(cli, tmp_path):
    result = cli("check", write(tmp_path, CLEAN), "--config", tmp_path / "nope.toml")
    assert result.exit_code == 2
    assert "no such config file" in result.stderr


# ----------------------------------------------------------------------------- JSON shape
def test_json_shape(cli, tmp_path):
    text = CLEAN + "".join(line + "\n" for line, _ in BROKEN.values() if "ALPHA" not in line)
    text += "9,Zeta,lead,True,alpha@example.com,10,2020-01-01,Europe,New\n"
    path = write(tmp_path, text)
    result, doc = run_json(cli, path, "--require", "name")
    assert result.exit_code == 1
    assert set(doc) == {"valid", "stats", "problems"}
    assert doc["valid"] is False
    for key in ("records", "files", "duplicate_groups", "records_in_duplicate_groups", "large_groups", "max_duplicates",
                "problems", "problems_listed", "by_rule", "ignored", "required"):
        assert key in doc["stats"], key
    assert doc["stats"]["records"] == 12
    assert doc["stats"]["required"] == ["name"]
    assert list(doc["stats"]["by_rule"]) == list(RULES)
    assert doc["problems"], "problems expected"
    for p in doc["problems"]:
        assert tuple(p) == PROBLEM_KEYS
        assert isinstance(p["rule"], str) and p["rule"] in RULES
        assert p["file"] == str(path)
        assert isinstance(p["row"], int) and p["row"] >= 2
        assert isinstance(p["message"], str) and p["message"]
    found = {p["rule"] for p in doc["problems"]}
    # no team has leads mode off without a config; the file has an email column
    assert found == set(RULES) - {"leads-mode", "missing-field"}
    dup = next(p for p in doc["problems"] if p["rule"] == "duplicates" and p["id"] == "9")
    # Zeta (line 13) duplicates Alpha (id 1, line 2); the archived Delta is left out
    assert (dup["row"], dup["id"], dup["value"]) == (13, "9", "email:alpha@example.com")
    assert "duplicate of id 1 on line 2" in dup["message"]
    rows = [p["row"] for p in doc["problems"]]
    assert rows == sorted(rows)


def test_library_matches_json(cli, tmp_path):
    path = write(tmp_path, CLEAN + BROKEN["bad-date"][0] + "\n")
    report = check_records(load([str(path)]), Config())
    _, doc = run_json(cli, path)
    assert report.as_dict() == doc
    assert report.valid is False
    assert report.problems[0]["value"] == "31/31/2024"


# ----------------------------------------------------------------------------- row numbers
def test_rows_with_multiline_values(cli, tmp_path):
    text = (
        'id,"multi\nline header",email_from,description\r\n'  # header on lines 1-2
        '1,a,bad1,"one\r\ntwo\r\nthree"\r\n'  # line 3 (to 5)
        '2,b,ok@example.com,plain\r\n'  # line 6
        '3,"x\ny",bad3,"p\n\nq"\r\n'  # line 7 (to 10)
        '4,c,bad4,\r\n'  # line 11
    )
    path = write(tmp_path, text)
    records = load([str(path)])
    assert line_numbers(records).to_list() == [3, 6, 7, 11]
    _, doc = run_json(cli, path)
    assert [(p["id"], p["row"]) for p in doc["problems"]] == [("1", 3), ("3", 7), ("4", 11)]
    # the lines really are where the records start
    lines = text.replace("\r\n", "\n").split("\n")
    for p in doc["problems"]:
        assert lines[p["row"] - 1].startswith(p["id"] + ",")


def test_rows_restart_per_file_and_json_rows(cli, tmp_path):
    a = write(tmp_path, 'id,email_from,description\n1,x,"a\nb"\n2,y,\n', "a.csv")
    b = write(tmp_path, 'id,email_from\n3,ok@example.com\n4,z\n', "b.csv")
    c = tmp_path / "c.jsonl"
    c.write_text('{"id": "5", "email_from": "ok@x.com"}\n{"id": "6", "email_from": "nope"}\n')
    _, doc = run_json(cli, a, b, c)
    assert [(p["file"], p["row"], p["id"]) for p in doc["problems"]] == [
        (str(a), 2, "1"), (str(a), 4, "2"), (str(b), 3, "4"), (str(c), 2, "6")]


# ----------------------------------------------------------------------------- ignore / max
def test_ignore_and_max_duplicates(cli, tmp_path):
    text = CLEAN + (
        "5,Eps,lead,True,alpha@example.com,10,2024-02-01,Europe,New\n"
        "6,Zeta,lead,True,zeta@example.com,10,2024-02-01,Europe,New\n"
        "7,Eta,lead,True,ZETA@example.com,10,2024-02-01,Europe,New\n"
        "8,Theta,lead,True,theta,10,2024-02-01,Europe,New\n"
    )
    path = write(tmp_path, text)
    _, doc = run_json(cli, path)
    assert doc["stats"]["duplicate_groups"] == 2
    assert rules_of(doc) == [("duplicates", 6), ("duplicates", 8), ("invalid-email", 9)]
    result, doc = run_json(cli, path, "--max-duplicates", "2")
    assert result.exit_code == 1 and rules_of(doc) == [("invalid-email", 9)]
    result, doc = run_json(cli, path, "--max-duplicates", "1", "--ignore", "invalid-email")
    assert result.exit_code == 1 and rules_of(doc) == [("duplicates", 6), ("duplicates", 8)]
    result, doc = run_json(cli, path, "--max-duplicates", "2", "--ignore", "invalid-email")
    assert result.exit_code == 0 and doc["valid"] is True
    assert doc["stats"]["ignored"] == ["invalid-email"]
    assert "invalid-email" not in doc["stats"]["by_rule"]
    result, doc = run_json(cli, path, "--ignore", "duplicates,invalid-email")
    assert result.exit_code == 0
    assert doc["stats"]["duplicate_groups"] is None  # not computed when ignored
    assert doc["stats"]["large_groups"] is None


def test_config_check_table_and_cli_wins(cli, tmp_path):
    text = CLEAN + "5,Eps,lead,True,alpha@example.com,10,2024-02-01,Europe,\n"
    path = write(tmp_path, text)
    cfg = tmp_path / "leadtool.toml"
    cfg.write_text('[check]\nrequire = ["stage_id"]\nmax_duplicates = 1\nignore = ["bad-date"]\n')
    result, doc = run_json(cli, path, "--config", cfg)
    # stage_id required (line 4, Gamma, and line 6), one group allowed
    assert rules_of(doc) == [("missing-required", 4), ("missing-required", 6)]
    assert doc["stats"]["ignored"] == ["bad-date"]
    result, doc = run_json(cli, path, "--config", cfg, "--require", "name", "--max-duplicates", "0",
                           "--ignore", "unknown-type")
    assert rules_of(doc) == [("duplicates", 6)]
    assert doc["stats"]["ignored"] == ["unknown-type"]
    assert doc["stats"]["required"] == ["name"]


def test_default_config_in_working_directory(cli, tmp_path, monkeypatch):
    path = write(tmp_path, CLEAN + "5,Eps,lead,True,e@example.com,10,2024-02-01,Europe,New\n")
    (tmp_path / "leadtool.toml").write_text('[teams."Europe"]\nuse_leads = false\n')
    monkeypatch.chdir(tmp_path)
    result, doc = run_json(cli, path)
    # Alpha and Eps are open leads of Europe; Delta (archived) is not swept in
    assert result.exit_code == 1
    assert rules_of(doc) == [("leads-mode", 2), ("leads-mode", 6)]


# ----------------------------------------------------------------------------- rules (library)
def lib_check(tmp_path, text, config=None, **kw):
    # the files of the rule tests below hold only the columns their rule reads: no email column
    # is none of their business (test_missing_field checks that rule)
    kw.setdefault("ignore", ["missing-field"])
    return check_records(load([str(write(tmp_path, text))]), config or Config(), **kw)


def test_probability_forms(tmp_path):
    text = "id,probability\n" + "".join(
        f'{i},"{v}"\n' for i, v in enumerate(["100,0", "0", " 55.5 ", "", "1e2", "-1", "100.01", "nan", "inf",
                                              "50%", "abc"], 1))
    report = lib_check(tmp_path, text)
    assert [p["value"] for p in report.problems] == ["-1", "100.01", "nan", "inf", "50%", "abc"]
    assert report.problems[2]["message"] == "probability 'nan' is not a number"
    assert report.problems[0]["message"] == "probability '-1' is outside 0-100"


def test_dates_types_and_emails(tmp_path):
    text = ("id,create_date,type,email_from\n"
            "1,2024-01-01,lead,a@b.com\n"
            "2,2024-01-01T10:00:00+02:00,LEAD,\"Name <x@y.org>\"\n"
            "3, 2024-01-01 10:00 ,, \n"
            "4,2024-02-30,Opportunity,<>\n"
            "5,2024-01-01 25:00:00,lead,x@\n"
            "6,tomorrow,opp,NA\n")
    report = lib_check(tmp_path, text)
    got = [(p["id"], p["rule"]) for p in report.problems]
    assert got == [("4", "invalid-email"), ("4", "bad-date"), ("5", "invalid-email"), ("5", "bad-date"),
                   ("6", "invalid-email"), ("6", "bad-date"), ("6", "unknown-type")]


def test_missing_required_column_and_headers(tmp_path):
    a = write(tmp_path, "id,Email,Notes\n1,a@b.com,x\n2,c@d.com,\n", "a.csv")
    b = write(tmp_path, "id,name\n3,Three\n", "b.csv")
    report = check_records(load([str(a), str(b)]), Config(), require=["email_from", "Notes", "name"])
    got = [(p["file"], p["row"], p["id"], p["column"], p["message"]) for p in report.problems]
    assert got == [
        (str(a), 1, None, "name", "required column 'name' is missing from the file"),
        (str(a), 3, "2", "Notes", "required field 'Notes' is empty"),
        (str(b), 1, None, "email_from", "required column 'email_from' is missing from the file"),
        (str(b), 1, None, "Notes", "required column 'Notes' is missing from the file"),
        (str(b), 1, None, "email_from", "no column holds email_from (needed by duplicates --by email and "
                                        "invalid-email): map one with --map email_from=HEADER"),
    ]


def test_duplicate_id_names_first_and_ignores_empty_ids(tmp_path):
    text = "id,name\n7,a\n,b\n8,c\n 7 ,d\n,e\n7,f\n"
    report = lib_check(tmp_path, text)
    assert [(p["row"], p["value"], p["message"]) for p in report.problems] == [
        (5, " 7 ", "id '7' is already used by the record on line 2"),
        (7, "7", "id '7' is already used by the record on line 2"),
    ]



@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["7", "007", " 7", "7 ", "8", "10", "", "x", "+7", "9"]), min_size=1, max_size=12),
       st.sampled_from(["as given", "ascending", "descending"]))
def test_duplicate_id_matches_a_plain_reference(ids, order):
    """Whole-number ids take a numeric path (sorted or not), any other cell the hashed one:
    both must flag exactly the records whose stripped id an earlier record has."""
    if order != "as given":
        ids = sorted(ids, key=lambda v: int(v) if v.strip().isdigit() else -1, reverse=order == "descending")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ids.csv"
        path.write_text("id,name\n" + "".join(f"{v},n\n" for v in ids), encoding="utf-8")
        records = load([str(path)])
    seen: set[str] = set()
    expected = []
    for i, v in enumerate(ids):
        if v.strip() and v.strip() in seen:
            expected.append(i)
        seen.add(v.strip())
    found = rule_duplicate_id(records, indexed(records)).collect()
    assert sorted(found.get_column(IDX).to_list()) == expected

def test_leads_mode_global_off_and_closed(tmp_path):
    text = ("id,type,team_id,active,probability\n"
            "1,lead,,True,10\n2,lead,Keep,True,10\n3,opportunity,,True,10\n4,lead,,False,10\n5,lead,,True,100\n")
    cfg = Config(leads_enabled=False, teams={"Keep": TeamConfig(use_leads=True)})
    report = lib_check(tmp_path, text, cfg)
    assert [(p["id"], p["rule"]) for p in report.problems] == [("1", "leads-mode")]
    assert "[leads] enabled = false" in report.problems[0]["message"]


def test_max_problems_caps_the_list_not_the_counts(tmp_path):
    text = "id,email_from\n" + "".join(f"{i},bad{i}\n" for i in range(1, 31))
    report = lib_check(tmp_path, text, max_problems=5)
    assert [p["row"] for p in report.problems] == [2, 3, 4, 5, 6]
    assert report.stats["problems"] == 30 and report.stats["problems_listed"] == 5
    assert report.stats["by_rule"]["invalid-email"] == 30
    assert len(lib_check(tmp_path, text, max_problems=None).problems) == 30


def test_library_errors(tmp_path):
    records = load([str(write(tmp_path, CLEAN))])
    with pytest.raises(UsageError):
        check_records(records, Config(), ignore=["bogus"])
    with pytest.raises(ConfigError):
        check_records(records, Config(check_ignore=["bogus"]))
    with pytest.raises(UsageError):
        check_records(records, Config(), max_duplicates=-1)


# ----------------------------------------------------------------------------- github
def test_escaping_rules():
    assert escape_data("50% done\r\nnext\nline: a,b") == "50%25 done%0D%0Anext%0Aline: a,b"
    assert escape_property("dir:x/a,b%.csv\n") == "dir%3Ax/a%2Cb%25.csv%0A"
    line = github_line({"rule": "bad-date", "file": "a,b:c.csv", "row": 7, "id": "9", "column": "x",
                        "value": "v", "message": "100%\nbad"})
    assert line == "::error file=a%2Cb%3Ac.csv,line=7,title=bad-date::100%25%0Abad (id 9)"


def test_github_format_lines_escaped(cli, tmp_path):
    path = write(tmp_path, 'id,email_from\n1,ok@example.com\n2,"50% off\r\nbuy: now, here"\n', "a,b:c.csv")
    result = cli("check", path, "--format", "github")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    prop = str(path).replace(":", "%3A").replace(",", "%2C")
    assert lines[0] == (f"::error file={prop},line=3,title=invalid-email::invalid email "
                        "'50%25 off%0D%0Abuy: now, here': no address found (id 2)")
    assert lines[1].startswith("invalid: 1 problems")
    assert len(lines) == 2


def test_github_step_summary_written(cli, runner, tmp_path):
    from leadtool.cli import app

    path = write(tmp_path, CLEAN + "5,Eps,lead,True,a|b <bad,10,2024-02-01,Europe,New\n")
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    result = runner.invoke(app, ["check", str(path), "--format", "github"],
                           env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 1
    text = summary.read_text()
    assert text.startswith("# earlier step\n## leadtool check: ❌ invalid\n")  # appended
    assert "| `invalid-email` | 1 |" in text
    assert "| `duplicates` | 0 |" in text
    assert "a\\|b &lt;bad" in text  # table cells escaped
    assert "| 6 | `invalid-email` | 5 |" in text
    # valid run: appended again
    clean = write(tmp_path, CLEAN, "clean.csv")
    result = runner.invoke(app, ["check", str(clean), "--format", "github"],
                           env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 0 and result.stdout.startswith("valid:")
    assert summary.read_text().count("## leadtool check") == 2
    assert "## leadtool check: ✅ valid" in summary.read_text()


def test_step_summary_only_with_variable(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    path = write(tmp_path, CLEAN)
    result = cli("check", path, "--format", "github")
    assert result.exit_code == 0
    assert list(tmp_path.iterdir()) == [path]
    md = step_summary(check_records(load([str(path)]), Config()))
    assert md.startswith("## leadtool check: ✅ valid")


# ----------------------------------------------------------------------------- text
def test_text_limit_and_summary(cli, tmp_path):
    text = "id,email_from\n" + "".join(f"{i},bad{i}\n" for i in range(1, 13))
    path = write(tmp_path, text)
    result = cli("check", path, "--limit", "3")
    assert result.exit_code == 1
    assert "bad3" in result.stdout and "bad4" not in result.stdout
    assert "invalid: 12 problems (invalid-email 12)" in " ".join(result.stdout.split())
    assert "3 shown" in result.stdout
    result = cli("check", path, "--quiet")
    assert result.exit_code == 1 and result.stdout == ""


def test_duplicates_across_files_name_the_first_file(tmp_path):
    a = write(tmp_path, "id,email_from\n1,Ann <ann@x.com>\n2,bob@x.com\n", "a.csv")
    b = write(tmp_path, "id,email_from\n3,ANN@x.com\n4,bob@x.com\n5,carl@x.com\n1,dup@x.com\n", "b.csv")
    report = check_records(load([str(a), str(b)]), Config(), max_problems=3)
    assert [(p["file"], p["row"], p["rule"], p["value"], p["message"]) for p in report.problems] == [
        (str(b), 2, "duplicates", "email:ann@x.com",
         f"duplicate of id 1 on line 2 of {a} (group 1: email:ann@x.com)"),
        (str(b), 3, "duplicates", "email:bob@x.com",
         f"duplicate of id 2 on line 3 of {a} (group 2: email:bob@x.com)"),
        (str(b), 5, "duplicate-id", "1", f"id '1' is already used by the record on line 2 of {a}"),
    ]
    assert report.stats["by_rule"]["duplicates"] == 2 and report.stats["duplicate_groups"] == 2


def test_unwritable_step_summary_warns_and_keeps_the_exit_code(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))  # a folder: cannot be appended to
    path = write(tmp_path, CLEAN + BROKEN["bad-date"][0] + "\n")
    result = cli("check", path, "--format", "github", "--ignore", "duplicates")
    assert result.exit_code == 1
    assert "cannot write the step summary" in result.stderr
    summary = step_summary(check_records(load([str(path)]), Config(), ignore=["duplicates"]))
    assert "| `duplicates` | ignored |" in summary


def test_text_table_names_files_when_several(cli, tmp_path):
    a = write(tmp_path, "id,email_from\n1,bad\n", "a.csv")
    b = write(tmp_path, "id,email_from\n2,worse\n", "b.csv")
    result = cli("check", a, b)
    assert result.exit_code == 1
    assert "file" in result.stdout and "a.csv" in result.stdout and "b.csv" in result.stdout


def test_problems_in_line_then_rule_order_with_and_without_file_level(tmp_path):
    """Several rules on one record, two required columns of one rule on one record (kept in
    the order given), a cap that cuts inside a record, and the same with a file-level problem
    (a required column missing from one of two files)."""
    text = ("id,name,email_from,probability,create_date,type\n"
            "1,,bad,200,nope,x\n"
            "1,Ann,a@x.com,10,2024-01-01,lead\n"
            "3,,,x,,\n"
            "4,Bob,a@x.com,,,\n")
    expected = [
        ("missing-required", 2, "name"), ("invalid-email", 2, "email_from"), ("bad-date", 2, "create_date"),
        ("bad-probability", 2, "probability"), ("unknown-type", 2, "type"),
        ("duplicate-id", 3, "id"),
        ("missing-required", 4, "name"), ("missing-required", 4, "email_from"),
        ("bad-probability", 4, "probability"),
        ("duplicates", 5, None),
    ]
    path = write(tmp_path, text)
    found = check_records(load([str(path)]), require=["name", "email_from"])
    assert [(p["rule"], p["row"], p["column"]) for p in found.problems] == expected
    capped = check_records(load([str(path)]), require=["name", "email_from"], max_problems=8)
    assert [(p["rule"], p["row"], p["column"]) for p in capped.problems] == expected[:8]
    swapped = check_records(load([str(path)]), require=["email_from", "name"])
    assert [(p["rule"], p["column"]) for p in swapped.problems if p["row"] == 4][:2] == [
        ("missing-required", "email_from"), ("missing-required", "name")]
    other = write(tmp_path, "id,email_from\n9,z@x.com\n", "other.csv")
    both = check_records(load([str(other), str(path)]), require=["name", "email_from"])
    assert [(p["rule"], p["file"], p["row"], p["column"]) for p in both.problems] == [
        ("missing-required", str(other), 1, "name"),
        *[(rule, str(path), row, col) for rule, row, col in expected]]


def test_listed_duplicates_carry_the_group_numbers_and_reasons_of_dupes(tmp_path):
    """The groups are numbered and described only for the listed problems: the numbers and
    reasons must still be those `dupes` gives every group (input order of first records)."""
    from leadtool.match.groups import find_groups
    from leadtool.match.table import stats
    from leadtool.records import IDX

    rows = ["id,email_from,partner_id"]
    # groups whose first records interleave, a later group listed alone, one customer-only link
    emails = ["c@x", "a@x", "b@x", "a@x", "d@x", "c@x", "b@x", "e@x", "e@x", "d@x"]
    rows += [f"{i + 1},{e},{'P1' if i in (4, 7) else ''}" for i, e in enumerate(emails)]
    path = write(tmp_path, "\n".join(rows) + "\n")
    records = load([str(path)])
    for by in (["email"], ["email", "customer"]):
        groups = find_groups(records, by=by)
        number = dict(zip(groups.members[IDX].to_list(), groups.members["group"].to_list(), strict=True))
        reasons = {g: " ".join(r) for g, r in zip(groups.info["group"], groups.info["reasons"].to_list(), strict=True)}
        for cap in (None, 2):
            found = check_records(records, by=by, max_problems=cap)
            dups = [p for p in found.problems if p["rule"] == "duplicates"]
            assert dups, by
            for p in dups:
                g = number[int(p["id"]) - 1]
                assert p["message"].endswith(f"(group {g}: {reasons[g]})"), (by, p)
                assert p["value"] == reasons[g]
        assert found.stats["duplicate_groups"] == len(groups) == stats(records, groups)["groups"]
        assert found.stats["records_in_duplicate_groups"] == stats(records, groups)["records_in_groups"]
