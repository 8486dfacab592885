"""What the compiler passes share: the document, what each pass found, and the diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from homog.dsl.diagnostics import Code, Diagnostic, Related, Severity
from homog.dsl.syntax import Block, Document, Span

from .fields import Schema
from .registry import Entry, Registry
from .values import Invocation


@dataclass
class Declared:
    """One block of the spec, as the passes come to know it."""

    block: Block
    kind: str
    name: str | None
    parent: Declared | None = None
    data: Schema | None = None  # validated attributes; None until validated, or when invalid
    nested: list[Declared] = field(default_factory=list)
    entries: list[Invocation] = field(default_factory=list)  # bare entries, as in metrics
    # condition blocks: modality -> test-time shift, and another dataset to test on (a domain shift)
    shifts: dict[str, Invocation] = field(default_factory=dict)
    domain: Any = None
    targets: list[Any] | None = None  # `learners = [...]`: the learners it applies to (None: every one)

    @property
    def span(self) -> Span:
        return self.block.span

    @property
    def name_span(self) -> Span:
        label = self.block.label
        return label.span if label is not None else self.block.kind.span

    @property
    def title(self) -> str:
        return f"{self.kind} '{self.name}'" if self.name else f"the '{self.kind}' block"


@dataclass(frozen=True)
class Call:
    """An invocation found in the registry, with its parameters validated."""

    entry: Entry
    params: Schema
    invocation: Invocation


@dataclass
class Context:
    document: Document
    registry: Registry
    diagnostics: list[Diagnostic] = field(default_factory=list)
    blocks: list[Declared] = field(default_factory=list)  # top-level, in file order
    names: dict[str, Declared] = field(default_factory=dict)  # datasets, modalities, models, fusions
    calls: dict[int, Call] = field(default_factory=dict)  # id(invocation) -> its entry and params
    references: dict[int, Declared] = field(default_factory=dict)  # id(symbol) -> what it names
    shapes: dict[str, tuple[int, ...] | None] = field(default_factory=dict)  # modality -> one example's
    sweep_points: list[dict[str, Any]] = field(default_factory=list)
    options: Any = None  # driver.Options: the reduced mode, the data files' digests
    ir: Any = None
    graph: Any = None
    _by_kind: dict[str, list[Declared]] = field(default_factory=dict)

    def report(
        self,
        code: Code,
        message: str,
        span: Span | None,
        hint: str | None = None,
        related: tuple[Related, ...] = (),
    ) -> None:
        severity = Severity.WARNING if code.id.startswith("W") else Severity.ERROR
        self.diagnostics.append(Diagnostic(code, message, span, hint, related, severity))

    @property
    def failed(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)

    def declare(self, declared: Declared) -> None:
        self.blocks.append(declared)
        self._by_kind.setdefault(declared.kind, []).append(declared)

    def of_kind(self, kind: str) -> list[Declared]:
        return list(self._by_kind.get(kind, ()))

    def one(self, kind: str) -> Declared | None:
        found = self.of_kind(kind)
        return found[0] if found else None

    def call(self, invocation: Invocation | None) -> Call | None:
        return None if invocation is None else self.calls.get(id(invocation))
