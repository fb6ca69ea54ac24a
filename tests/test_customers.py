"""Customers of converted leads (docs/convert.md): linking by the three rules, creating companies and
contacts with copied fields and new ids, and the customers file written back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from leadtool.convert import ConvertOptions, plan_convert
from leadtool.customers import (
    _decide,
    _decide_in_order,
    assign_customers,
    customers_output,
    empty_customers,
    name_key,
    next_number,
    read_customers,
)
from leadtool.io import encode_chunks, load
from tests.conftest import assert_one_line_error

NOW = "2024-06-01 12:00:00"
LEAD_HEADER = ["id", "name", "type", "contact_name", "partner_name", "email_from", "phone", "mobile",
               "street", "city", "zip", "country_id", "website", "function", "title", "user_id",
               "description", "partner_id/id"]
CUSTOMERS = (
    "id,name,is_company,parent_id,email,phone,city\r\n"
    "__export__.res_partner_7,Azure Interior,True,,info@azure.example,+32 2 290 34 90,Brussels\r\n"
    "__export__.res_partner_8,Ana Silva,False,Azure Interior,Ana.Silva@Azure.example,,Brussels\r\n"
    "leadtool_partner_7,Société Générale,True,,,,Paris\r\n"
    "__export__.res_partner_9,Lumber Inc,False,,,,Lyon\r\n"
)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    path.write_bytes(buf.getvalue().encode("utf-8"))
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def events(path: Path, kind: str) -> list[dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == kind]


def customers_file(tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    path.write_bytes(CUSTOMERS.encode("utf-8"))
    return path


FULL = {"phone": "+32 2 555 01 01", "mobile": "+32 470 11 22 33", "street": "Rue Haute 1",
        "city": "Brussels", "zip": "01000", "country_id": "Belgium", "website": "https://acme.example",
        "function": "CEO", "title": "Doctor", "user_id": "Marc Demo", "description": "Met at the fair.\nCall back."}


def test_create_company_and_contact_company_only_and_neither(cli, tmp_path: Path) -> None:
    leads = write_csv(tmp_path / "leads.csv", LEAD_HEADER, [
        {"id": "1", "name": "Chairs", "type": "lead", "contact_name": "Jane Doe", "partner_name": "Acme",
         "email_from": "Jane Doe <Jane.Doe@Acme.example>, other@acme.example", **FULL},
        {"id": "2", "name": "Desks", "type": "lead", "partner_name": "Globex", "email_from": "info@globex.example"},
        {"id": "3", "name": "Lamps for the hall", "type": "lead", "email_from": "x@nobody.example"},
    ])
    out, cust = tmp_path / "out.csv", tmp_path / "cust.csv"
    result = cli("convert", leads, "-o", out, "--all", "--customer", "create",
                 "--customers", customers_file(tmp_path), "--customers-out", cust, "--now", NOW)
    assert result.exit_code == 0, result.output
    # ids count up from the highest existing leadtool_partner_N (7); a company before its contact
    assert [r["partner_id/id"] for r in read_rows(out)] == [
        "leadtool_partner_9", "leadtool_partner_10", "leadtool_partner_11"]
    assert cust.read_bytes().decode("utf-8") == (
        "id,name,is_company,parent_id,email,phone,city,mobile,street,street2,zip,state_id,country_id,"
        "website,function,title,comment,user_id\r\n"
        "__export__.res_partner_7,Azure Interior,True,,info@azure.example,+32 2 290 34 90,Brussels,,,,,,,,,,,\r\n"
        "__export__.res_partner_8,Ana Silva,False,Azure Interior,Ana.Silva@Azure.example,,Brussels,,,,,,,,,,,\r\n"
        "leadtool_partner_7,Société Générale,True,,,,Paris,,,,,,,,,,,\r\n"
        "__export__.res_partner_9,Lumber Inc,False,,,,Lyon,,,,,,,,,,,\r\n"
        "leadtool_partner_8,Acme,True,,Jane.Doe@Acme.example,+32 2 555 01 01,Brussels,+32 470 11 22 33,"
        "Rue Haute 1,,01000,,Belgium,https://acme.example,CEO,Doctor,\"Met at the fair.\nCall back.\","
        "Marc Demo\r\n"
        "leadtool_partner_9,Jane Doe,False,Acme,Jane.Doe@Acme.example,+32 2 555 01 01,Brussels,"
        "+32 470 11 22 33,Rue Haute 1,,01000,,Belgium,https://acme.example,CEO,Doctor,"
        "\"Met at the fair.\nCall back.\",Marc Demo\r\n"
        "leadtool_partner_10,Globex,True,,info@globex.example,,,,,,,,,,,,,\r\n"
        "leadtool_partner_11,Lamps for the hall,False,,x@nobody.example,,,,,,,,,,,,,\r\n")
    audit = Path(str(out) + ".audit.jsonl")
    created = events(audit, "create_customer")
    assert [(e["id"], e["name"], e["lead"]) for e in created] == [
        ("leadtool_partner_8", "Acme", "1"), ("leadtool_partner_9", "Jane Doe", "1"),
        ("leadtool_partner_10", "Globex", "2"), ("leadtool_partner_11", "Lamps for the hall", "3")]
    assert created[1]["values"]["parent_id"] == "leadtool_partner_8"
    assert created[1]["values"]["comment"] == "Met at the fair.\nCall back."
    assert [e["customer"] for e in events(audit, "convert")] == [
        {"id": "leadtool_partner_9", "name": "Jane Doe", "created": True},
        {"id": "leadtool_partner_10", "name": "Globex", "created": True},
        {"id": "leadtool_partner_11", "name": "Lamps for the hall", "created": True}]


def test_without_customers_file_the_standard_columns(cli, tmp_path: Path) -> None:
    leads = write_csv(tmp_path / "leads.csv", ["id", "name", "email_from", "partner_name", "Customer"], [
        {"id": "4", "name": "Boxes", "email_from": '"Bob Stone" <bob@stone.example>', "partner_name": "Stone"}])
    out, cust = tmp_path / "out.csv", tmp_path / "cust.csv"
    assert cli("convert", leads, "-o", out, "--all", "--customers-out", cust, "--now", NOW).exit_code == 0
    assert cust.read_bytes() == (
        b"id,name,is_company,parent_id,email,phone,mobile,street,street2,zip,city,state_id,country_id,"
        b"website,function,title,comment,user_id\r\n"
        b"leadtool_partner_1,Stone,True,,bob@stone.example,,,,,,,,,,,,,\r\n"
        b"leadtool_partner_2,Bob Stone,False,Stone,bob@stone.example,,,,,,,,,,,,,\r\n")
    # a name column (Customer) gets the customer's name; the display name became the contact
    assert [r["Customer"] for r in read_rows(out)] == ["Bob Stone"]


def test_link_by_own_customer_email_and_company_name(cli, tmp_path: Path) -> None:
    leads = write_csv(tmp_path / "leads.csv", LEAD_HEADER, [
        {"id": "1", "name": "Own", "type": "lead", "email_from": "ana.silva@azure.example",
         "partner_id/id": "__export__.res_partner_7"},
        {"id": "2", "name": "By email", "type": "lead", "email_from": "Ana <ANA.SILVA@azure.example>"},
        {"id": "3", "name": "By company", "type": "lead", "partner_name": "  SOCIETE generale ",
         "contact_name": "Luc"},
        {"id": "4", "name": "Not a company", "type": "lead", "partner_name": "lumber inc"},
    ])
    out = tmp_path / "out.csv"
    result = cli("convert", leads, "-o", out, "--ids", "1,2,3,4", "--customer", "link", "--no-dedupe",
                 "--customers", customers_file(tmp_path), "--now", NOW)
    assert result.exit_code == 0, result.output
    assert [r["partner_id/id"] for r in read_rows(out)] == [
        "__export__.res_partner_7", "__export__.res_partner_8", "leadtool_partner_7", ""]
    audit = Path(str(out) + ".audit.jsonl")
    assert [e["customer"] for e in events(audit, "convert")] == [
        {"id": "__export__.res_partner_7", "name": "Azure Interior", "created": False},
        {"id": "__export__.res_partner_8", "name": "Ana Silva", "created": False},
        {"id": "leadtool_partner_7", "name": "Société Générale", "created": False},
        None]
    assert events(audit, "create_customer") == []


def test_auto_links_when_found_else_creates_else_none(tmp_path: Path) -> None:
    leads = write_csv(tmp_path / "leads.csv", LEAD_HEADER, [
        {"id": "1", "name": "Linked", "type": "lead", "email_from": "info@azure.example"},
        {"id": "2", "name": "New", "type": "lead", "contact_name": "Eve", "partner_name": "Initech"},
        {"id": "3", "name": "Same new company", "type": "lead", "partner_name": "INITECH", "contact_name": "Tom"},
        {"id": "4", "name": "Nothing to name a customer", "type": "lead", "email_from": "n@x.example"},
    ])
    records = load([str(leads)])
    plan = plan_convert(records, ConvertOptions(all=True, now=NOW),
                        customers=read_customers(str(customers_file(tmp_path))))
    assert plan.targets.select("id", "cust_id", "how").rows() == [
        ("1", "__export__.res_partner_7", "email"), ("2", "leadtool_partner_9", "created"),
        ("3", "leadtool_partner_8", "company"), ("4", None, None)]
    assert [(c["id"], c["name"]) for c in plan.customers.created] == [
        ("leadtool_partner_8", "Initech"), ("leadtool_partner_9", "Eve")]


def test_customer_none_changes_no_customer(cli, tmp_path: Path) -> None:
    leads = write_csv(tmp_path / "leads.csv", LEAD_HEADER, [
        {"id": "1", "name": "A", "type": "lead", "contact_name": "Jane", "partner_name": "Acme",
         "email_from": "info@azure.example"}])
    out, cust = tmp_path / "out.csv", tmp_path / "cust.csv"
    result = cli("convert", leads, "-o", out, "--all", "--customer", "none",
                 "--customers", customers_file(tmp_path), "--customers-out", cust)
    assert result.exit_code == 0, result.output
    rows = read_rows(out)
    assert (rows[0]["type"], rows[0]["partner_id/id"]) == ("opportunity", "")
    assert len(read_rows(cust)) == 4
    assert events(Path(str(out) + ".audit.jsonl"), "convert")[0]["customer"] is None


def test_customers_file_without_id_column(cli, tmp_path: Path) -> None:
    leads = write_csv(tmp_path / "leads.csv", LEAD_HEADER, [{"id": "1", "name": "A", "type": "lead"}])
    bad = tmp_path / "partners.csv"
    bad.write_bytes(b"name,email\r\nAcme,info@acme.example\r\n")
    result = cli("convert", leads, "-o", tmp_path / "o.csv", "--all", "--customers", bad)
    assert_one_line_error(result, "partners.csv", "id column")


def test_json_customers_file_written_back_in_its_format(cli, tmp_path: Path) -> None:
    leads = write_csv(tmp_path / "leads.csv", LEAD_HEADER, [
        {"id": "1", "name": "A", "type": "lead", "contact_name": "Jane"}])
    partners = tmp_path / "partners.json"
    partners.write_text('[{"id": "base.res_partner_1", "name": "Acme", "is_company": true}]\n', encoding="utf-8")
    cust = tmp_path / "cust.json"
    assert cli("convert", leads, "-o", tmp_path / "o.csv", "--all", "--customers", partners,
               "--customers-out", cust).exit_code == 0
    data = json.loads(cust.read_text(encoding="utf-8"))
    assert data[0] == {"id": "base.res_partner_1", "name": "Acme", "is_company": True}
    assert data[1]["id"] == "leadtool_partner_1" and data[1]["name"] == "Jane"
    assert data[1]["is_company"] is False


def test_new_ids_do_not_collide_with_ids_used_by_leads() -> None:
    customers = empty_customers()
    assert next_number(customers) == 1
    assert next_number(customers, ["leadtool_partner_41", "__import__.leadtool_partner_3", "x_9"]) == 42


def test_name_key_ignores_case_accents_and_spaces() -> None:
    assert name_key("  Société   GÉNÉRALE ") == name_key("societe generale") == "societe generale"
    assert name_key("   ") is None


def test_assign_customers_library_call() -> None:
    leads = pl.DataFrame({
        "idx": [0], "id": ["7"], "partner": [""], "ekey": [None], "email": [""], "display": [""],
        "contact_name": [""], "partner_name": [""], "name": ["Big deal"], **{f: [""] for f in (
            "phone", "mobile", "street", "street2", "zip", "city", "state_id", "country_id", "website",
            "function", "title", "description", "user_id")}},
        schema_overrides={"idx": pl.UInt32, "ekey": pl.String})
    result = assign_customers(leads, None, "create")
    assert result.links.select("idx", "cust_id", "cust_name", "created", "how").rows() == [
        (0, "leadtool_partner_1", "Big deal", True, "created")]
    out = customers_output(None, result.created)
    assert b"".join(encode_chunks(out)).decode().splitlines()[1] == "leadtool_partner_1,Big deal,False" + "," * 15


# ----------------------------------------------------------------------------- auto: who creates
KEYS = st.lists(st.tuples(st.sampled_from([None, "a", "b", "c", "d"]), st.sampled_from([None, "X", "Y", "Z", ""]),
                          st.booleans()), max_size=40)


def _keys(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame({"pos": list(range(len(rows))), "ekey": [r[0] for r in rows], "ckey": [r[1] for r in rows],
                         "eligible": [r[2] or r[1] is not None for r in rows]},  # a company name is eligible
                        schema={"pos": pl.UInt32, "ekey": pl.String, "ckey": pl.String, "eligible": pl.Boolean})


@settings(max_examples=300, deadline=None)
@given(KEYS, st.integers(min_value=0, max_value=3))
def test_decisions_in_rounds_match_the_rule_in_lead_order(rows: list[tuple], rounds: int) -> None:
    # the rounds of group-bys (and their hand-over to the one-by-one rule) decide as the rule
    # applied lead by lead: a lead creates when no earlier creator holds its email or company
    keys = _keys(rows)
    expected = _decide_in_order(keys, {}, {}).sort("pos").rows()
    assert _decide(keys).sort("pos").rows() == expected
    assert _decide(keys, max_rounds=rounds).sort("pos").rows() == expected


def test_a_long_chain_is_finished_one_by_one() -> None:
    # each lead shares its email with the one before and its company with the one after: one
    # lead is decided per round, so the rounds hand over to the rule in lead order
    rows = [(f"e{i // 2}", f"C{(i + 1) // 2}", True) for i in range(200)]
    keys = _keys(rows)
    decided = _decide(keys, max_rounds=4).sort("pos")
    assert decided.rows() == _decide_in_order(keys, {}, {}).sort("pos").rows()
    assert decided.filter(pl.col("how") == "created").height == 100
