"""Progress: rich bars on a terminal (one line each at any width, per-epoch bars of fits), plain
lines elsewhere. The terminal test runs `homogc run` in a pseudo-terminal of 80 columns and reads
the screen through a terminal emulator (pyte)."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pytest

from homog.compiler.graph import Node
from homog.runtime.progress import Progress
from homog.runtime.scheduler import Task

SPEC = """
experiment "progress" {
  seed   = 0
  device = cpu
}

dataset digits {
  source = sklearn.digits
  split  = holdout(test = 0.25, stratify = true)
}

modality pixels {
  from      = digits.image
  type      = vector
  transform = [flatten, standardize]
}

model a_network_with_a_name_far_too_long_to_fit_beside_its_bar_in_eighty_columns {
  input = pixels
  arch  = mlp(hidden = [32])
}

model linear {
  input = pixels
  arch  = sklearn.logistic_regression(c = 1.0)
}

train {
  epochs     = 12
  batch_size = 128
}

metrics {
  accuracy
  agreement
}
"""

# A bar: a name (cut with an ellipsis where it does not fit), the bar, done/total, percent, elapsed, ETA.
BAR = re.compile(
    r"^(all tasks|load|view|fit|predict|metric|report|  fit .*)\s+[━╸╺]+\s+\d+/\d+\s+\d+%\s+[\d:]+\s+[-\d:]+$"
)


def _run_in_terminal(argv: list[str], cwd: Path, columns: int, rows: int) -> list[list[str]]:
    """Run a command in a pseudo-terminal of the given size; the screen after each chunk it wrote."""
    pyte = pytest.importorskip("pyte")
    import fcntl
    import pty
    import struct
    import termios

    screen = pyte.Screen(columns, rows)
    stream = pyte.ByteStream(screen)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, in the terminal
        os.chdir(cwd)
        os.environ.update(TERM="xterm-256color", COLUMNS=str(columns), LINES=str(rows))
        os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # a small net: threads only contend
        os.environ.pop("NO_COLOR", None)
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    screens = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        stream.feed(chunk)
        screens.append([line.rstrip() for line in screen.display])
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "\n".join(screens[-1] if screens else [])
    return screens


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_an_80_column_terminal_shows_one_line_per_bar(tmp_path):
    (tmp_path / "spec.homog").write_text(SPEC)
    homogc = [sys.executable, "-m", "homog.runtime", "run", "spec.homog"]
    # 50 rows: nothing scrolls off, so every line the run ever drew is still on the screen.
    screens = _run_in_terminal(homogc, tmp_path, columns=80, rows=50)
    final = [line for line in screens[-1] if line]
    bars = [line for line in final if "━" in line]
    # One bar for the whole run and one per kind of node, each on one line of the screen.
    assert [line.split()[0] for line in bars] == ["all", "load", "view", "fit", "predict", "metric", "report"]
    for line in bars:
        assert BAR.match(line), f"not a whole bar on one line: {line!r}"
        assert len(line) <= 80
    assert bars[0].startswith("all tasks") and " 9/9 " in bars[0]
    # Nothing else: no wrapped remnants, no scrolled copies of earlier frames.
    rest = [line for line in final if "━" not in line]
    assert len(rest) == 3, final
    assert rest[0].startswith("computed 9 task(s) in ")
    assert rest[1].startswith("run directory: runs/")
    # While the network trained, its epochs had a bar of their own, its long name cut to fit.
    epochs = [line for screen in screens for line in screen if line.startswith("  fit ")]
    assert epochs, "no epoch bar was ever drawn"
    for line in epochs:
        assert BAR.match(line) and len(line) <= 80, line
        assert "/12 " in line
    assert any("…" in line for line in epochs), "a name too long for the line is cut with an ellipsis"
    # And every frame on the way: bars and the closing lines only, never the wrapped end of a bar.
    for screen in screens:
        for line in screen:
            assert not line or "━" in line or line.startswith(("computed ", "run directory: ", "runs/")), line


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _tasks(*ops: str) -> list[Task]:
    return [
        Task([Node(id=f"{op}{i}", op=op, name=f"{op} {i}", params={}, inputs={})]) for i, op in enumerate(ops)
    ]


@pytest.mark.parametrize("columns", [30, 50, 120])
def test_bars_stay_one_line_at_any_width(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    tasks = _tasks("load", "fit", "fit", "predict")
    out = _Terminal()
    progress = Progress(tasks, {i for t in tasks for i in t.ids}, out=out)
    progress.epoch(tasks[1], 3, 10)
    progress.done(tasks[0], 0.1)
    progress.close()
    # The last frame rich drew, before the closing line: one line per bar, none wider than the terminal.
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    frame = text.split("\r")[-1].splitlines()
    bars = [line for line in frame if not line.startswith("computed")]
    assert len(bars) == 5  # all tasks, load, fit, predict, and the epochs of the fit in training
    assert [line.split()[-4] for line in bars] == ["1/4", "1/1", "0/2", "0/1", "3/10"]
    assert all(len(line) <= columns for line in bars), bars
    assert frame[-1].startswith("computed 1 task(s) in ")


def test_plain_output_has_a_line_per_task_and_the_epochs_of_a_fit():
    tasks = _tasks("fit", "metric")
    out = io.StringIO()
    progress = Progress(tasks, {i for t in tasks for i in t.ids}, out=out)
    for epoch in range(1, 6):
        progress.epoch(tasks[0], epoch, 5)
    progress.done(tasks[0], 1.5)
    progress.done(tasks[1], 0.5)
    progress.close()
    lines = out.getvalue().splitlines()
    assert "\x1b" not in out.getvalue()
    # The first epoch (training has begun) and the last; those between only every few seconds.
    assert [line.split()[:3] for line in lines[:2]] == [["fit", "epoch", "1/5"], ["fit", "epoch", "5/5"]]
    assert lines[2].split()[:2] == ["fit", "1/1"] and lines[2].endswith("1.50s")
    assert lines[3].split()[:2] == ["metric", "1/1"]
    assert lines[4].startswith("computed 2 task(s) in ")


def test_quiet_prints_nothing():
    tasks = _tasks("fit")
    out = _Terminal()
    progress = Progress(tasks, {"fit0"}, quiet=True, out=out)
    progress.epoch(tasks[0], 1, 2)
    progress.done(tasks[0], 1.0)
    progress.close()
    assert out.getvalue() == ""
