"""The syntax tree of a `.homog` spec.

Small frozen dataclasses, one per construct. Every node carries the span of the
text it came from; spans are left out of equality, so two trees compare equal
when they say the same thing, however the text was laid out. That is what the
formatter's round-trip property is stated in.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns count from 1, ends are exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def join(self, other: Span) -> Span:
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# Spans are metadata: not compared, not shown in reprs.
_SPAN = {"compare": False, "repr": False, "kw_only": True}


@dataclass(frozen=True)
class Name:
    text: str
    span: Span = field(**_SPAN)


@dataclass(frozen=True)
class Integer:
    value: int
    span: Span = field(**_SPAN)


@dataclass(frozen=True)
class Float:
    value: float
    # The literal as written (`1e-3`), so the formatter never rewrites a number.
    text: str = field(compare=False)
    span: Span = field(**_SPAN)


@dataclass(frozen=True)
class String:
    value: str
    span: Span = field(**_SPAN)


@dataclass(frozen=True)
class Boolean:
    value: bool
    span: Span = field(**_SPAN)


@dataclass(frozen=True)
class Reference:
    """A bare or dotted name: `auto`, `pixels`, `digits.image`, `sklearn.digits`."""

    parts: tuple[Name, ...]
    span: Span = field(**_SPAN)

    @property
    def dotted(self) -> str:
        return ".".join(part.text for part in self.parts)


@dataclass(frozen=True)
class ListValue:
    items: tuple[Value, ...]
    span: Span = field(**_SPAN)


@dataclass(frozen=True)
class Range:
    """`start..stop`, both ends included: `0..4` is five seeds."""

    start: int
    stop: int
    span: Span = field(**_SPAN)


@dataclass(frozen=True)
class Argument:
    name: Name | None
    value: Value
    span: Span = field(**_SPAN)


@dataclass(frozen=True)
class Call:
    callee: Reference
    args: tuple[Argument, ...]
    span: Span = field(**_SPAN)


Value = Integer | Float | String | Boolean | Reference | ListValue | Range | Call


@dataclass(frozen=True)
class Attribute:
    key: Name
    value: Value
    span: Span = field(**_SPAN)


@dataclass(frozen=True)
class Entry:
    """A bare value as a member, as in `metrics { accuracy, spread(accuracy) }`."""

    value: Value
    span: Span = field(**_SPAN)


@dataclass(frozen=True)
class Block:
    kind: Name
    label: Name | String | None
    members: tuple[Member, ...]
    span: Span = field(**_SPAN)

    @property
    def header(self) -> str:
        if self.label is None:
            return self.kind.text
        label = self.label.text if isinstance(self.label, Name) else f'"{self.label.value}"'
        return f"{self.kind.text} {label}"


Member = Attribute | Block | Entry


@dataclass(frozen=True)
class Comment:
    text: str
    span: Span = field(**_SPAN)


@dataclass(frozen=True)
class Document:
    members: tuple[Member, ...]
    comments: tuple[Comment, ...]
    path: str = field(compare=False)
    source: str = field(compare=False, repr=False)

    @property
    def blocks(self) -> tuple[Block, ...]:
        return tuple(m for m in self.members if isinstance(m, Block))
