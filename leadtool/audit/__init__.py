"""The audit log (docs/audit.md): Odoo's chatter for files. `events` (the clock, the run event),
`merge_events` and `convert_events` (built in bulk), `log` (writing), `read` and `undo`."""

from .events import default_audit_path, now_utc, run_event
from .read import AuditLog, read_audit

__all__ = ["AuditLog", "default_audit_path", "now_utc", "read_audit", "run_event"]
