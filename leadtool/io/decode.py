"""Bytes to text: reading a file (mapped when large), the encoding (UTF-8, BOM, cp1252 detected,
or given) and where a bad byte is."""

from __future__ import annotations

import codecs
import mmap
import os
import re
import stat
import sys
import unicodedata
from pathlib import Path

from ..errors import InputError, UsageError

SNIFF_BYTES = 1 << 16
BOM = b"\xef\xbb\xbf"


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


def map_file(path: str) -> mmap.mmap | None:
    """A large regular file's bytes without a copy: polars reads it by its path, only windows
    of it are ever copied, and its untouched records are written from it (None: read it whole).
    The map lives as long as the records read from it."""
    if path == "-":
        return None
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size >= _MAP_FROM:
                return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        pass  # read_bytes says why
    return None


def whole(data: bytes | mmap.mmap) -> bytes:
    return data if isinstance(data, bytes) else data[:]


def _line_of(data: bytes | str, offset: int) -> int:
    nl = b"\n" if isinstance(data, bytes) else "\n"
    return data.count(nl, 0, offset) + 1  # type: ignore[arg-type]


_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


_NUL_SHARE = 20  # more than one byte in this many a NUL: not cp1252 text
_HIGH_RUN = re.compile(rb"[\x80-\xff]{3}")
_ASCII = bytes(range(0x80))


def _looks_cp1252(data: bytes) -> bool:
    """Western text saved by Excel or an old ERP: isolated accented letters and typographic
    punctuation. Anything else that is not UTF-8 is more likely corrupt than cp1252.
    Byte-level scans only, so that a large file is judged quickly. A few NUL bytes are text
    too (Salesforce's rich-text fields hold some); many are UTF-16 or a binary file."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data.count(b"\x00") * _NUL_SHARE > len(data):
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


class NotUTF8(Exception):
    """Raised inside the parsers when bytes taken for UTF-8 turn out not to be."""


def utf8_text(data: bytes | mmap.mmap) -> str:
    try:
        return whole(data).decode("utf-8")
    except UnicodeDecodeError:
        raise NotUTF8 from None


UTF8_NAMES = ("utf-8", "utf8", "utf-8-sig")
_BLANK = b" \t\r\n\xef\xbb\xbf"


def is_blank(data: bytes | mmap.mmap) -> bool:
    """Nothing but white space (and a BOM), without copying a large file."""
    if data[:SNIFF_BYTES].strip(_BLANK):
        return False
    return len(data) <= SNIFF_BYTES or not whole(data).strip(_BLANK)


# byte order marks of the encodings recognised by theirs, longest first (UTF-32-LE's starts
# with UTF-16-LE's)
_UNICODE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                 (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_ENDIANLESS = {"utf-16": "utf-16", "utf16": "utf-16", "utf-32": "utf-32", "utf32": "utf-32"}


def _unicode_by_bom(data: bytes | mmap.mmap, encoding: str | None) -> str | None:
    """UTF-16 or UTF-32 named by the file's byte order mark (given as `utf-16`, or not given:
    such a file is recognised by its mark); the byte order made explicit, so that writing
    it back puts one mark, not one per piece written."""
    norm = encoding.lower().replace("_", "-") if encoding else None
    if norm is not None and norm not in _ENDIANLESS:
        return None
    for mark, name in _UNICODE_BOMS:
        if data[:len(mark)] == mark and (norm is None or name.startswith(_ENDIANLESS[norm])):
            return name
    if norm is not None:  # no mark: the machine's order, as Python's codec reads it
        return f"{_ENDIANLESS[norm]}-{'le' if sys.byteorder == 'little' else 'be'}"
    return None


def _decoded(data: bytes, path: str, encoding: str) -> tuple[str, str, bool]:
    """Text in a given encoding; a byte order mark is not text: it is remembered and written back."""
    try:
        text = data.decode(encoding)
    except LookupError:
        raise UsageError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid {encoding} (byte 0x{data[exc.start]:02x})",
                         file=path, line=_line_of(data, exc.start)) from None
    if text.startswith("\ufeff"):
        return text[1:], encoding, True
    return text, encoding, False


def _utf16_hint(data: bytes) -> str:
    """Text in UTF-16 without a mark has a zero byte beside every ASCII character."""
    head = data[:4096]
    if len(head) >= 4 and (head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4):
        order = "le" if head[1::2].count(0) >= head[0::2].count(0) else "be"
        return f"; it looks like UTF-16: give --encoding utf-16-{order}"
    return "; give --encoding (for example --encoding cp1252)"


def decode(data: bytes | mmap.mmap, path: str, encoding: str | None,
           lazy: bool = False) -> tuple[str | None, str, bool]:
    """Returns (text or None when the bytes are valid UTF-8 as they are, encoding, bom).

    `lazy`: for UTF-8 only check the sniffing window; the parser validates the rest (polars
    does so natively) and raises NotUTF8, after which the caller decodes again eagerly."""
    unicode = _unicode_by_bom(data, encoding)
    if unicode is not None:
        return _decoded(whole(data), path, unicode)
    bom = data[:len(BOM)] == BOM
    if lazy and (encoding is None or encoding.lower().replace("_", "-") in UTF8_NAMES):
        try:
            codecs.getincrementaldecoder("utf-8")().decode(data[:SNIFF_BYTES], final=False)
            return None, "utf-8", bom
        except UnicodeDecodeError:
            pass
    data = whole(data)
    if encoding:
        norm = encoding.lower().replace("_", "-")
        if norm in UTF8_NAMES:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", file=path,
                                 line=_line_of(data, exc.start)) from None
            return None, "utf-8", bom
        return _decoded(data, path, encoding)
    try:
        data.decode("utf-8")
        return None, "utf-8", bom
    except UnicodeDecodeError as exc:
        if _looks_cp1252(data):
            return data.decode("cp1252"), "cp1252", False
        raise InputError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x}){_utf16_hint(data)}", file=path,
            line=_line_of(data, exc.start)) from None

