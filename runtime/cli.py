"""`homogc`: a thin driver over the front end, the compiler and the runtime.

Exit status: 0 clean, 1 errors in a spec, 2 usage or I/O errors, 3 a bug in
homogc (reported with a request to file it; the traceback only with --debug).
The commands themselves are in `commands.py` and `run_commands.py`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .commands import EXIT_BUG, Reporter, cmd_check, cmd_diff, cmd_fmt, cmd_graph, cmd_report, cmd_show
from .export import FORMATS, cmd_figures
from .run_commands import cmd_cache_verify, cmd_clean, cmd_run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="homogc",
        description="Compile and run .homog specs: are our models becoming the same?",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument(
        "--format", choices=["text", "json"], default="text", help="diagnostics as text or JSON lines"
    )
    parser.add_argument("--version", action=_Version, help="print homogc's version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _inspecting(commands)
    _running(commands)
    _editing(commands)
    _global_options_after_commands(parser)
    return parser


def _editing(commands) -> None:
    """Commands for shells and editors."""
    completion = commands.add_parser("completion", help="print a shell completion script (bash, zsh or fish)")
    completion.add_argument("shell", choices=["bash", "zsh", "fish"])
    completion.set_defaults(handler=cmd_completion)

    lsp = commands.add_parser(
        "lsp", help="start the language server for editors (stdio; needs the lsp extra)"
    )
    lsp.set_defaults(handler=cmd_lsp)


def _global_options_after_commands(parser: argparse.ArgumentParser) -> None:
    """--format and --debug are accepted after the command too (`homogc check --format json F`),
    by every command that has no --format of its own (`graph --format` is the graph's format)."""
    for sub in _subparsers(parser):
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        if "--format" not in sub._option_string_actions:
            sub.add_argument(
                "--format",
                choices=["text", "json"],
                default=argparse.SUPPRESS,
                help="diagnostics as text or JSON lines",
            )
        _global_options_after_commands(sub)


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    return [
        sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for sub in dict.fromkeys(action.choices.values())
    ]


class _Version(argparse.Action):
    """`--version`: the installed homogc's version, looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from importlib import metadata

        try:
            version = metadata.version("homogc")
        except metadata.PackageNotFoundError:
            version = "unknown (not installed)"
        print(f"homogc {version}")
        parser.exit()


def cmd_lsp(args: argparse.Namespace, reporter) -> int:
    try:
        from .lsp import main as serve
    except ImportError as error:  # pygls is an optional extra
        print(f"error: the language server needs pygls: pip install 'homogc[lsp]' ({error})", file=sys.stderr)
        return 2
    return serve()


def cmd_completion(args: argparse.Namespace, reporter) -> int:
    from .completion import script

    sys.stdout.write(script(args.shell, build_parser()))
    return 0


def _inspecting(commands) -> None:
    """Commands that read specs and run nothing."""

    check = commands.add_parser("check", help="report every error in specs without running them")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--strict", action="store_true", help="fail on warnings too")
    check.set_defaults(handler=cmd_check)

    graph = commands.add_parser("graph", help="print the execution graph a spec compiles to")
    graph.add_argument("file", metavar="FILE")
    graph.add_argument(
        "--format",
        dest="graph_format",
        choices=["text", "json", "dot", "mermaid"],
        default="text",
        help="an indented tree (text), JSON, Graphviz dot or Mermaid",
    )
    graph.set_defaults(handler=cmd_graph)

    show = commands.add_parser("show", help="print what a spec means")
    show.add_argument("file", metavar="FILE")
    show.add_argument(
        "--resolved",
        action="store_true",
        required=True,
        help="the experiment IR: every default filled in, every reference resolved (JSON)",
    )
    show.set_defaults(handler=cmd_show)

    fmt = commands.add_parser("fmt", help="rewrite specs in the canonical layout")
    fmt.add_argument("files", nargs="+", metavar="FILE")
    fmt.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    fmt.add_argument("--diff", action="store_true", help="change nothing; print what would change")
    fmt.set_defaults(handler=cmd_fmt)


def _running(commands) -> None:
    """Commands that run specs or read what runs wrote."""
    run = commands.add_parser("run", help="run a spec: train, predict, measure; a re-run reads the cache")
    run.add_argument("file", metavar="FILE")
    run.add_argument(
        "--device", type=_device, help="override the spec's device: auto, cpu, cuda, cuda:N, mps"
    )
    run.add_argument(
        "--jobs", type=int, default=1, help="tasks run at once (1: one at a time, for debugging)"
    )
    run.add_argument(
        "--smoke",
        action="store_true",
        help="a reduced run: few epochs, small forests, 300 examples; marked smoke in every file it writes, "
        "its report beside the full one (NAME.smoke.html)",
    )
    run.add_argument(
        "--explain", action="store_true", help="say for each node whether it is cached, and if not why"
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would be computed and why, and where it would be written; run and write nothing",
    )
    run.add_argument(
        "--plan",
        action="store_true",
        help="print where each torch group would run, with its memory estimate; train nothing",
    )
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.add_argument(
        "--executor", choices=["local", "ray"], default="local", help="local threads (default) or Ray tasks"
    )
    run.add_argument(
        "--address", help="with --executor ray: the cluster's address (default: a local instance)"
    )
    run.add_argument("--cache", help="the cache folder (default: .homog in the spec's folder)")
    run.add_argument("--runs", help="where run directories are written (default: runs in the spec's folder)")
    run.set_defaults(handler=cmd_run)

    report = commands.add_parser("report", help="render a run directory's report again")
    report.add_argument("run_dir", metavar="RUN_DIR")
    report.add_argument("--out", help="also write the page here")
    report.set_defaults(handler=cmd_report)

    figures = commands.add_parser("figures", help="write each figure of a run's report as SVG, PNG or PDF")
    figures.add_argument("run_dir", metavar="RUN_DIR")
    figures.add_argument(
        "--format", dest="figure_format", choices=FORMATS, default="svg", help="file format (default: svg)"
    )
    figures.add_argument("--out", help="the folder to write them to (default: RUN_DIR/figures)")
    figures.set_defaults(handler=cmd_figures)

    diff = commands.add_parser("diff", help="what changed between two runs: the spec and the key numbers")
    diff.add_argument("a", metavar="A", help="a run directory, or a spec (its latest run)")
    diff.add_argument("b", metavar="B", help="a run directory, or a spec (its latest run)")
    diff.add_argument("--runs", help="where to look for the runs of a spec (default: runs beside it)")
    diff.add_argument("--html", metavar="OUT", help="also write the diff as an HTML page")
    diff.set_defaults(handler=cmd_diff)

    clean = commands.add_parser("clean", help="empty the cache")
    clean.add_argument("spec", nargs="?", metavar="SPEC", help="empty the cache beside this spec")
    clean.add_argument("--cache", help="the cache folder (default: beside SPEC, else .homog here)")
    clean.set_defaults(handler=cmd_clean)

    cache = commands.add_parser("cache", help="look after the cache")
    actions = cache.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify", help="check every cache entry against its checksums; exit 1 if any is damaged"
    )
    verify.add_argument("spec", nargs="?", metavar="SPEC", help="verify the cache beside this spec")
    verify.add_argument("--cache", help="the cache folder (default: beside SPEC, else .homog here)")
    verify.add_argument(
        "--repair", action="store_true", help="remove damaged entries, so that the next run recomputes them"
    )
    verify.set_defaults(handler=cmd_cache_verify)


def _device(text: str) -> str:
    """A device name as a spec may write it; anything else is a usage error (exit 2)."""
    index = text.removeprefix("cuda:")
    if text in ("auto", "cpu", "cuda", "mps") or (text.startswith("cuda:") and index.isdigit()):
        return text
    raise argparse.ArgumentTypeError(f"'{text}' is not a device: use auto, cpu, cuda, cuda:N or mps")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on usage errors
    color = args.format == "text" and sys.stderr.isatty() and "NO_COLOR" not in os.environ
    reporter = Reporter(fmt=args.format, color=color)
    try:
        return args.handler(args, reporter)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`homogc graph ... | head`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # a bug in homogc, never a mistake in a spec
        from homog.dsl import codes
        from homog.dsl.diagnostics import Diagnostic

        reporter.report(
            [
                Diagnostic(
                    codes.INTERNAL,
                    f"internal error: {type(error).__name__}: {error}",
                    None,
                    hint="this is a bug in homogc, not in your spec; please report it on homogc's issue "
                    "tracker with the spec and the output of the same command run with --debug",
                )
            ]
        )
        if args.debug:
            import traceback

            traceback.print_exc()
        return EXIT_BUG


def entry_point() -> None:
    status = main()
    if "torch" in sys.modules and "ray" not in sys.modules:
        # Tearing down torch and scikit-learn at exit takes most of a second and frees nothing the
        # operating system does not; every file homogc writes is closed by now. (Ray's drivers
        # must shut down properly, so a Ray run exits the usual way.)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)
