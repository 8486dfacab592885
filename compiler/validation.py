"""Validate plain values against a schema; pydantic's errors become located diagnostics."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from homog.dsl.diagnostics import Diagnostic, suggestion_hint
from homog.dsl.syntax import Span

from . import codes
from .fields import Schema
from .values import Loc, describe, span_for

_TYPE_NAMES = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "string_type": "text in double quotes",
    "text_type": "text in double quotes",
    "name_type": "a bare name",
    "reference_type": "the name of a declaration",
    "invocation_type": "a name or a call",
    "sweep_type": "a range, a list or zip(...)",
    "device": 'auto, cpu, cuda, mps or a string such as "cuda:1"',
}
_RANGE_WORDS = {
    "greater_than": ("greater than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}


def aliases(schema: type[Schema]) -> dict[str, str]:
    """Field name → the key a spec writes (`from_` is written `from`)."""
    return {name: info.alias or name for name, info in schema.model_fields.items()}


def validate(
    schema: type[Schema],
    data: dict[str, Any],
    *,
    spans: dict[Loc, Span],
    key_spans: dict[str, Span],
    where: Span,
    subject: str,
) -> tuple[Schema | None, list[Diagnostic]]:
    """`subject` names what is validated in messages, e.g. "the 'train' block" or "'adam'"."""
    try:
        return schema.model_validate(data), []
    except ValidationError as error:
        keys = sorted(aliases(schema).values())
        return None, [_diagnostic(e, spans, key_spans, where, subject, keys) for e in error.errors()]


def _diagnostic(error: dict, spans, key_spans, where: Span, subject: str, keys: list[str]) -> Diagnostic:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    key = str(loc[0]) if loc else ""
    span = span_for(loc, spans, where)
    value = error.get("input")
    path = key + "".join(f"[{part}]" for part in loc[1:])

    if kind == "extra_forbidden":
        return Diagnostic(
            codes.UNKNOWN_KEY,
            f"{subject} takes no key '{key}'",
            key_spans.get(key, span),
            hint=suggestion_hint(key, keys, "keys"),
        )
    if kind == "missing":
        return Diagnostic(
            codes.MISSING_KEY,
            f"{subject} needs '{key}'",
            where,
            hint=f"add '{key} = ...'",
        )
    if kind == "literal_error":
        expected = error["ctx"]["expected"]
        allowed = [part.strip(" '") for part in expected.replace(" or ", ",").split(",")]
        return Diagnostic(
            codes.UNKNOWN_CHOICE,
            f"'{value}' is not a valid value of '{path}'",
            span,
            hint=suggestion_hint(str(value), allowed, "choices"),
        )
    if kind in _RANGE_WORDS:
        words, bound_key = _RANGE_WORDS[kind]
        bound = error["ctx"][bound_key]
        return Diagnostic(
            codes.OUT_OF_RANGE,
            f"'{path}' must be {words} {_number(bound)}, not {_number(value)}",
            span,
            hint=f"use a value {words} {_number(bound)}",
        )
    if kind in ("too_short", "too_long"):
        least = error["ctx"].get("min_length")
        most = error["ctx"].get("max_length")
        limit = f"at least {least}" if kind == "too_short" else f"at most {most}"
        return Diagnostic(
            codes.OUT_OF_RANGE,
            f"'{path}' needs {limit} item{'s' if (least or most) != 1 else ''}",
            span,
            hint=f"give {limit} item{'s' if (least or most) != 1 else ''}",
        )
    if kind in _TYPE_NAMES:
        return Diagnostic(
            codes.WRONG_TYPE,
            f"'{path}' expects {_TYPE_NAMES[kind]}, not {describe(value)}",
            span,
            hint=_type_hint(kind, value),
        )
    # A custom check of a schema (a model validator) speaks for itself.
    message = error["msg"].removeprefix("Value error, ")
    return Diagnostic(
        codes.OUT_OF_RANGE, f"{path or subject}: {message}", span, hint="see the language reference"
    )


def _number(value: float) -> str:
    """Integers exactly (a seed's bound is 4294967295, not 4.29497e+09), other numbers briefly."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _type_hint(kind: str, value: object) -> str:
    if kind in ("text_type", "string_type"):
        return "put text in double quotes"
    if kind == "float_type" and isinstance(value, str):
        return "write numbers without quotes"
    if kind == "int_type" and isinstance(value, float):
        return "write a whole number, without a decimal point"
    if kind == "name_type" and isinstance(value, str):
        return f"write the name without quotes: {value}"
    return f"write {_TYPE_NAMES[kind]}"
