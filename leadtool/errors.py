"""One error hierarchy: the CLI catches `LeadtoolError` in one place and prints one line."""

from __future__ import annotations

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: C0 and C1 control characters and the Unicode line and paragraph separators
_CONTROLS = {c: _ESCAPES.get(chr(c), f"\\x{c:02x}") for c in [*range(0x20), *range(0x7F, 0xA0)]}
_CONTROLS.update({0x2028: "\\u2028", 0x2029: "\\u2029"})


def printable(text: str) -> str:
    """`text` on one line with its control characters escaped (`\\n`, `\\x1b`): a file name or
    value shown in a message can neither break the line nor drive the terminal."""
    return text.translate(_CONTROLS)


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
        return printable(f"{': '.join(where)}: {text}" if where else text)


class InputError(LeadtoolError):
    """An input file cannot be read or parsed."""


class UsageError(LeadtoolError):
    """Options that contradict each other or name nothing."""


class ConfigError(LeadtoolError):
    """A configuration file with unknown keys or wrong types."""


class AuditError(LeadtoolError):
    """An audit log that cannot be read or applied."""
