"""Odoo's translated labels and values: the generated table, its generator and the lookups."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadtool import translations
from leadtool.fields import FIELDS

ROOT = Path(__file__).resolve().parent.parent
PO_DIR = ROOT / "tests" / "fixtures" / "odoo_po"
TABLE = ROOT / "leadtool" / "data" / "odoo_labels.json"


def _generator():
    spec = importlib.util.spec_from_file_location("build_odoo_labels", ROOT / "scripts" / "build_odoo_labels.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_odoo_labels"] = module
    spec.loader.exec_module(module)
    return module


def test_committed_table_is_what_the_generator_builds_from_the_extracts(tmp_path):
    out = tmp_path / "labels.json"
    assert _generator().main([str(PO_DIR), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == TABLE.read_text(encoding="utf-8")


def test_parser_joins_multiline_strings_unescapes_and_skips_fuzzy_and_untranslated(tmp_path):
    po = tmp_path / "xx.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: xx\\n"\n\n'
        "#: model:ir.model.fields,field_description:crm.field_crm_lead__email_from\n"
        'msgid "Email"\nmsgstr ""\n"Cour" "riel \\"pro\\""\n\n'
        "#: model:ir.model.fields,field_description:crm.field_crm_lead__phone\n#, fuzzy\n"
        'msgid "Phone"\nmsgstr "Tel"\n\n'
        "#: model:ir.model.fields,field_description:crm.field_crm_lead__city\n"
        'msgid "City"\nmsgstr ""\n\n'
        "#: model:ir.model.fields,field_description:crm.field_crm_lead__color\n"
        'msgid "Color Index"\nmsgstr "Couleur"\n\n'
        "#: model:ir.model.fields,field_description:crm.field_crm_stage__name\n"
        "#: model:crm.stage,name:crm.stage_lead4\n"
        'msgid "Won"\nmsgstr "Gagnado"\n',
        encoding="utf-8",
    )
    built = _generator().build([po])
    assert built["fields"]["email_from"] == {"en": ["Email"], "xx": ['Courriel "pro"']}
    assert "phone" not in built["fields"]  # fuzzy
    assert built["fields"]["city"] == {"en": ["City"]}  # untranslated: English only
    assert "color" not in built["fields"]  # not a field leadtool knows (docs/formats.md)
    assert built["won_stage"] == {"en": ["Won"], "xx": ["Gagnado"]}


@pytest.mark.parametrize("lang", ["fr", "de", "es", "it", "pt_BR"])
def test_every_spec_field_has_a_label_in_each_required_language(lang):
    fields = translations.table()["fields"]
    missing = [f for f in FIELDS if lang not in fields.get(f, {})]
    assert missing == []


def test_dutch_comes_from_a_release_without_mobile_and_title():
    # the Dutch extract is from Odoo's development branch, where crm.lead has no mobile and no
    # title field any more: those two stay English-only for Dutch, and say so here
    fields = translations.table()["fields"]
    missing = [f for f in FIELDS if "nl" not in fields.get(f, {})]
    assert missing == ["mobile", "title"]


@pytest.mark.parametrize("header, field, lang", [
    ("Créé le", "create_date", "fr"),
    ("cree LE", "create_date", "fr"),
    ("Client", "partner_id", "fr"),
    ("Vendeur", "user_id", "fr"),
    ("Équipe commerciale", "team_id", "fr"),
    ("Étiquettes", "tag_ids", "fr"),
    ("Opportunité", "name", "fr"),
    ("Aangemaakt op", "create_date", "nl"),
    ("Verkoper", "user_id", "nl"),
    ("Erstellt am", "create_date", "de"),
    ("Vertriebsmitarbeiter", "user_id", "de"),
    ("Straße", "street", "de"),
    ("Creado el", "create_date", "es"),
    ("Comercial", "user_id", "es"),
    ("Data creazione", "create_date", "it"),
    ("Addetto vendite", "user_id", "it"),
    ("Criado em", "create_date", "pt_BR"),
    ("Vendedor", "user_id", "pt_BR"),
    ("Created on", "create_date", "en"),
])
def test_header_lookup(header, field, lang):
    assert (field, lang) in translations.header_matches(header)
    assert translations.header_field(header)[0] == field


def test_unknown_header_is_not_guessed():
    assert translations.header_field("Lead Source") is None
    assert translations.header_matches("") == ()


def test_shared_label_names_every_language_that_uses_it():
    langs = {lang for _f, lang in translations.header_matches("E-mail")}
    assert {"fr", "it", "nl", "pt_BR", "de"} <= langs


def test_detect_language_counts_translated_headers():
    assert translations.detect_language(["ID", "Opportunité", "Créé le", "E-mail", "Client", "Vendeur"]) == "fr"
    assert translations.detect_language(["ID", "Verkaufschance", "Erstellt am", "Kunde"]) == "de"
    assert translations.detect_language(["id", "Email", "Created on"]) is None


def test_type_values_all_languages():
    values = pl.Series(["Piste", "opportunité", " Lead ", "", "x", None, "Contatto", "OPPORTUNITY",
                        "Verkaufschance", "Oportunidad", "Verkoopkans", "Oportunidade", "Opportunità", "lead"])
    got = pl.select(translations.type_expr(pl.lit(values))).to_series().to_list()
    assert got == ["lead", "opportunity", "lead", None, None, None, "lead", "opportunity",
                   "opportunity", "opportunity", "opportunity", "opportunity", "opportunity", "lead"]
    assert translations.type_value("Piste") == "lead"
    assert translations.type_value("New Business") is None
    assert "Piste" in translations.type_values()["lead"]


def test_won_stage_in_every_language():
    names = translations.won_stage_names()
    assert {"Won", "Gagné", "Gewonnen", "Ganado", "Vinta", "Ganho"} <= set(names)
    stages = pl.Series(["won", "Gagne", " GEWONNEN ", "Lost", "Won-ish", None, "Ganho"])
    got = pl.select(translations.is_won_stage_expr(pl.lit(stages))).to_series().to_list()
    assert got == [True, True, True, False, False, None, True]
    custom = pl.select(translations.is_won_stage_expr(pl.lit(stages), ["Lost"])).to_series().to_list()
    assert custom == [False, False, False, True, False, None, False]


def test_no_collision_in_the_shipped_table():
    # the labels Odoo ships never make two fields look alike once folded, nor hit another
    # field's English label; if a regenerated table does, the lookup resolves it (next test)
    assert translations.collisions() == ()


def test_collisions_are_resolved_english_first_and_ambiguous_left_out(monkeypatch):
    fake = {
        "fields": {
            "description": {"en": ["Notes"], "xx": ["Mobile"], "yy": ["Zone"]},
            "mobile": {"en": ["Mobile"]},
            "city": {"en": ["City"], "zz": ["zone"]},
        },
        "type_values": {}, "won_stage": {}, "odoo_versions": {},
    }
    monkeypatch.setattr(translations, "table", lambda: fake)
    translations._header_index.cache_clear()
    try:
        found = {c.key: c for c in translations.collisions()}
        assert found["mobile"].kept == "mobile"  # a translation equal to another field's English label
        assert translations.header_field("Mobile") == ("mobile", "en")
        assert found["zone"].kept is None  # two fields' translations: not recognised at all
        assert translations.header_field("Zone") is None
    finally:
        translations._header_index.cache_clear()


_TEXT = st.text(alphabet=st.sampled_from(list("aAeEéÉèàÀçÇüÜßøØ  \tłŁ-'ñÑ")), max_size=12)


@given(st.lists(_TEXT, max_size=8))
def test_fold_expr_agrees_with_fold(texts):
    got = pl.select(translations.fold_expr(pl.lit(pl.Series(texts, dtype=pl.String)))).to_series().to_list()
    assert got == [translations.fold(t) for t in texts]


def test_table_is_valid_json_with_its_sections():
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    assert set(data) == {"about", "odoo_versions", "fields", "type_values", "won_stage", "collisions"}
    assert set(data["type_values"]) == {"lead", "opportunity"}
