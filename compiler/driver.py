"""Compile a spec: parse, run the passes in order, lower to the execution graph."""

from __future__ import annotations

from dataclasses import dataclass, field

from homog.dsl.diagnostics import Diagnostic, Severity
from homog.dsl.gc_pause import gc_paused
from homog.dsl.parser import parse
from homog.dsl.syntax import Document

from .context import Context
from .graph import Graph
from .ir import ExperimentIR
from .lower import lower, origins
from .passes import BUILDS, CHECKS
from .registry import Registry, default_registry


@dataclass
class Compilation:
    document: Document
    diagnostics: list[Diagnostic] = field(default_factory=list)
    ir: ExperimentIR | None = None
    graph: Graph | None = None
    origins: dict[str, str] = field(default_factory=dict)  # declaration name -> "file:line:column"

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)


def compile_document(document: Document, registry: Registry | None = None) -> Compilation:
    with gc_paused():
        return _compile(document, registry or default_registry())


def _compile(document: Document, registry: Registry) -> Compilation:
    ctx = Context(document, registry)
    for check in CHECKS:
        check(ctx)
    if not ctx.failed:
        for build in (*BUILDS, lower):
            build(ctx)
    diagnostics = sorted(ctx.diagnostics, key=lambda d: d.sort_key)
    return Compilation(document, diagnostics, ctx.ir, ctx.graph, origins(ctx))


def compile_text(text: str, path: str = "<spec>", registry: Registry | None = None) -> Compilation:
    """Parse and compile; syntax errors stop before the passes, whose errors would only echo them."""
    parsed = parse(text, path)
    if not parsed.ok:
        return Compilation(parsed.document, parsed.diagnostics)
    compilation = compile_document(parsed.document, registry)
    compilation.diagnostics = sorted(parsed.diagnostics + compilation.diagnostics, key=lambda d: d.sort_key)
    return compilation
