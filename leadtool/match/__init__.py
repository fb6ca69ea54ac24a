"""Which records are the same: `normalize` (what a record is: lead, closed, created when),
`emails` and `phones` (match keys), `groups` (connected components over shared keys),
`manual` (groups the user names) and `table` (the groups as one row per record)."""

from .groups import Groups, Linked, find_groups, link_records, parse_by

__all__ = ["Groups", "Linked", "find_groups", "link_records", "parse_by"]
