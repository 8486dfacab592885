"""Syntax values → plain Python values for schema validation, with spans kept aside.

Numbers, strings, booleans and lists become Python values. A bare or dotted
name becomes a `Symbol`, a call an `Invocation`, a range a `RangeValue`; these
keep their spans, and a side table maps every location path (as pydantic
reports it in an error's `loc`) to the span of the text it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from homog.dsl.syntax import (
    Boolean,
    Call,
    Float,
    Integer,
    ListValue,
    Range,
    Reference,
    Span,
    String,
    Value,
)

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Symbol:
    """A bare or dotted name: resolved by the compiler, never looked up in Python."""

    name: str
    span: Span = field(compare=False)

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class RangeValue:
    start: int
    stop: int
    span: Span = field(compare=False)

    def values(self) -> list[int]:
        return list(range(self.start, self.stop + 1))


@dataclass(frozen=True)
class Invocation:
    """A registry entry named with its arguments: `adam(lr = 1e-3)`, or bare: `standardize`."""

    name: str
    positional: tuple[object, ...]
    keywords: dict[str, object]
    span: Span = field(compare=False)
    name_span: Span = field(compare=False)
    spans: dict[Loc, Span] = field(compare=False, default_factory=dict)
    key_spans: dict[str, Span] = field(compare=False, default_factory=dict)

    @classmethod
    def of_symbol(cls, symbol: Symbol) -> Invocation:
        return cls(symbol.name, (), {}, symbol.span, symbol.span)


def to_plain(value: Value, loc: Loc, spans: dict[Loc, Span]) -> object:
    """Convert a syntax value, recording the span of it and of everything inside it."""
    spans[loc] = value.span
    if isinstance(value, (Integer, Float, String, Boolean)):
        return value.value
    if isinstance(value, Reference):
        return Symbol(value.dotted, value.span)
    if isinstance(value, Range):
        return RangeValue(value.start, value.stop, value.span)
    if isinstance(value, ListValue):
        return [to_plain(item, (*loc, index), spans) for index, item in enumerate(value.items)]
    if isinstance(value, Call):
        return _invocation(value)
    raise TypeError(f"unknown syntax value {type(value).__name__}")


def _invocation(call: Call) -> Invocation:
    spans: dict[Loc, Span] = {}
    key_spans: dict[str, Span] = {}
    positional = []
    keywords = {}
    for index, arg in enumerate(call.args):
        if arg.name is None:
            positional.append(to_plain(arg.value, (index,), spans))
        else:
            keywords[arg.name.text] = to_plain(arg.value, (arg.name.text,), spans)
            key_spans[arg.name.text] = arg.name.span
    return Invocation(
        call.callee.dotted, tuple(positional), keywords, call.span, call.callee.span, spans, key_spans
    )


def span_for(loc: Loc, spans: dict[Loc, Span], fallback: Span) -> Span:
    """The span of the longest prefix of `loc` that has one."""
    for end in range(len(loc), 0, -1):
        span = spans.get(tuple(loc[:end]))
        if span is not None:
            return span
    return fallback


def describe(value: object) -> str:
    """How a value is named in a message: by what the user wrote."""
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value:g}"
    if isinstance(value, str):
        return f'the string "{value}"'
    if isinstance(value, Symbol):
        return f"the name '{value.name}'"
    if isinstance(value, Invocation):
        return f"a call to '{value.name}'"
    if isinstance(value, RangeValue):
        return f"the range {value.start}..{value.stop}"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
