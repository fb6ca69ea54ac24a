"""JSON text built by polars expressions, for outputs made in bulk (the JSON writer, the audit
log, reports): the one encoder, escaping as `json.dumps(..., ensure_ascii=False)` does, so that
every hand-built line reads back as it was written."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

# json.dumps' escapes (ensure_ascii=False), so that a written value reads as it was written
_JSON_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
                 **{chr(i): f"\\u{i:04x}" for i in range(32) if chr(i) not in "\n\r\t\b\f"}}


def json_str(expr: pl.Expr) -> pl.Expr:
    """Each string as a JSON string literal (a null as `null`), escaped in one pass as json.dumps
    escapes it (much faster than encoding a struct when there are millions of cells)."""
    return pl.concat_str(pl.lit('"'), expr.str.replace_many(list(_JSON_ESCAPES), list(_JSON_ESCAPES.values())),
                         pl.lit('"')).fill_null("null")


def json_list(expr: pl.Expr) -> pl.Expr:
    """Each list of strings as a JSON array (compact, as the audit log writes it)."""
    return pl.concat_str(pl.lit("["), expr.list.eval(json_str(pl.element())).list.join(","), pl.lit("]"))


def json_literal(value: Any) -> str:
    """A Python value's JSON text, with the same escapes as `json_str`."""
    return json.dumps(value, ensure_ascii=False)
