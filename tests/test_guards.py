"""What a merge must not do on real exports: join records by a placeholder email, merge clearly
different people, or order records by a date it could not read (docs/groups.md, docs/merge.md)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import groups_of

HEADER = "id,contact_name,partner_name,email_from,create_date\n"


def write(tmp_path: Path, body: str, name: str = "in.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def plain(text: str) -> str:
    """Printed text with its line wrapping undone."""
    return " ".join(text.split())


def merged(cli, path: Path, tmp_path: Path, *args: str) -> tuple[list[dict], str, str]:
    """The merge events, and what the merge printed on stdout and stderr (wrapping undone)."""
    out = tmp_path / "out.csv"
    result = cli("merge", path, "-o", out, "--yes", "--preview", "all", *args)
    assert result.exit_code == 0, result.output
    audit = Path(f"{out}.audit.jsonl").read_text(encoding="utf-8")
    events = [json.loads(line) for line in audit.splitlines() if '"event":"merge"' in line]
    return events, plain(result.stdout), plain(result.stderr)


# ----------------------------------------------------------------------------- placeholder emails
def test_placeholder_group_is_not_merged_and_a_real_one_is(cli, tmp_path):
    path = write(tmp_path, "1,Ann Lee,Acme,a@a.com,2024-01-01\n2,Ann Lee,Acme,A@A.COM,2024-01-02\n"
                           "3,Jane Doe,Acme,jane@acme.example,2024-01-03\n"
                           "4,Jane Doe,Acme,jane@acme.example,2024-01-04\n"
                           "5,Dan,Delta,noreply@delta.example,2024-01-05\n6,Dan,Delta,noreply@delta.example,2024-01-06\n")
    assert groups_of(cli, path) == [["3", "4"]]
    events, _, _ = merged(cli, path, tmp_path)
    assert [(e["head"], e["merged"]) for e in events] == [("3", ["4"])]


def test_placeholder_on_one_column_does_not_join_but_another_column_does(cli, tmp_path):
    path = write(tmp_path, "1,Ann,Acme,test@test.com,ann@acme.example,2024-01-01\n"
                           "2,Bob,Beta,test@test.com,bob@beta.example,2024-01-02\n"
                           "3,Ann,Acme,ann@acme.example,,2024-01-03\n",
                 header="id,contact_name,partner_name,Email,Email 2,create_date\n")
    got = groups_of(cli, path, "--map", "email_from=Email", "--map", "email_from=Email 2")
    assert got == [["1", "3"]]


def test_config_extends_and_replaces_the_placeholder_list(cli, tmp_path):
    path = write(tmp_path, "1,Ann,Acme,info@acme.example,2024-01-01\n2,Bob,Acme,info@acme.example,2024-01-02\n"
                           "3,Cy,Cee,a@a.com,2024-01-03\n4,Cy,Cee,a@a.com,2024-01-04\n")
    assert groups_of(cli, path) == [["1", "2"]]  # role mailboxes are not placeholders by default
    extended = tmp_path / "ext.toml"
    extended.write_text('[emails.placeholders]\naddresses = ["INFO@acme.example"]\n')
    assert groups_of(cli, path, "--config", extended) == []
    replaced = tmp_path / "none.toml"
    replaced.write_text("[emails.placeholders]\ndefaults = false\nrepeated_character = false\n")
    assert groups_of(cli, path, "--config", replaced) == [["1", "2"], ["3", "4"]]


def test_inspect_and_check_report_placeholders(cli, tmp_path):
    path = write(tmp_path, "1,Ann,Acme,a@a.com,2024-01-01\n2,Bob,Beta,a@a.com,2024-01-02\n"
                           "3,Cy,Cee,noemail@cee.example,2024-01-03\n4,Di,Dee,di@dee.example,2024-01-04\n")
    doc = json.loads(cli("inspect", path, "--format", "json").stdout)[0]
    assert (doc["placeholder_emails"], doc["placeholder_keys"]) == (3, ["a@a.com", "noemail@cee.example"])
    assert doc["duplicate_groups"] == 0
    result = cli("check", path, "--format", "json")
    assert result.exit_code == 0, result.output  # placeholders are reported, not problems
    stats = json.loads(result.stdout)["stats"]
    assert (stats["placeholder_emails"], stats["placeholder_keys"]) == (3, ["a@a.com", "noemail@cee.example"])
    assert "3 placeholder emails, never grouped (a@a.com, noemail@cee.example)" in plain(cli("check", path).stdout)


# ----------------------------------------------------------------------------- different people
def test_group_of_different_people_is_held_back_and_the_same_person_merges(cli, tmp_path):
    path = write(tmp_path, "1,Ann Lee,Acme,sales@acme.example,2024-01-01\n"
                           "2,Bob Stone,Beta,sales@acme.example,2024-01-02\n"
                           "3,Jane Doe,Acme,jane@acme.example,2024-01-03\n4,\"Doe, J.\",ACME Corp.,jane@acme.example,"
                           "2024-01-04\n5,Jane M. Doe,Acme Group,jane@acme.example,2024-01-05\n")
    events, out, err = merged(cli, path, tmp_path)
    assert [(e["head"], e["merged"]) for e in events] == [("3", ["4", "5"])]
    assert "1 group(s) of clearly different people" in err and "--allow-conflicts" in err
    assert "different people (Ann Lee, Bob Stone) at different companies (Acme, Beta)" in out
    assert "1 groups of different people not merged" in out
    events, _, _ = merged(cli, path, tmp_path, "--allow-conflicts")
    assert [(e["head"], e["merged"]) for e in events] == [("1", ["2"]), ("3", ["4", "5"])]


def test_three_people_on_one_address_are_held_back_even_at_one_company(cli, tmp_path):
    path = write(tmp_path, "1,Ann Lee,Acme,team@acme.example,2024-01-01\n"
                           "2,Bob Stone,Acme,team@acme.example,2024-01-02\n"
                           "3,Carla Diaz,Acme,team@acme.example,2024-01-03\n"
                           "4,Ann Lee,Acme,ann@acme.example,2024-01-04\n5,Bob Stone,Acme,ann@acme.example,2024-01-05\n")
    events, out, err = merged(cli, path, tmp_path)
    # two names at one company may be one mailbox shared by a couple of colleagues: merged
    assert [(e["head"], e["merged"]) for e in events] == [("4", ["5"])]
    assert "3 different people: Ann Lee, Bob Stone, Carla Diaz" in out


def test_manual_groups_are_never_held_back(cli, tmp_path):
    path = write(tmp_path, "1,Ann Lee,Acme,x@acme.example,2024-01-01\n2,Bob Stone,Beta,y@beta.example,2024-01-02\n")
    events, _, _ = merged(cli, path, tmp_path, "--group", "1,2")
    assert [(e["head"], e["merged"]) for e in events] == [("1", ["2"])]


def test_library_plan_marks_held_groups(tmp_path):
    import leadtool

    path = write(tmp_path, "1,Ann Lee,Acme,s@acme.example,2024-01-01\n2,Bob Stone,Beta,s@acme.example,2024-01-02\n")
    plan = leadtool.plan_merge(leadtool.load(str(path)))
    row = plan.groups.iloc[0]
    assert row["skipped"] and row["held"] == "conflict" and "Ann Lee, Bob Stone" in row["conflict"]
    plan = leadtool.plan_merge(leadtool.load(str(path)), allow_conflicts=True)
    assert not plan.groups.iloc[0]["skipped"]


# ----------------------------------------------------------------------------- local dates
US = ("id,email_from,create_date\n1,a@x.example,5/4/2023 10:22 AM\n2,a@x.example,4/30/2023 4:15 PM\n"
      "3,b@x.example,1/3/2023 9:00 AM\n4,b@x.example,1/2/2023 11:59 PM\n")
UK = ("id,email_from,create_date\n1,a@x.example,04/05/2023 10:22\n2,a@x.example,30/04/2023 16:15\n"
      "3,b@x.example,03/01/2023\n4,b@x.example,01/02/2023\n")


@pytest.mark.parametrize(("text", "heads"), [(US, ["2", "4"]), (UK, ["2", "3"])], ids=["mdy", "dmy"])
def test_local_dates_order_the_heads(cli, tmp_path, text, heads):
    path = tmp_path / "in.csv"
    path.write_text(text)
    events, _, _ = merged(cli, path, tmp_path)
    assert [e["head"] for e in events] == heads


def test_an_order_given_wins_over_the_values(cli, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(UK)
    result = cli("dupes", path, "--date-order", "mdy")
    # 30/04 cannot be month first: it is unreadable then, which stops the command
    assert result.exit_code == 2 and "cannot read the create_date '30/04/2023 16:15'" in plain(result.stderr)
    assert cli("dupes", path, "--date-order", "ymd").exit_code == 2


def test_mixed_forms_in_one_column(cli, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,email_from,create_date\n1,a@x.example,2023-05-04 10:22:00\n2,a@x.example,4/30/2023 4:15 PM\n"
                    "3,a@x.example,2023-04-30T15:00:00Z\n4,a@x.example,1.5.2023\n5,b@x.example,13/1/2023\n"
                    "6,b@x.example,\n")
    # 13/1/2023 is day first, 4/30/2023 month first: a column that says both is ambiguous
    result = cli("dupes", path)
    assert result.exit_code == 2 and "both day-first and month-first" in plain(result.stderr)
    path.write_text("id,email_from,create_date\n1,a@x.example,2023-05-04 10:22:00\n2,a@x.example,4/30/2023 4:15 PM\n"
                    "3,a@x.example,2023-04-30T15:00:00Z\n4,a@x.example,1.5.2023\n5,a@x.example,\n")
    result = cli("dupes", path, "--format", "csv")
    assert result.exit_code == 0, result.output
    order = [r["id"] for r in csv.DictReader(io.StringIO(result.stdout))]
    # 30 April 15:00, 30 April 16:15, 1 May, 4 May, then the record without a date
    assert order == ["3", "2", "4", "1", "5"]


def test_unreadable_dates_stop_the_merge_unless_allowed(cli, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,email_from,create_date\n1,a@x.example,2024-01-05\n2,a@x.example,next week\n"
                    "3,a@x.example,2024-01-01\n4,c@x.example,whenever\n")
    out = tmp_path / "out.csv"
    result = cli("merge", path, "-o", out, "--yes")
    assert result.exit_code == 2
    err = plain(result.stderr)
    assert "cannot read the create_date 'next week' of record 2" in err and "--allow-bad-dates" in err
    assert not out.exists()
    events, out, err = merged(cli, path, tmp_path, "--allow-bad-dates")
    assert [(e["head"], e["merged"]) for e in events] == [("3", ["1", "2"])]  # 2 sorts last
    assert "create_date unreadable, sorted last: 2" in out
    assert "1 record(s) in duplicate groups have a create_date that cannot be read (id 2)" in err
    # record 4 is in no group: its date orders nothing (check reports it)
    report = json.loads(cli("check", path, "--format", "json").stdout)
    assert [p["id"] for p in report["problems"] if p["rule"] == "bad-date"] == ["2", "4"]


def test_check_reads_local_dates(cli, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,email_from,create_date\n1,a@x.example,5/4/2023 10:22 AM\n2,b@x.example,4/30/2023\n"
                    "3,c@x.example,4/31/2023\n4,d@x.example,13:00\n")
    report = json.loads(cli("check", path, "--format", "json").stdout)
    assert [(p["id"], p["value"]) for p in report["problems"]] == [("3", "4/31/2023"), ("4", "13:00")]
