"""Fuzzy suggestions through the commands (dupes --fuzzy, merge --fuzzy-merge, check --fuzzy,
inspect --fuzzy), the [fuzzy] config and the library: the threshold is honoured, only
suggestions at or above --fuzzy-merge are merged and none without it, undo restores the input
byte for byte, and a huge block warns and finishes."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import leadtool
from leadtool.api import fuzzy_pairs
from leadtool.cli import app

FIRST = ["Jane", "John", "Marie", "Pierre", "Anna", "Lucas", "Emma", "Noah", "Olivia", "Liam", "Sofia",
         "Hugo", "Léa", "Tom", "Ines", "Max", "Nora", "Paul", "Eva", "Sam"]
LAST = ["Doe", "Smith", "Martin", "Dupont", "Peeters", "Janssens", "Müller", "Rossi", "Garcia", "Novak",
        "Lambert", "Moreau", "Fischer", "Weber", "Silva", "Costa", "Horvath", "Nagy", "Berg", "Visser",
        "Keller", "Brunner", "Laurent", "Girard", "Fontaine", "Roux", "Petit", "Leroy", "Simon", "Michel"]
COMPANY = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell"]
CITY = ["Brussels", "Antwerp", "Ghent", "Paris", "Lyon", "Berlin", "Munich", "Amsterdam", "Madrid", "Rome"]
COLUMNS = ["contact_name", "partner_name", "email_from", "phone", "street", "city", "zip"]

JANE = {"contact_name": "Jane Quackenbush", "partner_name": "Quasar Widgets", "email_from": "jane.q@quasarwidgets.com",
        "phone": "+32 2 555 12 34", "street": "12 Rue Haute", "city": "Namur", "zip": "5000"}
# the same person twice, written differently: one pair each, none of them sharing an email key
PLANTED = [
    JANE, dict(JANE, email_from="jane.q@quasarwidgtes.com", contact_name="Quackenbush, Jane"),
    {"contact_name": "Bob Zimmerman", "partner_name": "Zeta Tools", "phone": "+32 9 444 55 66", "city": "Ghent",
     "zip": "9000"},
    {"contact_name": "Robert Zimmerman", "partner_name": "ZETA TOOLS Inc.", "phone": "09/444.55.66", "city": "GHENT"},
    {"contact_name": "Carla Ostrowski", "city": "Liège", "zip": "4000"},
    {"contact_name": "C. Ostrowski", "city": "Liege", "zip": "4000"},
    {"contact_name": "Ivo Brandt", "phone": "+32 3 777 88 99", "zip": "2000"},
    {"contact_name": "Ivo Brand", "zip": "2000", "city": "Antwerp"},
    {"contact_name": "Greta Vos", "email_from": "greta.vos@gmail.com"},
    {"contact_name": "G Vos", "email_from": "gretavos@gmail.com"},
]


def people(n: int = 800, seed: int = 7) -> list[dict[str, str]]:
    """Different people, 30% of them twice with one email address (exact duplicates), so
    that the model has something to learn from."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        first, last = FIRST[rng.integers(len(FIRST))], LAST[rng.integers(len(LAST))]
        row = {"contact_name": f"{first} {last}", "partner_name": f"{COMPANY[rng.integers(len(COMPANY))]} {k % 7}",
               "email_from": f"{first.lower()}.{last.lower()}{k}@example{k % 13}.com",
               "phone": f"+32 2 {rng.integers(100, 999)} {rng.integers(10, 99)} {rng.integers(10, 99)}",
               "street": f"{rng.integers(1, 300)} {LAST[rng.integers(len(LAST))]} Street",
               "city": CITY[rng.integers(len(CITY))], "zip": str(rng.integers(1000, 9999))}
        rows.append(row)
        if rng.random() < 0.3:
            rows.append(dict(row, street=""))
    return rows


def frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    df = pd.DataFrame([{c: r.get(c, "") for c in COLUMNS} for r in rows])
    df.insert(0, "id", [str(i + 1) for i in range(len(df))])
    return df


BASE = people()
PLANTED_IDS = [str(len(BASE) + 1 + k) for k in range(len(PLANTED))]
PAIRS = {frozenset(PLANTED_IDS[k:k + 2]) for k in range(0, len(PLANTED_IDS), 2)}


@pytest.fixture(scope="module")
def people_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzzy") / "people.csv"
    frame(BASE + PLANTED).to_csv(path, index=False)
    return path


def dupes_json(cli, *args) -> dict:
    result = cli("dupes", *args, "--fuzzy", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def fuzzy_groups(doc: dict) -> dict[frozenset, float]:
    """Each fuzzy group's ids and score."""
    return {frozenset(r["id"] for r in g["records"]): g["score"] for g in doc["groups"] if g["fuzzy"]}


# ---- dupes

def test_dupes_marks_fuzzy_groups_and_announces_the_candidates(cli, runner, people_csv):
    result = runner.invoke(app, ["dupes", str(people_csv), "--fuzzy", "--limit", "all"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "(fuzzy)" in result.stdout and "against the head" in result.stdout
    assert "first: exact; last: exact" in result.stdout
    count = len(fuzzy_groups(dupes_json(cli, people_csv)))
    assert f"{count} of them joined by fuzzy suggestions" in " ".join(result.stdout.split())
    assert "note: fuzzy matching: comparing" in result.stderr and "candidate pairs" in result.stderr
    quiet = cli("dupes", people_csv, "--fuzzy", "--quiet")
    assert "candidate pairs" not in quiet.stderr


def test_the_planted_people_are_suggested_and_nobody_else(cli, people_csv):
    found = fuzzy_groups(dupes_json(cli, people_csv, "--fuzzy-threshold", "90"))
    assert set(found) == PAIRS


def test_the_threshold_is_honoured(cli, people_csv):
    low = fuzzy_groups(dupes_json(cli, people_csv, "--fuzzy-threshold", "90"))
    scores = sorted(set(low.values()))
    assert len(scores) >= 3  # the planted pairs do not all score alike
    for threshold in (90, 96, (scores[-2] + scores[-1]) / 2):
        doc = dupes_json(cli, people_csv, "--fuzzy-threshold", str(threshold))
        found = fuzzy_groups(doc)
        assert found == {k: s for k, s in low.items() if s >= threshold}
        for group in doc["groups"]:
            for reason in group["reasons"]:
                if reason.startswith("fuzzy:"):
                    assert int(reason.split(":")[1]) >= math.floor(threshold)
    default = fuzzy_groups(dupes_json(cli, people_csv))
    assert default == {k: s for k, s in low.items() if s >= 96}


def test_json_gives_score_and_comparison_against_the_head(cli, people_csv):
    result = cli("dupes", people_csv, "--fuzzy", "--format", "json")
    doc = json.loads(result.stdout)
    # laid out as json.dumps lays it out, to the character
    assert result.stdout == json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    assert doc["stats"]["fuzzy_groups"] == len(fuzzy_groups(doc)) and doc["stats"]["candidate_pairs"] > 0
    jane = next(g for g in doc["groups"] if any(r["id"] == PLANTED_IDS[0] for r in g["records"]))
    head, other = jane["records"]
    assert head["head"] and head["score"] is None and head["compared"] is None
    assert other["score"] >= 96 and other["compared"]["email"] == "typo"
    assert other["compared"]["first"] == other["compared"]["last"] == "exact"
    exact = next(g for g in doc["groups"] if not g["fuzzy"])
    assert exact["score"] is None and all(r["score"] is None for r in exact["records"])


def test_csv_keeps_group_and_id_first_and_merge_reads_it_back(cli, people_csv, tmp_path):
    result = cli("dupes", people_csv, "--fuzzy", "--format", "csv")
    lines = result.stdout.splitlines()
    assert lines[0] == ("group,id,head,reasons,file,row,name,email_from,partner_name,create_date,score,compared")
    table = pd.read_csv(io.StringIO(result.stdout), dtype=str)
    suggested = table[table["score"].notna()]
    assert set(suggested["id"]) >= {ids for pair in PAIRS for ids in sorted(pair)[1:]}
    assert suggested["compared"].str.contains("first: ").any()
    groups = tmp_path / "reviewed.csv"
    groups.write_text(result.stdout, encoding="utf-8")
    merged = cli("merge", people_csv, "--groups", groups, "-o", tmp_path / "out.csv", "--yes", "--quiet")
    assert merged.exit_code == 0, merged.output
    kept = pd.read_csv(tmp_path / "out.csv", dtype=str)["id"].tolist()
    assert len(kept) == len(BASE) + len(PLANTED) - table["head"].eq("false").sum()


def test_without_fuzzy_the_output_has_no_fuzzy_column(cli, people_csv):
    plain = cli("dupes", people_csv, "--format", "csv")
    assert plain.stdout.splitlines()[0].endswith(",create_date")
    doc = json.loads(cli("dupes", people_csv, "--format", "json").stdout)
    assert "fuzzy" not in plain.stderr and "fuzzy_groups" not in doc["stats"]
    assert all("fuzzy" not in g and "score" not in g["records"][0] for g in doc["groups"])


# ---- merge

def _merge(cli, csv: Path, out: Path, *args: str):
    result = cli("merge", csv, "-o", out, "--yes", "--quiet", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in Path(f"{out}.audit.jsonl").read_text(encoding="utf-8").splitlines()]


def test_fuzzy_merge_merges_only_suggestions_at_or_above_it(cli, people_csv, tmp_path):
    low = fuzzy_groups(dupes_json(cli, people_csv, "--fuzzy-threshold", "90"))
    scores = sorted(set(low.values()))
    cut = (scores[0] + scores[1]) / 2  # the weakest suggestion is left out
    events = _merge(cli, people_csv, tmp_path / "out.csv", "--fuzzy-merge", str(cut))
    fuzzy = [e for e in events if any(r.startswith("fuzzy:") for r in e.get("reason", []))]
    merged = {frozenset([e["head"], *e["merged"]]) for e in fuzzy}
    assert merged == {k for k, s in low.items() if s >= cut}
    for event in fuzzy:
        assert event["scores"] and all(s["score"] >= cut for s in event["scores"])
        assert {frozenset(s["records"]) for s in event["scores"]} <= {frozenset([event["head"], *event["merged"]])}
        assert all(s["matched"] for s in event["scores"])
    kept = set(pd.read_csv(tmp_path / "out.csv", dtype=str)["id"])
    for pair, score in low.items():
        assert (len(pair & kept) == 1) == (score >= cut)
    # below the threshold: the threshold goes down with it
    events = _merge(cli, people_csv, tmp_path / "all.csv", "--fuzzy-merge", str(scores[0]))
    assert sum(1 for e in events if "scores" in e) == len(low)


def test_without_fuzzy_merge_nothing_fuzzy_is_merged(cli, people_csv, tmp_path):
    events = _merge(cli, people_csv, tmp_path / "plain.csv")
    assert events and not any("scores" in e or any("fuzzy" in r for r in e.get("reason", [])) for e in events)
    kept = set(pd.read_csv(tmp_path / "plain.csv", dtype=str)["id"])
    assert set(PLANTED_IDS) <= kept


def test_undo_of_a_fuzzy_merge_restores_the_input_byte_for_byte(cli, people_csv, tmp_path):
    out = tmp_path / "merged.csv"
    events = _merge(cli, people_csv, out, "--fuzzy-merge", "90")
    assert any("scores" in e for e in events)
    restored = tmp_path / "restored.csv"
    result = cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", restored)
    assert result.exit_code == 0, result.output
    assert restored.read_bytes() == people_csv.read_bytes()


def test_fuzzy_merge_out_of_range_is_an_error(cli, people_csv, tmp_path):
    result = cli("merge", people_csv, "-o", tmp_path / "x.csv", "--fuzzy-merge", "101")
    assert result.exit_code == 2 and "--fuzzy-merge 101" in result.stderr


# ---- the blocking guard

def test_a_huge_block_warns_and_finishes(cli, tmp_path):
    n = 400
    rows = [{"contact_name": f"{FIRST[i % 20]} {LAST[(i * 7) % 30]}", "partner_name": "Megacorp",
             "email_from": f"p{i}@mail{i % 9}.com"} for i in range(n)]
    path = tmp_path / "mega.csv"
    frame(rows).to_csv(path, index=False)
    result = cli("dupes", path, "--fuzzy")
    assert result.exit_code == 0, result.output
    assert f"warning: company block 'megacorp' ({n} records) compared to its 4 nearest only" in result.stderr
    assert result.stderr.index("candidate pairs") < result.stderr.index("megacorp")
    quiet = cli("dupes", path, "--fuzzy", "--quiet")
    assert "megacorp" in quiet.stderr and "candidate pairs" not in quiet.stderr


def test_many_cut_blocks_are_counted_and_verbose_names_them_all(cli, tmp_path):
    rows = [{"contact_name": f"Anna Name{k}", "partner_name": f"Company {k % 15}", "email_from": f"a{k}@x{k}.com"}
            for k in range(15 * 20)]
    path = tmp_path / "companies.csv"
    frame(rows).to_csv(path, index=False)
    every = cli("dupes", path, "--fuzzy", "--verbose").stderr
    assert every.count("warning: company block") == 15
    total = every.count(" block '")
    short = cli("dupes", path, "--fuzzy").stderr
    assert short.count(" block '") == 10
    assert f"{total - 10} more blocks compared to their nearest records only (--verbose names them all)" in short


# ---- check and inspect

def test_check_reports_suggestions_as_warnings(cli, people_csv, tmp_path):
    plain = cli("check", people_csv, "--format", "json", "--max-duplicates", "1000")
    assert plain.exit_code == 0 and "warnings" not in json.loads(plain.stdout)
    result = cli("check", people_csv, "--fuzzy", "--format", "json", "--max-duplicates", "1000")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["valid"] and doc["problems"] == []
    found = doc["warnings"]
    assert {frozenset([w["id"], w["message"].split()[4]]) for w in found} == {
        k for k, s in fuzzy_groups(dupes_json(cli, people_csv)).items()}
    assert all(w["rule"] == "fuzzy-duplicates" and w["value"].startswith("fuzzy:") for w in found)
    assert doc["stats"]["fuzzy"]["mode"] == "warn" and doc["stats"]["warnings"] == len(found)
    assert "fuzzy-duplicates" not in doc["stats"]["by_rule"]
    github = cli("check", people_csv, "--fuzzy", "--format", "github", "--max-duplicates", "1000")
    assert github.exit_code == 0 and github.stdout.count("::warning ") == len(found)
    text = cli("check", people_csv, "--fuzzy", "--max-duplicates", "1000")
    assert f"{len(found)} fuzzy suggestions (warnings)" in " ".join(text.stdout.split())
    ignored = cli("check", people_csv, "--fuzzy", "--ignore", "fuzzy-duplicates", "--format", "json",
                  "--max-duplicates", "1000")
    assert "fuzzy" not in json.loads(ignored.stdout)["stats"]


def test_check_fails_on_suggestions_when_configured(cli, people_csv, tmp_path):
    config = tmp_path / "fail.toml"
    config.write_text('[check]\nfuzzy = "fail"\nmax_duplicates = 1000\n', encoding="utf-8")
    result = cli("check", people_csv, "--config", config, "--format", "json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert not doc["valid"] and doc["stats"]["by_rule"]["fuzzy-duplicates"] == len(doc["problems"]) > 0
    assert "warnings" not in doc
    warn = tmp_path / "warn.toml"
    warn.write_text('[check]\nfuzzy = "warn"\nmax_duplicates = 1000\n', encoding="utf-8")
    assert cli("check", people_csv, "--config", warn).exit_code == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[check]\nfuzzy = "maybe"\n', encoding="utf-8")
    assert cli("check", people_csv, "--config", bad).exit_code == 2


def test_inspect_counts_suggestions_only_when_asked(cli, people_csv):
    plain = cli("inspect", people_csv, "--format", "json")
    assert json.loads(plain.stdout)[0]["extra"] == {}
    result = cli("inspect", people_csv, "--fuzzy", "--format", "json")
    extra = json.loads(result.stdout)[0]["extra"]
    count = len(fuzzy_groups(dupes_json(cli, people_csv)))
    assert extra == {"fuzzy_suggestions": count, "fuzzy_groups": count}
    assert f"{count} (in {count} groups)" in cli("inspect", people_csv, "--fuzzy").stdout


def test_fuzzy_threshold_needs_fuzzy(cli, people_csv):
    for command in ("dupes", "inspect", "check"):
        result = cli(command, people_csv, "--fuzzy-threshold", "90")
        assert result.exit_code == 2 and "give --fuzzy too" in result.stderr
    result = cli("dupes", people_csv, "--fuzzy", "--fuzzy-threshold", "-1")
    assert result.exit_code == 2 and "expected a score from 0 to 100" in result.stderr


# ---- config

def test_config_threshold_fields_columns_and_blocking(cli, people_csv, tmp_path):
    low = fuzzy_groups(dupes_json(cli, people_csv, "--fuzzy-threshold", "90"))
    config = tmp_path / "leadtool.toml"
    config.write_text("[fuzzy]\nthreshold = 90\n", encoding="utf-8")
    assert fuzzy_groups(dupes_json(cli, people_csv, "--config", config)) == low
    # the option wins over the file
    assert fuzzy_groups(dupes_json(cli, people_csv, "--config", config, "--fuzzy-threshold", "96")) == {
        k: s for k, s in low.items() if s >= 96}
    # without the name, two people with one name and nothing else in common are no suggestion
    config.write_text('[fuzzy]\nthreshold = 90\nfields = ["email", "company", "phone", "street"]\n', encoding="utf-8")
    fewer = fuzzy_groups(dupes_json(cli, people_csv, "--config", config))
    assert frozenset(PLANTED_IDS[4:6]) not in fewer and fewer
    # no blocking key: nothing is compared
    from leadtool.match.fuzzy_blocking import BLOCKING_KEYS

    config.write_text(f"[fuzzy]\ndrop_blocking = {json.dumps(list(BLOCKING_KEYS))}\n", encoding="utf-8")
    doc = dupes_json(cli, people_csv, "--config", config)
    assert doc["stats"]["candidate_pairs"] == 0 and not fuzzy_groups(doc)


def test_config_columns_point_a_field_at_another_header(cli, tmp_path):
    rows = BASE + PLANTED
    df = frame(rows).rename(columns={"contact_name": "Person"})
    path = tmp_path / "person.csv"
    df.to_csv(path, index=False)
    config = tmp_path / "leadtool.toml"
    config.write_text('[fuzzy]\n[fuzzy.columns]\nname = "Person"\n', encoding="utf-8")
    def compared(doc: dict) -> dict:
        """The comparison of Jane's second record against the first."""
        group = next(g for g in doc["groups"] if any(r["id"] == PLANTED_IDS[1] for r in g["records"]))
        return next(r["compared"] for r in group["records"] if r["compared"])

    assert compared(dupes_json(cli, path, "--config", config))["last"] == "exact"
    assert "last" not in compared(dupes_json(cli, path))
    config.write_text('[fuzzy.columns]\nname = "Nobody"\n', encoding="utf-8")
    result = cli("dupes", path, "--fuzzy", "--config", config)
    assert result.exit_code == 2 and "fuzzy.columns.name" in result.stderr and "Nobody" in result.stderr


@pytest.mark.parametrize("text, needle", [
    ('[fuzzy]\nfields = ["name", "age"]\n', "fuzzy.fields: unknown name 'age'"),
    ('[fuzzy]\ndrop_blocking = ["soundex"]\n', "fuzzy.drop_blocking: unknown name 'soundex'"),
    ("[fuzzy]\nthreshold = 150\n", "fuzzy.threshold must be a number from 0 to 100"),
    ("[fuzzy]\nthreshold = true\n", "fuzzy.threshold must be a number"),
    ("[fuzzy]\nfields = []\n", "fuzzy.fields: give one field at least"),
    ("[fuzzy]\nwindow = 3\n", "unknown key fuzzy.window"),
    ('[fuzzy.columns]\nage = "Age"\n', "unknown key fuzzy.columns.age"),
])
def test_config_mistakes_are_errors(cli, tmp_path, text, needle):
    config = tmp_path / "leadtool.toml"
    config.write_text(text, encoding="utf-8")
    result = cli("inspect", Path(__file__).resolve().parent.parent / "samples" / "leads.csv", "--config", config)
    assert result.exit_code == 2 and needle in result.stderr, result.stderr


# ---- the library

def test_library_find_groups_and_pairs(people_csv):
    df = leadtool.load(str(people_csv))
    groups = leadtool.find_groups(df, fuzzy=True, fuzzy_threshold=90)
    fuzzy = groups[groups["group_score"].notna()]
    assert {frozenset(g["id"]) for _, g in fuzzy.groupby("group")} == PAIRS
    assert {"score", "compared", "vs_email", "vs_first", "vs_zip"} <= set(groups.columns)
    plain = leadtool.find_groups(df)
    assert "score" not in plain.columns
    pairs = fuzzy_pairs(df, threshold=90)
    assert list(pairs.columns[:7]) == ["idx_a", "idx_b", "id_a", "id_b", "score", "matched", "exact"]
    assert (pairs["score"] >= 90).all() and pairs["score"].is_monotonic_decreasing
    assert {frozenset(p) for p in pairs.loc[~pairs["exact"], ["id_a", "id_b"]].values.tolist()} == PAIRS
    assert pairs["exact"].any()  # pairs of one email address score high too
    row = pairs[(pairs["id_a"] == PLANTED_IDS[0]) & (pairs["id_b"] == PLANTED_IDS[1])].iloc[0]
    assert row["email"] == "typo" and row["first"] == "exact" and df.iloc[row["idx_a"]]["id"] == PLANTED_IDS[0]


def test_library_plan_merge_with_fuzzy_merge(people_csv):
    df = leadtool.load(str(people_csv))
    plan = leadtool.plan_merge(df, fuzzy_merge=90)
    fuzzy = plan.groups[plan.groups["fuzzy_score"].notna()]
    assert len(fuzzy) == len(PAIRS) and "__lt_fuzzy_scores" not in plan.groups.columns
    lines = [json.loads(line) for line in leadtool.audit_lines(plan, at="2024-06-01T12:00:00Z")]
    assert sum(1 for e in lines if "scores" in e) == len(PAIRS)
    assert len(leadtool.merge_records(df, fuzzy_merge=90)) == len(df) - plan.plan.summary()["records_merged_away"]


@pytest.mark.parametrize("text", ["id,name\n", "id,name\n1,Jane\n", "id,x\n1,a\n2,a\n",
                                  "id,contact_name\n1,Jane Doe\n2,Jane Doe\n"])
def test_small_files_finish(cli, tmp_path, text):
    path = tmp_path / "small.csv"
    path.write_text(text, encoding="utf-8")
    result = cli("dupes", path, "--fuzzy", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].endswith(",score,compared")
    assert cli("merge", path, "--fuzzy-merge", "50", "-o", tmp_path / "out.csv", "--yes").exit_code == 0
    check = cli("check", path, "--fuzzy", "--format", "json")
    stats = json.loads(check.stdout)["stats"]
    # none of these files has an email column: check's missing-field rule fails them (exit 1),
    # and fuzzy suggestions stay warnings
    assert check.exit_code == 1 and stats["by_rule"]["missing-field"] == stats["problems"] == 1
    assert stats["fuzzy"]["mode"] == "warn"
    assert len(fuzzy_pairs(leadtool.load(str(path)), threshold=0).columns) == 15
