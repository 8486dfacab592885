"""Reading spec files, with I/O problems reported as diagnostics rather than tracebacks."""

from __future__ import annotations

import os
from pathlib import Path

from . import codes
from .diagnostics import Diagnostic, SpecError
from .syntax import Span


def read_spec(path: str | os.PathLike[str]) -> str:
    """The text of a spec file; raises SpecError (exit status 2) when it cannot be read."""
    name = str(path)
    where = Span(name, 1, 1, 1, 1)

    def fail(code, message: str, hint: str) -> SpecError:
        return SpecError([Diagnostic(code, message, where, hint=hint)])

    file = Path(path)
    if file.is_dir():
        raise fail(codes.IS_A_DIRECTORY, f"'{name}' is a directory", "give the path of a .homog file")
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise fail(
            codes.FILE_NOT_FOUND, f"no such file: '{name}'", "check the path and its spelling"
        ) from None
    except OSError as error:
        raise fail(
            codes.UNREADABLE, f"cannot read '{name}': {error.strerror}", "check the file's permissions"
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise SpecError(
            [
                Diagnostic(
                    codes.NOT_UTF8,
                    f"'{name}' is not UTF-8 text (byte 0x{data[error.start]:02x})",
                    Span(name, line, column, line, column + 1),
                    hint="save the file as UTF-8",
                )
            ]
        ) from None
    return spec_text(name, text)


def spec_text(name: str, text: str) -> str:
    """A spec's decoded text as the front end takes it (no byte-order mark); raises SpecError when
    it holds no declarations."""
    text = text.removeprefix("\ufeff")
    if not any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
        where = Span(name, 1, 1, 1, 1)
        raise SpecError(
            [
                Diagnostic(
                    codes.EMPTY_FILE,
                    f"'{name}' holds no declarations",
                    where,
                    hint="start with an 'experiment { ... }' block",
                )
            ]
        )
    return text
