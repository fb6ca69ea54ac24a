"""`leadtool.toml` (docs/config.md): read with tomllib, every table optional, unknown keys an error."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .fields import FIELDS

if TYPE_CHECKING:
    from .match.placeholders import PlaceholderRules

MERGE_RULES = ("head", "first", "last", "concat", "union", "max", "min", "longest")
DEFAULT_FILE = "leadtool.toml"


@dataclass
class TeamConfig:
    use_leads: bool | None = None
    stages: list[str] | None = None


@dataclass
class FuzzyConfig:
    """`[fuzzy]`: fuzzy suggestions' settings (docs/config.md#fuzzy); None: the default."""

    threshold: float | None = None
    fields: list[str] | None = None
    columns: dict[str, str] = field(default_factory=dict)
    add_blocking: list[str] = field(default_factory=list)
    drop_blocking: list[str] = field(default_factory=list)


CHECK_FUZZY = ("off", "warn", "fail")


@dataclass
class Config:
    map: dict[str, list[str]] = field(default_factory=dict)
    leads_enabled: bool = True
    teams: dict[str, TeamConfig] = field(default_factory=dict)
    stage_order: list[str] = field(default_factory=list)
    won_stages: list[str] | None = None  # None: Odoo's default won stage in every language
    placeholders: PlaceholderRules | None = None  # [emails.placeholders]; None: the defaults
    merge_rules: dict[str, str] = field(default_factory=dict)
    check_require: list[str] = field(default_factory=list)
    check_max_duplicates: int | None = None
    check_ignore: list[str] = field(default_factory=list)
    check_fuzzy: str = "off"
    fuzzy: FuzzyConfig = field(default_factory=FuzzyConfig)
    path: str | None = None

    def team_uses_leads(self, team: str) -> bool:
        t = self.teams.get(team)
        if t is not None and t.use_leads is not None:
            return t.use_leads
        return self.leads_enabled

    def teams_without_leads(self) -> list[str]:
        """Teams whose leads are converted on every run."""
        return [name for name in self.teams if not self.team_uses_leads(name)]

    def first_stage(self, team: str) -> str:
        t = self.teams.get(team)
        if t is not None and t.stages:
            return t.stages[0]
        return self.stage_order[0] if self.stage_order else "New"


_SCHEMA: dict[str, Any] = {
    "map": "table-of-str-or-list",
    "leads": {"enabled": bool},
    "teams": "teams",
    "stages": {"order": list, "won": list},
    "merge": {"rules": "table-of-str"},
    "check": {"require": list, "max_duplicates": int, "ignore": list, "fuzzy": str},
    "emails": {"placeholders": dict},
    "fuzzy": "fuzzy",
}


def _expect(value: Any, kind: type, where: str, path: str) -> Any:
    if kind is int and isinstance(value, bool):
        raise ConfigError(f"{where} must be an integer", file=path)
    if not isinstance(value, kind):
        raise ConfigError(f"{where} must be {'a list' if kind is list else kind.__name__}",
                          file=path)
    if kind is list and not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings", file=path)
    return value


def _str_table(value: Any, where: str, path: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"[{where}] must be a table", file=path)
    for k, v in value.items():
        if not isinstance(v, str):
            raise ConfigError(f"{where}.{k} must be a string", file=path)
    return dict(value)


def _map_table(value: Any, path: str) -> dict[str, list[str]]:
    """`[map]`: field = "Header" or field = ["Header", "Other header"]."""
    if not isinstance(value, dict):
        raise ConfigError("[map] must be a table", file=path)
    out: dict[str, list[str]] = {}
    for fld, headers in value.items():
        if fld not in FIELDS:
            raise ConfigError(f"unknown key map.{fld}: not a field", file=path)
        headers = [headers] if isinstance(headers, str) else headers
        if not isinstance(headers, list) or not headers or not all(isinstance(h, str) and h for h in headers):
            raise ConfigError(f"map.{fld} must be a header or a list of headers", file=path)
        out[fld] = list(dict.fromkeys(headers))
    return out


def parse_config(doc: dict[str, Any], path: str = DEFAULT_FILE) -> Config:
    cfg = Config(path=path)
    for key in doc:
        if key not in _SCHEMA:
            raise ConfigError(f"unknown table [{key}] (known: {', '.join(_SCHEMA)})", file=path)
    if "map" in doc:
        cfg.map = _map_table(doc["map"], path)
    for table in ("leads", "stages", "check", "emails"):
        section = doc.get(table, {})
        if not isinstance(section, dict):
            raise ConfigError(f"[{table}] must be a table", file=path)
        for k, v in section.items():
            kind = _SCHEMA[table].get(k)
            if kind is None:
                raise ConfigError(f"unknown key {table}.{k}", file=path)
            _expect(v, kind, f"{table}.{k}", path)
    leads = doc.get("leads", {})
    cfg.leads_enabled = leads.get("enabled", True)
    stages = doc.get("stages", {})
    cfg.stage_order = list(stages.get("order", []))
    cfg.won_stages = list(stages["won"]) if "won" in stages else None
    if "placeholders" in doc.get("emails", {}):
        from .match.placeholders import rules_from_config  # the match package reads this module

        cfg.placeholders = rules_from_config(doc["emails"]["placeholders"], path, "emails.placeholders")
    check = doc.get("check", {})
    cfg.check_require = list(check.get("require", []))
    cfg.check_max_duplicates = check.get("max_duplicates")
    cfg.check_ignore = list(check.get("ignore", []))
    cfg.check_fuzzy = check.get("fuzzy", "off")
    if cfg.check_fuzzy not in CHECK_FUZZY:
        raise ConfigError(f"check.fuzzy: expected one of {', '.join(CHECK_FUZZY)}, not {cfg.check_fuzzy!r}",
                          file=path)
    cfg.fuzzy = _fuzzy(doc.get("fuzzy", {}), path)
    teams = doc.get("teams", {})
    if not isinstance(teams, dict):
        raise ConfigError("[teams] must be a table of teams", file=path)
    for name, team in teams.items():
        if not isinstance(team, dict):
            raise ConfigError(f'[teams."{name}"] must be a table', file=path)
        tc = TeamConfig()
        for k, v in team.items():
            if k == "use_leads":
                tc.use_leads = _expect(v, bool, f'teams."{name}".use_leads', path)
            elif k == "stages":
                tc.stages = list(_expect(v, list, f'teams."{name}".stages', path))
            else:
                raise ConfigError(f'unknown key teams."{name}".{k}', file=path)
        cfg.teams[name] = tc
    merge = doc.get("merge", {})
    if not isinstance(merge, dict):
        raise ConfigError("[merge] must be a table", file=path)
    for k in merge:
        if k != "rules":
            raise ConfigError(f"unknown key merge.{k}", file=path)
    cfg.merge_rules = _str_table(merge.get("rules", {}), "merge.rules", path)
    for col, rule in cfg.merge_rules.items():
        if rule not in MERGE_RULES:
            raise ConfigError(f"merge.rules.{col}: unknown rule {rule!r} "
                              f"(rules: {', '.join(MERGE_RULES)})", file=path)
    return cfg


def _fuzzy(table: Any, path: str) -> FuzzyConfig:
    """`[fuzzy]`, its names checked against the fields and blocking keys leadtool knows."""
    from .match.fuzzy_blocking import BLOCKING_KEYS
    from .match.fuzzy_groups import COLUMN_FIELDS, FIELD_NAMES

    if not isinstance(table, dict):
        raise ConfigError("[fuzzy] must be a table", file=path)
    out = FuzzyConfig()
    for k, v in table.items():
        if k == "columns":
            out.columns = _str_table(v, "fuzzy.columns", path)
            for name in out.columns:
                if name not in COLUMN_FIELDS:
                    raise ConfigError(f"unknown key fuzzy.columns.{name} (known: {', '.join(COLUMN_FIELDS)})",
                                      file=path)
        elif k == "threshold":
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 100:
                raise ConfigError("fuzzy.threshold must be a number from 0 to 100", file=path)
            out.threshold = float(v)
        elif k in ("fields", "add_blocking", "drop_blocking"):
            known = FIELD_NAMES if k == "fields" else tuple(BLOCKING_KEYS)
            for name in _expect(v, list, f"fuzzy.{k}", path):
                if name not in known:
                    raise ConfigError(f"fuzzy.{k}: unknown name {name!r} (known: {', '.join(known)})", file=path)
            setattr(out, k, list(v))
        else:
            raise ConfigError(f"unknown key fuzzy.{k}", file=path)
    if out.fields is not None and not out.fields:
        raise ConfigError("fuzzy.fields: give one field at least", file=path)
    return out


def load_config(path: str | None = None) -> Config:
    """The given config file, else `leadtool.toml` in the working directory, else defaults."""
    if path is None:
        if not Path(DEFAULT_FILE).is_file():
            return Config()
        path = DEFAULT_FILE
    p = Path(path)
    if not p.is_file():
        raise ConfigError("no such config file", file=path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=path) from None
    except UnicodeDecodeError:
        raise ConfigError("not valid UTF-8", file=path) from None
    return parse_config(doc, path)
