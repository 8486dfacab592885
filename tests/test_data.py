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


def _run_with(tmp_path, source: str, field: str, transform: str):
    spec = tmp_path / "data.homog"
    text = SPEC.format(source=source, field=field).replace(
        "  type = vector\n", f"  type      = vector\n  transform = {transform}\n"
    )
    spec.write_text(text)
    return run_cli("run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec))


def test_whole_float_labels_are_classes(tmp_path):
    x = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    _npz(tmp_path, x=x, y=(x[:, 0] > 0).astype(float))
    result = _run(tmp_path, 'npz("d.npz", label = "y")')
    assert result.status == 0, result.stderr


def test_a_text_column_with_some_numbers_stays_text(tmp_path):
    """A column of mostly text with a few cells that parse as numbers is text, not an error."""
    words = ["good day", "bad night", "fine", "awful"]
    rows = [f"{words[i % 4]} {i % 2},{i % 2}" if i % 7 else f"{i},{i % 2}" for i in range(60)]
    (tmp_path / "d.csv").write_text("\n".join(["text,y", *rows]) + "\n")
    result = _run_with(tmp_path, 'csv("d.csv", label = "y")', "text", "[hashed_ngrams(features = 32)]")
    assert result.status == 0, result.stderr


def test_an_image_field_flattened_is_a_vector(tmp_path):
    """The shape check mirrors the compiler's: a flatten makes an (n, 4, 4) field a vector."""
    x = np.random.default_rng(0).standard_normal((40, 4, 4)).astype(np.float32)
    _npz(tmp_path, x=x, y=(x[:, 0, 0] > 0).astype(int))
    result = _run_with(tmp_path, 'npz("d.npz", label = "y")', "x", "[flatten, standardize]")
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


@pytest.mark.parametrize("fmt", ["npz", "csv", "parquet"])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_values_are_located_in_every_format(tmp_path, fmt, bad):
    x = np.random.default_rng(0).standard_normal(40)
    x[6] = bad
    y = np.arange(40) % 2
    if fmt == "npz":
        _npz(tmp_path, x=x[:, None], y=y)
    elif fmt == "csv":
        rows = [f"{value},{label}" for value, label in zip(x, y, strict=True)]
        (tmp_path / "d.csv").write_text("\n".join(["x,y", *rows]) + "\n")
    else:
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        pq.write_table(pa.table({"x": x, "y": y}), tmp_path / "d.parquet")
    result = _run_with(tmp_path, f'{fmt}("d.{fmt}", label = "y")', "x", "[flatten]")
    assert result.status == 1
    assert (
        "data.homog:5:9: error[E304]: field 'x' has missing or non-finite values in 1 rows" in result.stderr
    )
    assert "line 8" in result.stderr if fmt == "csv" else "index 6" in result.stderr
