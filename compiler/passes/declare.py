"""Pass 1: declarations — known block kinds, names, labels, duplicates, nesting."""

from __future__ import annotations

from homog.dsl.diagnostics import Related, suggestion_hint
from homog.dsl.syntax import Attribute, Block, Entry, String

from .. import codes
from ..blocks import BLOCK_KINDS, DECLARING, TOP_LEVEL
from ..context import Context, Declared


def declare(ctx: Context) -> None:
    first_of_kind: dict[str, Declared] = {}
    for block in ctx.document.blocks:
        declared = _declare_block(ctx, block, None, TOP_LEVEL)
        if declared is None:
            continue
        kind = BLOCK_KINDS[declared.kind]
        first = first_of_kind.setdefault(declared.kind, declared)
        if first is not declared and not kind.repeatable:
            ctx.report(
                codes.DUPLICATE_BLOCK,
                f"a spec has one '{declared.kind}' block; this is a second",
                block.kind.span,
                hint=f"merge the two '{declared.kind}' blocks",
                related=(Related(first.block.kind.span, "the first is here"),),
            )
            continue
        ctx.declare(declared)
        if declared.kind in DECLARING and declared.name is not None:
            _add_name(ctx, ctx.names, declared)
    if "experiment" not in first_of_kind:
        span = ctx.document.blocks[0].kind.span if ctx.document.blocks else None
        ctx.report(
            codes.MISSING_EXPERIMENT,
            "the spec has no 'experiment' block",
            span,
            hint='start the file with: experiment "name" { seed = 0 }',
        )


def _declare_block(ctx: Context, block: Block, parent: Declared | None, allowed: tuple[str, ...]):
    kind_name = block.kind.text
    if kind_name not in allowed:
        _misplaced_or_unknown(ctx, block, parent, allowed)
        return None
    kind = BLOCK_KINDS[kind_name]
    name = _label(ctx, block, kind.label)
    declared = Declared(block, kind_name, name, parent)
    nested_names: dict[str, Declared] = {}
    nested_once: dict[str, Declared] = {}
    for member in block.members:
        if isinstance(member, Block):
            child = _declare_block(ctx, member, declared, kind.nested)
            if child is None:
                continue
            if BLOCK_KINDS[child.kind].repeatable:
                if child.name is not None:
                    _add_name(ctx, nested_names, child)
            elif nested_once.setdefault(child.kind, child) is not child:
                ctx.report(
                    codes.DUPLICATE_BLOCK,
                    f"'{block.kind.text}' holds one '{child.kind}' block; this is a second",
                    member.kind.span,
                    hint=f"merge the two '{child.kind}' blocks",
                    related=(Related(nested_once[child.kind].block.kind.span, "the first is here"),),
                )
                continue
            declared.nested.append(child)
        elif isinstance(member, Entry) and kind.entries is None:
            ctx.report(
                codes.MISPLACED_MEMBER,
                f"a bare value cannot stand in {declared.title}",
                member.span,
                hint="write 'key = value'",
            )
        elif isinstance(member, Attribute) and kind.entries is not None:
            ctx.report(
                codes.MISPLACED_MEMBER,
                f"the '{kind_name}' block lists entries, not 'key = value'",
                member.key.span,
                hint=f"write the entry alone, as in {member.key.text}(...)",
            )
    return declared


def _misplaced_or_unknown(ctx: Context, block: Block, parent: Declared | None, allowed) -> None:
    kind_name = block.kind.text
    where = f"inside '{parent.kind}'" if parent else "at the top level"
    if kind_name not in BLOCK_KINDS:
        hint = (
            suggestion_hint(kind_name, allowed, f"block kinds {where}")
            if allowed
            else f"'{parent.kind}' holds no nested blocks"
        )
        ctx.report(codes.UNKNOWN_BLOCK_KIND, f"unknown block kind '{kind_name}'", block.kind.span, hint=hint)
        return
    homes = [name for name, kind in BLOCK_KINDS.items() if kind_name in kind.nested]
    hint = f"put it inside {' or '.join(repr(h) for h in homes)}" if homes else "move it to the top level"
    ctx.report(
        codes.MISPLACED_MEMBER, f"a '{kind_name}' block cannot stand {where}", block.kind.span, hint=hint
    )


def _label(ctx: Context, block: Block, rule: str) -> str | None:
    label = block.label
    if label is None:
        if rule == "required":
            ctx.report(
                codes.MISSING_LABEL,
                f"a '{block.kind.text}' block needs a name",
                block.kind.span,
                hint=f"write '{block.kind.text} NAME {{ ... }}'",
            )
        return None
    if rule == "none":
        ctx.report(
            codes.UNEXPECTED_LABEL,
            f"a '{block.kind.text}' block takes no name",
            label.span,
            hint=f"write '{block.kind.text} {{ ... }}'",
        )
        return None
    if isinstance(label, String) and block.kind.text in DECLARING:
        ctx.report(
            codes.WRONG_TYPE,
            f"the name of a '{block.kind.text}' is a bare name, not text in quotes",
            label.span,
            hint=f"write {block.kind.text} {_identifier(label.value)} {{ ... }}",
        )
        return None
    return label.value if isinstance(label, String) else label.text


def _identifier(text: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in text).strip("_") or "name"
    return cleaned if not cleaned[0].isdigit() else f"_{cleaned}"


def _add_name(ctx: Context, namespace: dict[str, Declared], declared: Declared) -> None:
    assert declared.name is not None
    first = namespace.setdefault(declared.name, declared)
    if first is not declared:
        ctx.report(
            codes.DUPLICATE_NAME,
            f"'{declared.name}' is declared twice",
            declared.name_span,
            hint="give each declaration its own name",
            related=(Related(first.name_span, f"first declared here, as a {first.kind}"),),
        )
