"""homog.dsl: the `.homog` language front end — text to syntax tree, diagnostics, formatter."""

from .diagnostics import Diagnostic, HomogError, Severity, SpecError
from .parser import ParseResult, parse
from .syntax import Document, Span

__all__ = ["Diagnostic", "Document", "HomogError", "ParseResult", "Severity", "Span", "SpecError", "parse"]
