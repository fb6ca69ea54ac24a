"""leadtool: clean CRM lead and opportunity exports (Odoo's lead conversion and duplicate
merging, in batch over plain files).

The functions below take and return pandas DataFrames; the engine inside is polars.
"""

__version__ = "0.1.0"

from .api import (  # noqa: E402
    Plan,
    apply_merge,
    audit_lines,
    check,
    convert,
    find_groups,
    load,
    merge,
    plan_merge,
    undo,
    write,
)
from .emails import email_key  # noqa: E402
from .errors import LeadtoolError  # noqa: E402

__all__ = [
    "LeadtoolError", "Plan", "apply_merge", "audit_lines", "check", "convert", "email_key", "find_groups", "load",
    "merge", "plan_merge", "undo", "write",
]
