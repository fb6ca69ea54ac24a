"""The in-memory form of one or more exports: a polars frame of text plus what is needed to
write it back exactly as it came."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

if TYPE_CHECKING:
    import mmap

    from .recognition import Recognition

# Hidden columns: they ride along with every record and are never written.
SRC = "__lt_src"  # index into Records.sources
ROW = "__lt_row"  # 1-based data row in its file (header excluded)
ID = "__lt_id"  # the record's id as the spec defines it (id column, else row number)
IDX = "__lt_idx"  # a record's position in Records.frame
GROUP = "__lt_group"  # group number inside the merge plan (a data column may be called "group")
POS = "__lt_pos"  # position in head order inside the merge plan (0 is the head)
HEAD_IDX = "__lt_head_idx"  # the head's IDX, beside a group's merged values
ORIG = "__lt_cidx"  # a record's position in the input, carried through a merge by convert
SUB = "__lt_sub"  # undo of an edited file: order of unknown records after a known one
HEAD_FLAG = "__lt_is_head"  # audit records: whether the record was its group's head
FILE = "__lt_file"  # audit records: the file a record came from, as the run event names it
KEY = "__lt_key"  # grouping: an email key given by the caller
LINE = "__lt_line"  # check: the line where a record starts in its file
HIDDEN_PREFIX = "__lt_"
PLACEHOLDER = "__lt_placeholder"  # the one column of a frame whose records have no columns
FUZZY_SCORES = "__lt_fuzzy_scores"  # groups: a fuzzy group's links as its merge event writes them
KIND_PREFIX = "__lt_kind:"  # JSON only: per-cell kind ('r' raw JSON literal, 'a' absent key)
LOADED = "__lt_loaded"  # a record's position among all records as loaded: the key to its original bytes
RAW = "__lt_raw"  # a record's text as it was in its file, for a record with no bytes to copy (undo's)
RAW_END = "__lt_raw_end"  # what followed that text there: its line ending and blank lines, or a separator
HASH = "__lt_hash"  # beside RAW: the hash of the values that text holds (`value_hash`)
KEEP = "__lt_keep"  # merge: whether a record stays (false: merged away)
# an attribute of merge_query's lazy query: (frame, positions), the rows it keeps, for io.write
KEPT_ROWS = "_leadtool_kept_rows"


_WORKBOOKS = {"xlsx": "Excel workbook (.xlsx)", "xlsb": "Excel binary workbook (.xlsb)",
              "xls": "Excel 97-2003 workbook (.xls)", "ods": "OpenDocument spreadsheet (.ods)"}


@dataclass
class FileFormat:
    """How a file was written, so that it can be written again the same way."""

    kind: Literal["csv", "json", "jsonl", "xlsx"] = "csv"  # xlsx: any workbook (io.xlsx)
    encoding: str = "utf-8"
    bom: bool = False
    delimiter: str = ","
    # all: every value quoted; nonnumeric: every value but numbers (Python's QUOTE_NONNUMERIC);
    # minimal: where needed
    quoting: Literal["all", "minimal", "nonnumeric"] = "minimal"
    newline: str = "\r\n"
    final_newline: bool = True
    # JSON layout: `json_indent` is the step of an object laid out on several lines (None: an
    # object on one line); `json_pad` the indentation of an array's objects; `json_array_sep`
    # what stands between two objects of an array (None: as json.dumps lays them out)
    json_indent: int | None = None
    json_item_sep: str = ", "
    json_key_sep: str = ": "
    json_ascii: bool = False
    json_pad: str | None = None
    json_array_sep: str | None = None
    # a workbook: what it is (xlsx, xlsb, xls, ods) and the sheet read, the name its output keeps
    workbook: str = ""
    sheet: str = ""

    @property
    def label(self) -> str:
        if self.kind == "xlsx":
            return f"{_WORKBOOKS.get(self.workbook, 'Excel workbook')}, sheet {self.sheet!r}"
        if self.kind != "csv":
            return "JSON" if self.kind == "json" else "JSON Lines"
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
        return f"CSV ({names.get(self.delimiter, repr(self.delimiter))})"


@dataclass(eq=False)
class Spans:
    """Where each record of a file lies in its bytes, so that a record no rule changes is written
    back as those bytes. `raw` is the file as UTF-8 (the file itself, mapped when large, when it
    is UTF-8); record i is `raw[starts[i]:ends[i]]`, followed by its own line ending (or, in a
    JSON array, the separator before the next object) and any blank lines up to `starts[i + 1]`;
    `raw[text_start:head_end]` is what precedes the first record (the header line, an array's
    opening bracket), `raw[starts[-1]:]` what follows the last one (blank lines, a trailing
    end-of-file mark, an array's closing bracket)."""

    raw: bytes | mmap.mmap
    text_start: int  # after a byte order mark
    head_end: int = 0
    starts: pl.Series | None = None  # Int64, records + 1
    ends: pl.Series | None = None  # Int64, records
    # finds head_end, starts and ends when they were left for a writer to ask (None: unknown),
    # given the hashes of the values as read
    locate: Callable[[pl.Series], tuple[int, pl.Series, pl.Series] | None] | None = field(default=None, repr=False)
    first: int = 0  # the LOADED position of the file's first record
    hashed: list[str] = field(default_factory=list)  # the columns `hashes` covers, in order
    # per record, the hash of its values as read (`value_hash`): computed in the background
    # from the frame as loaded (polars frames do not change: a rule makes new columns)
    pending: Future[pl.Series] | None = None

    def __len__(self) -> int:
        return len(self.ends) if self.ends is not None else 0

    def __deepcopy__(self, memo: dict[int, Any]) -> Spans:
        # a file's bytes and places do not change: copies share them (pandas copies attrs deeply)
        return self

    def ready(self) -> bool:
        """Whether the records' places are known (found now when they were left for later)."""
        if self.locate is not None:
            found, self.locate = self.locate(self.hashes()), None
            if found is not None:
                self.head_end, self.starts, self.ends = found
        return self.starts is not None and self.ends is not None

    def hashes(self) -> pl.Series:
        assert self.pending is not None
        return self.pending.result()


@dataclass
class Source:
    """One input file."""

    path: str  # as given; '-' is standard input
    fmt: FileFormat
    headers: list[str]  # the file's own header cells, in order (may repeat or be blank)
    columns: list[str]  # the internal column name of each header cell
    rows: int = 0
    header_newlines: int = 0  # newlines inside the header record (for line numbers)
    recognition: Recognition | None = None  # preset and language of its header row
    # (data row, lines) for each record that blank lines precede, lines counted from the file's
    # start: they are not records, but line numbers count them
    skipped_lines: list[tuple[int, int]] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)  # report footer lines after the data (io.footers)
    footer_line: int = 0  # the line where they start
    x2many: list[int] = field(default_factory=list)  # Odoo x2many sub-field columns (io.multiline)
    multiline: int = 0  # records that continuation lines were folded into
    spans: Spans | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        if self.path == "-":
            return "<stdin>"
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass
class Records:
    """Records of one or more files taken together, in input order.

    `frame` holds one text column per data column (internal unique names) plus hidden
    columns (a LazyFrame only on its way to `io.write`, see `merge.merge_query`). `headers`
    maps an internal column name to the header written for it. `fields` maps a canonical Odoo
    field name to the internal column that holds it; `more_columns` the further columns of a
    field mapped to several (`--map email_from=A --map email_from=B`), which feed its keys.
    """

    frame: pl.DataFrame
    columns: list[str]
    headers: dict[str, str]
    sources: list[Source]
    fields: dict[str, str] = field(default_factory=dict)
    opportunity_sources: frozenset[int] = frozenset()
    more_columns: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.frame.height

    def col(self, field_name: str) -> str | None:
        """Internal column of a canonical field, or None when the files do not have it."""
        return self.fields.get(field_name)

    def columns_of(self, field_name: str) -> list[str]:
        """Every internal column of a field, its first (`col`) first; empty when missing."""
        first = self.col(field_name)
        return [first, *self.more_columns.get(field_name, ())] if first else []

    def with_frame(self, frame: pl.DataFrame, columns: list[str] | None = None,
                   headers: dict[str, str] | None = None) -> Records:
        return replace(self, frame=frame, columns=columns or self.columns,
                       headers=headers or self.headers)

    def data(self) -> pl.DataFrame:
        """Only the data columns, in output order."""
        return self.frame.select(self.columns)

    def source_path(self, src: str = SRC, *, short: bool = False) -> pl.Expr:
        """The path (as given; `short`: the file name without folders) of the source number in
        column `src`: the one lookup from a record to its file."""
        paths = [s.name if short else s.path for s in self.sources]
        return pl.col(src).replace_strict(list(range(len(paths))), paths, return_dtype=pl.String)

    def field_values(self, field_name: str) -> pl.Expr:
        """The field's column as an expression, or empty strings when it is missing."""
        name = self.col(field_name)
        return pl.col(name) if name else pl.lit("", dtype=pl.String)


def value_hash(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    """A hash of each row's values in `columns` (the same values give the same hash within a
    run): how the writer tells a record no rule changed from one that it must encode."""
    if not columns:
        return pl.repeat(0, frame.height, dtype=pl.UInt64, eager=True).alias(HASH)
    return frame.select(columns).hash_rows().alias(HASH)
