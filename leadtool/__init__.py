"""leadtool: clean CRM lead and opportunity exports (Odoo's lead conversion and duplicate
merging, in batch over plain files).

The functions below take and return pandas DataFrames (docs/library.md); the engine inside is
polars. `leadtool.merge`, `leadtool.convert`, `leadtool.check` and the packages `io`, `match`,
`audit`, `render` are the library's modules, importable as they are.
"""

__version__ = "0.1.0"

from .api import (  # noqa: E402
    Plan,
    apply_merge,
    audit_lines,
    find_groups,
    load,
    plan_merge,
    undo,
    write,
    write_merge,
)
from .api import check as check_records  # noqa: E402
from .api import convert as convert_leads  # noqa: E402
from .api import merge as merge_records  # noqa: E402
from .errors import LeadtoolError  # noqa: E402
from .match.emails import email_key  # noqa: E402

__all__ = [
    "LeadtoolError", "Plan", "apply_merge", "audit_lines", "check_records", "convert_leads", "email_key",
    "find_groups", "load", "merge_records", "plan_merge", "undo", "write", "write_merge",
]
