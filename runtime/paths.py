"""Where a run reads and writes: paths resolve like the spec's data paths, from the spec's folder
(the report path, the cache `.homog`, the run directories `runs/`), unless the command line gives
`--cache` or `--runs` (relative to the current directory, as a command line's paths are). So the
same spec run from any folder shares its cache. The report path is checked before any work, and
written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from homog.dsl.syntax import Span

from . import errors, rundir
from .cache import io_failure

if TYPE_CHECKING:
    from .run import Spec


def cache_folder(spec_path: Path, given: Path | str | None) -> Path:
    """The cache: `--cache` as given (from the current directory), else `.homog` beside the spec."""
    return Path(given) if given is not None else Path(spec_path).parent / ".homog"


def runs_folder(spec_path: Path, given: Path | str | None) -> Path:
    """Where run directories go: `--runs` as given, else `runs` beside the spec."""
    return Path(given) if given is not None else Path(spec_path).parent / "runs"


def report_path(spec: Spec) -> Path:
    """The spec's `report { path = ... }`, from the spec's folder (like its data paths)."""
    return Path(spec.path).parent / Path(spec.compilation.ir.report.path).expanduser()


def check_report_path(spec: Spec) -> Path:
    """The report path, checked before any work: not a folder, not the spec, not a data file the
    spec reads, and in a folder that exists or can be made, and can be written."""
    written = spec.compilation.ir.report.path
    target = report_path(spec)
    origin = spec.compilation.settings.get("report.path")  # None: the default path
    hint = 'name an HTML file of its own, e.g. path = "reports/name.html"'
    resolved = target.resolve()
    if written.endswith(("/", os.sep)) or target.is_dir():
        message = f"the report path '{written}' is a folder ({target}); the report is one HTML file"
        raise errors.RunError(errors.REPORT_PATH_INVALID, message, hint, origin)
    if resolved == Path(spec.path).resolve():
        message = f"the report path '{written}' is the spec itself: writing the report would overwrite it"
        raise errors.RunError(errors.REPORT_PATH_INVALID, message, hint, origin)
    if resolved in {Path(p).resolve() for p in spec.digests}:
        message = f"the report path '{written}' is a data file the spec reads ({target})"
        raise errors.RunError(errors.REPORT_PATH_INVALID, message, hint, origin)
    folder = resolved.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        message = f"the report path '{written}' is inside '{folder}', which is a file, not a folder"
        raise errors.RunError(errors.REPORT_PATH_INVALID, message, hint, origin)
    if not os.access(folder, os.W_OK | os.X_OK):
        message = f"cannot write the report at '{target}': '{folder}' is not writable"
        hint = "choose a report path in a folder you may write, or change the folder's permissions"
        raise errors.RunError(errors.IO_FAILED, message, hint, origin)
    return target


def write_atomically(path: Path, text: str, origin: Span | None = None) -> None:
    """The report at its path: its folder made, then a temporary file renamed over it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        rundir.write_text(path, text)
    except OSError as error:
        raise io_failure(error, path, "write the report").located(origin) from error
