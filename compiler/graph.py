"""The execution graph: plain data, content-addressed, with renderings for people and tools.

A node's id is the SHA-256 of the canonical JSON of its op, the version of the
op's implementation, its parameters and the ids of its dependencies, so an id
changes exactly when the work, or any work it builds on, changes. Identical work
gets one id and one node. Names, resource hints and source locations are
descriptive and never part of an id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from homog.dsl.syntax import Span

from .hashing import content_hash

# Bump an op's version when its implementation changes what it computes:
# every node of that op, and all that depends on it, gets a new id.
OP_VERSIONS = {
    "load": 1,
    "view": 1,
    "extract": 1,
    "fit": 4,  # 4: a vectorised group's seeds are part of its fits' ids; a partial group retrains whole
    "predict": 2,  # 2: predictions carry their test examples' rows (`examples`)
    "late_fuse": 2,
    "metric": 1,
    "report": 1,
    "external": 1,
}


@dataclass(frozen=True)
class Node:
    """One unit of work. `inputs` names each node it reads (as a task names its dependencies),
    e.g. {"fit": id, "view.pixels": id}: the runtime hands a node its inputs by these names."""

    id: str
    op: str
    name: str
    params: dict[str, Any]
    inputs: dict[str, str]
    resources: dict[str, str] = field(default_factory=dict)
    origin: Span | None = None  # the spec location that declared it, for error messages

    @property
    def deps(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.inputs.values()))

    @property
    def short_id(self) -> str:
        return self.id[:8]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "op": self.op,
            "name": self.name,
            "params": self.params,
            "deps": list(self.deps),
            "inputs": self.inputs,
            "resources": self.resources,
            "origin": None if self.origin is None else str(self.origin),
        }


def node_id(op: str, params: dict[str, Any], deps: tuple[str, ...] | list[str]) -> str:
    return content_hash({"op": op, "version": OP_VERSIONS[op], "params": params, "deps": list(deps)})


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)  # in a topological order

    def add(
        self,
        op: str,
        name: str,
        params: dict[str, Any],
        inputs: Mapping[str, str],
        resources: dict[str, str] | None = None,
        origin: Span | None = None,
    ) -> str:
        if any(d not in self.nodes for d in inputs.values()):
            raise ValueError(f"{op} {name}: dependencies must be added first")
        deps = list(dict.fromkeys(inputs.values()))
        ident = node_id(op, params, deps)
        if ident not in self.nodes:
            self.nodes[ident] = Node(ident, op, name, params, dict(inputs), resources or {}, origin)
        return ident

    def of_op(self, op: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.op == op]

    def to_json(self) -> dict[str, Any]:
        return {"nodes": [node.to_json() for node in self.nodes.values()]}

    # -- renderings ---------------------------------------------------------

    def render(self, fmt: str) -> str:
        return {
            "text": self.render_text,
            "json": self.render_json,
            "dot": self.render_dot,
            "mermaid": self.render_mermaid,
        }[fmt]()

    def render_json(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    def render_text(self) -> str:
        """An indented tree from the report down; shared subtrees are shown once."""
        roots = [n for n in self.nodes.values() if not any(n.id in m.deps for m in self.nodes.values())]
        counts: dict[str, int] = {}
        for node in self.nodes.values():
            counts[node.op] = counts.get(node.op, 0) + 1
        lines = [f"{len(self.nodes)} nodes: " + ", ".join(f"{n} {op}" for op, n in counts.items())]
        shown: set[str] = set()
        width = max((len(n.op) for n in self.nodes.values()), default=4)

        def walk(ident: str, depth: int) -> None:
            node = self.nodes[ident]
            seen = ident in shown
            lines.append(
                f"{'  ' * depth}{node.op.ljust(width)}  {node.name}  [{node.short_id}]"
                + ("  ^" if seen else "")
            )
            if seen:
                return
            shown.add(ident)
            for dep in node.deps:
                walk(dep, depth + 1)

        for root in roots:
            walk(root.id, 0)
        return "\n".join(lines) + "\n"

    def render_dot(self) -> str:
        lines = ["digraph homog {", "  rankdir=BT;", '  node [shape=box, fontname="Helvetica"];']
        for node in self.nodes.values():
            label = f"{node.op}\\n{node.name}".replace('"', '\\"')
            lines.append(f'  "{node.short_id}" [label="{label}"];')
        for node in self.nodes.values():
            for dep in node.deps:
                lines.append(f'  "{self.nodes[dep].short_id}" -> "{node.short_id}";')
        return "\n".join([*lines, "}"]) + "\n"

    def render_mermaid(self) -> str:
        lines = ["flowchart BT"]
        for node in self.nodes.values():
            label = f"{node.op}: {node.name}".replace('"', "#quot;")
            lines.append(f'  n{node.short_id}["{label}"]')
        for node in self.nodes.values():
            for dep in node.deps:
                lines.append(f"  n{self.nodes[dep].short_id} --> n{node.short_id}")
        return "\n".join(lines) + "\n"
