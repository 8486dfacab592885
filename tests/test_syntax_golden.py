"""Golden diagnostics for malformed specs: code, line, column, message and hint.

Each `tests/golden/syntax/NAME.homog` is checked with `homogc check`; what it
prints must equal `NAME.out`. A file named `E105-...` must report E105 first.
"""

from __future__ import annotations

import json

import pytest

from .conftest import run_cli
from .golden import GOLDEN, assert_golden, cases

SPECS = cases("syntax")


def test_there_are_enough_cases():
    assert len(SPECS) >= 30


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_diagnostics_match_golden(spec):
    relative = spec.relative_to(GOLDEN).as_posix()
    result = run_cli("check", relative, cwd=GOLDEN)
    assert result.status == 1
    assert "Traceback" not in result.stderr
    assert_golden(result.stderr, spec.with_suffix(".out"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_first_error_has_the_code_in_the_file_name(spec):
    expected_code = spec.stem.split("-")[0]
    result = run_cli("--format", "json", "check", str(spec))
    diagnostics = [json.loads(line) for line in result.stdout.splitlines()]
    assert diagnostics, "a malformed spec must produce a diagnostic"
    first = diagnostics[0]
    assert first["line"] >= 1 and first["column"] >= 1
    assert first["message"] and first["hint"]
    if expected_code.startswith("E"):
        assert first["code"] == expected_code
