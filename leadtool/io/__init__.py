"""Reading and writing exports without changing a byte that no rule changed.

The stages of a file's life: `decode` (bytes and encodings), `spans` (where each record lies in
the bytes), `csv_read` / `json_read` (parsing), `reading` (files to Records, fields mapped, ids
given), `csv_write` / `json_write` / `writing` (Records back to bytes: a record no rule changed is
copied from its file, the others encoded in the input's style), `files` (atomic output), `digest`
(an output's SHA-256, computed as it is written) and `publish` (a run's output and audit log as one
transaction). polars parses large CSV files; Python's csv module reads small ones, and is the exact
fallback that locates errors and reads files polars refuses.
"""

from .files import atomic_output, refuse_overwrite
from .publish import write_run
from .reading import load, read_file, with_ids
from .writing import encode_chunks, write

__all__ = ["atomic_output", "encode_chunks", "load", "read_file", "refuse_overwrite", "with_ids", "write",
           "write_run"]
