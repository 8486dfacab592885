"""The registry: every name a spec may call, with its parameter schema.

An entry describes a data source, split, transform, augmentation,
architecture, fusion strategy, optimizer, schedule, stopping rule, evaluation
condition or metric: its name, its parameters (a pydantic schema) and what the
compiler needs to type-check an experiment (which modality types an
architecture takes, which representations it exposes, what a metric needs).
It holds no implementation and imports no torch: the runtime provides one
implementation per entry, registered under the entry's (kind, name). Other
packages add entries through the entry-point group `homog.registry`; a
plugin's entry names the module that implements it (`implementation`), which
only the runtime imports. A spec can only name entries, never import code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points

from .fields import Schema

KINDS = (
    "source",
    "split",
    "transform",
    "augment",
    "architecture",
    "fusion",
    "optimizer",
    "schedule",
    "stopping",
    "condition",
    "metric",
    "external",
)
MODALITY_TYPES = ("image", "sequence", "vector", "text")
ENTRY_POINT_GROUP = "homog.registry"

Shape = tuple[int, ...]
# A transform's effect on the shape of one example; returns a message when it cannot apply.
ShapeRule = Callable[[Shape, Schema], "Shape | str"]
# An architecture's parameters at a sweep point: (params, width, depth or None) -> params as trained.
SizeRule = Callable[[dict, float, "int | None"], dict]


class NoParams(Schema):
    pass


@dataclass(frozen=True)
class FieldInfo:
    """A field of a data source: `image` of shape (8, 8), `target` the label."""

    shape: Shape | None
    is_label: bool = False
    is_text: bool = False


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    summary: str
    params: type[Schema] = NoParams
    positional: tuple[str, ...] = ()  # parameters that may be given without their name, in order
    # architectures, fusion strategies, conditions: the modality types taken
    accepts: frozenset[str] = frozenset(MODALITY_TYPES)
    backend: str = ""  # architectures: "torch" or "sklearn"
    # architectures: whether a fit uses the seed; False for a deterministic estimator, whose fits are
    # one fit for every seed (on all the training data: a data fraction below 1 subsamples by seed)
    seeded: bool = True
    representations: tuple[str, ...] = ()  # layers whose activations a learner exposes
    late: bool = False  # fusion: combines learners' outputs rather than modalities
    fields: Mapping[str, FieldInfo] | None = None  # sources; None when only the data can tell
    shape_rule: ShapeRule | None = None  # transforms; None keeps the shape
    size_rule: SizeRule | None = None  # architectures: how width and depth apply; None ignores both
    # architectures: the named layers of a network of these parameters, as its module tree names them
    # (the runtime's forward hooks); None where only the network can tell (checked at run time: E370)
    layer_names: Callable[[dict], list[str]] | None = None
    implementation: str = ""  # plugins: the module whose import registers the implementation
    # architectures: a pretrained backbone's library ("hf", "timm", "torchvision", "module"; see
    # compiler/backbones.py), read by an `extract` node; "" for a network trained from scratch
    backbone: str = ""
    # metrics
    scope: str = ""  # run | across | pairwise | population | test | cluster
    needs_representations: bool = False
    references: Mapping[str, str] = field(default_factory=dict)  # param -> "learner" | "metric"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"registry entry {self.name!r} has unknown kind {self.kind!r}")
        unknown = set(self.positional) - set(self.params.model_fields)
        if unknown:
            raise ValueError(f"registry entry {self.name!r}: positional {sorted(unknown)} are not parameters")


class Registry:
    def __init__(self, entries: Iterable[Entry]) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}
        for item in entries:
            self.add(item)

    def add(self, item: Entry) -> None:
        key = (item.kind, item.name)
        if key in self._entries:
            raise ValueError(f"registry entry {item.kind} {item.name!r} is registered twice")
        self._entries[key] = item

    def get(self, kind: str, name: str) -> Entry | None:
        return self._entries.get((kind, name))

    def names(self, kind: str) -> list[str]:
        return sorted(name for entry_kind, name in self._entries if entry_kind == kind)

    def entries(self, kind: str | None = None) -> list[Entry]:
        return [e for (k, _), e in sorted(self._entries.items()) if kind is None or k == kind]


@cache
def default_registry() -> Registry:
    """The built-in entries, plus those of installed plugins."""
    from .catalog import builtin_entries

    registry = Registry(builtin_entries())
    for point in entry_points(group=ENTRY_POINT_GROUP):
        for item in point.load()():
            registry.add(item)
    return registry
