"""leadtool.toml (docs/config.md): every mistake is a one-line error naming the file, exit code 2;
a valid file sets leads mode per team, stage order, merge rules and check defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadtool.config import Config, load_config, parse_config
from leadtool.errors import ConfigError


@pytest.mark.parametrize(("doc", "needle"), [
    ({"nope": {}}, "unknown table [nope]"),
    ({"map": "x"}, "[map] must be a table"),
    ({"map": {"email_from": 3}}, "map.email_from must be a header or a list of headers"),
    ({"map": {"email_from": []}}, "map.email_from must be a header or a list of headers"),
    ({"emails": {"placeholders": {"adresses": []}}}, "[emails.placeholders]: unknown key 'adresses'"),
    ({"emails": {"placeholder": {}}}, "unknown key emails.placeholder"),
    ({"map": {"not_a_field": "X"}}, "unknown key map.not_a_field: not a field"),
    ({"leads": []}, "[leads] must be a table"),
    ({"leads": {"enabled": "yes"}}, "leads.enabled must be bool"),
    ({"stages": {"order": "New"}}, "stages.order must be a list"),
    ({"stages": {"order": ["New", 2]}}, "stages.order must be a list of strings"),
    ({"check": {"max_duplicates": True}}, "check.max_duplicates must be an integer"),
    ({"teams": []}, "[teams] must be a table of teams"),
    ({"teams": {"Sales": 1}}, '[teams."Sales"] must be a table'),
    ({"teams": {"Sales": {"use_leads": "no"}}}, 'teams."Sales".use_leads must be bool'),
    ({"teams": {"Sales": {"stages": "New"}}}, 'teams."Sales".stages must be a list'),
    ({"teams": {"Sales": {"colour": "red"}}}, 'unknown key teams."Sales".colour'),
    ({"merge": []}, "[merge] must be a table"),
    ({"merge": {"strategy": "x"}}, "unknown key merge.strategy"),
    ({"merge": {"rules": {"name": "newest"}}}, "merge.rules.name: unknown rule 'newest'"),
])
def test_mistakes_are_named(doc: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(doc, "leadtool.toml")
    assert needle in err.value.one_line() and "leadtool.toml" in err.value.one_line()


def test_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "leadtool.toml"
    path.write_text(
        '[leads]\nenabled = false\n[stages]\norder = ["New", "Won"]\n'
        '[teams."Direct"]\nuse_leads = true\nstages = ["Fresh"]\n'
        '[merge.rules]\ndescription = "longest"\n[check]\nrequire = ["name"]\nmax_duplicates = 3\n',
        encoding="utf-8")
    cfg = load_config(str(path))
    assert isinstance(cfg, Config)
    assert cfg.team_uses_leads("Direct") and not cfg.team_uses_leads("Other")
    assert cfg.teams_without_leads() == []  # only teams named in the file are listed
    assert cfg.stage_order == ["New", "Won"]
    assert cfg.merge_rules == {"description": "longest"}
    assert (cfg.check_require, cfg.check_max_duplicates) == (["name"], 3)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "leadtool.toml"
    path.write_bytes(b"[map]\nname = \"\xff\"\n")
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_config(str(path))
