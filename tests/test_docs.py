"""The docs and the code say the same thing.

Every diagnostic code in the source is documented in dsl/REFERENCE.md with its
name, and every documented example spec triggers the code it documents. The
README's test command is the one CI runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import homog.compiler  # noqa: F401  (registers the compiler's codes, when it has some)
from homog.dsl import codes as _dsl_codes  # noqa: F401
from homog.dsl.diagnostics import CODES
from homog.runtime import errors as _runtime_codes  # noqa: F401

from .conftest import run_cli

ROOT = Path(__file__).parent.parent
REFERENCE = (ROOT / "dsl" / "REFERENCE.md").read_text()
SECTION = re.compile(r"^#### ([EW]\d{3}) ([a-z0-9-]+)\n(.*?)(?=^#|\Z)", re.M | re.S)
EXAMPLE = re.compile(r"```homog\n(.*?)```", re.S)

documented = {code: (name, body) for code, name, body in SECTION.findall(REFERENCE)}


def test_documented_codes_are_the_codes_in_the_source():
    assert set(documented) == set(CODES)
    for code_id, code in CODES.items():
        assert documented[code_id][0] == code.name, code_id


def test_codes_and_names_are_well_formed_and_unique():
    names = [code.name for code in CODES.values()]
    assert len(names) == len(set(names))
    for code_id, code in CODES.items():
        assert re.fullmatch(r"[EW]\d{3}", code_id)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code.name)


EXAMPLES = [
    (code, match.group(1).rstrip("\n"))
    for code, (_, body) in sorted(documented.items())
    if (match := EXAMPLE.search(body))
]


@pytest.mark.parametrize(("code", "spec"), EXAMPLES, ids=[code for code, _ in EXAMPLES])
def test_each_documented_example_triggers_its_code(tmp_path, code, spec):
    path = tmp_path / "example.homog"
    path.write_text(spec)
    result = run_cli("--format", "json", "check", "--strict", str(path))
    assert result.status == 1
    assert f'"code": "{code}"' in result.stdout


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"^pip install -e '\.\[test\]' && (.+)$", readme, re.M)
    assert command, "the README's quickstart names the test command"
    assert command.group(1) in ci


def test_vocabulary_section_is_written_from_the_registry():
    from homog.compiler.docs import vocabulary_markdown

    path = ROOT / "dsl" / "REFERENCE.md"
    text = path.read_text()
    start = text.index("-->", text.index("<!-- vocabulary:start")) + len("-->\n")
    end = text.index("<!-- vocabulary:end -->")
    expected = "\n" + vocabulary_markdown()
    if os.environ.get("HOMOG_UPDATE_GOLDEN"):
        path.write_text(text[:start] + expected + text[end:])
        return
    assert text[start:end] == expected, "run: HOMOG_UPDATE_GOLDEN=1 python -m pytest tests/test_docs.py"


RUN_EXAMPLE = re.compile(r"```homog-run\n(.*?)```", re.S)
RUN_EXAMPLES = [
    (code, match.group(1))
    for code, (_, body) in sorted(documented.items())
    if (match := RUN_EXAMPLE.search(body))
]


@pytest.mark.parametrize(("code", "spec"), RUN_EXAMPLES, ids=[code for code, _ in RUN_EXAMPLES])
def test_each_documented_run_example_triggers_its_code(tmp_path, code, spec):
    import torch

    if code == "E310" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path = tmp_path / "example.homog"
    path.write_text(spec)
    result = run_cli(
        "--format",
        "json",
        "run",
        "--quiet",
        "--cache",
        str(tmp_path / "c"),
        "--runs",
        str(tmp_path / "r"),
        str(path),
    )
    assert result.status == 1
    assert f'"code": "{code}"' in result.stdout
