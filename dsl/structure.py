"""Checks of a document's shape that need no knowledge of what blocks mean.

One experiment per file, attributes only inside blocks, no key set twice in
one block. What a block of each kind may hold is the compiler's concern.
"""

from __future__ import annotations

from . import codes
from .diagnostics import Diagnostic, Related
from .syntax import Attribute, Block, Document, Name


def check_structure(document: Document) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    diagnostics += _members_outside_blocks(document)
    diagnostics += _second_experiment(document)
    for block in document.blocks:
        diagnostics += _duplicate_keys(block)
    return diagnostics


def _members_outside_blocks(document: Document) -> list[Diagnostic]:
    return [
        Diagnostic(
            codes.MEMBER_OUTSIDE_BLOCK,
            f"'{member.key.text}' is set outside any block"
            if isinstance(member, Attribute)
            else "a bare value outside any block",
            member.span,
            hint="move it into a block, e.g. experiment { ... } or metrics { ... }",
        )
        for member in document.members
        if not isinstance(member, Block)
    ]


def _second_experiment(document: Document) -> list[Diagnostic]:
    experiments = [block for block in document.blocks if block.kind.text == "experiment"]
    return [
        Diagnostic(
            codes.DUPLICATE_EXPERIMENT,
            "a file holds one experiment; this is a second 'experiment' block",
            extra.kind.span,
            hint="merge the two blocks, or move this experiment into a file of its own",
            related=(Related(experiments[0].kind.span, "first 'experiment' block here"),),
        )
        for extra in experiments[1:]
    ]


def _duplicate_keys(block: Block) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    seen: dict[str, Name] = {}
    for member in block.members:
        if isinstance(member, Block):
            diagnostics += _duplicate_keys(member)
            continue
        if not isinstance(member, Attribute):
            continue
        first = seen.setdefault(member.key.text, member.key)
        if first is not member.key:
            diagnostics.append(
                Diagnostic(
                    codes.DUPLICATE_KEY,
                    f"'{member.key.text}' is set twice in '{block.header}'",
                    member.key.span,
                    hint="remove one of the two; the spec must say one thing",
                    related=(Related(first.span, "first set here"),),
                )
            )
    return diagnostics
