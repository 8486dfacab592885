"""`homogc lsp`: a language server for .homog specs (pygls, over stdin and stdout).

- Diagnostics as you type: the compiler's own check (`compile_text`, what `homogc check` runs) on
  every open and change, each diagnostic at its span, with its code and hint.
- Completion: block kinds at the top level (and the blocks a block may nest), the keys of the block
  the cursor is in, and after `key =` the registry names (architectures, sources, optimizers...)
  or the choices that key takes; bare entries of `metrics { }` complete to metric names.
- Hover: a registry entry's parameters and notes (the vocabulary of dsl/REFERENCE.md, written by
  compiler/docs.py), a block kind's row of the reference, and a key's type and default.

Positions: LSP counts lines and characters from 0, the compiler from 1 (its ends are exclusive, as
LSP's are). Columns are counted in characters; specs outside the Basic Multilingual Plane's
characters (which LSP counts as two) are rare enough that no conversion is made.
"""

from __future__ import annotations

import re
import typing
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from homog.compiler.blocks import BLOCK_KINDS, TOP_LEVEL
from homog.compiler.docs import TITLES, _choices, _notes, _parameters
from homog.compiler.driver import compile_text
from homog.compiler.fields import Registry as RegistryKind
from homog.compiler.registry import Registry, default_registry
from homog.dsl.diagnostics import Diagnostic, Severity

server = LanguageServer("homogc", "0.1.0")

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_HEADER = re.compile(r"([A-Za-z_]+)(?:\s+(?:\"[^\"]*\"|[A-Za-z_][A-Za-z0-9_]*))?\s*\{")


def _path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


# --- diagnostics -------------------------------------------------------------------------------


def diagnostics(text: str, path: str) -> list[types.Diagnostic]:
    """The compiler's diagnostics of a spec, as LSP diagnostics (those located in this file)."""
    found = compile_text(text, path).diagnostics
    return [_lsp_diagnostic(d) for d in found if d.span is None or d.span.file == path]


def _lsp_diagnostic(diagnostic: Diagnostic) -> types.Diagnostic:
    span = diagnostic.span
    if span is None:
        where = types.Range(types.Position(0, 0), types.Position(0, 0))
    else:
        start = types.Position(span.line - 1, span.column - 1)
        end = types.Position(max(span.end_line - 1, start.line), max(span.end_column - 1, 0))
        if (end.line, end.character) <= (start.line, start.character):
            end = types.Position(start.line, start.character + 1)
        where = types.Range(start, end)
    message = diagnostic.message + (f"\nhint: {diagnostic.hint}" if diagnostic.hint else "")
    severity = (
        types.DiagnosticSeverity.Error
        if diagnostic.severity is Severity.ERROR
        else types.DiagnosticSeverity.Warning
    )
    return types.Diagnostic(
        range=where, message=message, severity=severity, code=diagnostic.code.id, source="homogc"
    )


def _publish(ls: LanguageServer, uri: str) -> None:
    document = ls.workspace.get_text_document(uri)
    found = diagnostics(document.source, _path(uri))
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, version=document.version, diagnostics=found)
    )


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def _did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    _publish(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def _did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    _publish(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def _did_save(ls: LanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    _publish(ls, params.text_document.uri)


# --- where the cursor is -----------------------------------------------------------------------


def enclosing_blocks(text: str, line: int, character: int) -> list[str]:
    """The kinds of the blocks around a position, outermost first (comments and strings skipped)."""
    lines = text.split("\n")
    before = "\n".join([*lines[:line], lines[line][:character] if line < len(lines) else ""])
    stack: list[str] = []
    code = re.sub(
        r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*', lambda m: '""' if m.group().startswith('"') else "", before
    )
    for match in re.finditer(r"[{}]", code):
        if match.group() == "}":
            if stack:
                stack.pop()
            continue
        header = code[: match.start()].rsplit("\n", 1)[-1].strip()
        found = _HEADER.fullmatch(header + "{")
        stack.append(found.group(1) if found else "")
    return stack


def _key_kinds(block: str) -> dict[str, tuple[str | None, tuple[str, ...] | None, Any]]:
    """A block's keys: for each, the registry kind it names (if any), its choices (if any) and field."""
    kind = BLOCK_KINDS.get(block)
    if kind is None:
        return {}
    hints = typing.get_type_hints(kind.schema, include_extras=True)
    keys = {}
    for name, info in kind.schema.model_fields.items():
        keys[info.alias or name] = (_registry_kind(hints[name]), _choices(hints[name]), info)
    return keys


def _registry_kind(annotation: Any) -> str | None:
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, RegistryKind):
            return meta.kind
    for arg in typing.get_args(annotation):
        found = _registry_kind(arg)
        if found:
            return found
    return None


# --- completion --------------------------------------------------------------------------------


def completions(
    text: str, line: int, character: int, registry: Registry | None = None
) -> list[types.CompletionItem]:
    registry = registry or default_registry()
    blocks = enclosing_blocks(text, line, character)
    current = text.split("\n")[line][:character] if line < len(text.split("\n")) else ""
    block = blocks[-1] if blocks else None
    assignment = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", current)
    if block is not None and assignment:
        key = assignment.group(1)
        if block == "condition":  # MODALITY = a condition entry
            return _entries(registry, "condition")
        found = _key_kinds(block).get(key)
        if found is None:
            return []
        kind, choices, _ = found
        if kind is not None:
            return _entries(registry, kind)
        return [
            types.CompletionItem(label=str(c), kind=types.CompletionItemKind.EnumMember)
            for c in choices or ()
        ]
    if block is None:
        return [_block_item(kind) for kind in TOP_LEVEL]
    items = [_block_item(kind) for kind in BLOCK_KINDS[block].nested] if block in BLOCK_KINDS else []
    if block in BLOCK_KINDS and BLOCK_KINDS[block].entries:
        items += _entries(registry, BLOCK_KINDS[block].entries)
    for key in _key_kinds(block):
        items.append(
            types.CompletionItem(
                label=key,
                kind=types.CompletionItemKind.Property,
                detail=f"{block} key",
                insert_text=f"{key} = ",
            )
        )
    return items


def _entries(registry: Registry, kind: str) -> list[types.CompletionItem]:
    return [
        types.CompletionItem(
            label=entry.name,
            kind=types.CompletionItemKind.Function,
            detail=f"{kind}: {entry.summary}",
            documentation=types.MarkupContent(types.MarkupKind.Markdown, _entry_markdown(entry)),
        )
        for entry in registry.entries(kind)
    ]


def _block_item(kind: str) -> types.CompletionItem:
    return types.CompletionItem(
        label=kind,
        kind=types.CompletionItemKind.Class,
        detail="block",
        documentation=types.MarkupContent(types.MarkupKind.Markdown, _block_rows().get(kind, "")),
    )


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["=", " ", "[", ","])
)
def _completion(ls: LanguageServer, params: types.CompletionParams) -> types.CompletionList:
    document = ls.workspace.get_text_document(params.text_document.uri)
    items = completions(document.source, params.position.line, params.position.character)
    return types.CompletionList(is_incomplete=False, items=items)


# --- hover -------------------------------------------------------------------------------------


def _entry_markdown(entry) -> str:
    title = TITLES.get(entry.kind, entry.kind)
    return f"**`{entry.name}`** — {title}\n\n{_notes(entry)}\n\nParameters: {_parameters(entry)}"


@cache
def _block_rows() -> dict[str, str]:
    """The reference's table of block kinds, one markdown row's text per kind."""
    reference = resources.files("homog.dsl").joinpath("REFERENCE.md").read_text(encoding="utf-8")
    rows = {}
    section = reference.split("## Block kinds", 1)[-1].split("\n## ", 1)[0]
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            kind = cells[0].strip("`").split()[0]
            rows[kind] = f"**block `{cells[0].strip('`')}`** — {cells[1]}\n\nExample: {cells[2]}"
    return rows


def hover_text(text: str, line: int, character: int, registry: Registry | None = None) -> str | None:
    registry = registry or default_registry()
    lines = text.split("\n")
    if line >= len(lines):
        return None
    word = next((m for m in _WORD.finditer(lines[line]) if m.start() <= character <= m.end()), None)
    if word is None:
        return None
    name = word.group()
    blocks = enclosing_blocks(text, line, word.start())
    block = blocks[-1] if blocks else None
    rest = lines[line][word.end() :]
    if block is not None and re.match(r"\s*=", rest):  # a key
        found = _key_kinds(block).get(name)
        if found is not None:
            kind, choices, info = found
            default = info.get_default(call_default_factory=True)
            what = f"a {kind} entry" if kind else (" | ".join(choices) if choices else "a value")
            shown = "required" if info.is_required() else f"default: `{default}`"
            return f"**`{name}`** in `{block}`: {what} ({shown})"
    entries = [e for e in registry.entries() if e.name == name]
    if entries:
        return "\n\n---\n\n".join(_entry_markdown(e) for e in entries)
    if name in BLOCK_KINDS and re.match(r"\s*(\"[^\"]*\"|[A-Za-z_][A-Za-z0-9_]*)?\s*\{", rest):
        return _block_rows().get(name)
    return None


@server.feature(types.TEXT_DOCUMENT_HOVER)
def _hover(ls: LanguageServer, params: types.HoverParams) -> types.Hover | None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    found = hover_text(document.source, params.position.line, params.position.character)
    if found is None:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=found))


def main() -> int:
    server.start_io()
    return 0
