"""Data problems are reported before training, located at the dataset that names the data."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import run_cli

SPEC = """experiment "data" {{
  seed = 0
}}

dataset table {{
  source = {source}
}}

modality x {{
  from = table.{field}
  type = vector
}}

model mlp {{
  input = x
  arch  = mlp(hidden = [8])
}}

model linear {{
  input = x
  arch  = sklearn.logistic_regression()
}}

train {{
  epochs = 2
}}

metrics {{
  accuracy
}}
"""


def _run(tmp_path, source: str, field: str = "x"):
    spec = tmp_path / "data.homog"
    spec.write_text(SPEC.format(source=source, field=field))
    return run_cli("run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec))


def _npz(tmp_path, **arrays):
    np.savez(tmp_path / "d.npz", **arrays)


def test_npz_data_runs(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, 3)).astype(np.float32)
    _npz(tmp_path, x=x, y=(x[:, 0] > 0).astype(int))
    result = _run(tmp_path, 'npz("d.npz", label = "y")')
    assert result.status == 0, result.stderr


def test_csv_with_a_text_column_runs(tmp_path):
    rows = ["text,y"] + [f"{'good day' if i % 2 else 'bad night'} {i},{i % 2}" for i in range(60)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    spec = tmp_path / "data.homog"
    text = SPEC.format(source='csv("d.csv", label = "y")', field="text").replace(
        "  type = vector\n", "  type      = vector\n  transform = [hashed_ngrams(features = 64)]\n"
    )
    spec.write_text(text)
    result = run_cli(
        "run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec)
    )
    assert result.status == 0, result.stderr


@pytest.mark.parametrize(
    ("arrays", "source", "field", "code", "message"),
    [
        (None, 'npz("missing.npz", label = "y")', "x", "E301", "no data file 'missing.npz'"),
        (
            {"x": np.ones((10, 2)), "y": np.arange(10) % 2},
            'npz("d.npz", label = "target")',
            "x",
            "E302",
            "'d.npz' has no label field 'target'",
        ),
        (
            {"x": np.ones((10, 2)), "y": np.arange(10) % 2},
            'npz("d.npz", label = "y")',
            "z",
            "E302",
            "the data has no field 'z'",
        ),
        (
            {"x": np.ones((9, 2)), "y": np.arange(10) % 2},
            'npz("d.npz", label = "y")',
            "x",
            "E303",
            "field 'x' has 9 rows, the label has 10",
        ),
        (
            {"x": np.array([[1.0, np.nan]] * 10), "y": np.arange(10) % 2},
            'npz("d.npz", label = "y")',
            "x",
            "E304",
            "field 'x' has missing or non-finite values in 10 rows",
        ),
        (
            {"x": np.ones((10, 2)), "y": np.zeros(10)},
            'npz("d.npz", label = "y")',
            "x",
            "E305",
            "the label has a single class",
        ),
    ],
)
def test_data_problems_are_located_errors(tmp_path, arrays, source, field, code, message):
    if arrays is not None:
        _npz(tmp_path, **arrays)
    result = _run(tmp_path, source, field)
    assert result.status == 1
    assert f"error[{code}]: {message}" in result.stderr
    where = "9:10" if code == "E302" and field == "z" else "5:9"  # the modality, or the dataset
    assert f"data.homog:{where}: error[{code}]" in result.stderr
    assert "Traceback" not in result.stderr
