"""A re-run of an unchanged spec answers from its last complete run; any change takes the full path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from .test_data import SPEC

SOURCE = 'npz("d.npz", label = "y")'


def _write_data(folder: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((80, 3)).astype(np.float32)
    np.savez(folder / "d.npz", x=x, y=(x[:, 0] > 0).astype(int))


def _homogc(folder: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "homog.runtime", *args]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300)


def _run(folder: Path, *extra: str) -> Path:
    result = _homogc(folder, "run", "--quiet", *extra, "data.homog")
    assert result.returncode == 0, result.stderr
    return folder / result.stdout.strip()


def _setup(tmp_path: Path) -> Path:
    (tmp_path / "data.homog").write_text(SPEC.format(source=SOURCE, field="x"))
    _write_data(tmp_path, seed=0)
    return _run(tmp_path)


def test_an_unchanged_spec_answers_with_its_last_run_without_compiling(tmp_path):
    first = _setup(tmp_path)
    code = (
        "import sys\n"
        "from homog.runtime.cli import main\n"
        "assert main(['run', 'data.homog']) == 0\n"
        "loaded = [m for m in ('torch', 'numpy', 'homog.compiler.driver', 'lark') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    check = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == str(first.relative_to(tmp_path))
    assert "up to date" in check.stderr
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [first.name]  # nothing new written


def test_editing_the_data_file_recomputes_everything_built_on_it(tmp_path):
    first = _setup(tmp_path)
    _write_data(tmp_path, seed=1)
    second = _run(tmp_path)
    assert second != first
    timings = json.loads((second / "timings.json").read_text())
    assert all(not t["cached"] for t in timings.values())  # the load node's id has the file's hash
    by_name = [
        {name: short for short, name in json.loads((run / "predictions.json").read_text()).items()}
        for run in (first, second)
    ]
    assert by_name[0].keys() == by_name[1].keys()
    with np.load(first / "predictions.npz") as a, np.load(second / "predictions.npz") as b:
        for name in by_name[0]:
            old, new = a[f"{by_name[0][name]}.labels"], b[f"{by_name[1][name]}.labels"]
            assert by_name[0][name] != by_name[1][name] and not np.array_equal(old, new)


def test_a_deleted_run_a_changed_option_or_explain_take_the_full_path(tmp_path):
    first = _setup(tmp_path)
    smoke = _run(tmp_path, "--smoke")
    assert smoke != first
    explained = _homogc(tmp_path, "run", "--explain", "--quiet", "data.homog")
    assert explained.returncode == 0 and "cached" in explained.stderr
    for path in (tmp_path / "runs").iterdir():
        for file in path.iterdir():
            file.unlink()
        path.rmdir()
    again = _run(tmp_path)
    assert (again / "report.html").is_file()
    timings = json.loads((again / "timings.json").read_text())
    assert all(t["cached"] for t in timings.values())  # the node cache still holds every node
    assert _run(tmp_path) == again


def test_clean_forgets_the_runs(tmp_path):
    first = _setup(tmp_path)
    assert _homogc(tmp_path, "clean").returncode == 0
    assert _run(tmp_path) != first


def test_graph_shows_the_ids_that_run_executes(tmp_path):
    first = _setup(tmp_path)
    shown = _homogc(tmp_path, "graph", "--format", "json", "data.homog")
    assert shown.returncode == 0, shown.stderr
    ids = {node["id"] for node in json.loads(shown.stdout)["nodes"]}
    assert ids == {node["id"] for node in json.loads((first / "graph.json").read_text())["nodes"]}
    _write_data(tmp_path, seed=1)
    edited = _homogc(tmp_path, "graph", "--format", "json", "data.homog")
    assert {node["id"] for node in json.loads(edited.stdout)["nodes"]}.isdisjoint(ids)
