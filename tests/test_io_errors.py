"""I/O failures are run errors (E340, exit 2) naming the path, never "a bug in homogc"; a run directory
says "complete" only when every file in it is whole; killed runs are marked abandoned; a node another
run computed while this one waited is recorded as waited for, not computed."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import run_cli
from .test_cache_heals import SPEC


def _spec(folder: Path, report: str = "out/page.html") -> Path:
    spec = folder / "heal.homog"
    spec.write_text(SPEC + f'\nreport {{\n  path = "{report}"\n}}\n')
    return spec


def _diagnostic(result) -> dict:
    (diagnostic,) = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return diagnostic


def _only_run(spec: Path) -> Path:
    (directory,) = (spec.parent / "runs").iterdir()
    return directory


def _status(directory: Path) -> str:
    return json.loads((directory / "status.json").read_text())["status"]


def test_a_full_disk_while_writing_the_cache_is_exit_2_naming_the_path(tmp_path, monkeypatch):
    from homog.runtime import manifest

    spec = _spec(tmp_path)

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(manifest, "write_file", full)
    result = run_cli("--format", "json", "run", "--quiet", str(spec))
    assert result.status == 2, result.stderr
    diagnostic = _diagnostic(result)
    assert diagnostic["code"] == "E340" and diagnostic["name"] == "io-failed"
    assert str(tmp_path / ".homog" / "tmp") in diagnostic["message"]
    assert "No space left on device" in diagnostic["message"]
    assert "disk is full" in diagnostic["hint"]
    assert "bug in homogc" not in result.stderr + result.stdout
    assert _status(_only_run(spec)) == "failed"


def test_a_full_disk_while_writing_the_run_directory_never_marks_it_complete(tmp_path, monkeypatch):
    from homog.runtime import rundir

    spec = _spec(tmp_path)
    original = rundir.write_text

    def write_text(path, text):
        if Path(path).name == "results.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        original(path, text)

    monkeypatch.setattr(rundir, "write_text", write_text)
    result = run_cli("--format", "json", "run", "--quiet", str(spec))
    assert result.status == 2, result.stderr
    diagnostic = _diagnostic(result)
    assert diagnostic["code"] == "E340" and "results.json" in diagnostic["message"] and diagnostic["hint"]
    directory = _only_run(spec)
    assert _status(directory) == "failed"
    assert not (directory / "results.json").exists()
    assert not list(directory.glob(".*.tmp"))  # no half-written file left behind


def test_a_full_disk_while_writing_the_report_keeps_the_old_page_and_is_located(tmp_path, monkeypatch):
    spec = _spec(tmp_path)
    page = tmp_path / "out" / "page.html"
    page.parent.mkdir()
    page.write_text("the previous report")
    original = os.replace

    def replace(source, target, *args, **kwargs):
        if Path(target) == page:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return original(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    result = run_cli("--format", "json", "run", "--quiet", str(spec))
    assert result.status == 2, result.stderr
    diagnostic = _diagnostic(result)
    assert diagnostic["code"] == "E340" and str(page) in diagnostic["message"]
    lines = spec.read_text().splitlines()
    assert diagnostic["file"] == str(spec) and lines[diagnostic["line"] - 1].strip().startswith("path =")
    assert page.read_text() == "the previous report"  # written atomically: never half a page
    assert [p.name for p in page.parent.iterdir()] == ["page.html"]
    assert _status(_only_run(spec)) == "failed"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permissions")
def test_a_read_only_runs_folder_is_exit_2(tmp_path):
    spec = _spec(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o555)
    try:
        result = run_cli("--format", "json", "run", "--quiet", str(spec))
    finally:
        runs.chmod(0o755)
    assert result.status == 2, result.stderr
    diagnostic = _diagnostic(result)
    assert diagnostic["code"] == "E340" and str(runs) in diagnostic["message"] and diagnostic["hint"]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_run_folders_left_by_killed_processes_are_marked_abandoned(tmp_path):
    import socket

    spec = _spec(tmp_path)
    runs = tmp_path / "runs"
    no_status = runs / "20200101T000000.000000Z-00000000"
    running = runs / "20200101T000001.000000Z-00000000"
    alive = runs / "20200101T000002.000000Z-00000000"
    for folder in (no_status, running, alive):
        folder.mkdir(parents=True)
    host = socket.gethostname()
    (running / "status.json").write_text(json.dumps({"status": "running", "pid": _dead_pid(), "host": host}))
    (alive / "status.json").write_text(json.dumps({"status": "running", "pid": os.getpid(), "host": host}))
    result = run_cli("run", "--quiet", str(spec))
    assert result.status == 0, result.stderr
    assert _status(no_status) == "abandoned" and _status(running) == "abandoned"
    assert _status(alive) == "running"  # a live process's run is left alone
    assert _status(tmp_path / result.stdout.strip()) == "complete"


def test_a_run_that_waited_for_another_records_waited_not_computed(tmp_path, monkeypatch):
    """Another run computes every node while this one waits on the locks: nothing is computed here."""
    other = tmp_path / "other"
    other.mkdir()
    assert run_cli("run", "--quiet", str(_spec(other))).status == 0
    (tmp_path / "this").mkdir()
    spec = _spec(tmp_path / "this")
    from homog.runtime import run as run_module

    explain = run_module.explain

    def explain_then_the_other_run_finishes(graph, cache, experiment):
        decided = explain(graph, cache, experiment)  # everything is to be computed...
        shutil.rmtree(cache.root / "objects")
        shutil.copytree(other / ".homog" / "objects", cache.root / "objects")  # ...and now is there
        return decided

    monkeypatch.setattr(run_module, "explain", explain_then_the_other_run_finishes)
    result = run_cli("run", str(spec))
    assert result.status == 0, result.stderr
    timings = json.loads((_only_run(spec) / "timings.json").read_text())
    assert {t["how"] for t in timings.values()} == {"waited"}
    assert all(t["cached"] for t in timings.values())  # not counted as computed in the report
    assert "computed 0 task(s)" in result.stderr
