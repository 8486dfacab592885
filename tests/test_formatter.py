"""The formatter: golden layouts, idempotence, and comments kept."""

from __future__ import annotations

import pytest

from homog.dsl.formatter import format_document
from homog.dsl.parser import parse

from .conftest import run_cli
from .golden import assert_golden, cases

INPUTS = cases("fmt")


def _format(text: str) -> str:
    result = parse(text, "input.homog")
    assert result.ok, result.diagnostics
    return format_document(result.document)


@pytest.mark.parametrize("spec", INPUTS, ids=lambda p: p.stem)
def test_layout_matches_golden(spec):
    assert_golden(_format(spec.read_text()), spec.with_suffix(".expected"))


@pytest.mark.parametrize("spec", INPUTS, ids=lambda p: p.stem)
def test_formatting_is_idempotent_and_keeps_meaning_and_comments(spec):
    text = spec.read_text()
    once = _format(text)
    assert _format(once) == once
    assert parse(once).document == parse(text).document  # comments compare by text, in order


def test_long_list_wraps_with_trailing_comma():
    formatted = _format("sweep { width = [" + ", ".join(str(i) for i in range(40)) + "] }\n")
    lines = formatted.splitlines()
    assert lines[1] == "  width = ["
    assert lines[2] == "    0,"
    assert lines[-2] == "  ]"
    assert all(len(line) <= 88 for line in lines)


def test_fmt_check_names_files_that_would_change(tmp_path):
    messy = tmp_path / "messy.homog"
    messy.write_text("train{epochs=20}\n")
    clean = tmp_path / "clean.homog"
    clean.write_text("train {\n  epochs = 20\n}\n")
    result = run_cli("fmt", "--check", str(messy), str(clean))
    assert result.status == 1
    assert f"would reformat {messy}" in result.stderr
    assert str(clean) not in result.stderr
    assert messy.read_text() == "train{epochs=20}\n"


def test_fmt_diff_prints_a_unified_diff(tmp_path):
    messy = tmp_path / "messy.homog"
    messy.write_text("train{epochs=20}\n")
    result = run_cli("fmt", "--diff", str(messy))
    assert result.status == 1
    assert "-train{epochs=20}" in result.stdout
    assert "+  epochs = 20" in result.stdout


def test_fmt_rewrites_in_place(tmp_path):
    messy = tmp_path / "messy.homog"
    messy.write_text("train{epochs=20}\n")
    assert run_cli("fmt", str(messy)).status == 0
    assert messy.read_text() == "train {\n  epochs = 20\n}\n"


def test_fmt_refuses_a_spec_with_syntax_errors(tmp_path):
    broken = tmp_path / "broken.homog"
    broken.write_text("train {\n  epochs 20\n}\n")
    result = run_cli("fmt", str(broken))
    assert result.status == 1
    assert "error[E105]" in result.stderr
    assert broken.read_text() == "train {\n  epochs 20\n}\n"
