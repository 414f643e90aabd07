"""User-facing input errors and validation reports.

Every reader in :mod:`dash_core.io` either returns its result together with a
:class:`ValidationReport` (warnings and notes that do not stop the analysis) or
raises :class:`DashInputError`, whose message says which file, which row or
gene, and what to do. The CLI and the app print that message verbatim; they
never show a traceback for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Level = Literal["error", "warning", "info"]


class DashInputError(ValueError):
    """Bad user input (a file, a CLI argument, a widget value).

    Parameters
    ----------
    message
        Complete, user-facing sentence(s): what is wrong, where, and what to do.
    source
        The file or argument concerned (optional; prefixed to the message).
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        self.plain_message = message
        super().__init__(f"{source}: {message}" if source else message)


@dataclass
class ValidationIssue:
    """One finding of a validation: its level, message and the file concerned."""

    level: Level
    message: str
    source: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"[{self.level}] {where}{self.message}"


@dataclass
class ValidationReport:
    """Collected findings of reading and validating user input."""

    issues: list[ValidationIssue] = field(default_factory=list)

    def add(self, level: Level, message: str, source: str | None = None) -> None:
        self.issues.append(ValidationIssue(level, message, source))

    def error(self, message: str, source: str | None = None) -> None:
        self.add("error", message, source)

    def warning(self, message: str, source: str | None = None) -> None:
        self.add("warning", message, source)

    def info(self, message: str, source: str | None = None) -> None:
        self.add("info", message, source)

    def extend(self, other: ValidationReport) -> None:
        self.issues.extend(other.issues)

    @property
    def errors(self) -> list[ValidationIssue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[ValidationIssue]:
        return [i for i in self.issues if i.level == "warning"]

    @property
    def infos(self) -> list[ValidationIssue]:
        return [i for i in self.issues if i.level == "info"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues)
