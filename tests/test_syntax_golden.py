"""Golden diagnostics for wrong specs: code, line, column, message and hint.

Each `tests/golden/{syntax,semantic}/NAME.homog` is checked with `homogc check`;
what it prints must equal `NAME.out`. A file named `E105-...` must report E105
first and exit 1; one named `W201-...` reports that warning first, and exits 0
(1 with --strict).
"""

from __future__ import annotations

import json

import pytest

from .conftest import run_cli
from .golden import GOLDEN, assert_golden, cases

SPECS = cases("syntax") + cases("semantic")


def test_there_are_enough_cases():
    assert len(cases("syntax")) >= 30
    assert len(cases("semantic")) >= 40


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_diagnostics_match_golden(spec):
    relative = spec.relative_to(GOLDEN).as_posix()
    result = run_cli("check", relative, cwd=GOLDEN)
    warning_only = spec.stem.startswith("W")
    assert result.status == (0 if warning_only else 1)
    if warning_only:
        assert run_cli("check", "--strict", relative, cwd=GOLDEN).status == 1
    assert "Traceback" not in result.stderr
    assert_golden(result.stderr, spec.with_suffix(".out"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_first_error_has_the_code_in_the_file_name(spec):
    expected_code = spec.stem.split("-")[0]
    result = run_cli("--format", "json", "check", str(spec))
    diagnostics = [json.loads(line) for line in result.stdout.splitlines()]
    assert diagnostics, "a wrong spec must produce a diagnostic"
    for diagnostic in diagnostics:
        assert diagnostic["message"] and diagnostic["hint"] and diagnostic["code"]
    if expected_code[0] in "EW":
        severity = "error" if expected_code.startswith("E") else "warning"
        first = next(d for d in diagnostics if d["severity"] == severity)
        assert first["code"] == expected_code
        assert first["line"] >= 1 and first["column"] >= 1
