"""`homogc check`: exit statuses, I/O errors, JSON output, internal errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import run_cli

ROOT = Path(__file__).parent.parent
QUICKSTART = str(ROOT / "specs" / "quickstart.homog")


def _json(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_clean_spec_exits_0():
    result = run_cli("check", QUICKSTART)
    assert result.status == 0
    assert result.stderr.strip().endswith(": ok")


def test_missing_file_exits_2_with_E001(tmp_path):
    missing = tmp_path / "missing.homog"
    result = run_cli("--format", "json", "check", str(missing))
    assert result.status == 2
    (diagnostic,) = _json(result)
    assert (diagnostic["code"], diagnostic["name"]) == ("E001", "file-not-found")
    assert diagnostic["file"] == str(missing)
    assert diagnostic["hint"] == "check the path and its spelling"


def test_directory_exits_2_with_E002(tmp_path):
    result = run_cli("--format", "json", "check", str(tmp_path))
    assert result.status == 2
    assert _json(result)[0]["code"] == "E002"


def test_unreadable_file_exits_2_with_E003(tmp_path, monkeypatch):
    path = tmp_path / "locked.homog"
    path.write_text("train {}\n")

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    result = run_cli("--format", "json", "check", str(path))
    assert result.status == 2
    (diagnostic,) = _json(result)
    assert diagnostic["code"] == "E003"
    assert diagnostic["message"] == f"cannot read '{path}': Permission denied"


def test_not_utf8_exits_2_with_E004_at_the_bad_byte(tmp_path):
    path = tmp_path / "latin1.homog"
    path.write_bytes(b'report {\n  title = "caf\xe9"\n}\n')
    result = run_cli("--format", "json", "check", str(path))
    assert result.status == 2
    (diagnostic,) = _json(result)
    assert (diagnostic["code"], diagnostic["line"], diagnostic["column"]) == ("E004", 2, 15)
    assert diagnostic["message"] == f"'{path}' is not UTF-8 text (byte 0xe9)"


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"])
def test_empty_file_exits_2_with_E005(tmp_path, content):
    path = tmp_path / "empty.homog"
    path.write_text(content)
    result = run_cli("--format", "json", "check", str(path))
    assert result.status == 2
    assert _json(result)[0]["code"] == "E005"


def test_worst_status_wins_across_files(tmp_path):
    broken = tmp_path / "broken.homog"
    broken.write_text("train {\n  epochs 20\n}\n")
    assert run_cli("check", QUICKSTART, str(broken)).status == 1
    assert run_cli("check", str(broken), str(tmp_path / "nope.homog")).status == 2


def test_json_lines_carry_the_whole_diagnostic(tmp_path):
    path = tmp_path / "dup.homog"
    path.write_text("train {\n  epochs = 20\n  epochs = 30\n}\n")
    (diagnostic,) = _json(run_cli("--format", "json", "check", str(path)))
    assert diagnostic == {
        "file": str(path),
        "line": 3,
        "column": 3,
        "end_line": 3,
        "end_column": 9,
        "severity": "error",
        "code": "E120",
        "name": "duplicate-key",
        "message": "'epochs' is set twice in 'train'",
        "hint": "remove one of the two; the spec must say one thing",
        "related": [
            {
                "file": str(path),
                "line": 2,
                "column": 3,
                "end_line": 2,
                "end_column": 9,
                "message": "first set here",
            }
        ],
    }


def test_internal_error_is_reported_as_a_bug_without_traceback(monkeypatch):
    def explode(text, path, **options):
        raise RuntimeError("boom")

    import homog.compiler.driver

    monkeypatch.setattr(homog.compiler.driver, "compile_text", explode)
    result = run_cli("check", QUICKSTART)
    assert result.status == 3
    assert "error[E009]: internal error: RuntimeError: boom" in result.stderr
    assert "this is a bug in homogc" in result.stderr
    assert "Traceback" not in result.stderr
    debug = run_cli("--debug", "check", QUICKSTART)
    assert "Traceback" in debug.stderr


def test_usage_error_exits_2():
    assert run_cli("check").status == 2
    assert run_cli("frobnicate").status == 2


@pytest.mark.skipif(shutil.which("homogc") is None, reason="needs the installed console script")
def test_console_script_reports_without_traceback(tmp_path):
    path = tmp_path / "bad.homog"
    path.write_text("train {\n  epochs 20\n}\n")
    result = subprocess.run(["homogc", "check", str(path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{path}:2:10: error[E105]: expected '=' between 'epochs' and its value" in result.stderr
    assert "Traceback" not in result.stderr
