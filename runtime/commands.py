"""The commands of `homogc`, one function each, and the reporter of their diagnostics.

Nothing here imports torch until a command needs to run models, and the front end
and compiler are imported when a command first needs them: a re-run of an
unchanged spec (see `rerun.py`) needs neither.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from homog.compiler.driver import Compilation
    from homog.dsl.diagnostics import Diagnostic

EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3


class Reporter:
    """Prints diagnostics as text (stderr) or JSON lines (stdout), and counts them."""

    # A plain class, not a dataclass: importing dataclasses costs a re-run of an unchanged spec
    # (which imports little else) a tenth of its time.
    def __init__(self, fmt: str = "text", color: bool = False) -> None:
        self.fmt, self.color = fmt, color
        self.sources: dict[str, str] = {}
        self.errors = 0
        self.warnings = 0

    def report(self, diagnostics: Sequence[Diagnostic]) -> None:
        from homog.dsl.diagnostics import Severity, render, render_json

        for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key):
            if diagnostic.severity is Severity.ERROR:
                self.errors += 1
            else:
                self.warnings += 1
            if self.fmt == "json":
                print(render_json(diagnostic), flush=True)
            else:
                print(render(diagnostic, self.sources, self.color) + "\n", file=sys.stderr, flush=True)


def load_text(path: str, reporter: Reporter, text: str | None = None) -> tuple[str | None, int]:
    """Read a spec (or take its text, already read); on failure report it and return the exit
    status it earns."""
    from homog.dsl.diagnostics import SpecError
    from homog.dsl.source import read_spec, spec_text

    try:
        text = read_spec(path) if text is None else spec_text(path, text)
    except SpecError as error:
        reporter.report(error.diagnostics)
        return None, EXIT_USAGE
    reporter.sources[path] = text
    return text, EXIT_OK


def _compile(path: str, reporter: Reporter, strict: bool = False) -> tuple[Compilation | None, int]:
    """Read and compile one spec, reporting its diagnostics; the exit status it earns."""
    from homog.compiler.driver import compile_text

    text, status = load_text(path, reporter)
    if text is None:
        return None, status
    compilation = compile_text(text, path, options=_check_options(path))
    reporter.report(compilation.diagnostics)
    failed = not compilation.ok or (strict and compilation.diagnostics)
    return compilation, EXIT_SPEC if failed else EXIT_OK


def _check_options(path: str):
    """`check` reads what a backbone's files say (a JSON file; `run` also hashes the weights)."""
    from pathlib import Path

    from homog.compiler.driver import Options

    from .backbones.files import describe

    return Options(
        backbone=lambda library, params: describe(library, params, Path(path).parent, hashing=False)
    )


def cmd_check(args: argparse.Namespace, reporter: Reporter) -> int:
    status = EXIT_OK
    for path in args.files:
        _, file_status = _compile(path, reporter, args.strict)
        status = max(status, file_status)
        if file_status == EXIT_OK and reporter.fmt == "text":
            print(f"{path}: ok", file=sys.stderr)
    return status


def cmd_report(args: argparse.Namespace, reporter: Reporter) -> int:
    from pathlib import Path

    from .report.build import write_report

    directory = Path(args.run_dir)
    if not (directory / "results.json").is_file():
        print(f"error: '{directory}' is not a finished run directory (no results.json)", file=sys.stderr)
        return EXIT_USAGE
    print(write_report(directory, Path(args.out) if args.out else None))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace, reporter: Reporter) -> int:
    from pathlib import Path

    from .report.build import diff_html, diff_runs, diff_text, latest_run_of

    directories = []
    for given in (args.a, args.b):
        path = Path(given)
        if path.is_file():  # a spec: compare its latest run, if it has one (in `runs` beside it)
            runs = Path(args.runs) if args.runs is not None else path.parent / "runs"
            found = latest_run_of(path.read_text(encoding="utf-8"), runs)
            if found is None:
                print(
                    f"error: no run of '{given}' in {runs}/; run it first: homogc run {given}",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            path = found
        if not (path / "results.json").is_file():
            print(f"error: '{given}' is not a finished run directory (no results.json)", file=sys.stderr)
            return EXIT_USAGE
        directories.append(path)
    diff = diff_runs(*directories)
    sys.stdout.write(diff_text(diff))
    if args.html:
        Path(args.html).write_text(diff_html(diff), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    return EXIT_OK


def cmd_graph(args: argparse.Namespace, reporter: Reporter) -> int:
    """The graph `run` would execute: with the SHA-256 of data files in their load nodes' ids."""
    from pathlib import Path

    from .run import compile_spec

    text, status = load_text(args.file, reporter)
    if text is None:
        return status
    compilation = compile_spec(Path(args.file), text).compilation
    reporter.report(compilation.diagnostics)
    if not compilation.ok or compilation.graph is None:
        return EXIT_SPEC
    sys.stdout.write(compilation.graph.render(args.graph_format))
    return EXIT_OK


def cmd_show(args: argparse.Namespace, reporter: Reporter) -> int:
    compilation, status = _compile(args.file, reporter)
    if status != EXIT_OK or compilation is None or compilation.ir is None:
        return status or EXIT_SPEC
    print(json.dumps(json.loads(compilation.ir.canonical_json()), indent=2, sort_keys=True))
    return EXIT_OK


def cmd_fmt(args: argparse.Namespace, reporter: Reporter) -> int:
    status = EXIT_OK
    for path in args.files:
        text, load_status = load_text(path, reporter)
        if text is None:
            status = max(status, load_status)
            continue
        from homog.dsl.formatter import format_document
        from homog.dsl.parser import parse

        result = parse(text, path)
        if not result.ok:
            reporter.report(result.diagnostics)
            status = max(status, EXIT_SPEC)
            continue
        formatted = format_document(result.document)
        if formatted == text:
            continue
        if args.diff:
            import difflib

            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(keepends=True), formatted.splitlines(keepends=True), path, path
                )
            )
        if args.check or args.diff:
            print(f"would reformat {path}", file=sys.stderr)
            status = max(status, EXIT_SPEC)
        else:
            with open(path, "w", encoding="utf-8") as file:
                file.write(formatted)
            print(f"reformatted {path}", file=sys.stderr)
    return status
