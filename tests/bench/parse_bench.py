"""Benchmark: parse a generated 5,000-line spec and print the time.

    python -m tests.bench.parse_bench [LINES]

Prints the best of five runs and the rate in lines per second. The baseline,
measured in the same run, is lark's lexer alone over the same text: the ratio
shows what parsing, tree building and the checks cost on top of tokenizing.
"""

from __future__ import annotations

import sys
import time

from homog.dsl.parser import _LARK, parse

from .generate import generated_spec


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    text = generated_spec(lines)
    actual = text.count("\n")
    result = parse(text, "generated.homog")
    assert result.ok, result.diagnostics[:3]
    ours = best_of(5, lambda: parse(text, "generated.homog"))
    lex_only = best_of(5, lambda: list(_LARK.lex(text)))
    print(f"spec: {actual} lines, {len(result.document.blocks)} blocks")
    print(f"homogc parse (tree + checks): {ours * 1000:8.1f} ms  ({actual / ours:,.0f} lines/s)")
    print(f"lark lexer alone (baseline):  {lex_only * 1000:8.1f} ms")
    print(f"ratio parse / lex:            {ours / lex_only:8.2f}")


if __name__ == "__main__":
    main()
