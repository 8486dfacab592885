"""The commands that run specs and keep their cache: `homogc run`, `homogc clean` and
`homogc cache verify`. A re-run of an unchanged spec answers from its last run without compiling
(see `rerun.py`), so this module imports little until a run has work to do."""

from __future__ import annotations

import argparse
import os
import sys

from .commands import EXIT_OK, EXIT_SPEC, EXIT_USAGE, Reporter, load_text


def _read(path: str) -> str | None:
    """A spec's text, or None where it cannot be read (the full path reports why, located)."""
    from pathlib import Path

    try:
        return Path(path).read_text(encoding="utf-8").removeprefix("\ufeff")
    except (OSError, ValueError):
        return None


def _unchanged_run(args: argparse.Namespace, text: str | None) -> str | None:
    """The directory of a complete run of this very spec, when nothing it depends on has changed."""

    from . import rerun

    if text is None or args.explain or args.plan or args.dry_run:  # asked about the nodes: the full path
        return None
    cache, runs = _folders(args)
    key = rerun.run_key(text, args.device, args.smoke, runs)
    directory = rerun.unchanged_run(cache, key)
    return None if directory is None else os.path.relpath(directory)


def _folders(args: argparse.Namespace):
    """The cache and the runs folder of `homogc run`: as given (from the current directory), else
    beside the spec (`.homog`, `runs`), the way the spec's data paths resolve."""
    from pathlib import Path

    folder = Path(args.file).parent
    cache = Path(args.cache) if args.cache is not None else folder / ".homog"
    runs = Path(args.runs) if args.runs is not None else folder / "runs"
    return cache, runs


# OS errors that are about the disk or its permissions, not about homogc: reported as I/O errors.
_IO_ERRNOS = ("ENOSPC", "EDQUOT", "EACCES", "EPERM", "EROFS", "EIO", "EFBIG", "EMFILE", "ENFILE")


def cmd_run(args: argparse.Namespace, reporter: Reporter) -> int:
    read = _read(args.file)  # read once: the text decides both the up-to-date check and the run
    unchanged = _unchanged_run(args, read)
    if unchanged is not None:
        if not args.quiet:
            print(f"up to date: the spec, its data and homogc are as in {unchanged}", file=sys.stderr)
        print(unchanged)
        return EXIT_OK

    from pathlib import Path

    from . import errors
    from .cache import io_failure
    from .run import RunOptions, compile_spec, dry_run, plan_spec, run_spec

    text, status = load_text(args.file, reporter, read)
    if text is None:
        return status
    cache, runs = _folders(args)
    spec = compile_spec(Path(args.file), text, smoke=args.smoke, cache=cache)
    reporter.report(spec.compilation.diagnostics)
    if not spec.compilation.ok:
        return EXIT_SPEC
    options = RunOptions(
        device=args.device,
        jobs=args.jobs,
        smoke=args.smoke,
        explain=args.explain,
        quiet=args.quiet,
        cache=cache,
        runs=runs,
        executor=args.executor,
        address=args.address,
    )
    try:
        try:
            if args.plan:
                sys.stdout.write(plan_spec(spec, options))
                return EXIT_OK
            if args.dry_run:
                sys.stdout.write(dry_run(spec, options))
                return EXIT_OK
            result = run_spec(spec, options)
        except OSError as error:  # the disk, not homogc: whatever wrote it did not say so itself
            import errno

            if errno.errorcode.get(error.errno) not in _IO_ERRNOS:
                raise
            raise io_failure(error) from error
    except errors.RunError as error:
        reporter.report([error.diagnostic()])
        if args.debug and error.__cause__ is not None:
            import traceback

            traceback.print_exception(error.__cause__)
        return EXIT_USAGE if error.code in (errors.IO_FAILED, errors.CACHE_ENTRY_DAMAGED) else EXIT_SPEC
    except KeyboardInterrupt:
        print("interrupted: what finished is cached; run again to go on", file=sys.stderr)
        return 130
    if not args.quiet:
        print(f"run directory: {result.directory}", file=sys.stderr)
    print(result.directory)
    return EXIT_OK


def _cache_of(args: argparse.Namespace):
    """`--cache` as given, else the cache beside the spec given, else `.homog` here."""
    from pathlib import Path

    if args.cache is not None:
        return Path(args.cache)
    return Path(args.spec).parent / ".homog" if args.spec is not None else Path(".homog")


def cmd_clean(args: argparse.Namespace, reporter: Reporter) -> int:
    from .cache import Cache

    root = _cache_of(args)
    if not root.exists():
        print(f"nothing to clean: no cache at {root}", file=sys.stderr)
        return EXIT_OK
    print(f"removed {Cache(root).clean()} cached node(s) from {root}", file=sys.stderr)
    return EXIT_OK


def cmd_cache_verify(args: argparse.Namespace, reporter: Reporter) -> int:
    """Check every entry of the cache against its checksums; exit 1 if any is damaged (with
    --repair, remove those, so that the next run recomputes them, and exit 0)."""
    from .cache import Cache
    from .errors import RunError

    root = _cache_of(args)
    if not (root / "objects").is_dir():
        print(f"no cache at {root}", file=sys.stderr)
        return EXIT_USAGE
    try:
        cache = Cache(root)
    except RunError as error:
        reporter.report([error.diagnostic()])
        return EXIT_USAGE
    total = len(cache.entries())
    names = cache.names()
    damaged = cache.verify(repair=args.repair)
    for node_id, problem in damaged:
        what = f"{names[node_id]} " if node_id in names else ""
        done = "; removed" if args.repair else ""
        print(f"damaged: {what}[{node_id[:8]}] {problem}{done}", file=sys.stderr)
    repaired = " (removed: the next run recomputes them)" if args.repair and damaged else ""
    print(f"{root}: {total} entries, {len(damaged)} damaged{repaired}", file=sys.stderr)
    return EXIT_SPEC if damaged and not args.repair else EXIT_OK
