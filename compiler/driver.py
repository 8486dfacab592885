"""Compile a spec: parse, run the passes in order, lower to the execution graph.

One call gives the runtime all it needs (the IR, the graph, where each
declaration and setting is written); the runtime never reads syntax.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from homog.dsl.diagnostics import Diagnostic, Severity
from homog.dsl.gc_pause import gc_paused
from homog.dsl.parser import parse
from homog.dsl.syntax import Document, Span

from .context import Context
from .graph import Graph
from .ir import ExperimentIR
from .lower import lower, origins
from .passes import BUILDS, CHECKS
from .registry import Registry, default_registry


@dataclass(frozen=True)
class Options:
    """What the compilation depends on beyond the text."""

    smoke: bool = False  # the reduced mode: few epochs, small forests, at most `smoke_rows` examples
    smoke_rows: int = 300
    digest: Callable[[str], str | None] | None = None  # a data file's path -> its SHA-256 (None: absent)
    # A backbone entry's (library, params) -> what its files say: {"digest", "modality", "layers",
    # "location"}, or None when they are not there (compiler/passes/backbones.py)
    backbone: Callable[[str, dict], dict | None] | None = None


@dataclass
class Compilation:
    document: Document
    diagnostics: list[Diagnostic] = field(default_factory=list)
    ir: ExperimentIR | None = None
    graph: Graph | None = None
    origins: dict[str, Span] = field(default_factory=dict)  # declaration name -> where it is named
    settings: dict[str, Span] = field(default_factory=dict)  # experiment setting -> where its value is

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)


def compile_document(
    document: Document, registry: Registry | None = None, options: Options | None = None
) -> Compilation:
    with gc_paused():
        return _compile(document, registry or default_registry(), options or Options())


def _compile(document: Document, registry: Registry, options: Options) -> Compilation:
    ctx = Context(document, registry, options=options)
    for check in CHECKS:
        check(ctx)
    if not ctx.failed:
        for build in (*BUILDS, lower):
            build(ctx)
    diagnostics = sorted(ctx.diagnostics, key=lambda d: d.sort_key)
    return Compilation(document, diagnostics, ctx.ir, ctx.graph, origins(ctx), _settings(document))


def _settings(document: Document) -> dict[str, Span]:
    """Where the experiment and report blocks give their settings a value, for errors found at run
    time: `device` (a device this machine lacks), `report.path` (a report path that cannot be
    written)."""
    found = {}
    for block in document.blocks:
        if block.kind.text in ("experiment", "report"):
            prefix = "" if block.kind.text == "experiment" else "report."
            for member in block.members:
                key = getattr(member, "key", None)
                if key is not None:
                    found[prefix + key.text] = member.value.span
    return found


def compile_text(
    text: str, path: str = "<spec>", registry: Registry | None = None, options: Options | None = None
) -> Compilation:
    """Parse and compile; syntax errors stop before the passes, whose errors would only echo them."""
    parsed = parse(text, path)
    if not parsed.ok:
        return Compilation(parsed.document, parsed.diagnostics)
    compilation = compile_document(parsed.document, registry, options)
    compilation.diagnostics = sorted(parsed.diagnostics + compilation.diagnostics, key=lambda d: d.sort_key)
    return compilation
