"""Pass 2: each block's attributes against the typed schema of its kind."""

from __future__ import annotations

from homog.dsl.syntax import Attribute, Entry, Span

from .. import codes
from ..blocks import BLOCK_KINDS
from ..context import Context, Declared
from ..validation import validate
from ..values import Invocation, Loc, Symbol, describe, to_plain


def validate_blocks(ctx: Context) -> None:
    for declared in ctx.blocks:
        _validate(ctx, declared)


def _validate(ctx: Context, declared: Declared) -> None:
    kind = BLOCK_KINDS[declared.kind]
    data: dict[str, object] = {}
    spans: dict[Loc, Span] = {}
    key_spans: dict[str, Span] = {}
    for member in declared.block.members:
        if isinstance(member, Attribute) and kind.entries is None:
            data[member.key.text] = to_plain(member.value, (member.key.text,), spans)
            key_spans[member.key.text] = member.key.span
        elif isinstance(member, Entry) and kind.entries is not None:
            value = to_plain(member.value, ("entry",), spans)
            value = Invocation.of_symbol(value) if isinstance(value, Symbol) else value
            if isinstance(value, Invocation):
                declared.entries.append(value)
            else:
                ctx.report(
                    codes.WRONG_TYPE,
                    f"a '{declared.kind}' block lists {kind.entries}s by name, not {describe(value)}",
                    member.value.span,
                    hint="write a name such as accuracy, or a call such as cka(layer = penultimate)",
                )
    declared.data, diagnostics = validate(
        kind.schema,
        data,
        spans=spans,
        key_spans=key_spans,
        where=declared.block.kind.span,
        subject=declared.title,
    )
    ctx.diagnostics += diagnostics
    for child in declared.nested:
        _validate(ctx, child)
