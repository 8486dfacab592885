"""The code base is ruff clean: lint and layout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff comes with the test extra")
@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff_is_clean(command):
    result = subprocess.run(["ruff", *command], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_front_end_commands_import_no_torch():
    code = (
        "import sys\n"
        "from homog.runtime.cli import main\n"
        "status = main(['check', 'specs/quickstart.homog'])\n"
        "assert status == 0, status\n"
        "main(['fmt', '--check', 'specs/quickstart.homog'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_package_folder_is_installed():
    """A folder with an __init__.py that pyproject does not list would be missing from `pip install .`."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["package-dir"].values())
    found = {
        str(init.parent.relative_to(ROOT))
        for top in ("dsl", "compiler", "runtime")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found == listed
