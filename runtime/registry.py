"""Implementations of the registry's entries, found by the entry's (kind, name).

The compiler's registry says what a spec may name and with which parameters;
this one says what computes it. An implementation registers itself where it
is written, with `@implements(kind, name)`, so no list of names is kept twice.
Modules are imported only when an entry of their kind is first asked for (a
cached re-run imports no torch). A plugin's entry names the module that
registers its implementation (`Entry.implementation`), which is imported the
same way.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Where the built-in implementations of each kind live.
MODULES: dict[str, tuple[str, ...]] = {
    "source": ("homog.runtime.sources", "homog.runtime.folder_sources"),
    "split": ("homog.runtime.splits",),
    "transform": ("homog.runtime.transforms",),
    "augment": ("homog.runtime.learners.augment",),
    "condition": ("homog.runtime.transforms",),
    "architecture": (
        "homog.runtime.learners.sklearn_backend",
        "homog.runtime.architectures",
        "homog.runtime.backbones.network",
    ),
    "fusion": ("homog.runtime.nodes.late_fuse", "homog.runtime.architectures"),
    "optimizer": ("homog.runtime.learners.optimizers",),
    "schedule": ("homog.runtime.learners.schedules",),
    "stopping": ("homog.runtime.learners.schedules",),
    "metric": ("homog.runtime.evaluation",),
    "external": ("homog.runtime.external.readers",),
}

_FOUND: dict[tuple[str, str], Any] = {}
_IMPORTED: set[str] = set()


def implements(kind: str, name: str) -> Callable[[T], T]:
    """Register the decorated object as the implementation of the entry (kind, name)."""

    def register(implementation: T) -> T:
        key = (kind, name)
        if key in _FOUND and _FOUND[key] is not implementation:
            raise ValueError(f"{kind} {name!r} is implemented twice")
        _FOUND[key] = implementation
        return implementation

    return register


def implementation(kind: str, name: str) -> Any:
    """The implementation of (kind, name); a KeyError when nothing implements it."""
    key = (kind, name)
    for module in MODULES.get(kind, ()):
        if key in _FOUND:
            break
        _import(module)
    if key not in _FOUND:
        from homog.compiler.registry import default_registry

        entry = default_registry().get(kind, name)
        if entry is not None and entry.implementation:
            _import_plugin(kind, name, entry.implementation)
    if key not in _FOUND:
        raise KeyError(f"no implementation of {kind} {name!r}")
    return _FOUND[key]


def _import_plugin(kind: str, name: str, module: str) -> None:
    from . import errors

    try:
        _import(module)
    except ImportError as error:
        raise errors.RunError(
            errors.IMPLEMENTATION_MISSING,
            f"{kind} '{name}' is implemented in module '{module}', which cannot be imported: {error}",
            "install the plugin that provides it (pip install ...), or check its entry's `implementation`",
        ) from error
    if (kind, name) not in _FOUND:
        raise errors.RunError(
            errors.IMPLEMENTATION_MISSING,
            f"module '{module}' does not register {kind} '{name}'",
            f"decorate its implementation with @implements({kind!r}, {name!r})",
        )


def _import(module: str) -> None:
    if module in _IMPORTED:
        return
    imported = importlib.import_module(module)
    _IMPORTED.add(module)
    if hasattr(imported, "__path__"):  # a package of implementations: every module in it registers
        for found in pkgutil.iter_modules(imported.__path__):
            _import(f"{module}.{found.name}")
