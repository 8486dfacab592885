"""The vocabulary section of the language reference, written from the registry.

`python -m homog.compiler.docs` prints it; a test keeps dsl/REFERENCE.md equal
to it, so the reference never drifts from what the compiler accepts.
"""

from __future__ import annotations

import typing
from typing import Any, Literal

from pydantic_core import PydanticUndefined

from .registry import KINDS, Entry, Registry, default_registry

TITLES = {
    "source": "Data sources (`dataset { source = ... }`)",
    "external": "External runs: other models' outputs (`external NAME { source = ... }`)",
    "split": "Splits (`dataset { split = ... }`)",
    "transform": "Transforms (`modality { transform = [...] }`), fitted on the training split only",
    "augment": "Augmentations (`modality { augment = [...] }`), at training time only",
    "architecture": "Architectures (`model { arch = ... }`, `fusion { encoder = ..., head = ... }`)",
    "fusion": "Fusion strategies (`fusion { strategy = ... }`)",
    "optimizer": "Optimizers (`train { optimizer = ... }`)",
    "schedule": "Learning-rate schedules (`train { schedule = ... }`)",
    "stopping": "Early stopping (`train { early_stopping = ... }`)",
    "condition": "Evaluation conditions (`evaluate { condition NAME { MODALITY = ... } }`)",
    "metric": "Metrics (`metrics { ... }`)",
}


def _choices(annotation: Any) -> tuple[str, ...] | None:
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    for arg in typing.get_args(annotation):
        found = _choices(arg)
        if found:
            return found
    return None


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return repr(value)


def _parameters(entry: Entry) -> str:
    hints = typing.get_type_hints(entry.params, include_extras=True)
    parts = []
    for name, info in entry.params.model_fields.items():
        choices = _choices(hints[name])
        default = info.get_default(call_default_factory=True)
        if default is PydanticUndefined:
            text = f"{name} (required)"
        elif default is None:
            text = f"{name} (optional)"
        elif isinstance(default, str) and not choices:
            text = f'{name} = "{default}"'
        else:
            text = f"{name} = {_literal(default)}"
        if choices:
            text += " — " + " \\| ".join(choices)
        parts.append(text)
    if entry.positional:
        parts.append("positional: " + ", ".join(entry.positional))
    return "; ".join(parts) or "—"


def _notes(entry: Entry) -> str:
    notes = [entry.summary]
    if entry.kind == "source" and entry.fields:
        fields = ", ".join(
            f"`{name}` (label)" if info.is_label else f"`{name}` {info.shape}"
            for name, info in entry.fields.items()
        )
        notes.append(f"fields: {fields}")
    if entry.kind in ("architecture", "condition", "augment") or (entry.kind == "fusion" and not entry.late):
        notes.append("takes " + ", ".join(sorted(entry.accepts)))
    if entry.representations:
        notes.append("representations: " + ", ".join(entry.representations))
    if entry.kind == "architecture" and not entry.seeded:
        notes.append("deterministic: the seed has no effect")
    if entry.kind == "metric":
        notes.append(f"scope: {entry.scope}")
    return "; ".join(notes)


def vocabulary_markdown(registry: Registry | None = None) -> str:
    registry = registry or default_registry()
    lines = []
    for kind in KINDS:
        lines += [f"### {TITLES[kind]}", "", "| name | parameters | notes |", "|---|---|---|"]
        lines += [f"| `{e.name}` | {_parameters(e)} | {_notes(e)} |" for e in registry.entries(kind)]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(vocabulary_markdown(), end="")
