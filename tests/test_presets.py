"""Presets for other CRMs: validation, detection, field maps, composed names, closed rules."""

from __future__ import annotations

import polars as pl
import pytest

from leadtool.errors import ConfigError
from leadtool.presets import builtin_names, builtin_presets, detect, load_preset, parse_preset


def _cols(text: str) -> list[str]:
    return text.split(",")


SF_LEAD_API = _cols(
    "Id,IsDeleted,MasterRecordId,LastName,FirstName,Salutation,Name,Title,Company,Street,City,State,PostalCode,"
    "Country,Phone,MobilePhone,Email,Website,Description,LeadSource,Status,Industry,OwnerId,IsConverted,"
    "ConvertedDate,CreatedDate,CreatedById")
SF_LEAD_REPORT = _cols(
    "Lead ID,First Name,Last Name,Title,Company / Account,Email,Phone,Mobile,Lead Source,Lead Status,Lead Owner,"
    "Created Date,Street,City,State/Province,Zip/Postal Code,Country,Converted")
HEADERS = {
    "salesforce-lead": SF_LEAD_API,
    "salesforce-lead ": SF_LEAD_REPORT,
    "salesforce-lead  ": _cols("First Name,Last Name,Company,Lead Owner,Created Date,Email"),
    "salesforce-opportunity": _cols(
        "Id,IsDeleted,AccountId,Name,Description,StageName,Amount,Probability,CloseDate,Type,LeadSource,IsClosed,"
        "IsWon,ForecastCategory,OwnerId,CreatedDate"),
    "salesforce-contact": _cols(
        "Contact ID,First Name,Last Name,Account Name,Title,Email,Phone,Mobile,Mailing Street,Mailing City,"
        "Mailing State/Province,Mailing Zip/Postal Code,Mailing Country,Contact Owner,Created Date"),
    "hubspot-contacts": _cols(
        "Record ID,First Name,Last Name,Email,Phone Number,Contact owner,Lifecycle Stage,Lead Status,Create Date,"
        "Associated Company,Job Title,City"),
    "hubspot-deals": _cols(
        "Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,Deal owner,Pipeline,Deal Type,"
        "Associated Company,Associated Contact"),
    "zoho-leads": _cols(
        "Record Id,Lead Owner,Company,First Name,Last Name,Designation,Email,Phone,Mobile,Lead Source,Lead Status,"
        "Created Time,Modified Time,Street,City,State,Zip Code,Country,Secondary Email"),
    "zoho-contacts": _cols(
        "Record Id,Contact Owner,First Name,Last Name,Account Name,Email,Phone,Mobile,Title,Mailing Street,"
        "Mailing City,Mailing Zip,Created Time,Modified Time"),
    "pipedrive-people": _cols(
        "Person - ID,Person - Name,Person - Email - Work,Person - Email - Home,Person - Phone - Work,"
        "Person - Organization,Person - Owner,Person - Person created,Person - Labels"),
    "pipedrive-leads": _cols(
        "Lead - ID,Lead - Title,Lead - Owner,Lead - Labels,Lead - Lead created,Lead - Value,Person - Name,"
        "Person - Email - Work,Organization - Name"),
    "pipedrive-deals": _cols(
        "Deal - ID,Deal - Title,Deal - Value,Deal - Owner,Deal - Status,Deal - Stage,Deal - Deal created,"
        "Person - Name,Person - Email - Work,Organization - Name"),
}


def test_every_builtin_preset_loads():
    names = builtin_names()
    assert set(names) == {n.strip() for n in HEADERS}
    assert [p.name for p in builtin_presets()] == names


@pytest.mark.parametrize("expected", list(HEADERS))
def test_detection(expected):
    found = detect(HEADERS[expected])
    assert found is not None and found.preset.name == expected.strip()
    assert found.score >= found.preset.min_score


@pytest.mark.parametrize("headers", [
    "ID,Opportunity,Type,Contact Name,Company Name,Customer,Email,Phone,Mobile,Salesperson,Sales Team,Stage,Tags,"
    "Created on,Active,Probability",
    "id,name,type,contact_name,partner_name,partner_id/id,email_from,phone,user_id,team_id,stage_id,create_date,active",
    "ID,Opportunité,Type,Nom du contact,Nom de la société,Client,E-mail,Téléphone,Vendeur,Équipe commerciale,Étape,"
    "Étiquettes,Créé le,Actif",
    "id,name,type,active,contact_name,partner_name,email_from,phone,mobile,city,country_id,user_id,team_id,stage_id,"
    "probability,expected_revenue,priority,tag_ids,description,create_date,x_source",
    # Odoo export with Salesforce-looking extra columns: Odoo still wins
    "id,name,email_from,contact_name,partner_name,stage_id,user_id,create_date,FirstName,LastName,LeadSource",
    "First Name,Last Name,Email,Company,Phone,Created Date",  # too generic to say
    "",
])
def test_odoo_and_generic_files_are_never_taken_for_another_system(headers):
    assert detect(headers.split(",")) is None


def test_field_map_title_is_function_and_email_takes_every_column():
    sf = load_preset("salesforce-lead").resolve(SF_LEAD_API)
    assert sf.fields["function"] == [SF_LEAD_API.index("Title")]
    assert sf.fields["title"] == [SF_LEAD_API.index("Salutation")]
    assert sf.fields["user_id"] == [SF_LEAD_API.index("OwnerId")]
    assert sf.fields["create_date"] == [SF_LEAD_API.index("CreatedDate")]
    pd = HEADERS["pipedrive-people"]
    people = load_preset("pipedrive-people").resolve(pd)
    assert people.fields["email_from"] == [pd.index("Person - Email - Work"), pd.index("Person - Email - Home")]
    opp = HEADERS["salesforce-opportunity"]
    resolved = load_preset("salesforce-opportunity").resolve(opp)
    assert "type" not in resolved.fields  # Type = New Business is not Odoo's type
    assert resolved.preset.records == "opportunity"
    assert resolved.fields["stage_id"] == [opp.index("StageName")]


def test_headers_match_ignoring_case_and_spaces():
    found = load_preset("salesforce-lead").resolve(["EMAIL", "  first   name ", "LAST NAME"])
    assert found.fields["email_from"] == [0]
    assert found.name_parts == ([1], [], [2])


def _frame(columns: dict[str, list[str]]) -> tuple[list[str], pl.DataFrame, list[str]]:
    headers = list(columns)
    names = [f"c{i}" for i in range(len(headers))]
    return headers, pl.DataFrame({n: columns[h] for n, h in zip(names, headers, strict=True)}), names


def test_contact_name_composed_from_first_and_last():
    headers, frame, names = _frame({"FirstName": ["Jane", "", " Bo ", ""], "LastName": ["Doe", "Roe", "Li", ""],
                                    "MiddleName": ["Q", "", "", ""]})
    expr = load_preset("salesforce-lead").resolve(headers).contact_name_expr(names)
    assert frame.select(expr).to_series().to_list() == ["Jane Q Doe", "Roe", "Bo Li", ""]


def test_own_contact_name_wins_over_composition():
    headers, frame, names = _frame({"Full Name": ["Dr Jane Doe", ""], "First Name": ["Jane", "Ann"],
                                    "Last Name": ["Doe", "Lee"]})
    expr = load_preset("zoho-leads").resolve(headers).contact_name_expr(names)
    assert frame.select(expr).to_series().to_list() == ["Dr Jane Doe", "Ann Lee"]
    assert load_preset("zoho-leads").resolve(["Email"]).contact_name_expr(["c0"]) is None


@pytest.mark.parametrize("preset, columns, closed", [
    ("salesforce-lead", {"IsConverted": ["true", "false", "0", "1"], "IsDeleted": ["0", "1", "0", "0"],
                         "Status": ["Working", "Open", "Closed - Not Converted", "Working"]}, [True, True, True, True]),
    ("salesforce-lead", {"IsConverted": ["false", "FALSE"], "Status": ["Open - Not Contacted", "Working - Contacted"]},
     [False, False]),
    ("salesforce-lead", {"Lead Status": ["Closed - Converted", "Open"], "Converted": ["0", "0"]}, [True, False]),
    ("salesforce-opportunity", {"StageName": ["Closed Won", "Prospecting", "Negotiation", "closed lost"],
                                "IsClosed": ["false", "false", "true", "false"]}, [True, False, True, True]),
    ("hubspot-contacts", {"Lifecycle Stage": ["Customer", "Lead", "customer", "Marketing Qualified Lead", ""]},
     [True, False, True, False, False]),
    ("pipedrive-deals", {"Deal - Status": ["open", "won", "lost", "deleted"]}, [False, True, True, True]),
    ("zoho-leads", {"Lead Status": ["Converted", "Contacted", "Junk Lead", "Not Contacted"]},
     [True, False, True, False]),
    ("pipedrive-people", {"Person - Name": ["A", "B"]}, [False, False]),
])
def test_closed_rules(preset, columns, closed):
    headers, frame, names = _frame(columns)
    expr = load_preset(preset).resolve(headers).closed_expr(names)
    assert frame.select(expr).to_series().to_list() == closed


def test_user_preset_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[preset]\nname = "mine"\nsystem = "Acme CRM"\nobject = "Prospects"\n'
                    '[detect]\nmin_score = 2\nheaders = { "Prospect No" = 2 }\n'
                    '[map]\nid = "Prospect No"\nemail_from = ["Mail 1", "Mail 2"]\n', encoding="utf-8")
    preset = load_preset(path)
    assert preset.label == "Acme CRM Prospects" and preset.records == "lead"
    assert detect(["Prospect No", "Mail 1"], [preset]).preset is preset
    assert preset.resolve(["Mail 2", "Prospect No", "Mail 1"]).fields == {"id": [1], "email_from": [2, 0]}


@pytest.mark.parametrize("text, message", [
    ('[preset]\nname = "x"\nsystem = "S"\nobject = "O"\n[maps]\nid = "Id"\n', "unknown section \\[maps\\]"),
    ('[preset]\nname = "x"\nsystem = "S"\nobject = "O"\ncolour = "red"\n', "\\[preset\\] unknown key 'colour'"),
    ('[preset]\nname = "x"\nsystem = "S"\nobject = "O"\n[map]\nemail = "E"\n', "\\[map\\] unknown field 'email'"),
    ('[preset]\nname = "x"\nsystem = "S"\nobject = "O"\n[map]\nid = 3\n', "\\[map\\] id: expected a header"),
    ('[preset]\nname = "x"\nsystem = "S"\nobject = "O"\nrecords = "deal"\n', "records: expected 'lead'"),
    ('[preset]\nname = "x"\nsystem = "S"\n', "\\[preset\\] object: expected a non-empty string"),
    ('[preset]\nname = "x"\nsystem = "S"\nobject = "O"\n[detect]\nheaders = { "Id" = "high" }\n', "whole numbers"),
    ('[preset]\nname = "x"\nsystem = "S"\nobject = "O"\n[closed]\nvalue = { "S" = ["x"] }\n',
     "\\[closed\\] unknown key 'value'"),
    ("[preset\n", "not valid TOML"),
])
def test_invalid_presets_name_the_key_and_file(text, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_preset(text, "my.toml")
    assert str(info.value).startswith("my.toml: ")


def test_unknown_preset_name_lists_the_builtins():
    with pytest.raises(ConfigError, match="no preset named 'salesforce' .*salesforce-lead"):
        load_preset("salesforce")
