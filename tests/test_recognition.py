"""Which column holds which field, file by file: the user's mapping (several columns for one
field), presets (detected, given by name or file, or turned off), Odoo's labels and values in its
other languages, and what check says when nothing holds the email (docs/formats.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import groups_of

from leadtool.config import parse_config
from leadtool.errors import ConfigError
from leadtool.fields import parse_map_options, resolve_headers
from leadtool.io import load
from leadtool.match.normalize import closed_expr, contact_name_expr, type_expr, won_expr
from leadtool.recognition import PresetChoice, recognise

HERE = Path(__file__).resolve().parent / "fixtures" / "exports"


def write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- several columns
def test_map_given_twice_keeps_both_headers_in_order():
    assert parse_map_options(["email_from=A", "zip=P", "email_from=B", "email_from=A"]) == {
        "email_from": ["A", "B"], "zip": ["P"]}


def test_key_fields_take_every_mapped_column_others_the_first_present():
    headers = ["Zip", "Mail 2", "Postcode", "Mail 1", "Email"]
    got = resolve_headers(headers, {"email_from": ["Mail 1", "Mail 2"], "zip": ["Postcode", "Zip"]})
    assert got == {1: "email_from", 2: "zip", 3: "email_from"}  # `Email` is not recognised: the field is mapped


def test_config_map_takes_lists(tmp_path):
    cfg = parse_config({"map": {"email_from": ["A", "B"], "name": "Deal"}})
    assert cfg.map == {"email_from": ["A", "B"], "name": ["Deal"]}
    with pytest.raises(ConfigError, match="map.zip must be a header or a list of headers"):
        parse_config({"map": {"zip": ["A", 3]}})


def test_several_email_columns_feed_the_key_and_merge_on_their_own(cli, tmp_path):
    path = write(tmp_path, "id,Work,Home,Created\n1,jane@acme.example,,2024-02-01\n2,,JANE@acme.example,2024-01-01\n"
                           "3,bob@beta.example,jane@acme.example,2024-03-01\n4,carl@c.example,,2024-01-01\n")
    config = write(tmp_path, '[map]\nemail_from = ["Work", "Home"]\ncreate_date = "Created"\n', "leadtool.toml")
    assert groups_of(cli, path, "--config", config) == [["2", "1", "3"]]
    out = tmp_path / "out.csv"
    result = cli("merge", path, "--config", config, "-o", out, "--yes")
    assert result.exit_code == 0, result.output
    # head 2 takes the first work address in head order, and keeps its own home address
    assert out.read_text().splitlines() == ["id,Work,Home,Created", "2,jane@acme.example,JANE@acme.example,2024-01-01",
                                            "4,carl@c.example,,2024-01-01"]
    doc = json.loads(cli("inspect", path, "--config", config, "--format", "json").stdout)[0]
    assert [m["field"] for m in doc["mapping"]] == ["id", "email_from", "email_from", "create_date"]


def test_several_phone_columns_feed_the_phone_key(cli, tmp_path):
    path = write(tmp_path, "id,Tel A,Tel B\n1,+32 2 555 01 01,\n2,,+32 2 555 01 01\n")
    assert groups_of(cli, path, "--by", "phone", "--map", "phone=Tel A", "--map", "phone=Tel B") == [["1", "2"]]


# ----------------------------------------------------------------------------- presets
def test_preset_map_wins_over_odoo_labels_and_user_map_over_preset():
    headers = ["Id", "FirstName", "LastName", "Title", "Salutation", "Email", "IsConverted", "CreatedDate", "Type"]
    found = recognise(headers)
    assert found.preset is not None and found.detected and found.preset.preset.name == "salesforce-lead"
    fields = {headers[i]: f for i, f in found.fields.items()}
    assert fields["Title"] == "function" and fields["Salutation"] == "title"
    assert "Type" not in fields  # another system's type column is never Odoo's
    mine = recognise(headers, {"title": "Title"})
    assert {headers[i]: f for i, f in mine.fields.items()}["Title"] == "title"
    assert "Salutation" not in {headers[i] for i in mine.fields}
    odoo = recognise(headers, choice=PresetChoice.parse("odoo"))
    assert odoo.preset is None and {headers[i]: f for i, f in odoo.fields.items()}["Title"] == "title"


def test_odoo_exports_get_no_preset():
    headers = ["ID", "Opportunity", "Email", "Created on", "Salesperson", "Stage", "First Name", "Last Name"]
    assert recognise(headers).preset is None


def test_preset_by_name_or_file_and_unknown_names(cli, tmp_path):
    path = write(tmp_path, "No,Given,Family,Mail\nP1,Ann,Lee,ann@a.example\nP2,Ann,Lee,ann@a.example\n")
    preset = write(tmp_path, '[preset]\nname = "mine"\nsystem = "Mine"\nobject = "Prospect"\n'
                             '[map]\nid = "No"\nemail_from = "Mail"\n[name]\nfirst = "Given"\nlast = "Family"\n',
                   "mine.toml")
    assert groups_of(cli, path) == []  # nothing names the email column
    assert groups_of(cli, path, "--preset", str(preset)) == [["P1", "P2"]]
    doc = json.loads(cli("inspect", path, "--preset", str(preset), "--format", "json").stdout)[0]
    assert (doc["preset"], doc["preset_detected"], doc["contact_name_from"]) == ("mine", False, ["Given", "Family"])
    result = cli("dupes", path, "--preset", "salesforce-leads")
    assert result.exit_code == 2 and "no preset named 'salesforce-leads'" in result.stderr
    assert "salesforce-lead" in result.stderr
    bad = write(tmp_path, '[preset]\nname = "x"\nsystem = "X"\nobject = "Y"\n[mapping]\n', "bad.toml")
    result = cli("dupes", path, "--preset", str(bad))
    assert result.exit_code == 2 and "unknown section" in result.stderr


def test_deal_presets_hold_opportunities_and_their_closed_stages(tmp_path):
    path = write(tmp_path, "Record ID,Deal Name,Deal Stage,Deal owner,Create Date,Amount,Associated Contact\n"
                           "1,Big deal,closedwon,Ann,2024-01-01,10,Jane Doe\n"
                           "2,Other,appointmentscheduled,Ann,2024-01-02,5,\n")
    records = load([str(path)])
    assert records.sources[0].recognition.preset.preset.name == "hubspot-deals"
    got = records.frame.select(type_expr(records).alias("t"), closed_expr(records).alias("c"),
                               contact_name_expr(records).alias("n"))
    assert got.rows() == [("opportunity", True, "Jane Doe"), ("opportunity", False, "")]


def test_preset_per_file_when_several_files(tmp_path):
    sf = write(tmp_path, "Id,FirstName,LastName,Email,IsConverted,CreatedDate\n"
                         "1,Ann,Lee,ann@a.example,true,2024-01-01\n", "sf.csv")
    odoo = write(tmp_path, "id,contact_name,email_from,active\n7,Bob Stone,bob@b.example,False\n", "odoo.csv")
    records = load([str(sf), str(odoo)])
    got = records.frame.select(contact_name_expr(records).alias("n"), closed_expr(records).alias("c"))
    assert got.rows() == [("Ann Lee", True), ("Bob Stone", True)]


# ----------------------------------------------------------------------------- translations
@pytest.mark.parametrize(("headers", "language"), [
    (["ID", "Verkoopkans", "Soort", "E-mail", "Fase", "Aangemaakt op"], "nl"),
    (["ID", "Verkaufschance", "Typ", "E-Mail", "Phase", "Erstellt am"], "de"),
    (["ID", "Opportunité", "Type", "E-mail", "Étape", "Créé le"], "fr"),
])
def test_translated_headers_are_recognised(headers, language):
    found = recognise(headers)
    assert found.language == language
    assert {headers[i]: f for i, f in found.fields.items()}[headers[-1]] == "create_date"


def test_translated_types_and_won_stages(tmp_path):
    path = write(tmp_path, "id,type,stage_id,email_from\n1,Piste,,a@x.example\n2, opportunité ,Gagné,a@x.example\n"
                           "3,Verkaufschance,gewonnen,a@x.example\n4,OPPORTUNITY,Won ,a@x.example\n5,,Qualified,\n"
                           "6,Lead,Ganho,\n")
    records = load([str(path)])
    got = records.frame.select(type_expr(records).alias("t"), won_expr(records).alias("w"))
    assert got.get_column("t").to_list() == ["lead", "opportunity", "opportunity", "opportunity", "lead", "lead"]
    assert got.get_column("w").to_list() == [False, True, True, True, False, True]
    cfg = parse_config({"stages": {"won": ["Qualified"]}})
    assert records.frame.select(won_expr(records, cfg)).to_series().to_list() == [False] * 4 + [True, False]


def test_check_accepts_translated_types(cli, tmp_path):
    path = write(tmp_path, "id,type,email_from\n1,Piste,a@x.example\n2,Opportunité,b@x.example\n"
                           "3,Prospect,c@x.example\n")
    report = json.loads(cli("check", path, "--format", "json").stdout)
    assert [(p["id"], p["rule"]) for p in report["problems"]] == [("3", "unknown-type")]


# ----------------------------------------------------------------------------- check: missing-field
def test_check_without_an_email_column_is_invalid(cli, tmp_path):
    path = write(tmp_path, "id,name,E-mail address\n1,a,a@x.example\n2,b,a@x.example\n")
    result = cli("check", path, "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["rule"], p["row"], p["column"]) for p in problems] == [("missing-field", 1, "email_from")]
    assert "--map email_from=HEADER" in problems[0]["message"]
    mapped = cli("check", path, "--map", "email_from=E-mail address", "--format", "json")
    assert [p["rule"] for p in json.loads(mapped.stdout)["problems"]] == ["duplicates"]
    assert cli("check", path, "--ignore", "missing-field,invalid-email").exit_code == 0


def test_check_missing_field_follows_by(cli, tmp_path):
    path = write(tmp_path, "id,email_from\n1,a@x.example\n")
    report = json.loads(cli("check", path, "--by", "email,customer", "--format", "json").stdout)
    assert [(p["rule"], p["column"]) for p in report["problems"]] == [("missing-field", "partner_id")]
    other = write(tmp_path, "id,email_from,phone\n2,b@x.example,\n", "other.csv")
    report = json.loads(cli("check", path, other, "--by", "phone", "--format", "json").stdout)
    assert [(p["file"], p["column"]) for p in report["problems"]] == [(str(path), "phone")]
