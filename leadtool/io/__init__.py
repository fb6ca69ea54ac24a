"""Reading and writing exports without changing a byte that no rule changed.

The stages of a file's life: `decode` (bytes and encodings), `csv_read` / `json_read` (parsing),
`reading` (files to Records, fields mapped, ids given), `csv_write` / `json_write` / `writing` (Records
back to bytes in the input's style), `files` (atomic output, temporary files), `digest` (an
output's SHA-256, computed as it is written) and `publish` (a run's files as one transaction).
polars parses and writes CSV; Python's csv module is the slow, exact fallback used only to locate
errors and to read files polars refuses.
"""

from .files import atomic_output, refuse_overwrite
from .publish import write_run
from .reading import load, read_file, with_ids
from .writing import encode_chunks, write

__all__ = ["atomic_output", "encode_chunks", "load", "read_file", "refuse_overwrite", "with_ids", "write",
           "write_run"]
