"""Reading and writing exports without changing a byte that no rule changed.

polars parses and writes CSV (it is 5x faster than pandas here and keeps `\\r\\n` inside
quoted values); Python's csv module is the slow, exact fallback used only to locate errors
and to read files polars refuses. JSON and JSON Lines go through the json module, keeping
numbers and booleans in their JSON text form.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import heapq
import io
import json
import mmap
import operator
import os
import re
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import polars as pl

from .errors import InputError, UsageError
from .fields import resolve_headers
from .nogc import no_gc
from .records import HIDDEN_PREFIX, ID, KIND_PREFIX, ROW, SRC, FileFormat, Records, Source

DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 1 << 16
_BOM = b"\xef\xbb\xbf"
_PLACEHOLDER = f"{HIDDEN_PREFIX}placeholder"  # a frame of records that have no columns


# --------------------------------------------------------------------------- reading
def read_bytes(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", file=path)
    if p.is_dir():
        raise InputError("is a directory, not a file", file=path)
    try:
        return p.read_bytes()
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), file=path) from None


_MAP_FROM = 32 << 20  # bytes: a larger regular file is mapped, not copied into memory


@contextlib.contextmanager
def _mapped(path: str) -> Iterator[mmap.mmap | None]:
    """A large regular file's bytes without a copy: polars reads it by its path and only
    windows of it are ever copied (None: read it whole)."""
    view = None
    if path != "-":
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())
                if stat.S_ISREG(info.st_mode) and info.st_size >= _MAP_FROM:
                    view = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            view = None  # read_bytes says why
    try:
        yield view
    finally:
        if view is not None:
            with contextlib.suppress(BufferError):
                view.close()


def _whole(data: bytes | mmap.mmap) -> bytes:
    return data if isinstance(data, bytes) else data[:]


def count_byte(data: bytes | mmap.mmap, byte: int) -> int:
    """How often a byte occurs: numpy on a large buffer (4x bytes.count), in slices so that
    no large temporary is made."""
    if len(data) < _MAP_FROM:
        return _whole(data).count(bytes([byte]))
    import numpy as np  # not on every start: it takes 50 ms to import

    total, step = 0, 1 << 24
    array = np.frombuffer(data, dtype=np.uint8)
    try:
        for start in range(0, len(array), step):
            total += int(np.count_nonzero(array[start:start + step] == byte))
    finally:
        del array  # a live view would keep the map from closing
    return total


def _line_of(data: bytes | str, offset: int) -> int:
    nl = b"\n" if isinstance(data, bytes) else "\n"
    return data.count(nl, 0, offset) + 1  # type: ignore[arg-type]


_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


_HIGH_RUN = re.compile(rb"[\x80-\xff]{3}")
_ASCII = bytes(range(0x80))


def _looks_cp1252(data: bytes) -> bool:
    """Western text saved by Excel or an old ERP: isolated accented letters and typographic
    punctuation. Anything else that is not UTF-8 is more likely corrupt than cp1252.
    Byte-level scans only, so that a large file is judged quickly."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        return False
    if _HIGH_RUN.search(data):
        return False
    for b in set(data.translate(None, _ASCII)):
        if b in _CP1252_UNDEFINED:
            return False
        ch = bytes([b]).decode("cp1252")
        if ch in "ÃÂ":  # the signature of UTF-8 read as cp1252, or of broken UTF-8
            return False
        cat = unicodedata.category(ch)
        if not (cat.startswith(("L", "P", "S", "N")) or ch == "\xa0"):
            return False
    return True


class _NotUTF8(Exception):
    """Raised inside the parsers when bytes taken for UTF-8 turn out not to be."""


def _utf8(data: bytes | mmap.mmap) -> str:
    try:
        return _whole(data).decode("utf-8")
    except UnicodeDecodeError:
        raise _NotUTF8 from None


_UTF8_NAMES = ("utf-8", "utf8", "utf-8-sig")
_BLANK = b" \t\r\n\xef\xbb\xbf"


def _is_blank(data: bytes | mmap.mmap) -> bool:
    """Nothing but white space (and a BOM), without copying a large file."""
    if data[:SNIFF_BYTES].strip(_BLANK):
        return False
    return len(data) <= SNIFF_BYTES or not _whole(data).strip(_BLANK)


def decode(data: bytes | mmap.mmap, path: str, encoding: str | None,
           lazy: bool = False) -> tuple[str | None, str, bool]:
    """Returns (text or None when the bytes are valid UTF-8 as they are, encoding, bom).

    `lazy`: for UTF-8 only check the sniffing window; the parser validates the rest (polars
    does so natively) and raises _NotUTF8, after which the caller decodes again eagerly."""
    bom = data[:len(_BOM)] == _BOM
    if lazy and (encoding is None or encoding.lower().replace("_", "-") in _UTF8_NAMES):
        try:
            codecs.getincrementaldecoder("utf-8")().decode(data[:SNIFF_BYTES], final=False)
            return None, "utf-8", bom
        except UnicodeDecodeError:
            pass
    data = _whole(data)
    if encoding:
        norm = encoding.lower().replace("_", "-")
        if norm in _UTF8_NAMES:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", file=path,
                                 line=_line_of(data, exc.start)) from None
            return None, "utf-8", bom
        try:
            text = data.decode(encoding)
        except LookupError:
            raise UsageError(f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid {encoding} (byte 0x{data[exc.start]:02x})",
                             file=path, line=_line_of(data, exc.start)) from None
        return text, encoding, False
    try:
        data.decode("utf-8")
        return None, "utf-8", bom
    except UnicodeDecodeError as exc:
        if _looks_cp1252(data):
            return data.decode("cp1252"), "cp1252", False
        raise InputError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); give --encoding "
            "(for example --encoding cp1252)", file=path, line=_line_of(data, exc.start)
        ) from None


@functools.lru_cache(maxsize=8)
def _cell_regex(delimiter: str) -> re.Pattern[str]:
    d = re.escape(delimiter)
    # a quoted cell (and anything after its closing quote), or an unquoted one
    return re.compile(rf'"((?:[^"]|"")*)"([^{d}\r\n]*)|([^{d}\r\n]*)')


def _first_records(text: str, delimiter: str, limit: int = 2, complete: bool = False,
                   junk: list[bool] | None = None,
                   ) -> tuple[list[list[tuple[str, bool]]], str, int]:
    """Tokenize the first records: cells with whether each was quoted, the line ending and
    the number of newlines in the header. Only looks at the sniffing window; `complete`
    says the window is the whole file (its last record may lack a line ending)."""
    records: list[list[tuple[str, bool]]] = []
    cells: list[tuple[str, bool]] = []
    newline = "\n"
    header_newlines = 0
    match = _cell_regex(delimiter).match
    i, n = 0, len(text)
    while i < n and len(records) < limit:
        if text[i] == '"':
            m = match(text, i)
            if m.group(1) is None:  # a quote that is never closed (or closes past the window)
                cells.append((text[i + 1:].replace('""', '"'), True))
                break
            raw = m.group(1)
            if not records:
                header_newlines += raw.count("\n")
            cells.append((raw.replace('""', '"') + m.group(2), True))
            if junk is not None and m.group(2):  # text after a closing quote: not RFC 4180
                junk.append(True)
        else:
            m = match(text, i)
            cells.append((m.group(3), False))
            if junk is not None and '"' in m.group(3):  # a quote inside an unquoted cell
                junk.append(True)
        j = m.end()
        if j >= n:
            break
        ch = text[j]
        if ch == delimiter:
            i = j + 1
            if i >= n:
                cells.append(("", False))
            continue
        if ch == "\r" and j + 1 < n and text[j + 1] == "\n":
            if not records:
                newline = "\r\n"
            j += 1
        records.append(cells)
        cells = []
        i = j + 1
    if cells and len(records) < limit and (complete or not records):
        records.append(cells)
    return records, newline, header_newlines


def _header_counts(head: str) -> dict[str, int]:
    """How often each candidate splits the header line, outside quotes."""
    counts = dict.fromkeys(DELIMITERS, 0)
    in_quotes = False
    for ch in head:
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes:
            if ch in "\r\n":
                break
            if ch in counts:
                counts[ch] += 1
    return counts


def sniff_delimiter(head: str, complete: bool = False) -> str:
    """The candidate that gives every one of the first records the same number of cells
    (more than one preferred), then one that leaves no stray quote (text after a closing
    quote, a quote inside an unquoted cell), then the
    one that splits the header line most often."""
    counts = _header_counts(head)

    def score(d: str) -> tuple[bool, bool, bool, int, int]:
        junk: list[bool] = []
        records = _first_records(head, d, limit=20, complete=complete, junk=junk)[0]
        # blank lines (one empty unquoted cell) say nothing about the delimiter
        sizes = {len(r) for r in records if r != [("", False)]}
        consistent = len(sizes) == 1
        return (consistent and sizes != {1}, not junk, consistent, counts[d],
                -DELIMITERS.index(d))

    best = max(DELIMITERS, key=score)
    return best if counts[best] or score(best)[0] else ","


def _python_csv_rows(text: str, path: str, fmt: FileFormat, ncols: int) -> list[list[str]]:
    """The exact but slow reader: used when polars refuses a file, to either read it or say
    precisely which line is wrong."""
    class Dialect(csv.excel):
        delimiter = fmt.delimiter
        strict = True

    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), Dialect)
    start = 1
    try:
        for row in reader:
            if row:
                if len(row) > ncols:
                    raise InputError(f"{len(row)} cells but the header has {ncols}", file=path,
                                     line=start)
                rows.append(row + [""] * (ncols - len(row)))
            start = reader.line_num + 1
    except csv.Error as exc:
        msg = str(exc)
        if "unexpected end of data" in msg:
            raise InputError("unterminated quoted value (a \" is never closed)", file=path,
                             line=start) from None
        # not strictly RFC 4180 (a stray quote inside a value): read it the lenient way
        lenient = list(csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter))
        rows = []
        for k, row in enumerate(lenient):
            if row:
                if len(row) > ncols:
                    raise InputError(f"{len(row)} cells but the header has {ncols}", file=path,
                                     line=k + 1) from None
                rows.append(row + [""] * (ncols - len(row)))
    return rows[1:]


def _read_csv(data: bytes | mmap.mmap, text: str | None, path: str,
              fmt: FileFormat) -> tuple[list[str], pl.DataFrame, int]:
    head_text = (text[:SNIFF_BYTES] if text is not None
                 else data[:SNIFF_BYTES].decode("utf-8", errors="ignore"))
    if head_text.startswith("\ufeff"):
        head_text = head_text[1:]
    complete = len(text if text is not None else data) <= SNIFF_BYTES
    if not fmt.delimiter:
        fmt.delimiter = sniff_delimiter(head_text, complete)
    first, fmt.newline, header_newlines = _first_records(
        head_text, fmt.delimiter, limit=1 << 30, complete=complete)
    if not first:
        raise InputError("no header line", file=path)
    headers = [c for c, _ in first[0]]
    quoted = [q for rec in first for _, q in rec]
    fmt.quoting = "all" if quoted and all(quoted) else "minimal"
    raw = data if text is None else text.encode("utf-8")
    fmt.final_newline = raw[-1:] == b"\n"
    ncols = len(headers)
    frame: pl.DataFrame | None = None
    # an odd number of quotes leaves a value open, which polars would not report: they are
    # counted on one core while polars parses on the others (its result is dropped if so)
    with ThreadPoolExecutor(max_workers=1) as pool:
        odd_quotes = pool.submit(lambda: count_byte(raw, ord('"')) % 2 == 1)
        try:
            frame = pl.read_csv(
                path if isinstance(raw, mmap.mmap) else raw,  # a mapped file: polars maps it itself
                has_header=False, infer_schema=False, separator=fmt.delimiter,
                empty_string_is_null=False, truncate_ragged_lines=False, raise_if_empty=False,
                new_columns=[f"c{i}" for i in range(ncols)] if ncols else None,
            )
        except (Exception, pl.exceptions.PanicException):  # polars refused: find out why, or read it the exact way
            frame = None
        if odd_quotes.result() or (frame is not None and frame.width != ncols):
            frame = None
    if frame is None:
        full = text if text is not None else _utf8(data)
        rows = _python_csv_rows(full.lstrip("\ufeff"), path, fmt, ncols)
        cols = {f"c{i}": [r[i] for r in rows] for i in range(ncols)}
        frame = pl.DataFrame(cols, schema=dict.fromkeys(cols, pl.String))
    else:
        frame = frame.slice(1).rechunk()  # parsed in pieces: gathers and writes want one chunk
        if any(frame.null_count().row(0)):  # rows with fewer cells than the header
            frame = frame.with_columns(pl.all().fill_null(""))
    return headers, frame, header_newlines


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


def _nested_json(text: str, fmt: FileFormat, level: int) -> str | None:
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


def _sniff_json_layout(text: str, fmt: FileFormat) -> None:
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


def _read_json(text: str, path: str, fmt: FileFormat) -> tuple[list[str], pl.DataFrame]:
    with no_gc():  # millions of small objects without cycles: the collector would rescan them
        return _read_json_objects(text, path, fmt)


def _read_json_objects(text: str, path: str, fmt: FileFormat) -> tuple[list[str], pl.DataFrame]:
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
        data[_PLACEHOLDER] = [""] * len(objects)
    frame = pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))
    return headers, frame


def _detect_kind(path: str, text: str) -> str:
    lower = path.lower()
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".csv", ".tsv", ".tab", ".psv")):
        return "csv"  # a CSV whose first header happens to start with '{' or '['
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        return "jsonl"
    return "csv"


def read_file(path: str, *, encoding: str | None = None, delimiter: str | None = None,
              data: bytes | None = None) -> tuple[Source, pl.DataFrame]:
    """Parse one file into a frame with columns c0..cN-1 (and JSON kind columns)."""
    with _mapped(path) if data is None else contextlib.nullcontext() as view:
        if data is None:
            data = view if view is not None else read_bytes(path)
        if _is_blank(data):
            raise InputError("empty file (not even a header line)", file=path)
        try:
            return _parse(data, *decode(data, path, encoding, lazy=True), path, delimiter)
        except _NotUTF8:  # the window was UTF-8, the rest is not: cp1252, or a precise error
            data = _whole(data)
            return _parse(data, *decode(data, path, encoding), path, delimiter)


def _parse(data: bytes | mmap.mmap, text: str | None, enc: str, bom: bool, path: str,
           delimiter: str | None) -> tuple[Source, pl.DataFrame]:
    fmt = FileFormat(encoding=enc, bom=bom, delimiter=delimiter or "")
    head = text[:SNIFF_BYTES] if text is not None else data[:SNIFF_BYTES].decode("utf-8", "ignore")
    fmt.kind = "csv" if delimiter else _detect_kind(path, head)  # type: ignore[assignment]
    header_newlines = 0
    if fmt.kind == "csv":
        headers, frame, header_newlines = _read_csv(data, text, path, fmt)
    else:
        full = text if text is not None else _utf8(data)
        full = full.lstrip("\ufeff")
        _sniff_json_layout(full, fmt)
        headers, frame = _read_json(full, path, fmt)
    source = Source(path=path, fmt=fmt, headers=headers, columns=[], rows=frame.height,
                    header_newlines=header_newlines)
    return source, frame


def _special(name: str) -> bool:
    """Names polars' `pl.col` would not take literally (`*`, `^regex$`), and hidden names."""
    return (name == "*" or (name.startswith("^") and name.endswith("$"))
            or name.startswith(HIDDEN_PREFIX))


def _unique(name: str, taken: set[str]) -> str:
    """The internal column name of a header: the header itself when it is free and safe."""
    base = name if name else "(blank)"
    if base not in taken and name and not _special(name):
        return base
    k = 2
    while f"{base}#{k}" in taken:
        k += 1
    return f"{base}#{k}"


def load(paths: Sequence[str], *, encoding: str | None = None, delimiter: str | None = None,
         mapping: dict[str, str] | None = None, opportunities: Sequence[str] = ()) -> Records:
    """Read one or more exports into one Records, in the order given.

    Columns are matched across files by the field they map to (else by header text), so an
    "Email" column and an `email_from` column become one column.
    """
    if not paths:
        raise UsageError("no input file given")
    if list(paths).count("-") > 1:
        raise UsageError("standard input ('-') can be given only once")
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise UsageError(f"--delimiter {delimiter!r}: expected one character (or tab), not a quote or line break")
    frames: list[pl.DataFrame] = []
    sources: list[Source] = []
    columns: list[str] = []
    headers: dict[str, str] = {}
    fields: dict[str, str] = {}
    by_key: dict[str, str] = {}  # field or header text -> internal column
    opp_files = {str(p) for p in opportunities}
    opp_sources: set[int] = set()
    all_paths = list(paths) + [p for p in opportunities if p not in paths]
    for index, path in enumerate(all_paths):
        if path in opp_files:
            opp_sources.add(index)
        source, raw = read_file(path, encoding=encoding, delimiter=delimiter)
        file_fields = resolve_headers(source.headers, mapping or {}, path)
        seen_in_file: set[str] = set()
        rename: dict[str, str] = {}
        for i, header in enumerate(source.headers):
            fld = file_fields.get(i)
            key = f"field:{fld}" if fld else f"header:{header}"
            if key in seen_in_file or not header:
                key = f"{key}#{i}"  # a repeated or blank header is its own column
            seen_in_file.add(key)
            col = by_key.get(key)
            if col is None:
                col = _unique(header, set(columns))
                by_key[key] = col
                columns.append(col)
                headers[col] = header
                if fld and fld not in fields:
                    fields[fld] = col
            source.columns.append(col)
            rename[f"c{i}"] = col
            kind = f"{KIND_PREFIX}c{i}"
            if kind in raw.columns:
                rename[kind] = f"{KIND_PREFIX}{col}"
        frame = raw.rename(rename).with_columns(
            pl.lit(index, dtype=pl.UInt32).alias(SRC),
            pl.int_range(1, raw.height + 1, dtype=pl.UInt32).alias(ROW),
        )
        if _PLACEHOLDER in frame.columns:
            frame = frame.drop(_PLACEHOLDER)
        frames.append(frame)
        sources.append(source)
    if len(frames) > 1:  # a column missing from a file is empty for its records
        frame = pl.concat(frames, how="diagonal_relaxed")
        frame = frame.with_columns(pl.col(c).fill_null("") for c in columns)
    else:
        frame = frames[0]
    records = Records(frame=frame, columns=columns, headers=headers, sources=sources,
                      fields=fields, opportunity_sources=frozenset(opp_sources))
    return with_ids(records)


def with_ids(records: Records) -> Records:
    """The id of each record: its `id` cell, else its data row number (`FILE:N` when several
    files were given)."""
    several = len(records.sources) > 1
    names = pl.Series([s.name for s in records.sources], dtype=pl.String)
    row = pl.col(ROW).cast(pl.String)
    fallback = (pl.col(SRC).replace_strict(list(range(len(names))), names.to_list(),
                                           return_dtype=pl.String) + ":" + row) if several else row
    id_col = records.col("id")
    if id_col:
        blank = records.frame.select(pl.col(id_col).str.contains(r"^\s*$").alias("b")).get_column("b")
        if not blank.any():
            # the usual case, every record has an id: the column itself, no per-row work (a
            # Series, not an expression, so that polars does not copy the frame into one chunk)
            return records.with_frame(records.frame.with_columns(records.frame.get_column(id_col).alias(ID)))
        expr = pl.when(blank).then(fallback).otherwise(pl.col(id_col))
    else:
        expr = fallback
    return records.with_frame(records.frame.with_columns(expr.alias(ID)))


# --------------------------------------------------------------------------- writing
def new_file_mode(target: Path) -> int:
    """The mode of the file being replaced, else what `open()` would give (0666 less the umask)."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    return 0o666 & ~_UMASK


def _read_umask() -> int:
    # os.umask can only be read by setting it: done once, at import, before any thread runs
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[IO[bytes]]:
    """A file handle whose content appears at `path` only when the block succeeds."""
    if path == "-":
        sys.stdout.flush()  # text printed before comes first
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if target.exists() and not target.is_file():  # /dev/null, a pipe: never replace it
        with target.open("wb") as handle:
            yield handle
        return
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{path}: the folder {str(folder)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, new_file_mode(target))  # mkstemp makes 0600 files; an output is an ordinary file
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _csv_header_line(headers: list[str], fmt: FileFormat) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=fmt.delimiter, lineterminator=fmt.newline,
                        quoting=csv.QUOTE_ALL if fmt.quoting == "all" else csv.QUOTE_MINIMAL)
    writer.writerow(headers)
    return buf.getvalue()


def _csv_body(frame: pl.DataFrame | pl.LazyFrame, fmt: FileFormat, sink: IO[bytes]) -> None:
    """The data lines, UTF-8, each ended by the file's line ending (a lazy frame is streamed)."""
    query = frame.lazy()
    width = len(query.collect_schema())
    if width == 0:
        return
    if fmt.quoting == "all":
        style = "always"
    else:
        style = "necessary"
        if width > 1:  # polars quotes "" in this style; Python's csv does not
            query = query.with_columns(pl.when(pl.all() == "").then(None).otherwise(pl.all()).name.keep())
    query.sink_csv(sink, include_header=False, separator=fmt.delimiter,
                   line_terminator=fmt.newline, quote_style=style, null_value="")


def _csv_bytes(frame: pl.DataFrame, headers: list[str], fmt: FileFormat) -> Iterator[bytes]:
    yield _csv_header_line(headers, fmt).encode("utf-8")
    buf = io.BytesIO()
    _csv_body(frame, fmt, buf)
    if buf.tell():
        yield buf.getvalue()


def _json_text(value: str, kind: str | None, fmt: FileFormat) -> str | None:
    if kind == "a" and value == "":
        return None
    if kind == "r":
        if value.lstrip().startswith(("[", "{")):
            nested = _nested_json(value, fmt, 2 if fmt.kind == "json" and fmt.json_indent is not None else 0)
            if nested is not None:
                return nested
        else:
            try:
                json.loads(value)
                return value
            except ValueError:
                pass
    return json.dumps(value, ensure_ascii=fmt.json_ascii)


def _json_object(pairs: list[tuple[str, str]], fmt: FileFormat, level: int) -> str:
    if not pairs:
        return "{}"
    items = [f"{json.dumps(k, ensure_ascii=fmt.json_ascii)}{fmt.json_key_sep}{v}" for k, v in pairs]
    if fmt.kind == "json" and fmt.json_indent is not None:
        pad = " " * (fmt.json_indent * (level + 1))
        close = " " * (fmt.json_indent * level)
        return "{\n" + ",\n".join(pad + i for i in items) + "\n" + close + "}"
    return "{" + fmt.json_item_sep.join(items) + "}"


# json.dumps' escapes (ensure_ascii=False), so that a written value reads as it was written
_JSON_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
                 **{chr(i): f"\\u{i:04x}" for i in range(32) if chr(i) not in "\n\r\t\b\f"}}
# a JSON number or constant as the reader keeps it (kind 'r'); nested values are checked one by one
_JSON_LITERAL = r"^(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)$"


def json_str(expr: pl.Expr) -> pl.Expr:
    """Each string as a JSON string literal, escaped in one pass as json.dumps escapes it
    (much faster than encoding a struct when there are millions of cells)."""
    return pl.concat_str(pl.lit('"'), expr.str.replace_many(list(_JSON_ESCAPES), list(_JSON_ESCAPES.values())),
                         pl.lit('"'))


def _json_cells(frame: pl.DataFrame, column: str, kind_col: str | None, fmt: FileFormat, level: int) -> pl.Series:
    """Each cell's JSON text, null where the key was absent (and is still empty)."""
    value = pl.col(column)
    quoted = json_str(value)
    if kind_col is None:
        return frame.select(quoted.alias("t")).get_column("t")
    kind = pl.col(kind_col)
    literal = (kind == "r") & value.str.contains(_JSON_LITERAL)
    cells = frame.select(pl.when((kind == "a") & (value == "")).then(None).when(literal).then(value)
                         .otherwise(quoted).alias("t")).get_column("t")
    nested = frame.select(((kind == "r") & ~value.str.contains(_JSON_LITERAL)).fill_null(False)).to_series()
    if nested.any():  # arrays and objects (or a merged-in value in a raw cell): one by one, they are few
        rows = nested.arg_true()
        texts = [_nested_json(t, fmt, level) for t in frame.get_column(column).gather(rows).to_list()]
        keep = [t is not None for t in texts]
        cells = cells.scatter(rows.filter(pl.Series(keep)), pl.Series([t for t in texts if t is not None],
                                                                       dtype=pl.String))
    return cells


def _json_bytes(frame: pl.DataFrame, columns: list[str], headers: list[str],
                fmt: FileFormat) -> Iterator[bytes]:
    if fmt.json_ascii:  # a file with non-ASCII text escaped as \uXXXX: json.dumps does that
        yield from _json_bytes_python(frame, columns, headers, fmt)
        return
    nested = fmt.kind == "json" and fmt.json_indent is not None
    pad, close = (" " * (2 * fmt.json_indent), " " * fmt.json_indent) if nested else ("", "")
    sep = ",\n" + pad if nested else fmt.json_item_sep
    items = []
    for column, header in zip(columns, headers, strict=True):
        kind_col = f"{KIND_PREFIX}{column}"
        cells = _json_cells(frame, column, kind_col if kind_col in frame.columns else None, fmt, 2 if nested else 0)
        items.append(pl.concat_str(pl.lit(json.dumps(header, ensure_ascii=False) + fmt.json_key_sep), pl.lit(cells)))
    body = (pl.concat_str(items, separator=sep, ignore_nulls=True) if items
            else pl.repeat(None, frame.height, dtype=pl.String))
    objects = frame.select(
        pl.when(body.is_null() | (body == "")).then(pl.lit("{}"))
        .otherwise(pl.concat_str(pl.lit("{\n" + pad if nested else "{"), body,
                                 pl.lit("\n" + close + "}" if nested else "}"))).alias("o")).get_column("o")
    nl = fmt.newline
    if fmt.kind == "jsonl":
        out = objects.str.join(nl).item() if len(objects) else ""
    elif not len(objects):
        out = "[]"
    elif nested:
        out = "[\n" + close + objects.str.join(",\n" + close).item() + "\n]"
        out = out.replace("\n", nl) if nl != "\n" else out
    else:
        out = "[" + objects.str.join(fmt.json_item_sep).item() + "]"
    if fmt.final_newline and (len(objects) or fmt.kind == "json"):
        out += nl
    yield out.encode("utf-8")


def _json_bytes_python(frame: pl.DataFrame, columns: list[str], headers: list[str],
                       fmt: FileFormat) -> Iterator[bytes]:
    kind_cols = [f"{KIND_PREFIX}{c}" for c in columns]
    values = [frame.get_column(c).to_list() for c in columns]
    kinds = [frame.get_column(k).to_list() if k in frame.columns else None for k in kind_cols]
    objects = []
    for r in range(frame.height):
        pairs = []
        for j, header in enumerate(headers):
            text = _json_text(values[j][r], kinds[j][r] if kinds[j] else None, fmt)
            if text is not None:
                pairs.append((header, text))
        objects.append(pairs)
    nl = fmt.newline
    if fmt.kind == "jsonl":
        out = nl.join(_json_object(p, fmt, 0) for p in objects)
    elif not objects:
        out = "[]"
    elif fmt.json_indent is not None:
        pad = " " * fmt.json_indent
        out = "[\n" + ",\n".join(pad + _json_object(p, fmt, 1) for p in objects) + "\n]"
        out = out.replace("\n", nl) if nl != "\n" else out
    else:
        out = "[" + fmt.json_item_sep.join(_json_object(p, fmt, 0) for p in objects) + "]"
    if fmt.final_newline and (objects or fmt.kind == "json"):
        out += nl
    yield out.encode("utf-8")


def encode_chunks(records: Records, fmt: FileFormat | None = None) -> Iterator[bytes]:
    """The output bytes, in the format of the first input unless `fmt` is given."""
    fmt = fmt or records.sources[0].fmt
    headers = [records.headers[c] for c in records.columns]
    if fmt.kind == "csv":
        chunks = _csv_bytes(records.frame.select(records.columns), headers, fmt)
    else:
        chunks = _json_bytes(records.frame, records.columns, headers, fmt)
    first = True
    pending = b""
    for chunk in chunks:
        if first and fmt.bom:
            chunk = _BOM + chunk
        first = False
        if pending:
            yield pending
        pending = chunk
    if fmt.kind == "csv" and not fmt.final_newline and pending.endswith(fmt.newline.encode()):
        pending = pending[: -len(fmt.newline)]
    yield pending


def write(records: Records, path: str, fmt: FileFormat | None = None) -> None:
    """Write records atomically (temp file in the same folder, then rename). `records.frame`
    may be a lazy query (`merge.merge_query`): a CSV file in UTF-8 is streamed from it."""
    fmt = fmt or records.sources[0].fmt
    encoding = fmt.encoding
    utf8 = encoding.lower().replace("_", "-") in _UTF8_NAMES
    streamed = fmt.kind == "csv" and utf8 and path != "-"
    if isinstance(records.frame, pl.LazyFrame) and not streamed:
        records = records.with_frame(records.frame.collect())
    if streamed:
        # polars writes straight into the file: no copy of the whole output in memory
        with atomic_output(path) as handle:
            head = _csv_header_line([records.headers[c] for c in records.columns], fmt)
            handle.write((_BOM if fmt.bom else b"") + head.encode("utf-8"))
            _csv_body(records.frame.select(records.columns), fmt, handle)
            if not fmt.final_newline:  # the input's last line had no line ending
                handle.flush()
                end = handle.tell()
                if end >= len(fmt.newline):
                    handle.truncate(end - len(fmt.newline.encode()))
        return
    with atomic_output(path) as handle:
        for chunk in encode_chunks(records, fmt):
            if not utf8:
                try:
                    chunk = chunk.decode("utf-8").encode(encoding)
                except UnicodeEncodeError as exc:
                    raise InputError(
                        f"cannot write {exc.object[exc.start]!r} in {encoding}; "
                        "give --output-encoding utf-8", file=path) from None
            handle.write(chunk)


def refuse_overwrite(outputs: Sequence[str | None], inputs: Sequence[str]) -> None:
    """An input file is never overwritten, and every output has a folder to go to: checked
    before anything is read or written."""
    real = set()
    for p in inputs:
        if p != "-":
            with contextlib.suppress(OSError):
                real.add(os.path.realpath(p))
    for out in outputs:
        if out and out != "-" and os.path.realpath(out) in real:
            raise UsageError(f"{out}: refusing to overwrite an input file; choose another -o")
        folder = os.path.dirname(out) if out and out != "-" else ""
        if folder and not os.path.isdir(folder):
            raise UsageError(f"{out}: the folder {folder!r} does not exist")
