"""Which column of one file holds which Odoo field: the user's mapping first, then the preset of
another CRM (given with `--preset`, else detected from the headers), else Odoo's own names and
labels in any of the languages Odoo ships (docs/formats.md#field-recognition).

Everything here looks at the header row only, never at the records: a million-row export costs
what a ten-row one does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .fields import FieldMap, as_lists, explicit_positions, resolve_headers
from .presets import Preset, Resolved, builtin_names, detect, load_preset
from .translations import detect_language

#: `--preset odoo`: the file is an Odoo export; no preset is detected
ODOO = "odoo"

LANGUAGE_NAMES = {"en": "English", "fr": "French", "nl": "Dutch", "de": "German", "es": "Spanish",
                  "it": "Italian", "pt_BR": "Brazilian Portuguese"}


@dataclass(frozen=True)
class PresetChoice:
    """What `--preset` said: a preset to apply to every file, `odoo` (none, and no detection),
    or nothing (each file's preset is detected from its headers)."""

    preset: Preset | None = None
    detect: bool = True

    @classmethod
    def parse(cls, value: str | Path | Preset | None) -> PresetChoice:
        """`--preset NAME|FILE|odoo`; an unknown name that is no file is an error naming the
        built-in presets."""
        if value is None:
            return cls()
        if isinstance(value, Preset):
            return cls(value, detect=False)
        if str(value).strip().lower() == ODOO:
            return cls(None, detect=False)
        return cls(load_preset(value), detect=False)


def preset_names() -> list[str]:
    """What `--preset` takes by name."""
    return [*builtin_names(), ODOO]


@dataclass(frozen=True)
class Recognition:
    """One file's header row, understood: `fields` maps a header position to its field (a field
    of `fields.MULTI_FIELDS` may hold several positions); `preset` is the preset applied to this
    file (`detected`: found from the headers, not given); `language` the language of the Odoo
    labels recognised (None: technical names or English)."""

    fields: dict[int, str]
    preset: Resolved | None = None
    detected: bool = False
    language: str | None = None

    @property
    def language_name(self) -> str | None:
        return LANGUAGE_NAMES.get(self.language, self.language) if self.language else None


def recognise(headers: Sequence[str], mapping: FieldMap | None = None,
              choice: PresetChoice | None = None) -> Recognition:
    """The fields of a header row. With a preset, only its map (and the user's) names fields:
    another system's `Type` or `Title` is never taken for Odoo's."""
    mapping = mapping or {}
    choice = choice or PresetChoice()
    preset, detected = choice.preset, False
    if preset is None and choice.detect:
        found = detect(headers)
        if found is not None:
            preset, detected = found.preset, True
    if preset is None:
        return Recognition(resolve_headers(headers, mapping), language=detect_language(headers))
    resolved = preset.resolve(headers)
    lists = as_lists(mapping)
    fields = explicit_positions(headers, lists)
    named = {h for names in lists.values() for h in names}
    for fld, positions in resolved.fields.items():
        if fld in lists:
            continue
        for i in positions:
            if i not in fields and headers[i] not in named:
                fields[i] = fld
    return Recognition(dict(sorted(fields.items())), resolved, detected)
