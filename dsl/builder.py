"""Lark parse tree → typed syntax tree, checking what the grammar cannot say.

The grammar is kept permissive where a precise message is worth more than a
generic parse error: a range with a float bound, an unknown string escape or
`true` used as a name all parse, and are reported here with their own codes.
"""

from __future__ import annotations

import math

from lark import Token, Transformer, v_args

from . import codes
from .diagnostics import Diagnostic, Related
from .limits import MAX_INTEGER, MAX_RANGE, MAX_STRING
from .syntax import (
    Argument,
    Attribute,
    Block,
    Boolean,
    Call,
    Entry,
    Float,
    Integer,
    ListValue,
    Name,
    Range,
    Reference,
    Span,
    String,
)

KEYWORDS = {"true": True, "false": False}
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def token_span(path: str, token: Token) -> Span:
    return Span(path, token.line, token.column, token.end_line, token.end_column)


@v_args(meta=True)
class Builder(Transformer):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def _span(self, meta) -> Span:
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _name(self, token: Token, role: str) -> Name:
        name = Name(str(token), span=token_span(self.path, token))
        if name.text in KEYWORDS:
            self.diagnostics.append(
                Diagnostic(
                    codes.KEYWORD_AS_NAME,
                    f"'{name.text}' is a keyword and cannot be used as {role}",
                    name.span,
                    hint=f"choose another name, such as '{name.text}_'",
                )
            )
        return name

    def start(self, meta, children):
        return tuple(children)

    def body(self, meta, children):
        return tuple(children)

    def attribute(self, meta, children):
        key, value = children
        return Attribute(self._name(key, "a key"), value, span=self._span(meta))

    def entry(self, meta, children):
        return Entry(children[0], span=self._span(meta))

    def block(self, meta, children):
        kind, *label, members = children
        label_node = None
        if label:
            token = label[0]
            if token.type == "STRING":
                label_node = self.string(None, [token])
            else:
                label_node = self._name(token, "a block name")
        return Block(self._name(kind, "a block kind"), label_node, members, span=self._span(meta))

    def reference(self, meta, children):
        span = self._span(meta)
        if len(children) == 1 and str(children[0]) in KEYWORDS:
            return Boolean(KEYWORDS[str(children[0])], span=span)
        parts = tuple(self._name(token, "part of a reference") for token in children)
        return Reference(parts, span=span)

    def call(self, meta, children):
        callee, *args = children
        if isinstance(callee, Boolean):
            callee = Reference((self._name(_as_token(callee), "a function name"),), span=callee.span)
        self._check_arguments(args)
        return Call(callee, tuple(args), span=self._span(meta))

    def _check_arguments(self, args: list[Argument]) -> None:
        seen: dict[str, Name] = {}
        keyword_seen = False
        for arg in args:
            if arg.name is None:
                if keyword_seen:
                    self.diagnostics.append(
                        Diagnostic(
                            codes.POSITIONAL_AFTER_KEYWORD,
                            "a positional argument cannot follow a keyword argument",
                            arg.span,
                            hint="put positional arguments first, or name this one",
                        )
                    )
                continue
            keyword_seen = True
            first = seen.get(arg.name.text)
            if first is not None:
                self.diagnostics.append(
                    Diagnostic(
                        codes.DUPLICATE_KEY,
                        f"argument '{arg.name.text}' is given twice",
                        arg.name.span,
                        hint="remove one of the two",
                        related=(Related(first.span, "first given here"),),
                    )
                )
            else:
                seen[arg.name.text] = arg.name

    def argument(self, meta, children):
        if len(children) == 2:
            name, value = children
            return Argument(self._name(name, "an argument name"), value, span=self._span(meta))
        return Argument(None, children[0], span=self._span(meta))

    def list(self, meta, children):
        return ListValue(tuple(children), span=self._span(meta))

    def range(self, meta, children):
        bounds = []
        for bound in children:
            if isinstance(bound, Float):
                self.diagnostics.append(
                    Diagnostic(
                        codes.FLOAT_RANGE_BOUND,
                        f"range bounds must be integers, not {bound.text}",
                        bound.span,
                        hint="write a list of values instead, e.g. [0.1, 0.5, 1.0]",
                    )
                )
                bounds.append(int(bound.value) if math.isfinite(bound.value) else 0)
            else:
                bounds.append(bound.value)
        span = self._span(meta)
        count = bounds[1] - bounds[0] + 1
        if count > MAX_RANGE:
            self.diagnostics.append(
                Diagnostic(
                    codes.RANGE_TOO_LONG,
                    f"this range holds {count:,} values; a range holds at most {MAX_RANGE:,}",
                    span,
                    hint="sweep fewer values: a study rarely needs more than a few dozen seeds",
                )
            )
            bounds[1] = bounds[0]  # nothing downstream ever counts the values out
        return Range(bounds[0], bounds[1], span=span)

    def integer(self, meta, children):
        (token,) = children
        span = token_span(self.path, token)
        digits = str(token).lstrip("-")
        # Count the digits before converting: Python refuses to read more than 4,300 of them.
        significant = digits.lstrip("0") or "0"
        if len(significant) > len(str(MAX_INTEGER)) or int(significant) > MAX_INTEGER:
            self.diagnostics.append(
                Diagnostic(
                    codes.NUMBER_TOO_LARGE,
                    f"this integer has {len(digits):,} digits and does not fit in 64 bits "
                    f"(at most {MAX_INTEGER:,})",
                    span,
                    hint="write a smaller number; seeds, for one, are at most 4294967295",
                )
            )
            return Integer(0, span=span)
        return Integer(-int(significant) if str(token).startswith("-") else int(significant), span=span)

    def float(self, meta, children):
        (token,) = children
        span = token_span(self.path, token)
        value = float(token)
        if not math.isfinite(value):
            self.diagnostics.append(
                Diagnostic(
                    codes.NUMBER_TOO_LARGE,
                    f"{_shortened(str(token))} is too large to represent: it would be infinite",
                    span,
                    hint="numbers are at most about 1.8e308; write a smaller exponent",
                )
            )
            value = 0.0
        return Float(value, str(token), span=span)

    def string(self, meta, children):
        (token,) = children
        span = token_span(self.path, token)
        body = str(token)[1:-1]
        if len(body) > MAX_STRING:
            self.diagnostics.append(
                Diagnostic(
                    codes.STRING_TOO_LONG,
                    f"this string is {len(body):,} characters long; a string holds at most {MAX_STRING:,}",
                    Span(span.file, span.line, span.column, span.line, span.column + 1),
                    hint="shorten it: descriptions, titles and paths need far fewer characters",
                )
            )
            return String("", span=span)
        return String(self._unescape(body, span), span=span)

    def _unescape(self, body: str, span: Span) -> str:
        out = []
        i = 0
        while i < len(body):
            char = body[i]
            if char != "\\":
                out.append(char)
                i += 1
                continue
            escaped = body[i + 1]  # the lexer guarantees a character after a backslash
            if escaped in _ESCAPES:
                out.append(_ESCAPES[escaped])
            else:
                column = span.column + 1 + i
                self.diagnostics.append(
                    Diagnostic(
                        codes.INVALID_ESCAPE,
                        f"unknown escape '\\{escaped}' in a string",
                        Span(span.file, span.line, column, span.line, column + 2),
                        hint='the escapes are \\" \\\\ \\n \\t; write \\\\ for a backslash',
                    )
                )
                out.append(escaped)
            i += 2
        return "".join(out)


def _shortened(text: str, keep: int = 12) -> str:
    return text if len(text) <= 2 * keep else f"{text[:keep]}...{text[-keep:]}"


def _as_token(node: Boolean) -> Token:
    text = "true" if node.value else "false"
    span = node.span
    return Token(
        "NAME", text, line=span.line, column=span.column, end_line=span.end_line, end_column=span.end_column
    )
