"""The command line: global options after the command, --version, shell completion, --explain's
changed parameters (old → new), --dry-run, and smoke runs marked in every file they write."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from homog.runtime.cli import build_parser
from homog.runtime.completion import script
from homog.runtime.run import changed

from .conftest import run_cli

BROKEN = 'experiment "x" {\n  seed = "zero"\n}\n'

SPEC = """experiment "options" {
  seed = 0
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

model linear {
  input = pixels
  arch  = sklearn.logistic_regression(c = 1.0)
}

metrics {
  accuracy
}

report {
  path = "out/options.html"
}
"""


@pytest.mark.parametrize("before", [True, False])
def test_format_and_debug_are_accepted_before_or_after_the_command(tmp_path, before):
    spec = tmp_path / "broken.homog"
    spec.write_text(BROKEN)
    options = ["--format", "json", "--debug"]
    args = [*options, "check", str(spec)] if before else ["check", str(spec), *options]
    result = run_cli(*args)
    assert result.status == 1
    diagnostics = [json.loads(line) for line in result.stdout.splitlines()]
    assert diagnostics and all(d["file"] == str(spec) and d["line"] == 2 for d in diagnostics)


def test_graph_keeps_its_own_format_option(tmp_path):
    spec = tmp_path / "spec.homog"
    spec.write_text(SPEC)
    result = run_cli("graph", str(spec), "--format", "json")
    assert result.status == 0
    assert "nodes" in json.loads(result.stdout)


def test_version_prints_the_installed_version():
    result = run_cli("--version")
    assert result.status == 0
    assert result.stdout.strip() == f"homogc {metadata.version('homogc')}"


def _complete(tmp_path: Path, words: list[str]) -> list[str]:
    """What bash offers for the last of `words`, with homogc's completion script loaded."""
    (tmp_path / "c.bash").write_text(script("bash", build_parser()))
    array = " ".join(f"'{w}'" for w in words)
    code = (
        f"source c.bash; COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; _homogc; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    found = subprocess.run(["bash", "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    return found.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_offers_commands_options_values_and_files(tmp_path):
    (tmp_path / "quick.homog").write_text(SPEC)
    assert _complete(tmp_path, ["homogc", "c"]) == ["check", "clean", "cache", "completion"]
    assert _complete(tmp_path, ["homogc", "run", "--dr"]) == ["--dry-run"]
    assert _complete(tmp_path, ["homogc", "check", "x", "--fo"]) == ["--format"]  # after the command too
    assert _complete(tmp_path, ["homogc", "graph", "x", "--format", ""]) == ["text", "json", "dot", "mermaid"]
    assert _complete(tmp_path, ["homogc", "cache", "v"]) == ["verify"]
    assert _complete(tmp_path, ["homogc", "cache", "verify", "--re"]) == ["--repair"]
    assert _complete(tmp_path, ["homogc", "completion", ""]) == ["bash", "zsh", "fish"]
    assert _complete(tmp_path, ["homogc", "run", "qu"]) == ["quick.homog"]


def test_zsh_and_fish_scripts_name_every_command():
    zsh = run_cli("completion", "zsh").stdout
    assert "bashcompinit" in zsh and "complete -o filenames -F _homogc homogc" in zsh
    fish = run_cli("completion", "fish").stdout
    for command in ("check", "graph", "run", "report", "diff", "completion"):
        assert f"-a {command} " in fish
    assert "-l dry-run" in fish and "-x -a 'text json dot mermaid'" in fish


def test_changed_names_every_parameter_with_its_old_and_new_value():
    old = {"learner": {"arch": {"hidden": [64], "dropout": 0.1}, "epochs": 10}, "seed": 0}
    new = {"learner": {"arch": {"hidden": [32], "dropout": 0.1}, "epochs": 20, "lr": 0.01}, "seed": 0}
    assert changed(old, new) == [
        "learner.arch.hidden: [64] → [32]",
        "learner.epochs: 10 → 20",
        "learner.lr: (absent) → 0.01",
    ]


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "spec.homog").write_text(SPEC)
    return tmp_path


def test_dry_run_says_what_would_be_computed_and_why_and_runs_nothing(tmp_path):
    folder = _folder(tmp_path)
    first = run_cli("run", "--dry-run", "spec.homog", cwd=folder)
    assert first.status == 0, first.stderr
    lines = first.stdout.splitlines()
    assert any(line.startswith("fit       linear  [") and "new (no cache yet)" in line for line in lines)
    assert (
        "would compute 6 of 6 nodes (1 load, 1 view, 1 fit, 1 predict, 1 metric, 1 report); 0 cached"
        in first.stdout
    )
    assert lines[-1] == "dry run: nothing was computed or written"
    assert sorted(p.name for p in folder.iterdir()) == ["spec.homog"]  # no cache, no runs, no report

    assert run_cli("run", "--quiet", "spec.homog", cwd=folder).status == 0
    (folder / "spec.homog").write_text(SPEC.replace("c = 1.0", "c = 0.5"))
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    second = run_cli("run", "--dry-run", "spec.homog", cwd=folder)
    assert second.status == 0, second.stderr
    fit = next(line for line in second.stdout.splitlines() if line.startswith("fit "))
    assert fit.endswith("a parameter changed: learner.arch.params.c: 1.0 → 0.5")
    assert "would compute 4 of 6 nodes (1 fit, 1 predict, 1 metric, 1 report); 2 cached" in second.stdout
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before  # nothing written


def test_explain_names_the_changed_parameter_with_old_and_new_values(tmp_path):
    folder = _folder(tmp_path)
    assert run_cli("run", "--quiet", "spec.homog", cwd=folder).status == 0
    (folder / "spec.homog").write_text(SPEC.replace("c = 1.0", "c = 2.0"))
    result = run_cli("run", "--explain", "--quiet", "spec.homog", cwd=folder)
    assert result.status == 0
    assert "a parameter changed: learner.arch.params.c: 1.0 → 2.0" in result.stderr


def test_a_smoke_run_is_marked_in_every_file_and_leaves_the_full_report_alone(tmp_path):
    folder = _folder(tmp_path)
    full = run_cli("run", "--quiet", "spec.homog", cwd=folder)
    assert full.status == 0, full.stderr
    report = (folder / "out" / "options.html").read_text()
    smoke = run_cli("run", "--quiet", "--smoke", "spec.homog", cwd=folder)
    assert smoke.status == 0, smoke.stderr
    assert (folder / "out" / "options.html").read_text() == report  # the full run's report is intact
    assert "Smoke run" not in report
    assert "Smoke run" in (folder / "out" / "options.smoke.html").read_text()

    directory = folder / smoke.stdout.strip()
    assert directory.name.endswith("-smoke") and directory != folder / full.stdout.strip()
    files = sorted(p.name for p in directory.iterdir())
    tables = sorted(p.name for p in directory.glob("results.*.parquet"))
    assert tables and files == sorted([
        "environment.json", "graph.json", "predictions.json", "predictions.npz", "report.html",
        "resolved.json", "results.json", "scores.csv", "spec.homog", "status.json", "timings.json",
        "representations.npz", *tables,
    ])  # fmt: skip
    for table in tables:
        assert set(pd.read_parquet(directory / table)["mode"]) <= {"smoke"}, table
    for name in ("environment.json", "graph.json", "resolved.json", "results.json"):
        assert json.loads((directory / name).read_text())["mode"] == "smoke", name
    assert json.loads((directory / "status.json").read_text())["mode"] == "smoke"
    assert all(t["mode"] == "smoke" for t in json.loads((directory / "timings.json").read_text()).values())
    for arrays in ("predictions.npz", "representations.npz"):
        with np.load(directory / arrays) as found:
            assert str(found["mode"]) == "smoke", arrays
    assert (directory / "spec.homog").read_text().startswith("# smoke run (homogc run --smoke)")
    assert "Smoke run" in (directory / "report.html").read_text()
    rows = (directory / "scores.csv").read_text().splitlines()
    assert rows[0].split(",")[-1] == "mode" and all(row.endswith(",smoke") for row in rows[1:])

    full_directory = folder / full.stdout.strip()
    assert json.loads((full_directory / "results.json").read_text())["mode"] == "full"
    assert not (full_directory / "spec.homog").read_text().startswith("# smoke")
