"""JSON and JSON Lines writing in the input's own layout."""

from __future__ import annotations

import json
from collections.abc import Iterator

import polars as pl

from ..records import KIND_PREFIX, FileFormat
from .json_read import nested_json
from .jsontext import json_str


def _json_text(value: str, kind: str | None, fmt: FileFormat) -> str | None:
    if kind == "a" and value == "":
        return None
    if kind == "r":
        if value.lstrip().startswith(("[", "{")):
            nested = nested_json(value, fmt, 2 if fmt.kind == "json" and fmt.json_indent is not None else 0)
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


# a JSON number or constant as the reader keeps it (kind 'r'); nested values are checked one by one
_JSON_LITERAL = r"^(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)$"


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
        texts = [nested_json(t, fmt, level) for t in frame.get_column(column).gather(rows).to_list()]
        keep = [t is not None for t in texts]
        cells = cells.scatter(rows.filter(pl.Series(keep)), pl.Series([t for t in texts if t is not None],
                                                                       dtype=pl.String))
    return cells


def json_bytes(frame: pl.DataFrame, columns: list[str], headers: list[str],
                fmt: FileFormat) -> Iterator[bytes]:
    if fmt.json_ascii:  # a file with non-ASCII text escaped as \uXXXX: json.dumps does that
        yield from json_bytes_python(frame, columns, headers, fmt)
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


def json_bytes_python(frame: pl.DataFrame, columns: list[str], headers: list[str],
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

