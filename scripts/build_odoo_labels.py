"""Build leadtool/data/odoo_labels.json from Odoo's own translation files.

Where the .po files come from: the Odoo source repository (github.com/odoo/odoo), folder
`addons/crm/i18n/<lang>.po` of a release branch (17.0, 18.0, ...). Fields that crm.lead takes
from a mixin are still translated in crm's files, under the xml id `crm.field_crm_lead__<field>`;
the script also reads `addons/base/i18n` or `addons/mail/i18n` files if given, and keeps only
entries that name a crm.lead field, the `type` selection or the default "Won" stage.

Facts read (by reference comment, never by English text):
- `model:ir.model.fields,field_description:<module>.field_crm_lead__<field>`: the export label
  of a crm.lead field (leadtool's canonical fields only, docs/formats.md),
- `model:ir.model.fields.selection,name:crm.selection__crm_lead__type__<lead|opportunity>`:
  the values Odoo writes in the `type` column,
- `model:crm.stage,name:crm.stage_lead4`: the name of Odoo's default won stage.
The msgid of each fact is kept as the English form; untranslated entries (empty msgstr) and
fuzzy ones are skipped.

Rerun, after cloning Odoo (any branch; several folders may be given, their facts are united):

    python scripts/build_odoo_labels.py ODOO/addons/crm/i18n [MORE_DIRS_OR_PO_FILES] \
        -o leadtool/data/odoo_labels.json

The small extracts committed under tests/fixtures/odoo_po/ (the entries above, copied from
Odoo 17.0, 18.0 and its development branch) reproduce the committed table exactly; a test
checks it:

    python scripts/build_odoo_labels.py tests/fixtures/odoo_po -o leadtool/data/odoo_labels.json
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from leadtool.fields import FIELDS  # the canonical crm.lead fields: only their labels are kept

_FIELD_REF = re.compile(r"^model:ir\.model\.fields,field_description:\w+\.field_crm_lead__(\w+)$")
_TYPE_REF = re.compile(r"^model:ir\.model\.fields\.selection,name:\w+\.selection__crm_lead__type__(lead|opportunity)$")
_WON_REF = "model:crm.stage,name:crm.stage_lead4"


def _unquote(line: str) -> str:
    """One quoted .po string; the escapes are C's, which Python's literal syntax reads."""
    return ast.literal_eval(line.strip())


def parse_po(text: str) -> Iterator[tuple[list[str], str, str, bool]]:
    """(references, msgid, msgstr, fuzzy) of each entry; multi-line strings joined."""
    refs: list[str] = []
    fuzzy = False
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    current: list[str] | None = None

    def entry() -> Iterator[tuple[list[str], str, str, bool]]:
        if msgid is not None and msgstr is not None:
            yield refs, "".join(msgid), "".join(msgstr), fuzzy

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            yield from entry()
            refs, fuzzy, msgid, msgstr, current = [], False, None, None, None
        elif line.startswith("#:"):
            if msgstr is not None:
                yield from entry()
                refs, fuzzy, msgid, msgstr, current = [], False, None, None, None
            refs.extend(line[2:].split())
        elif line.startswith("#,"):
            fuzzy = fuzzy or "fuzzy" in line
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid "):
            msgid = [_unquote(line[6:])]
            current = msgid
        elif line.startswith("msgstr "):
            msgstr = [_unquote(line[7:])]
            current = msgstr
        elif line.startswith('"') and current is not None:
            current.append(_unquote(line))
    yield from entry()


def language_of(path: Path, text: str) -> str:
    """The `Language:` header of the file, else its name (`fr.po` -> `fr`)."""
    found = re.search(r"^\"Language: *([\w@]+)\\n\"", text, re.MULTILINE)
    return found.group(1) if found else path.stem


def po_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.po")) if path.is_dir() else [path])
    return files


def fold(text: str) -> str:
    """The case- and accent-free form a header is looked up by."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.lower().split())


def _add(table: dict, key: str, lang: str, text: str) -> None:
    forms = table.setdefault(key, {}).setdefault(lang, [])
    if text and text not in forms:
        forms.append(text)


def build(files: Iterable[Path]) -> dict:
    fields: dict[str, dict[str, list[str]]] = {}
    types: dict[str, dict[str, list[str]]] = {}
    won: dict[str, dict[str, list[str]]] = {}
    sources: dict[str, list[str]] = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        lang = language_of(path, text)
        version = re.search(r"Project-Id-Version: Odoo Server ([\w.~-]+)", text)
        sources.setdefault(lang, [])
        if version and version.group(1) not in sources[lang]:
            sources[lang].append(version.group(1))
        for refs, msgid, msgstr, fuzzy in parse_po(text):
            if fuzzy or not msgid:
                continue
            for ref in refs:
                field = _FIELD_REF.match(ref)
                kind = _TYPE_REF.match(ref)
                if field and field.group(1) in FIELDS:
                    _add(fields, field.group(1), "en", msgid)
                    _add(fields, field.group(1), lang, msgstr)
                elif kind:
                    _add(types, kind.group(1), "en", msgid)
                    _add(types, kind.group(1), lang, msgstr)
                elif ref == _WON_REF:
                    _add(won, "won", "en", msgid)
                    _add(won, "won", lang, msgstr)
    ordered_fields = {f: _sorted_langs(fields[f]) for f in FIELDS if f in fields}
    return {
        "about": "Export labels of Odoo's crm.lead fields, values of its type selection and the name "
                 "of its default won stage, per language, as Odoo's translation files give them. "
                 "Generated by scripts/build_odoo_labels.py; do not edit by hand.",
        "odoo_versions": {lang: sources[lang] for lang in sorted(sources)},
        "fields": ordered_fields,
        "type_values": {k: _sorted_langs(types[k]) for k in ("lead", "opportunity") if k in types},
        "won_stage": _sorted_langs(won.get("won", {})),
        "collisions": collisions(ordered_fields),
    }


def _sorted_langs(by_lang: dict[str, list[str]]) -> dict[str, list[str]]:
    langs = sorted(by_lang, key=lambda lang: (lang != "en", lang))
    return {lang: by_lang[lang] for lang in langs if by_lang[lang]}


def collisions(fields: dict[str, dict[str, list[str]]]) -> list[dict]:
    """Labels that two fields share once folded (case and accents off): the lookup cannot
    tell them apart, so it leaves them out (see leadtool.translations)."""
    owners: dict[str, dict[str, list[str]]] = {}
    for fld, by_lang in fields.items():
        for lang, labels in by_lang.items():
            for label in labels:
                owners.setdefault(fold(label), {}).setdefault(fld, []).append(f"{lang}:{label}")
    return [{"key": key, "fields": owner} for key, owner in sorted(owners.items()) if len(owner) > 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", type=Path, help=".po files or folders holding them")
    parser.add_argument("-o", "--output", type=Path, help="where to write the table (default: stdout)")
    args = parser.parse_args(argv)
    files = po_files(args.inputs)
    if not files:
        print("no .po file found", file=sys.stderr)
        return 2
    text = json.dumps(build(files), ensure_ascii=False, indent=1) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
