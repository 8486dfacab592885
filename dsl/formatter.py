"""The canonical layout of a spec: `homogc fmt`.

One way to write every spec, so that `git diff` of two experiments shows only
what changed: two-space indentation, one member per line, `=` aligned within a
block, one blank line between top-level blocks (blank lines inside a block are
kept, at most one), lists and calls inline when they fit in WIDTH columns and
wrapped one item per line, with a trailing comma, when they do not. Comments
stay where they were: on their own line before what follows them, or at the
end of the line they ended. Numbers keep the text they were written with.
"""

from __future__ import annotations

from .syntax import (
    Argument,
    Attribute,
    Block,
    Boolean,
    Call,
    Comment,
    Document,
    Float,
    Integer,
    ListValue,
    Member,
    Name,
    Range,
    Reference,
    Span,
    String,
    Value,
)

WIDTH = 88
INDENT = "  "


def format_document(document: Document) -> str:
    """Format a parsed spec that has no syntax errors."""
    return _Formatter(document.comments).document(document)


def _start(span: Span) -> tuple[int, int]:
    return (span.line, span.column)


def _end(span: Span) -> tuple[int, int]:
    return (span.end_line, span.end_column)


class _Formatter:
    def __init__(self, comments: tuple[Comment, ...]) -> None:
        self.comments = sorted(comments, key=lambda c: _start(c.span))
        self.next = 0  # index of the first comment not yet placed
        self.lines: list[str] = []
        self.last_line = 0  # source line of the last thing placed, for blank lines

    # -- comments -----------------------------------------------------------

    def _take_before(self, position: tuple[int, int]) -> list[Comment]:
        taken = []
        while self.next < len(self.comments) and _start(self.comments[self.next].span) < position:
            taken.append(self.comments[self.next])
            self.next += 1
        return taken

    def _take_trailing(self, span: Span) -> str:
        if self.next < len(self.comments):
            comment = self.comments[self.next]
            if comment.span.line == span.end_line and _start(comment.span) >= _end(span):
                self.next += 1
                self.last_line = comment.span.line
                return f"  {comment.text}"
        return ""

    def _has_comment_within(self, span: Span) -> bool:
        return self.next < len(self.comments) and _start(self.comments[self.next].span) < _end(span)

    def _emit_comments_before(self, position: tuple[int, int], indent: str) -> None:
        for comment in self._take_before(position):
            self._blank_line_if_gap(comment.span.line)
            self.lines.append(f"{indent}{comment.text}")
            self.last_line = comment.span.end_line

    def _blank_line_if_gap(self, line: int) -> None:
        if self.last_line and line - self.last_line > 1 and self.lines and self.lines[-1] != "":
            self.lines.append("")

    # -- structure ----------------------------------------------------------

    def document(self, document: Document) -> str:
        for index, member in enumerate(document.members):
            if index > 0 and self.lines and self.lines[-1] != "":
                self.lines.append("")
            self._member(member, "", 0)
        self._emit_comments_before((10**9, 0), "")
        return "\n".join(self.lines).strip("\n") + "\n"

    def _member(self, member: Member, indent: str, key_width: int) -> None:
        self._emit_comments_before(_start(member.span), indent)
        self._blank_line_if_gap(member.span.line)
        if isinstance(member, Block):
            self._block(member, indent)
            return
        prefix = f"{member.key.text.ljust(key_width)} = " if isinstance(member, Attribute) else ""
        self._value_lines(member.value, indent, prefix, suffix="")
        self.lines[-1] += self._take_trailing(member.span)
        self.last_line = max(self.last_line, member.span.end_line)

    def _block(self, block: Block, indent: str) -> None:
        header = f"{indent}{block.kind.text}"
        if block.label is not None:
            header += " " + _inline(block.label)
        if not block.members and not self._has_comment_within(block.span):
            self.lines.append(header + " {}" + self._take_trailing(block.span))
            self.last_line = block.span.end_line
            return
        self.lines.append(header + " {")
        self.last_line = block.span.line
        # A comment on the header line, after '{', stays there.
        if self.next < len(self.comments) and self.comments[self.next].span.line == block.span.line:
            first = block.members[0].span if block.members else block.span
            if _start(self.comments[self.next].span) < _start(first) or not block.members:
                self.lines[-1] += f"  {self.comments[self.next].text}"
                self.next += 1
        inner = indent + INDENT
        key_width = max((len(m.key.text) for m in block.members if isinstance(m, Attribute)), default=0)
        for index, member in enumerate(block.members):
            # Nested blocks stand apart from their siblings, as top-level blocks do.
            previous = block.members[index - 1] if index else None
            if previous is not None and (isinstance(member, Block) or isinstance(previous, Block)):
                self.lines.append("")
            self._member(member, inner, key_width)
        self._emit_comments_before(_end(block.span), inner)
        self.lines.append(f"{indent}}}" + self._take_trailing(block.span))
        self.last_line = block.span.end_line

    # -- values -------------------------------------------------------------

    def _value_lines(self, value: Value, indent: str, prefix: str, suffix: str) -> None:
        """Append `indent + prefix + value + suffix`, wrapping the value if it must."""
        text = _inline(value)
        wrappable = isinstance(value, (ListValue, Call)) and _children(value)
        fits = len(indent) + len(prefix) + len(text) + len(suffix) <= WIDTH
        if not wrappable or (fits and not self._has_comment_within(value.span)):
            self.lines.append(f"{indent}{prefix}{text}{suffix}")
            return
        opener, closer = ("[", "]") if isinstance(value, ListValue) else (f"{_inline(value.callee)}(", ")")
        self.lines.append(f"{indent}{prefix}{opener}")
        inner = indent + INDENT
        for child in _children(value):
            self._emit_comments_before(_start(child.span), inner)
            if isinstance(child, Argument) and child.name is not None:
                self._value_lines(child.value, inner, f"{child.name.text} = ", ",")
            else:
                item = child.value if isinstance(child, Argument) else child
                self._value_lines(item, inner, "", ",")
            self.lines[-1] += self._take_trailing(child.span)
        self._emit_comments_before(_end(value.span), inner)
        self.lines.append(f"{indent}{closer}{suffix}")


def _children(value: ListValue | Call) -> tuple:
    return value.items if isinstance(value, ListValue) else value.args


def _inline(node: Value | Name | Argument) -> str:
    if isinstance(node, Name):
        return node.text
    if isinstance(node, Integer):
        return str(node.value)
    if isinstance(node, Float):
        return node.text
    if isinstance(node, String):
        return quote(node.value)
    if isinstance(node, Boolean):
        return "true" if node.value else "false"
    if isinstance(node, Reference):
        return node.dotted
    if isinstance(node, Range):
        return f"{node.start}..{node.stop}"
    if isinstance(node, ListValue):
        return "[" + ", ".join(_inline(item) for item in node.items) + "]"
    if isinstance(node, Argument):
        value = _inline(node.value)
        return value if node.name is None else f"{node.name.text} = {value}"
    if isinstance(node, Call):
        return f"{node.callee.dotted}(" + ", ".join(_inline(arg) for arg in node.args) + ")"
    raise TypeError(f"cannot format {type(node).__name__}")


def quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'
