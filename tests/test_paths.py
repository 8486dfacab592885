"""Paths resolve from the spec's folder: the report path, the cache and `runs/` (unless the command
line gives `--cache` or `--runs`); the report path is checked before any work."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from .conftest import run_cli
from .test_cache_heals import SPEC


def _spec(folder: Path, report: str | None = None, text: str = SPEC) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "heal.homog"
    if report is not None:
        text += f'\nreport {{\n  path = "{report}"\n}}\n'
    spec.write_text(text)
    return spec


def _json(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_the_same_spec_from_two_folders_recomputes_nothing_the_second_time(tmp_path):
    spec = _spec(tmp_path / "project", report="out/page.html")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = run_cli("run", "--quiet", "heal.homog", cwd=spec.parent)
    assert first.status == 0, first.stderr
    assert (spec.parent / ".homog" / "objects").is_dir() and (spec.parent / "runs").is_dir()
    assert (spec.parent / "out" / "page.html").is_file()
    explained = run_cli("run", "--explain", "--quiet", str(spec), cwd=elsewhere)
    assert explained.status == 0, explained.stderr
    lines = [line for line in explained.stderr.splitlines() if "]  " in line]
    assert lines and all(line.endswith("]  cached") for line in lines), explained.stderr
    again = run_cli("run", "--quiet", str(spec), cwd=elsewhere)
    assert again.status == 0, again.stderr
    timings = json.loads((elsewhere / again.stdout.strip() / "timings.json").read_text())
    assert all(t["how"] == "cached" for t in timings.values())
    assert sorted(p.name for p in elsewhere.iterdir()) == []  # no cache, runs or report here


def test_cache_and_runs_given_on_the_command_line_are_from_the_current_directory(tmp_path):
    spec = _spec(tmp_path / "project")
    here = tmp_path / "here"
    here.mkdir()
    result = run_cli("run", "--quiet", "--cache", "c", "--runs", "r", str(spec), cwd=here)
    assert result.status == 0, result.stderr
    assert (here / "c" / "objects").is_dir() and (here / "r").is_dir()
    assert not (spec.parent / ".homog").exists() and not (spec.parent / "runs").exists()
    assert result.stdout.strip().startswith("r/")


def _refused(spec: Path, code: str, status: int = 1) -> dict:
    result = run_cli("--format", "json", "run", "--quiet", str(spec))
    assert result.status == status, result.stderr
    (diagnostic,) = [d for d in _json(result) if d["severity"] == "error"]
    assert diagnostic["code"] == code
    assert diagnostic["hint"]
    objects = spec.parent / ".homog" / "objects"
    assert not objects.exists() or not any(objects.iterdir()), "work was done before the check"
    return diagnostic


def _located_at_path_value(spec: Path, diagnostic: dict) -> None:
    lines = spec.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip().startswith("path ="))
    assert (diagnostic["file"], diagnostic["line"]) == (str(spec), line)
    assert lines[line - 1][diagnostic["column"] - 1] == '"'


def test_a_folder_as_the_report_path_is_a_located_error(tmp_path):
    spec = _spec(tmp_path, report="reports/")
    diagnostic = _refused(spec, "E341")
    assert "'reports/'" in diagnostic["message"] and "folder" in diagnostic["message"]
    _located_at_path_value(spec, diagnostic)
    assert not (tmp_path / "reports").exists()


def test_an_existing_folder_as_the_report_path_is_an_error(tmp_path):
    spec = _spec(tmp_path, report=".")
    _located_at_path_value(spec, _refused(spec, "E341"))


def test_the_spec_as_its_own_report_path_is_an_error_and_the_spec_is_untouched(tmp_path):
    spec = _spec(tmp_path, report="heal.homog")
    before = spec.read_text()
    diagnostic = _refused(spec, "E341")
    assert "spec itself" in diagnostic["message"]
    _located_at_path_value(spec, diagnostic)
    assert spec.read_text() == before


def test_a_data_file_as_the_report_path_is_an_error(tmp_path):
    x = np.random.default_rng(0).standard_normal((60, 3)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(int))
    text = SPEC.replace("sklearn.iris", 'npz("d.npz", label = "y")').replace("iris.features", "iris.x")
    spec = _spec(tmp_path, report="d.npz", text=text)
    before = (tmp_path / "d.npz").read_bytes()
    diagnostic = _refused(spec, "E341")
    assert "data file" in diagnostic["message"]
    assert (tmp_path / "d.npz").read_bytes() == before


def test_a_report_path_inside_a_file_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    spec = _spec(tmp_path, report="notes.txt/page.html")
    _located_at_path_value(spec, _refused(spec, "E341"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permissions")
def test_an_unwritable_report_folder_is_an_io_error_before_any_work(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        spec = _spec(tmp_path, report="locked/page.html")
        diagnostic = _refused(spec, "E340", status=2)
        assert str(locked) in diagnostic["message"]
    finally:
        locked.chmod(0o755)


def test_the_report_path_resolves_from_the_specs_folder(tmp_path):
    spec = _spec(tmp_path / "project", report="pages/page.html")
    here = tmp_path / "here"
    here.mkdir()
    result = run_cli("run", "--quiet", "--cache", "c", "--runs", "r", str(spec), cwd=here)
    assert result.status == 0, result.stderr
    page = spec.parent / "pages" / "page.html"
    assert page.is_file() and "<html" in page.read_text().lower()
    assert not (here / "pages").exists()
    assert [p.name for p in page.parent.iterdir()] == ["page.html"]  # no temporary file left
