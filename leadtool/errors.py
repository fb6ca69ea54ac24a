"""One error hierarchy: the CLI catches `LeadtoolError` in one place and prints one line."""

from __future__ import annotations


class LeadtoolError(Exception):
    """A problem the user can fix; shown as one line on stderr with exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: str | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = " ".join(self.message.split())
        return f"{': '.join(where)}: {text}" if where else text


class InputError(LeadtoolError):
    """An input file cannot be read or parsed."""


class UsageError(LeadtoolError):
    """Options that contradict each other or name nothing."""


class ConfigError(LeadtoolError):
    """A configuration file with unknown keys or wrong types."""


class AuditError(LeadtoolError):
    """An audit log that cannot be read or applied."""
