"""JSON and JSON Lines parsing: numbers, booleans and nulls kept as their JSON text, the file's
layout (indent, separators) remembered so that it can be written again the same way."""

from __future__ import annotations

import heapq
import json
import operator
import re

import polars as pl

from ..errors import InputError
from ..records import KIND_PREFIX, PLACEHOLDER, FileFormat
from .nogc import no_gc


class _Raw(str):
    """A JSON number, boolean or null, kept as its JSON text."""


def _json_value(v: object, fmt: FileFormat | None = None) -> tuple[str, str | None]:
    if isinstance(v, _Raw):
        return str(v), "r"
    if isinstance(v, str):
        return v, None
    if v is True:
        return "true", "r"
    if v is False:
        return "false", "r"
    if v is None:
        return "null", "r"
    # a nested array or object: its JSON on one line, numbers as written
    return dump_json(v, fmt or FileFormat(kind="jsonl")), "r"


def dump_json(v: object, fmt: FileFormat, indent: int | None = None, level: int = 0) -> str:
    """JSON text as json.dumps writes it with the file's separators (and, given `indent`, on
    several lines starting at nesting `level`), but numbers kept as the reader saw them."""
    if isinstance(v, _Raw):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=fmt.json_ascii)
    if v is True or v is False or v is None:
        return json.dumps(v)
    if isinstance(v, dict):
        items = [json.dumps(k, ensure_ascii=fmt.json_ascii) + fmt.json_key_sep + dump_json(x, fmt, indent, level + 1)
                 for k, x in v.items()]
        opening, closing = "{", "}"
    else:
        items = [dump_json(x, fmt, indent, level + 1) for x in v]  # type: ignore[attr-defined]
        opening, closing = "[", "]"
    if not items:
        return opening + closing
    if indent is None:
        return opening + fmt.json_item_sep.join(items) + closing
    pad = "\n" + " " * (indent * (level + 1))
    return opening + pad + ("," + pad).join(items) + "\n" + " " * (indent * level) + closing


def nested_json(text: str, fmt: FileFormat, level: int) -> str | None:
    """A raw cell's JSON re-laid for where it is written (None: not JSON: write it as a string)."""
    try:
        value = json.loads(text, parse_int=_Raw, parse_float=_Raw, parse_constant=_Raw)
    except ValueError:
        return None
    return dump_json(value, fmt, fmt.json_indent if fmt.kind == "json" else None, level)


# a JSON string (skipped) or a separator outside strings with the space after it
_JSON_SEPARATORS = re.compile(r'"(?:[^"\\]|\\.)*"|([,:])( ?)')


_SPACES = re.compile(" *")
_LINE_BREAKS = re.compile("[\r\n]*")


def sniff_json_layout(text: str, fmt: FileFormat) -> None:
    body = text.strip()
    # json.dumps' ensure_ascii escapes everything outside ' '..'~' (DEL too) in strings
    fmt.json_ascii = "\\u" in body and body.isascii() and "\x7f" not in body
    fmt.final_newline = text.endswith("\n")
    fmt.newline = "\r\n" if "\r\n" in text else "\n"
    if fmt.kind == "json":
        # positions, not slices: a slice of a large file's text is a copy of it
        at = _SPACES.match(body, 1).end()
        if body.startswith(("\n", "\r\n"), at):
            start = _LINE_BREAKS.match(body, at).end()
            fmt.json_indent = _SPACES.match(body, start).end() - start
            fmt.json_item_sep, fmt.json_key_sep = ",", ": "
            return
    item_sep = key_sep = None
    for m in _JSON_SEPARATORS.finditer(body):
        if m.group(1) == "," and item_sep is None:
            item_sep = "," + m.group(2)
        elif m.group(1) == ":" and key_sep is None:
            key_sep = ":" + m.group(2)
        if item_sep is not None and key_sep is not None:
            break
    fmt.json_item_sep = ", " if item_sep is None else item_sep
    fmt.json_key_sep = ": " if key_sep is None else key_sep


def _key_order(objects: list[dict]) -> list[str]:
    """The columns of JSON objects: an order that keeps every object's own key order when
    one exists (objects may leave keys out), else the order of first appearance."""
    orders = list(dict.fromkeys(tuple(obj) for obj in objects))
    first: dict[str, int] = {}
    for order in orders:
        for key in order:
            first.setdefault(key, len(first))
    if len(orders) <= 1:
        return list(first)
    after: dict[str, set[str]] = {k: set() for k in first}
    indegree = dict.fromkeys(first, 0)
    for order in orders:
        for a, b in zip(order, order[1:], strict=False):
            if b not in after[a]:
                after[a].add(b)
                indegree[b] += 1
    ready = [(i, k) for k, i in first.items() if indegree[k] == 0]
    heapq.heapify(ready)
    result: list[str] = []
    while ready:
        _, key = heapq.heappop(ready)
        result.append(key)
        for nxt in after[key]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, (first[nxt], nxt))
    return result if len(result) == len(first) else list(first)


_ABSENT = object()
_PLAIN_KINDS: dict[type, str | None] = {str: None, _Raw: "r", type(None): "r"}  # JSON null is kept as 'null'
_PLAIN_TYPES = set(_PLAIN_KINDS)


def read_json(text: str, path: str, fmt: FileFormat) -> tuple[list[str], pl.DataFrame]:
    with no_gc():  # millions of small objects without cycles: the collector would rescan them
        return read_json_objects(text, path, fmt)


def read_json_objects(text: str, path: str, fmt: FileFormat) -> tuple[list[str], pl.DataFrame]:
    objects: list[dict] = []
    loads = dict(parse_int=_Raw, parse_float=_Raw, parse_constant=_Raw)
    if fmt.kind == "json":
        try:
            doc = json.loads(text, **loads)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", file=path, line=exc.lineno) from None
        if not isinstance(doc, list) or not all(isinstance(o, dict) for o in doc):
            raise InputError("JSON must be an array of objects", file=path)
        objects = doc
    else:
        decoder = json.JSONDecoder(**loads)  # json.loads with options would make one per line
        # only \n ends a line: str.splitlines would also split at \x85 or \u2028 in a value
        lines = [(k, line) for k, line in enumerate(text.split("\n"), 1) if line.strip(" \t\r")]
        try:  # the lines as one array, one call; any doubt and they are read one by one
            doc = decoder.decode("[" + ",".join(line for _, line in lines) + "]")
            if len(doc) == len(lines) and all(type(obj) is dict for obj in doc):
                objects = doc
        except json.JSONDecodeError:
            pass
        if len(objects) != len(lines):
            for k, line in lines:
                try:
                    obj = decoder.decode(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"invalid JSON: {exc.msg}", file=path, line=k) from None
                if not isinstance(obj, dict):
                    raise InputError("each JSON line must be an object", file=path, line=k)
                objects.append(obj)
    headers = _key_order(objects)
    data: dict[str, list | pl.Series] = {}
    if len(headers) > 1 and all(len(obj) == len(headers) for obj in objects):
        # every object has every key: one C-level lookup per object, then a transposition
        table: list = list(zip(*map(operator.itemgetter(*headers), objects), strict=True)) or [()] * len(headers)
    else:
        table = [[obj.get(h, _ABSENT) for obj in objects] for h in headers]
    for i, cells in enumerate(table):
        cells = list(cells)
        types = set(map(type, cells))
        if types <= {str}:  # the usual column: strings only, as they are
            data[f"c{i}"] = cells
            continue
        if types <= _PLAIN_TYPES:  # strings, numbers (a _Raw is their text) and nulls: no per-cell Python
            data[f"c{i}"] = pl.Series(cells, dtype=pl.String, strict=False).fill_null("null")
            data[f"{KIND_PREFIX}c{i}"] = list(map(_PLAIN_KINDS.__getitem__, map(type, cells)))
            continue
        # booleans, absent keys, nested values
        data[f"c{i}"] = [v if type(v) is str else "" if v is _ABSENT else _json_value(v, fmt)[0] for v in cells]
        data[f"{KIND_PREFIX}c{i}"] = [None if type(v) is str else "a" if v is _ABSENT else "r" for v in cells]
    if not data:  # objects without keys: keep their count
        data[PLACEHOLDER] = [""] * len(objects)
    frame = pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))
    return headers, frame

