"""Progress of a run: one bar per kind of node with an ETA on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TextIO

from .scheduler import Task


class Progress:
    def __init__(
        self, tasks: list[Task], todo: set[str], quiet: bool = False, out: TextIO = sys.stderr
    ) -> None:
        self.total = Counter(t.op for t in tasks if any(i in todo for i in t.ids))
        self.finished: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.todo = todo
        self.quiet = quiet or not self.total
        self.out = out
        self.tty = hasattr(out, "isatty") and out.isatty()
        self.started = time.perf_counter()
        self.current = ""
        self.waited = 0  # tasks another run computed while this one waited for them

    def done(self, task: Task, seconds: float, waited: bool = False) -> None:
        if self.quiet or not any(i in self.todo for i in task.ids):
            return
        op = task.op
        self.waited += waited
        self.finished[op] += 1
        self.seconds[op] += seconds
        names = task.nodes[0].name + (f" (+{len(task.nodes) - 1} replicas)" if len(task.nodes) > 1 else "")
        left = self.total[op] - self.finished[op]
        eta = self.seconds[op] / self.finished[op] * left
        line = (
            f"{op:<9} {self.finished[op]:>4}/{self.total[op]:<4} {self._bar(op)} ETA {_clock(eta)}  {names}"
        )
        if waited:
            line += "  (waited: another run computed it)"
        if self.tty:
            self.out.write("\r\x1b[2K" + line[:160])
            if left == 0:
                self.out.write("\n")
        else:
            self.out.write(f"{line}  {seconds:.2f}s\n")
        self.out.flush()

    def _bar(self, op: str, width: int = 20) -> str:
        filled = round(width * self.finished[op] / self.total[op])
        return "[" + "#" * filled + "." * (width - filled) + "]"

    def close(self) -> None:
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            computed = sum(self.finished.values()) - self.waited
            waited = f", waited for {self.waited} another run computed" if self.waited else ""
            self.out.write(f"computed {computed} task(s){waited} in {_clock(elapsed)}\n")
            self.out.flush()


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
