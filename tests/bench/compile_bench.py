"""Benchmark: compile time (parse + passes + lowering) of generated specs.

    python -m tests.bench.compile_bench

Prints, for specs of about 500, 5,000 and 50,000 lines, the time of each phase
(best of a few runs) and the time per line; then the per-line ratio of the
largest spec to the smallest, which is 1.0 when compile time grows linearly.
"""

from __future__ import annotations

import time

from homog.compiler.driver import compile_document
from homog.dsl.parser import parse

from .generate import generated_spec

SIZES = (500, 5_000, 50_000)


def _timed(work, runs: int):
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    per_line = {}
    print(
        f"{'lines':>7} {'nodes':>7} {'parse ms':>10} {'passes+lower ms':>16} {'total ms':>10} {'us/line':>8}"
    )
    for size in SIZES:
        text = generated_spec(size)
        lines = text.count("\n")
        runs = 5 if size <= 5_000 else 2
        parse_time, parsed = _timed(lambda text=text: parse(text, "generated.homog"), runs)
        assert parsed.ok
        compile_time, compiled = _timed(lambda parsed=parsed: compile_document(parsed.document), runs)
        assert compiled.ok, compiled.diagnostics[:3]
        total = parse_time + compile_time
        per_line[size] = total / lines
        print(
            f"{lines:>7} {len(compiled.graph.nodes):>7} {parse_time * 1e3:>10.1f} "
            f"{compile_time * 1e3:>16.1f} {total * 1e3:>10.1f} {per_line[size] * 1e6:>8.1f}"
        )
    ratio = per_line[SIZES[-1]] / per_line[SIZES[0]]
    print(f"per-line time, {SIZES[-1]:,} lines / {SIZES[0]:,} lines: {ratio:.2f}")


if __name__ == "__main__":
    main()
