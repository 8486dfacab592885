"""Diagnostics: every user-facing error has a stable code, a location and a hint.

Codes are declared once with `define`, in the module of the layer that raises
them; the language reference documents each one and a test keeps the two sets
equal. Errors are collected, not raised one by one, so a single `homogc check`
reports everything it can find.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from .syntax import Span


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Code:
    """A stable error code (`E105`) with its kebab-case name (`missing-equals`)."""

    id: str
    name: str
    summary: str


CODES: dict[str, Code] = {}


def define(code_id: str, name: str, summary: str) -> Code:
    if code_id in CODES:
        raise ValueError(f"diagnostic code {code_id} is defined twice")
    code = Code(code_id, name, summary)
    CODES[code_id] = code
    return code


@dataclass(frozen=True)
class Related:
    """A secondary location that explains the primary one ("block opened here")."""

    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    code: Code
    message: str
    span: Span | None
    hint: str | None = None
    related: tuple[Related, ...] = ()
    severity: Severity = Severity.ERROR

    @property
    def sort_key(self) -> tuple:
        span = self.span
        return (span.file, span.line, span.column) if span else ("", 0, 0)

    def to_json(self) -> dict:
        span = self.span
        return {
            "file": span.file if span else None,
            "line": span.line if span else None,
            "column": span.column if span else None,
            "end_line": span.end_line if span else None,
            "end_column": span.end_column if span else None,
            "severity": self.severity.value,
            "code": self.code.id,
            "name": self.code.name,
            "message": self.message,
            "hint": self.hint,
            "related": [
                {
                    "file": r.span.file,
                    "line": r.span.line,
                    "column": r.span.column,
                    "end_line": r.span.end_line,
                    "end_column": r.span.end_column,
                    "message": r.message,
                }
                for r in self.related
            ],
        }


class HomogError(Exception):
    """The one base class of errors that homogc reports to a user."""


@dataclass
class SpecError(HomogError):
    """One or more diagnostics that stop the work at hand."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(f"{d.span}: {d.code.id} {d.message}" for d in self.diagnostics)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt name, or None when nothing is close."""
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return matches[0] if matches else None


def suggestion_hint(name: str, candidates: Iterable[str], what: str) -> str:
    candidates = sorted(set(candidates))
    close = did_you_mean(name, candidates)
    if close is not None:
        return f"did you mean '{close}'?"
    if not candidates:
        return f"no {what} is declared"
    shown = ", ".join(f"'{c}'" for c in candidates[:12])
    more = "" if len(candidates) <= 12 else f" and {len(candidates) - 12} more"
    return f"expected one of the {what}: {shown}{more}"


# ---------------------------------------------------------------------------
# Rendering


def render(diagnostic: Diagnostic, sources: Mapping[str, str], color: bool = False) -> str:
    """Render like a modern compiler: header, source line, caret underline, hint."""
    bold, red, yellow, blue, cyan, reset = (
        ("\x1b[1m", "\x1b[31m", "\x1b[33m", "\x1b[34m", "\x1b[36m", "\x1b[0m") if color else ("",) * 6
    )
    tone = red if diagnostic.severity is Severity.ERROR else yellow
    span = diagnostic.span
    where = f"{span}: " if span else ""
    lines = [
        f"{bold}{where}{tone}{diagnostic.severity.value}[{diagnostic.code.id}]{reset}"
        f"{bold}: {diagnostic.message}{reset}"
    ]
    if span is not None:
        lines += _snippet(span, sources, f"{tone}", reset, blue)
    for related in diagnostic.related:
        lines.append(f"{cyan}note{reset}: {related.message} ({related.span})")
        lines += _snippet(related.span, sources, cyan, reset, blue)
    if diagnostic.hint:
        lines.append(f"  {blue}={reset} {bold}hint{reset}: {diagnostic.hint}")
    return "\n".join(lines)


def _snippet(span: Span, sources: Mapping[str, str], tone: str, reset: str, blue: str) -> list[str]:
    source = sources.get(span.file)
    if source is None:
        return []
    source_lines = source.splitlines()
    if not 1 <= span.line <= len(source_lines):
        return []
    # Tabs shown as one space keep the caret under the right character.
    text = source_lines[span.line - 1].replace("\t", " ")
    end = span.end_column if span.end_line == span.line else len(text) + 1
    width = max(1, end - span.column)
    gutter = " " * len(str(span.line))
    return [
        f"{blue}{gutter} |{reset}",
        f"{blue}{span.line} |{reset} {text}",
        f"{blue}{gutter} |{reset} {' ' * (span.column - 1)}{tone}{'^' * width}{reset}",
    ]


def render_json(diagnostic: Diagnostic) -> str:
    return json.dumps(diagnostic.to_json(), sort_keys=True)
