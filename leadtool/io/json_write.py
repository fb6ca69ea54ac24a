"""JSON and JSON Lines writing in the input's own layout."""

from __future__ import annotations

import json
from collections.abc import Iterator

import polars as pl

from ..records import KIND_PREFIX, FileFormat
from .json_read import nested_json
from .jsontext import json_str


def _inner_pad(fmt: FileFormat) -> str | None:
    """The indentation of an object's keys when objects take several lines (None: one line)."""
    if fmt.kind != "json" or fmt.json_indent is None:
        return None
    return object_pad(fmt) + " " * fmt.json_indent


def object_pad(fmt: FileFormat) -> str:
    """The indentation of an array's objects."""
    if fmt.json_pad is not None:
        return fmt.json_pad
    return " " * fmt.json_indent if fmt.kind == "json" and fmt.json_indent is not None else ""


def array_sep(fmt: FileFormat) -> str:
    """What stands between two objects of an array (each on its own line when they take several)."""
    if fmt.json_array_sep is not None:
        return fmt.json_array_sep
    return ",\n" + object_pad(fmt) if _inner_pad(fmt) is not None else fmt.json_item_sep


def _json_text(value: str, kind: str | None, fmt: FileFormat) -> str | None:
    if kind == "a" and value == "":
        return None
    if kind == "r":
        if value.lstrip().startswith(("[", "{")):
            nested = nested_json(value, fmt, _inner_pad(fmt))
            if nested is not None:
                return nested
        else:
            try:
                json.loads(value)
                return value
            except ValueError:
                pass
    return json.dumps(value, ensure_ascii=fmt.json_ascii)


def _json_object(pairs: list[tuple[str, str]], fmt: FileFormat) -> str:
    if not pairs:
        return "{}"
    items = [f"{json.dumps(k, ensure_ascii=fmt.json_ascii)}{fmt.json_key_sep}{v}" for k, v in pairs]
    inner = _inner_pad(fmt)
    if inner is not None:
        return "{\n" + inner + (",\n" + inner).join(items) + "\n" + object_pad(fmt) + "}"
    return "{" + fmt.json_item_sep.join(items) + "}"


# a JSON number or constant as the reader keeps it (kind 'r'); nested values are checked one by one
_JSON_LITERAL = r"^(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)$"


def _json_cells(frame: pl.DataFrame, column: str, kind_col: str | None, fmt: FileFormat) -> pl.Series:
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
        texts = [nested_json(t, fmt, _inner_pad(fmt)) for t in frame.get_column(column).gather(rows).to_list()]
        keep = [t is not None for t in texts]
        cells = cells.scatter(rows.filter(pl.Series(keep)), pl.Series([t for t in texts if t is not None],
                                                                       dtype=pl.String))
    return cells


def object_texts(frame: pl.DataFrame, columns: list[str], headers: list[str], fmt: FileFormat) -> pl.Series:
    """Each row as the file writes its object (several lines joined by the file's line ending)."""
    if fmt.json_ascii:  # a file with non-ASCII text escaped as \uXXXX: json.dumps does that
        texts = _object_texts_python(frame, columns, headers, fmt)
    else:
        inner = _inner_pad(fmt)
        sep = ",\n" + inner if inner is not None else fmt.json_item_sep
        items = []
        for column, header in zip(columns, headers, strict=True):
            kind_col = f"{KIND_PREFIX}{column}"
            cells = _json_cells(frame, column, kind_col if kind_col in frame.columns else None, fmt)
            items.append(pl.concat_str(pl.lit(json.dumps(header, ensure_ascii=False) + fmt.json_key_sep),
                                       pl.lit(cells)))
        body = (pl.concat_str(items, separator=sep, ignore_nulls=True) if items
                else pl.repeat(None, frame.height, dtype=pl.String))
        opening, closing = ("{\n" + inner, "\n" + object_pad(fmt) + "}") if inner is not None else ("{", "}")
        texts = frame.select(
            pl.when(body.is_null() | (body == "")).then(pl.lit("{}"))
            .otherwise(pl.concat_str(pl.lit(opening), body, pl.lit(closing))).alias("o")).get_column("o")
    if fmt.newline != "\n" and _inner_pad(fmt) is not None:  # JSON strings hold no raw line breaks
        texts = texts.str.replace_all("\n", fmt.newline, literal=True)
    return texts


def _object_texts_python(frame: pl.DataFrame, columns: list[str], headers: list[str],
                         fmt: FileFormat) -> pl.Series:
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
        objects.append(_json_object(pairs, fmt))
    return pl.Series(objects, dtype=pl.String)


def json_document(texts: pl.Series, fmt: FileFormat) -> str:
    """A whole file of objects in the file's layout (no records to copy: see io.writing)."""
    nl = fmt.newline
    if fmt.kind == "jsonl":
        out = texts.str.join(nl).item() if len(texts) else ""
    elif not len(texts):
        out = "[]"
    else:
        sep = array_sep(fmt)
        broken = "\n" in sep
        out = ("[" + (sep[1:] if broken else "") + texts.str.join(sep).item()
               + ("\n" if broken else "") + "]")
        if broken and nl != "\n":
            out = out.replace("\r\n", "\n").replace("\n", nl)
    if fmt.final_newline and (len(texts) or fmt.kind == "json"):
        out += nl
    return out


def json_bytes(frame: pl.DataFrame, columns: list[str], headers: list[str],
               fmt: FileFormat) -> Iterator[bytes]:
    yield json_document(object_texts(frame, columns, headers, fmt), fmt).encode("utf-8")
