"""Pass 3: every call to a registry entry — known name, arguments of the right types.

Calls are found in attributes whose schema field is marked `Registry(kind)`
(also inside lists), in the bare entries of a `metrics` block, and in the
attributes of `condition` blocks.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from homog.dsl.diagnostics import suggestion_hint

from .. import codes
from ..context import Call, Context, Declared
from ..fields import Registry, Schema
from ..validation import validate
from ..values import Invocation, Symbol, describe


def check_invocations(ctx: Context) -> None:
    for declared in _walk(ctx.blocks):
        if declared.kind == "metrics":
            for invocation in declared.entries:
                _check(ctx, invocation, "metric")
        elif declared.kind == "condition" and declared.data is not None:
            _condition_members(ctx, declared)
        elif declared.data is not None:
            for invocation, kind in _marked_invocations(declared.data):
                _check(ctx, invocation, kind)


def _condition_members(ctx: Context, condition: Declared) -> None:
    """`MODALITY = shift(...)` members, `dataset = NAME` for a domain shift, and `learners = [...]`
    for the learners it applies to."""
    for member in condition.block.members:
        key = getattr(member, "key", None)
        if key is None:
            continue
        value = condition.data.model_extra[key.text]
        if key.text == "dataset":
            if isinstance(value, Symbol):
                condition.domain = value
            else:
                ctx.report(
                    codes.WRONG_TYPE,
                    f"'dataset' in a condition names a dataset to test on, not {describe(value)}",
                    member.value.span,
                    hint="write dataset = NAME, naming a declared dataset with the same fields",
                )
            continue
        if key.text == "learners":
            _targets(ctx, condition, value, member)
            continue
        if isinstance(value, Symbol):
            value = Invocation.of_symbol(value)
        if not isinstance(value, Invocation):
            ctx.report(
                codes.WRONG_TYPE,
                f"'{key.text}' in a condition expects a shift, not {describe(value)}",
                member.value.span,
                hint="write a condition such as gaussian_noise(std = 0.5), occlusion(size = 3) or drop",
            )
            continue
        condition.shifts[key.text] = value
        _check(ctx, value, "condition")


def _targets(ctx: Context, condition: Declared, value, member) -> None:
    items = value if isinstance(value, list) else [value]
    wrong = next((item for item in items if not isinstance(item, Symbol)), None)
    if wrong is not None:
        ctx.report(
            codes.WRONG_TYPE,
            f"'learners' in a condition names the learners it applies to, not {describe(wrong)}",
            member.value.span,
            hint="write learners = [NAME, ...], naming declared models or fusions",
        )
    elif not items:
        ctx.report(
            codes.OUT_OF_RANGE,
            f"'learners' of condition '{condition.name}' names no learner",
            member.value.span,
            hint="name the learners the condition applies to, or remove 'learners' to apply it to every one",
        )
    else:
        condition.targets = items


def _walk(blocks: list[Declared]):
    for declared in blocks:
        yield declared
        yield from _walk(declared.nested)


def _marked_invocations(data: Schema):
    for name, kind in _registry_fields(type(data)):
        value = getattr(data, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Invocation):
                yield item, kind


@cache
def _registry_fields(schema: type[Schema]) -> list[tuple[str, str]]:
    """The fields of a schema that name registry entries, with the kind they name."""
    hints = typing.get_type_hints(schema, include_extras=True)
    fields = [(name, _registry_kind(hints[name])) for name in schema.model_fields]
    return [(name, kind) for name, kind in fields if kind is not None]


def _registry_kind(annotation: Any) -> str | None:
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, Registry):
            return meta.kind
    for arg in typing.get_args(annotation):
        kind = _registry_kind(arg)
        if kind is not None:
            return kind
    return None


def _check(ctx: Context, invocation: Invocation, kind: str) -> None:
    entry = ctx.registry.get(kind, invocation.name)
    if entry is None:
        ctx.report(
            codes.UNKNOWN_ENTRY,
            f"unknown {kind.replace('_', ' ')} '{invocation.name}'",
            invocation.name_span,
            hint=suggestion_hint(invocation.name, ctx.registry.names(kind), f"{kind} names"),
        )
        return
    arguments = dict(invocation.keywords)
    spans = dict(invocation.spans)
    if len(invocation.positional) > len(entry.positional):
        takes = ", ".join(entry.positional) or "none"
        ctx.report(
            codes.TOO_MANY_ARGUMENTS,
            f"'{entry.name}' takes {len(entry.positional)} positional argument"
            f"{'s' if len(entry.positional) != 1 else ''}, not {len(invocation.positional)}",
            invocation.spans.get((len(entry.positional),), invocation.span),
            hint=f"positional arguments: {takes}; name the others, as in key = value"
            if entry.positional
            else f"name the argument, as in {next(iter(entry.params.model_fields), 'key')} = ...",
        )
        return
    for index, value in enumerate(invocation.positional):
        name = entry.positional[index]
        if name in arguments:
            ctx.report(
                codes.TOO_MANY_ARGUMENTS,
                f"'{name}' of '{entry.name}' is given twice, by position and by name",
                invocation.key_spans[name],
                hint=f"drop one of the two values of '{name}'",
            )
            return
        arguments[name] = value
        spans[(name,)] = invocation.spans[(index,)]
    params, diagnostics = validate(
        entry.params,
        arguments,
        spans=spans,
        key_spans=invocation.key_spans,
        where=invocation.name_span,
        subject=f"'{entry.name}'",
    )
    ctx.diagnostics += diagnostics
    if params is not None:
        ctx.calls[id(invocation)] = Call(entry, params, invocation)
