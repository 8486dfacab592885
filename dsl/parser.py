"""Text → syntax tree, with named syntax errors and recovery between blocks.

Tokens go through a small filter before the LALR parser: it keeps comments
aside for the formatter, drops newlines inside (...) and [...] so values may
wrap, and tracks open delimiters, so that an unclosed '{' is reported where it
was opened. When the parser stops at an error, the error is named from the
tokens around it (missing '=', stray comma, ...), and parsing resumes at the
next top-level block, so one run reports the errors of every block.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from . import codes
from .builder import Builder, token_span
from .diagnostics import Diagnostic, Related, Severity
from .gc_pause import gc_paused
from .limits import MAX_DEPTH
from .structure import check_structure
from .syntax import Comment, Document, Member, Span

_LARK = Lark.open(
    "grammar.lark",
    rel_to=__file__,
    parser="lalr",
    lexer="basic",
    propagate_positions=True,
    maybe_placeholders=False,
)

_OPENERS = {"LBRACE": "RBRACE", "LPAR": "RPAR", "LSQB": "RSQB"}  # opener -> its closer
_CLOSERS = {closer: opener for opener, closer in _OPENERS.items()}
_SYMBOL = {
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "EQUAL": "'='",
    "COMMA": "','",
    "DOT": "'.'",
    "_DOTDOT": "'..'",
    "_NL": "end of line",
    "$END": "end of file",
    "NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "STRING": "a string",
}
_VALUE_START = {"NAME", "INT", "FLOAT", "STRING", "LSQB"}
# A top-level block header at the start of a line: where parsing resumes.
_HEADER = re.compile(r'[A-Za-z_]\w*(?:[ \t]+(?:[A-Za-z_]\w*|"[^"\n]*"))?[ \t]*\{')


@dataclass
class ParseResult:
    document: Document
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)


class _Stop(Exception):
    """A syntax error found by the token filter, ahead of the parser."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


def parse(text: str, path: str = "<spec>") -> ParseResult:
    """Parse a spec; never raises for a mistake in the text."""
    with gc_paused():
        return _parse(text, path)


def _parse(text: str, path: str) -> ParseResult:
    lines = text.splitlines(keepends=True)
    members: list[Member] = []
    comments: list[Comment] = []
    diagnostics: list[Diagnostic] = []
    start = 0
    while True:
        chunk = _blank_lines_before(lines, start)
        attempt = _parse_chunk(chunk, path)
        if attempt.error is None:
            members += attempt.members
            comments += attempt.comments
            diagnostics += attempt.diagnostics
            break
        diagnostics.append(attempt.error)
        error_line = attempt.error.span.line if attempt.error.span else len(lines)
        # Keep what parsed before the failing block, then resume after it.
        failing = _last_header_at_or_before(lines, error_line - 1, start)
        if failing is not None and failing > start:
            before = _parse_chunk(_blank_lines_before(lines[:failing], start), path)
            if before.error is None:
                members += before.members
                comments += before.comments
                diagnostics += before.diagnostics
        resume = _first_header_after(lines, error_line - 1)
        if resume is None:
            break
        start = resume
    document = Document(tuple(members), tuple(comments), path=path, source=text)
    diagnostics += check_structure(document)
    diagnostics.sort(key=lambda d: d.sort_key)
    return ParseResult(document, diagnostics)


def _blank_lines_before(lines: list[str], start: int) -> str:
    # Blank, not drop, the lines already handled: positions stay those of the file.
    return "\n" * start + "".join(lines[start:])


def _last_header_at_or_before(lines: list[str], index: int, floor: int) -> int | None:
    for i in range(min(index, len(lines) - 1), floor - 1, -1):
        if _HEADER.match(lines[i]):
            return i
    return None


def _first_header_after(lines: list[str], index: int) -> int | None:
    for i in range(index + 1, len(lines)):
        if _HEADER.match(lines[i]):
            return i
    return None


@dataclass
class _Attempt:
    members: tuple[Member, ...] = ()
    comments: list[Comment] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: Diagnostic | None = None


def _parse_chunk(text: str, path: str) -> _Attempt:
    attempt = _Attempt()
    stream = _TokenFilter(text, path, attempt.comments)
    interactive = _LARK.parse_interactive(text)
    try:
        for token in stream:
            interactive.feed_token(token)
        tree = interactive.feed_eof(stream.last)
    except _Stop as stop:
        attempt.error = stop.diagnostic
        return attempt
    except UnexpectedCharacters as error:
        attempt.error = _lexical_error(error, text, path)
        return attempt
    except UnexpectedToken as error:
        attempt.error = _syntax_error(error, stream, path)
        return attempt
    builder = Builder(path)
    attempt.members = builder.transform(tree)
    attempt.diagnostics = builder.diagnostics
    return attempt


class _TokenFilter:
    def __init__(self, text: str, path: str, comments: list[Comment]) -> None:
        self.text = text
        self.path = path
        self.comments = comments
        self.open: list[Token] = []  # delimiters opened and not yet closed
        self.history: list[Token] = []  # tokens fed to the parser, newest last
        self.last: Token | None = None

    def __iter__(self) -> Iterator[Token]:
        for token in _LARK.lex(self.text, dont_ignore=True):
            kind = token.type
            if kind == "COMMENT":
                self.comments.append(Comment(str(token).rstrip(), span=token_span(self.path, token)))
                continue
            if kind.startswith("__IGNORE"):
                continue
            if kind == "_NL":
                inside_value = self.open and self.open[-1].type in ("LPAR", "LSQB")
                if inside_value or not self.history or self.history[-1].type == "_NL":
                    continue
            elif kind in _OPENERS:
                if len(self.open) >= MAX_DEPTH:
                    raise _Stop(_too_deep(self.path, token, self.open))
                self.open.append(token)
            elif kind in _CLOSERS:
                self._close(token)
            self.history.append(token)
            self.last = token
            yield token

    def _close(self, token: Token) -> None:
        span = token_span(self.path, token)
        wanted = _CLOSERS[token.type]
        if self.open and self.open[-1].type == wanted:
            self.open.pop()
            return
        if any(opener.type == wanted for opener in self.open):
            # It closes something further out, so the innermost delimiter was left open.
            raise _Stop(_unclosed(self, self.path, span, closed_by=token))
        if self.open and self.open[-1].type != "LBRACE":
            opener = self.open[-1]
            raise _Stop(
                Diagnostic(
                    codes.MISMATCHED_DELIMITER,
                    f"{_SYMBOL[token.type]} does not close the {_SYMBOL[opener.type]} "
                    f"opened on line {opener.line}",
                    span,
                    hint=f"close it with {_SYMBOL[_OPENERS[opener.type]]}",
                    related=(Related(token_span(self.path, opener), f"{_SYMBOL[opener.type]} opened here"),),
                )
            )
        raise _Stop(
            Diagnostic(
                codes.UNMATCHED_CLOSE,
                f"unexpected {_SYMBOL[token.type]}: no {_SYMBOL[wanted]} is open here",
                span,
                hint=f"remove it, or add the missing {_SYMBOL[wanted]} before it",
            )
        )


def _too_deep(path: str, token: Token, open_: list[Token]) -> Diagnostic:
    # Checked before the parser sees the token: nothing recursive ever meets a deeper tree.
    return Diagnostic(
        codes.TOO_DEEPLY_NESTED,
        f"{_SYMBOL[token.type]} opens level {len(open_) + 1} of nesting; "
        f"blocks, lists and calls nest at most {MAX_DEPTH} deep",
        token_span(path, token),
        hint="flatten the value: a spec never needs more than a few levels",
        related=(Related(token_span(path, open_[0]), "the outermost level opens here"),),
    )


def _lexical_error(error: UnexpectedCharacters, text: str, path: str) -> Diagnostic:
    line_text = text.splitlines()[error.line - 1] if text else ""
    char = error.char
    if char == '"':
        return Diagnostic(
            codes.UNTERMINATED_STRING,
            "this string is never closed",
            Span(path, error.line, error.column, error.line, len(line_text) + 1),
            hint='add the closing " on the same line; strings cannot span lines',
        )
    span = Span(path, error.line, error.column, error.line, error.column + 1)
    hints = {
        "'": 'strings use double quotes: "..."',
        ":": "set a value with '=', as in key = value",
        ";": "separate members with a newline or ','",
    }
    return Diagnostic(
        codes.UNEXPECTED_CHARACTER,
        f"unexpected character {char!r}",
        span,
        hint=hints.get(char, "names are letters, digits and '_'; text goes in double quotes"),
    )


def _describe(token: Token) -> str:
    if token.type in ("NAME", "INT", "FLOAT"):
        return f"'{token}'"
    return _SYMBOL.get(token.type, repr(str(token)))


def _point(path: str, token: Token, stream: _TokenFilter) -> Span:
    if token.type == "$END":
        lines = stream.text.splitlines() or [""]
        return Span(path, len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
    if token.type == "_NL":
        return Span(path, token.line, token.column, token.line, token.column + 1)
    return token_span(path, token)


def _syntax_error(error: UnexpectedToken, stream: _TokenFilter, path: str) -> Diagnostic:
    token = error.token
    expected = set(error.expected)
    history = stream.history
    # The filter has already handed the offending token over; look behind it.
    before = history[:-1] if history and history[-1] is token else history
    prev = before[-1] if before else None
    prev2 = before[-2] if len(before) > 1 else None
    span = _point(path, token, stream)
    kind = token.type

    if kind == "$END" and stream.open:
        return _unclosed(stream, path, span)
    if prev is not None and prev.type == "EQUAL" and kind in ("_NL", "RBRACE", "COMMA", "RPAR", "$END"):
        return Diagnostic(
            codes.MISSING_VALUE,
            "expected a value after '='",
            token_span(path, prev),
            hint="write a value after '=', such as a number, a string, a name or a list",
        )
    if kind == "COMMA" and (prev is None or prev.type in ("COMMA", "LPAR", "LSQB", "LBRACE", "_NL", "EQUAL")):
        return Diagnostic(
            codes.STRAY_COMMA,
            "unexpected ','",
            span,
            hint="remove this comma: it separates nothing",
        )
    if "EQUAL" in expected and prev is not None and prev.type == "NAME" and kind in _VALUE_START - {"NAME"}:
        return Diagnostic(
            codes.MISSING_EQUALS,
            f"expected '=' between '{prev}' and its value",
            span,
            hint=f"write '{prev} = {token}'",
        )
    if (
        kind in ("_NL", "RBRACE", "COMMA")
        and "LBRACE" in expected
        and prev is not None
        and prev2 is not None
        and prev.type in ("NAME", "STRING")
        and prev2.type == "NAME"
    ):
        return Diagnostic(
            codes.MISSING_EQUALS,
            f"expected '=' between '{prev2}' and '{prev}'",
            token_span(path, prev),
            hint=f"write '{prev2} = {prev}', or open a block with '{prev2} {prev} {{ ... }}'",
        )
    if kind == "EQUAL":
        return Diagnostic(
            codes.INVALID_KEY,
            "unexpected '=': the key before it must be a single plain name",
            span,
            hint="a key is a name such as 'epochs'; dots, numbers and strings cannot be keys",
        )
    if (
        "COMMA" in expected
        and kind in _VALUE_START
        and stream.open
        and stream.open[-1].type in ("LPAR", "LSQB")
    ):
        opener = stream.open[-1]
        closer = _SYMBOL[_OPENERS[opener.type]]
        return Diagnostic(
            codes.MISSING_COMMA,
            f"expected ',' or {closer} before {_describe(token)}",
            span,
            hint=f"separate items with ','; or close the {_SYMBOL[opener.type]} from line {opener.line}",
            related=(Related(token_span(path, opener), f"{_SYMBOL[opener.type]} opened here"),),
        )
    if ("_NL" in expected or "COMMA" in expected) and kind in _VALUE_START:
        return Diagnostic(
            codes.MISSING_SEPARATOR,
            f"expected a newline or ',' before {_describe(token)}",
            span,
            hint="put each member on its own line, or separate them with ','",
        )
    if kind == "$END":
        return Diagnostic(
            codes.UNEXPECTED_EOF,
            "the file ends in the middle of a construct",
            span,
            hint=_expected_hint(expected),
        )
    return Diagnostic(
        codes.UNEXPECTED_TOKEN,
        f"unexpected {_describe(token)}",
        span,
        hint=_expected_hint(expected),
    )


def _unclosed(stream: _TokenFilter, path: str, end: Span, closed_by: Token | None = None) -> Diagnostic:
    opener = stream.open[-1]
    closer = _SYMBOL[_OPENERS[opener.type]]
    where = f"{_SYMBOL[closed_by.type]} closes an outer block here" if closed_by else "the file ends here"
    related = [Related(end, where)]
    hint = f"add the matching {closer}"
    # A top-level header inside the open block is most likely where it should have ended.
    lines = stream.text.splitlines()
    header = _first_header_after(lines, opener.line - 1)
    if opener.type == "LBRACE" and header is not None:
        words = lines[header].split("{")[0].strip()
        related.insert(
            0, Related(Span(path, header + 1, 1, header + 1, len(words) + 1), f"'{words}' starts here")
        )
        hint = f"add the matching {closer} before line {header + 1}, where '{words}' starts"
    return Diagnostic(
        codes.UNCLOSED_DELIMITER,
        f"{_SYMBOL[opener.type]} is never closed",
        token_span(path, opener),
        hint=hint,
        related=tuple(related),
    )


def _expected_hint(expected: set[str]) -> str:
    names = sorted({_SYMBOL.get(e, e) for e in expected if not e.startswith("__")})
    return "expected " + (names[0] if len(names) == 1 else "one of: " + ", ".join(names))
