"""Progress of a run. On a terminal: live bars drawn by rich, one line each at any width — the whole
run (elapsed time and ETA), each kind of node, and each fit being trained (its epochs). Elsewhere
(a log, a pipe): plain lines, one per finished task, and a fit's epochs at most every few seconds.

The training loop knows nothing of this: a fit reports its epochs through `epoch(task, done,
total)`, which the runner hands down to the learner as a callback.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from typing import Any, TextIO

from .scheduler import Task

PLAIN_EPOCH_EVERY = 10.0  # seconds between a fit's epoch lines in plain output


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
        self.waited = 0  # tasks another run computed while this one waited for them
        self._lock = threading.Lock()  # tasks finish, and fits report epochs, on worker threads
        self._fractions: dict[int, float] = {}  # running fits (by task): the part of their epochs done
        self._plain_epoch_at = 0.0
        self._bars: _Bars | None = None
        if not self.quiet and self.tty:
            self._bars = _Bars(out, self.total)

    def epoch(self, task: Task, done: int, total: int) -> None:
        """A fit of `task` finished epoch `done` of `total` (called from the thread that trains it)."""
        if self.quiet:
            return
        with self._lock:
            self._fractions[id(task)] = done / total if total else 1.0
            if self._bars is not None:
                self._bars.epoch(task, _names(task), done, total, self._overall())
                return
            now = time.perf_counter()
            if now - self._plain_epoch_at >= PLAIN_EPOCH_EVERY or done == total:
                self._plain_epoch_at = now
                self.out.write(f"{task.op:<9} epoch {done}/{total}  {_names(task)}\n")
                self.out.flush()

    def done(self, task: Task, seconds: float, waited: bool = False) -> None:
        if self.quiet or not any(i in self.todo for i in task.ids):
            return
        op = task.op
        with self._lock:
            self._fractions.pop(id(task), None)
            self.waited += waited
            self.finished[op] += 1
            self.seconds[op] += seconds
            if self._bars is not None:
                self._bars.done(task, op, self.finished[op], self._overall())
                return
            left = self.total[op] - self.finished[op]
            eta = self.seconds[op] / self.finished[op] * left
            bar = _ascii_bar(self.finished[op], self.total[op])
            line = (
                f"{op:<9} {self.finished[op]:>4}/{self.total[op]:<4} {bar} ETA {_clock(eta)}  {_names(task)}"
            )
            if waited:
                line += "  (waited: another run computed it)"
            self.out.write(f"{line}  {seconds:.2f}s\n")
            self.out.flush()

    def _overall(self) -> float:
        """Tasks finished, counting the epochs done of the fits being trained."""
        return sum(self.finished.values()) + sum(self._fractions.values())

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            computed = sum(self.finished.values()) - self.waited
            waited = f", waited for {self.waited} another run computed" if self.waited else ""
            self.out.write(f"computed {computed} task(s){waited} in {_clock(elapsed)}\n")
            self.out.flush()


class _Bars:
    """The live display: an overall bar, a bar per kind of node, a bar per fit in training."""

    def __init__(self, out: TextIO, total: Counter[str]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.table import Column

        # The name takes what the fixed columns leave and is cut with an ellipsis, never wrapped:
        # each bar stays one line however narrow the terminal.
        name = TextColumn(
            "{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)
        )
        self.progress = Progress(
            name,
            BarColumn(bar_width=16),
            MofNCompleteColumn(table_column=Column(no_wrap=True)),
            TaskProgressColumn(table_column=Column(no_wrap=True)),
            TimeElapsedColumn(table_column=Column(no_wrap=True)),
            TimeRemainingColumn(table_column=Column(no_wrap=True)),
            console=Console(file=out, highlight=False),
            expand=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.overall = self.progress.add_task("[bold]all tasks", total=sum(total.values()))
        self.ops = {op: self.progress.add_task(op, total=n) for op, n in total.items()}
        self.fits: dict[int, Any] = {}
        self.progress.start()

    def epoch(self, task: Task, names: str, done: int, total: int, overall: float) -> None:
        bar = self.fits.get(id(task))
        new = bar is None
        if new:
            bar = self.fits[id(task)] = self.progress.add_task(f"  {task.op} {names}: epochs", total=total)
        self.progress.update(bar, completed=done, total=total)
        self.progress.update(self.overall, completed=overall)
        if new:  # drawn at once: a fit shorter than a refresh still shows that it trained
            self.progress.refresh()

    def done(self, task: Task, op: str, finished: int, overall: float) -> None:
        bar = self.fits.pop(id(task), None)
        if bar is not None:
            self.progress.remove_task(bar)
        self.progress.update(self.ops[op], completed=finished)
        self.progress.update(self.overall, completed=overall)

    def stop(self) -> None:
        self.progress.refresh()
        self.progress.stop()


def _names(task: Task) -> str:
    return task.nodes[0].name + (f" (+{len(task.nodes) - 1} replicas)" if len(task.nodes) > 1 else "")


def _ascii_bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total)
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
