"""`homogc figures RUN_DIR --format svg|png|pdf`: every figure of a run's report as its own file,
for a paper. The figures are the report's (`report/sections.py`, built from `results.json`),
rendered without a browser by vl-convert; they are written to RUN_DIR/figures/ (or `--out`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("svg", "png", "pdf")


def export_figures(directory: Path, fmt: str, out: Path | None = None) -> list[Path]:
    """Write every figure of the run directory's report as `<name>.<fmt>`; the files written."""
    from .report import figures, sections
    from .results import load_results

    target = Path(out) if out is not None else Path(directory) / "figures"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for figure in sections.all_figures(load_results(directory)):
        path = target / f"{figure.name}.{fmt}"
        path.write_bytes(figures.export(figure, fmt))
        written.append(path)
    return written


def cmd_figures(args: argparse.Namespace, reporter: object) -> int:
    from .commands import EXIT_OK, EXIT_USAGE

    directory = Path(args.run_dir)
    if not (directory / "results.json").is_file():
        print(f"error: '{directory}' is not a finished run directory (no results.json)", file=sys.stderr)
        return EXIT_USAGE
    try:
        written = export_figures(directory, args.figure_format, Path(args.out) if args.out else None)
    except OSError as error:
        print(f"error: cannot write the figures: {error}", file=sys.stderr)
        return EXIT_USAGE
    for path in written:
        print(path)
    if not written:
        print(f"{directory}: the report has no figure", file=sys.stderr)
    return EXIT_OK
