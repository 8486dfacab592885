"""One helper for golden files: compare text with a stored expectation.

Set HOMOG_UPDATE_GOLDEN=1 to write the expectations anew, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def cases(folder: str, suffix: str = ".homog") -> list[Path]:
    return sorted((GOLDEN / folder).glob(f"*{suffix}"))


def assert_golden(actual: str, expected_path: Path) -> None:
    if os.environ.get("HOMOG_UPDATE_GOLDEN"):
        expected_path.write_text(actual, encoding="utf-8")
        return
    assert expected_path.exists(), f"no golden file {expected_path}; run with HOMOG_UPDATE_GOLDEN=1"
    expected = expected_path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {expected_path.name}"
