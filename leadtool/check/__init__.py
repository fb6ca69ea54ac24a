"""`leadtool check` (docs/check.md): validate a dataset for CI. `rules` (one polars filter per
rule), `lines` (where each record starts in its file) and `report` (the outcome, as CI reads it)."""

from .report import PROBLEM_KEYS, CheckReport, check_records, parse_rules
from .rules import RULES

__all__ = ["PROBLEM_KEYS", "RULES", "CheckReport", "check_records", "parse_rules"]
