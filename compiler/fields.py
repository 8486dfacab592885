"""Field types for the typed schemas of blocks and registry entries.

Schemas are pydantic models in strict mode (an integer is accepted for a float,
nothing else is converted). These annotated types add what the language needs:
choices written as bare names, text written in quotes, references to
declarations, and calls to registry entries of a given kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator
from pydantic_core import PydanticCustomError

from .values import Invocation, RangeValue, Symbol


class Schema(BaseModel):
    """Base of every block and parameter schema: strict, closed, immutable."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, arbitrary_types_allowed=True, populate_by_name=True
    )


def _bare_name(value: Any) -> Any:
    if isinstance(value, Symbol):
        return value.name
    raise PydanticCustomError("name_type", "expected a bare name")


def choice(*names: str) -> Any:
    """One of `names`, written as a bare name: `kernel = linear`."""
    return Annotated[Literal[names], BeforeValidator(_bare_name)]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise PydanticCustomError("text_type", 'expected text in double quotes, as in "..."')


Text = Annotated[str, PlainValidator(_text)]


def _symbol(value: Any) -> Symbol:
    if isinstance(value, Symbol):
        return value
    raise PydanticCustomError("reference_type", "expected the name of a declaration")


Ref = Annotated[Symbol, PlainValidator(_symbol)]
"""A reference to a declaration (`pixels`, `digits.image`), resolved by the compiler."""


@dataclass(frozen=True)
class Registry:
    """Marks an `Invocation` field: which kind of registry entry it names."""

    kind: str


def _invocation(value: Any) -> Invocation:
    if isinstance(value, Invocation):
        return value
    if isinstance(value, Symbol):
        return Invocation.of_symbol(value)
    raise PydanticCustomError("invocation_type", "expected a name or a call, such as adam(lr = 1e-3)")


def entry(kind: str) -> Any:
    """A call to (or the bare name of) a registry entry of `kind`: `adam(lr = 1e-3)`, `standardize`."""
    return Annotated[Invocation, PlainValidator(_invocation), Registry(kind)]


_DEVICE = re.compile(r"(auto|cpu|mps|cuda(:\d+)?)")


def _device(value: Any) -> str:
    name = value.name if isinstance(value, Symbol) else value
    if isinstance(name, str) and _DEVICE.fullmatch(name):
        return name
    raise PydanticCustomError("device", 'expected auto, cpu, cuda, mps or a string such as "cuda:1"')


Device = Annotated[str, PlainValidator(_device)]


def _sweep_values(value: Any) -> Any:
    if isinstance(value, (RangeValue, list, Invocation)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value]
    raise PydanticCustomError("sweep_type", "expected a range such as 0..4, a list, or zip(...)")


SweepValues = Annotated[Any, PlainValidator(_sweep_values)]
