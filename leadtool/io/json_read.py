"""JSON and JSON Lines parsing: numbers, booleans and nulls kept as their JSON text, the file's
layout (indent, separators) remembered so that it can be written again the same way."""

from __future__ import annotations

import heapq
import json
import mmap
import operator
import re
from dataclasses import dataclass

import polars as pl

from ..errors import InputError
from ..records import KIND_PREFIX, PLACEHOLDER, FileFormat
from . import spans
from .nogc import no_gc
from .spans import Lines, json_shape, line_of, positions


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


def dump_json(v: object, fmt: FileFormat, indent: int | None = None, pad: str = "") -> str:
    """JSON text as json.dumps writes it with the file's separators (and, given `indent`, on
    several lines, each after `pad`, the indentation of the line the value starts on), but
    numbers kept as the reader saw them."""
    if isinstance(v, _Raw):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=fmt.json_ascii)
    if v is True or v is False or v is None:
        return json.dumps(v)
    inner = pad + " " * (indent or 0)
    if isinstance(v, dict):
        items = [json.dumps(k, ensure_ascii=fmt.json_ascii) + fmt.json_key_sep + dump_json(x, fmt, indent, inner)
                 for k, x in v.items()]
        opening, closing = "{", "}"
    else:
        items = [dump_json(x, fmt, indent, inner) for x in v]  # type: ignore[attr-defined]
        opening, closing = "[", "]"
    if not items:
        return opening + closing
    if indent is None:
        return opening + fmt.json_item_sep.join(items) + closing
    return opening + "\n" + inner + (",\n" + inner).join(items) + "\n" + pad + closing


def nested_json(text: str, fmt: FileFormat, pad: str | None) -> str | None:
    """A raw cell's JSON re-laid for where it is written: on one line (`pad` None) or on several
    after `pad` (None: not JSON: write it as a string)."""
    try:
        value = json.loads(text, parse_int=_Raw, parse_float=_Raw, parse_constant=_Raw)
    except (ValueError, RecursionError):
        return None
    return dump_json(value, fmt, fmt.json_indent if pad is not None else None, pad or "")


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
    _separators(body, fmt)


def _separators(body: str, fmt: FileFormat) -> None:
    """The item and key separators of the first object that shows them (`, ` and `: ` when
    none does)."""
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


def array_layout(raw: bytes | mmap.mmap, begin: int, starts: pl.Series, stops: pl.Series, fmt: FileFormat) -> None:
    """How an array lays out its objects, from its first two: each on one line or on several
    (the step of their indentation), their own indentation and what stands between two."""
    if not len(starts):
        return
    s0, e0 = int(starts[0]), int(stops[0])
    lead = raw[max(raw.rfind(b"\n", begin, s0) + 1, begin):s0]
    fmt.json_pad = lead.decode("utf-8") if not lead.strip(b" \t") else ""
    first = raw[s0:e0]
    if b"\n" in first:
        after = first[first.index(b"\n") + 1:]
        inner = len(after) - len(after.lstrip(b" \t"))
        fmt.json_indent = max(inner - len(fmt.json_pad), 0)
    else:  # one line: its own separators (the array's may differ)
        fmt.json_indent = None
        _separators(first.decode("utf-8"), fmt)
    if len(starts) > 1:
        fmt.json_array_sep = raw[e0:int(starts[1])].decode("utf-8")
    else:
        opening = raw[begin:s0].decode("utf-8")
        gap = opening[opening.find("[") + 1:]
        fmt.json_array_sep = "," + gap if "\n" in gap else fmt.json_item_sep


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


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return obj


def _pairs(value: object) -> int:
    """Keys in a parsed value's objects, nested ones included."""
    if isinstance(value, dict):
        return len(value) + sum(_pairs(v) for v in value.values() if type(v) in (dict, list))
    if isinstance(value, list):
        return sum(_pairs(v) for v in value if type(v) in (dict, list))
    return 0


def _nested_pairs(objects: list[dict]) -> int:
    total = sum(map(len, objects))
    for obj in objects:
        for v in obj.values():
            if type(v) in (dict, list):
                total += _pairs(v)
    return total


# \uD800-\uDBFF not followed by \uDC00-\uDFFF, or \uDC00-\uDFFF not preceded by \uD800-\uDBFF
_LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             rb"|(?<![dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


@dataclass
class _Where:
    """The file's bytes and what their scan found, for errors that name a line."""

    raw: bytes | mmap.mmap
    begin: int
    stop: int
    path: str

    def line(self, offset: int) -> int:
        return line_of(self.raw, offset)

    def surrogate(self) -> InputError:
        m = _LONE_SURROGATE.search(self.raw, self.begin, self.stop)
        text = m.group(0).decode() if m else "\\ud800"
        return InputError(f"invalid JSON: {text} is half of a UTF-16 pair, not a character",
                          file=self.path, line=self.line(m.start()) if m else None)

    def too_deep(self) -> InputError:
        shape = json_shape(self.raw, self.begin, self.stop, 0)
        return InputError(f"JSON nested too deeply ({shape.depth} levels)", file=self.path,
                          line=self.line(shape.deepest_at))


def read_json(text: str, raw: bytes | mmap.mmap, begin: int, stop: int, path: str,
              fmt: FileFormat) -> tuple[list[str], pl.DataFrame, Lines | None, int, int]:
    """The objects of a JSON array or JSON Lines file as a frame (c0.. and kind columns), and
    where each lies in `raw[begin:stop]` (the same text as UTF-8 bytes): records (None when
    they cannot be told apart), where the first starts and where what follows the last starts."""
    where = _Where(raw, begin, stop, path)
    with no_gc():  # millions of small objects without cycles: the collector would rescan them
        try:
            objects, records, head_end, tail_start = (
                _array(text, where) if fmt.kind == "json" else _lines(text, where))
            headers, frame = _frame(objects, fmt)
        except RecursionError:
            raise where.too_deep() from None
        except UnicodeEncodeError:
            raise where.surrogate() from None
    if fmt.kind == "json" and records is not None:
        array_layout(raw, begin, records.starts, records.ends, fmt)
    return headers, frame, records, head_end, tail_start


def _refuse_repeated_keys(texts: list[tuple[int, str]], where: _Where) -> None:
    """A key given twice in one object would lose a value: refused, naming the line. Called
    when the colons outside strings (the keys as written) outnumber the parsed objects' keys."""
    for offset, piece in texts:
        try:
            json.loads(piece, object_pairs_hook=_refuse_duplicates)
        except _Duplicate as dup:
            quoted = json.dumps(dup.key, ensure_ascii=False)
            first = piece.find(quoted)
            second = piece.find(quoted, first + 1) if first >= 0 else -1
            line = where.line(offset) + (piece.count("\n", 0, second) if second >= 0 else 0)
            raise InputError(f"the key {quoted} appears twice in one object (a value would be lost)",
                             file=where.path, line=line) from None
        except ValueError:
            continue


def _array(text: str, where: _Where) -> tuple[list[dict], Lines | None, int, int]:
    loads = dict(parse_int=_Raw, parse_float=_Raw, parse_constant=_Raw)
    try:
        doc = json.loads(text, **loads)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", file=where.path, line=exc.lineno) from None
    if not isinstance(doc, list) or not all(isinstance(o, dict) for o in doc):
        raise InputError("JSON must be an array of objects", file=where.path)
    shape = json_shape(where.raw, where.begin, where.stop, 1)
    records: Lines | None = None
    if len(shape.starts) == len(doc) == len(shape.stops):
        records = Lines(shape.starts, shape.stops, shape.stops)
    if shape.colons != _nested_pairs(doc):
        pieces = ([(int(a), where.raw[int(a):int(b)].decode("utf-8")) for a, b in zip(
            shape.starts.to_list(), shape.stops.to_list(), strict=True)] if records is not None
            else [(where.begin, text)])
        _refuse_repeated_keys(pieces, where)
    if records is not None and len(records):
        return doc, records, int(records.starts[0]), int(records.ends[-1])
    opening = where.raw.find(b"[", where.begin, where.stop) + 1
    return doc, records, opening, opening


def _lines(text: str, where: _Where) -> tuple[list[dict], Lines | None, int, int]:
    loads = dict(parse_int=_Raw, parse_float=_Raw, parse_constant=_Raw)
    decoder = json.JSONDecoder(**loads)  # json.loads with options would make one per line
    # only \n ends a line: str.splitlines would also split at \x85 or \u2028 in a value
    all_lines = text.split("\n")
    kept = [k for k, line in enumerate(all_lines) if line.strip(" \t\r")]
    lines = [(k + 1, all_lines[k]) for k in kept]
    objects: list[dict] = []
    try:  # the lines as one array, one call; any doubt and they are read one by one
        doc = decoder.decode("[" + ",".join(line for _, line in lines) + "]")
        if len(doc) == len(lines) and all(type(obj) is dict for obj in doc):
            objects = doc
    except json.JSONDecodeError:
        pass
    if len(objects) != len(lines):
        objects = []
        for k, line in lines:
            try:
                obj = decoder.decode(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"invalid JSON: {exc.msg}", file=where.path, line=k) from None
            if not isinstance(obj, dict):
                raise InputError("each JSON line must be an object", file=where.path, line=k)
            objects.append(obj)
    table = _line_offsets(where, len(all_lines))
    rows = pl.Series(kept, dtype=pl.Int64)
    trailing = pl.Series([len(all_lines[k]) - len(all_lines[k].rstrip(" \t\r")) for k in kept], dtype=pl.Int64)
    records = Lines(table.starts.gather(rows), table.ends.gather(rows) - trailing, table.stops.gather(rows))
    shape = json_shape(where.raw, where.begin, where.stop, 0)
    if shape.colons != _nested_pairs(objects):
        _refuse_repeated_keys([(int(records.starts[i]), line) for i, (_, line) in enumerate(lines)], where)
    if not len(records):
        return objects, records, where.begin, where.begin
    return objects, records, int(records.starts[0]), int(records.stops[-1])


def _line_offsets(where: _Where, count: int) -> Lines:
    """Lines ended by \n only (as JSON Lines splits them): `ends` before the \n."""
    if where.stop - where.begin >= spans.NUMPY_FROM:
        breaks = positions(where.raw, 10, where.begin, where.stop).tolist()
    else:
        breaks = [m.start() for m in re.finditer(b"\n", where.raw[where.begin:where.stop])]
        breaks = [where.begin + b for b in breaks]
    starts = [where.begin, *(b + 1 for b in breaks)]
    ends = [*breaks, where.stop]
    stops = [b + 1 for b in breaks] + [where.stop]
    assert len(starts) == count
    return Lines.of(starts, ends, stops)


def _frame(objects: list[dict], fmt: FileFormat) -> tuple[list[str], pl.DataFrame]:
    headers = _key_order(objects)
    for header in headers:
        header.encode("utf-8")  # a lone surrogate in a key raises UnicodeEncodeError
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

