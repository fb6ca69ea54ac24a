"""Header -> Odoo field mapping (docs/formats.md#field-recognition)."""

from __future__ import annotations

import json

import pytest

from leadtool.errors import UsageError
from leadtool.fields import (
    FIELDS,
    PARTNER_FIELDS,
    is_id_column,
    parse_map_options,
    resolve_headers,
)


def mapped(headers: list[str], mapping: dict[str, str] | None = None,
           partner: bool = False) -> dict[str, str]:
    """header -> field, for the headers that map."""
    got = resolve_headers(headers, mapping or {}, partner=partner)
    return {headers[i]: fld for i, fld in got.items()}


def test_technical_names() -> None:
    assert mapped(list(FIELDS)) == {f: f for f in FIELDS}


@pytest.mark.parametrize(("label", "field"), [
    ("Email", "email_from"), ("Opportunity", "name"), ("Customer", "partner_id"),
    ("Contact Name", "contact_name"), ("Company Name", "partner_name"),
    ("Salesperson", "user_id"), ("Sales Team", "team_id"), ("Stage", "stage_id"),
    ("Tags", "tag_ids"), ("Created on", "create_date"), ("Notes", "description"),
    ("Type", "type"), ("Active", "active"), ("Probability", "probability"),
    ("Expected Revenue", "expected_revenue"), ("Country", "country_id"),
    ("Lost Reason", "lost_reason_id"), ("ID", "id"), ("External ID", "id"),
])
def test_odoo_labels(label: str, field: str) -> None:
    assert mapped([label]) == {label: field}
    assert mapped([f"  {label.upper()} "]) == {f"  {label.upper()} ": field}  # case, spaces


@pytest.mark.parametrize(("header", "field"), [
    ("partner_id/id", "partner_id"), ("stage_id/id", "stage_id"), ("user_id/id", "user_id"),
    ("tag_ids/id", "tag_ids"), ("country_id/.id", "country_id"), (".id", "id"),
    ("Stage/ID", "stage_id"), ("Customer/Database ID", "partner_id"),
    ("Stage/External ID", "stage_id"), ("Salesperson/External ID", "user_id"),
])
def test_import_compatible_forms(header: str, field: str) -> None:
    assert mapped([header]) == {header: field}


def test_is_id_column() -> None:
    for header in ("partner_id/id", "stage_id/id", "Stage/External ID", "country_id/.id"):
        assert is_id_column(header), header
    for header in ("partner_id", "Customer", "id", "Email", "paid"):
        assert not is_id_column(header), header


def test_unknown_headers_are_unmapped() -> None:
    assert mapped(["x_source", "E-mail address", "Foo", ""]) == {}


def test_first_header_takes_a_field() -> None:
    got = resolve_headers(["Email", "email_from", "Stage", "stage_id/id"], {})
    assert got == {0: "email_from", 2: "stage_id"}


def test_map_option_overrides() -> None:
    mapping = parse_map_options(["email_from=E-mail address", "name=Deal"])
    assert mapping == {"email_from": ["E-mail address"], "name": ["Deal"]}
    headers = ["Email", "E-mail address", "Deal", "Opportunity"]
    got = mapped(headers, {"email_from": "E-mail address", "name": "Deal"})
    # the explicit header wins; the recognised label of the same field is left unmapped
    assert got == {"E-mail address": "email_from", "Deal": "name"}


def test_map_a_known_header_to_another_field() -> None:
    got = mapped(["Email", "Phone"], {"mobile": "Phone"})
    assert got == {"Email": "email_from", "Phone": "mobile"}


@pytest.mark.parametrize("item", ["nosuchfield=Header", "email=Email", "Email"])
def test_bad_map_option(item: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_map_options([item])
    assert item.split("=")[0] in str(exc.value)


def test_bad_map_option_through_cli(cli, samples) -> None:
    result = cli("inspect", samples / "leads.csv", "--map", "colour=x_source")
    assert result.exit_code == 2
    assert "colour" in result.stderr and "Traceback" not in result.output


def test_map_option_through_cli(cli, samples) -> None:
    import json

    result = cli("inspect", samples / "leads.csv", "--map", "website=x_source", "--format",
                 "json")
    assert result.exit_code == 0, result.output
    mapping = {m["header"]: m["field"] for m in json.loads(result.stdout)[0]["mapping"]}
    assert mapping["x_source"] == "website"


def test_partner_fields() -> None:
    got = mapped(["id", "Name", "Is a Company", "Related Company", "email", "parent_id/id"],
                 partner=True)
    assert got == {"id": "id", "Name": "name", "Is a Company": "is_company",
                   "Related Company": "parent_id", "email": "email"}
    assert set(PARTNER_FIELDS) >= {"name", "email", "is_company", "parent_id"}


# ----------------------------------------------------------------------------- a mapping that names nothing
def _two_files(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("id,name,Mail\n1,x,x@example.com\n", encoding="utf-8")
    b.write_text("id,name,E-mail\n2,y,y@example.com\n", encoding="utf-8")
    return a, b


@pytest.mark.parametrize("command", [
    ["inspect"], ["dupes"], ["check"], ["merge", "-o", "OUT", "--dry-run"],
    ["convert", "--all", "-o", "OUT", "--dry-run"],
])
def test_a_map_header_no_file_has_is_an_error(cli, tmp_path, command) -> None:
    """`--map email_from="E-mail address"` on files without that header: exit 2, one line naming
    the header and the files, for every command (it used to say 'valid' with no email at all)."""
    from conftest import assert_one_line_error

    a, b = _two_files(tmp_path)
    args = [str(tmp_path / "o.csv") if x == "OUT" else x for x in command]
    line = assert_one_line_error(cli(args[0], a, b, *args[1:], "--map", "email_from=E-mail address"),
                                 "--map email_from='E-mail address'", "no input file has the header",
                                 str(a), str(b))
    assert "did you mean 'E-mail'?" in line
    assert not (tmp_path / "o.csv").exists()


def test_a_map_header_of_one_file_is_enough(cli, tmp_path) -> None:
    a, b = _two_files(tmp_path)
    result = cli("check", a, b, "--map", "email_from=Mail", "--format", "json")
    assert result.exit_code == 1, result.output  # not 2: the mapping is fine; the other file lacks the field
    problems = json.loads(result.stdout)["problems"]
    assert [(p["rule"], p["file"]) for p in problems if p["rule"] == "missing-field"] == [("missing-field", str(b))]


def test_a_config_map_header_no_file_has_names_the_config(cli, tmp_path) -> None:
    from conftest import assert_one_line_error

    a, _ = _two_files(tmp_path)
    config = tmp_path / "leadtool.toml"
    config.write_text('[map]\nemail_from = "Courriel"\n', encoding="utf-8")
    assert_one_line_error(cli("check", a, "--config", config), str(config),
                          "[map] email_from = 'Courriel': no input file has the header 'Courriel'", str(a))
    # --map given for the same field replaces the config's header: no error
    assert cli("check", a, "--config", config, "--map", "email_from=Mail").exit_code == 0


def test_undo_checks_its_map_too(cli, tmp_path, samples) -> None:
    from conftest import assert_one_line_error

    out = tmp_path / "m.csv"
    assert cli("merge", samples / "leads.csv", "-o", out, "--yes").exit_code == 0
    assert_one_line_error(cli("undo", f"{out}.audit.jsonl", "--input", out, "-o", tmp_path / "r.csv",
                              "--map", "email_from=Nope"), "'Nope'", str(out))


def test_check_mapped_headers_alone() -> None:
    from types import SimpleNamespace

    from leadtool.errors import ConfigError
    from leadtool.fields import check_mapped_headers

    sources = [SimpleNamespace(path="a.csv", headers=["id", "Mail"]), SimpleNamespace(path="-", headers=["x"])]
    check_mapped_headers({"email_from": "Mail"}, sources)
    with pytest.raises(UsageError, match=r"'Nope' \(files: a.csv, <stdin>\)$"):
        check_mapped_headers({"email_from": "Nope"}, sources, options={"email_from": "Nope"})
    with pytest.raises(ConfigError, match=r"^c.toml: \[map\] email_from = 'mail'.*did you mean 'Mail'\?$") as err:
        check_mapped_headers({"email_from": "mail"}, sources, config_path="c.toml")
    assert err.value.one_line().startswith("c.toml: [map]")
