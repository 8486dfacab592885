"""Data that cannot be trained on is a located data error before any training (issue 14).

Each case writes a data file and a small spec, runs `homogc run`, and expects exit status 1 with
the error's code, message, hint and location (the dataset's name, or the modality's), and never
E320 ("a bug in homogc"): missing, continuous and 2-D labels; too few examples or too rare a
class for the split; text in a numeric column; ragged rows; duplicate columns; a scalar field;
a field's shape against the modality's declared type; `pca` asking for more than the data has; a
Parquet file without pyarrow.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from .conftest import run_cli

DATASET, MODALITY = "data.homog:5:9", "data.homog:10:10"  # where the spec names them

SPEC = """experiment "data" {{
  seed = 0
}}

dataset table {{
  source = {source}
  split  = {split}
}}

modality x {{
  from      = table.{field}
  type      = {type}
  transform = {transform}
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

NPZ = 'npz("d.npz", label = "y")'
CSV = 'csv("d.csv", label = "y")'
PARQUET = 'parquet("d.parquet", label = "y")'


def _run(
    tmp_path,
    source: str = NPZ,
    *,
    field: str = "x",
    type_: str = "vector",
    transform: str = "[]",
    split: str = "holdout(test = 0.25)",
):
    spec = tmp_path / "data.homog"
    text = SPEC.format(source=source, split=split, field=field, type=type_, transform=transform)
    spec.write_text(text)
    return run_cli("run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec))


def _expect(result, code: str, where: str, message: str, hint: str) -> None:
    """Exit status 1, the code at the location, its message and hint, and nothing of an internal error."""
    assert result.status == 1, result.stderr
    assert f"{where}: error[{code}]: " in result.stderr, result.stderr
    assert message in result.stderr, result.stderr
    assert f"hint: {hint}" in result.stderr, result.stderr
    assert "bug in homogc" not in result.stderr
    assert "E320" not in result.stderr and "Traceback" not in result.stderr


def _features(n: int = 40, d: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def _binary(n: int = 40) -> np.ndarray:
    return np.arange(n) % 2


def _csv(tmp_path, header: str, rows: list[str]) -> None:
    (tmp_path / "d.csv").write_text("\n".join([header, *rows]) + "\n")


def _table(n: int = 40, overrides: dict[int, str] | None = None) -> list[str]:
    """CSV body rows `a,y` (a number, a class), some replaced: {row: 'a,y'} (row 0 is on line 2)."""
    x = _features(n, 1)[:, 0]
    return [(overrides or {}).get(i, f"{x[i]:.4f},{i % 2}") for i in range(n)]


# --------------------------------------------------------------------------- labels


def test_nan_labels_are_missing_not_a_class(tmp_path):
    y = _binary().astype(float)
    y[[3, 17]] = np.nan
    np.savez(tmp_path / "d.npz", x=_features(), y=y)
    _expect(
        _run(tmp_path),
        "E307",
        DATASET,
        "the label 'y' is missing in 2 of 40 rows (indices 3, 17)",
        "drop those rows, or give them their class",
    )


def test_blank_csv_labels_are_missing_not_a_class(tmp_path):
    _csv(tmp_path, "a,y", _table(overrides={5: "0.5,", 9: "0.25,  "}))
    _expect(
        _run(tmp_path, CSV, field="a", transform="[flatten]"),
        "E307",
        DATASET,
        "the label 'y' is missing in 2 of 40 rows (lines 7, 11)",
        "drop those rows, or give them their class",
    )


def test_continuous_labels(tmp_path):
    x = _features()
    np.savez(tmp_path / "d.npz", x=x, y=x[:, 0] * 10)
    _expect(
        _run(tmp_path),
        "E308",
        DATASET,
        "the label 'y' looks continuous: 40 distinct values",
        "homogc classifies: give each example a class",
    )


@pytest.mark.parametrize(
    ("shape", "hint"),
    [
        ((40, 2), "for one-hot or score rows, save the class of each example"),
        ((40, 1), "save it as a 1-D array"),
    ],
)
def test_two_dimensional_labels(tmp_path, shape, hint):
    y = np.zeros(shape, dtype=np.int64)
    y[::2, 0] = 1
    if shape[1] == 2:
        y[1::2, 1] = 1
    np.savez(tmp_path / "d.npz", x=_features(), y=y)
    _expect(_run(tmp_path), "E308", DATASET, f"the label 'y' has shape {shape}", hint)


# --------------------------------------------------------------------------- too few examples


def test_three_examples(tmp_path):
    np.savez(tmp_path / "d.npz", x=_features(3), y=np.array([0, 1, 0]))
    _expect(
        _run(tmp_path),
        "E309",
        DATASET,
        "holdout(test = 0.25): class '1' has a single example",
        "add examples, drop or merge the rare classes, or change the split",
    )


def test_a_stratified_test_part_too_small_for_every_class(tmp_path):
    np.savez(tmp_path / "d.npz", x=_features(8), y=np.arange(8) % 4)
    _expect(
        _run(tmp_path),
        "E309",
        DATASET,
        "8 examples split 6 / 2 cannot put each of the 4 classes on both sides",
        "add examples",
    )


def test_kfold_with_more_folds_than_examples(tmp_path):
    np.savez(tmp_path / "d.npz", x=_features(4), y=np.array([0, 1, 0, 1]))
    _expect(
        _run(tmp_path, split="kfold(k = 5, stratify = false)"),
        "E309",
        DATASET,
        "kfold(k = 5) needs at least 5 examples; the data has 4",
        "add examples",
    )


def test_a_class_too_rare_for_a_stratified_kfold(tmp_path):
    y = _binary()
    y[:3] = 2  # three examples of class 2, five folds
    np.savez(tmp_path / "d.npz", x=_features(), y=y)
    _expect(
        _run(tmp_path, split="kfold(k = 5)"),
        "E309",
        DATASET,
        "kfold(k = 5): class '2' has 3 examples; a stratified kfold needs at least k = 5 of each class",
        "add examples, drop or merge the rare classes",
    )


def test_a_validation_part_too_small_for_every_class(tmp_path):
    np.savez(tmp_path / "d.npz", x=_features(8), y=np.arange(8) % 2)
    _expect(
        _run(tmp_path, split="holdout(test = 0.3, validation = 0.1)"),
        "E309",
        DATASET,
        "validation = 0.1 of the training part: 5 examples split 4 / 1 cannot put each of the 2 classes",
        "add examples",
    )


# --------------------------------------------------------------------------- numeric fields


def test_text_in_a_numeric_csv_column(tmp_path):
    _csv(tmp_path, "a,y", _table(overrides={5: "oops,1", 30: "n/a,0"}))
    _expect(
        _run(tmp_path, CSV, field="a", transform="[flatten]"),
        "E311",
        DATASET,
        "column 'a' of 'd.csv' holds numbers, but 2 of its cells are not numbers "
        "('oops', 'n/a' at lines 7, 32)",
        "fix those cells, or leave them blank",
    )


def test_a_blank_cell_in_a_numeric_csv_column_is_missing(tmp_path):
    _csv(tmp_path, "a,y", _table(overrides={5: ",1"}))
    _expect(
        _run(tmp_path, CSV, field="a", transform="[flatten]"),
        "E304",
        DATASET,
        "field 'a' has missing or non-finite values in 1 rows (line 7)",
        "drop or impute those rows",
    )


def test_ragged_csv_rows(tmp_path):
    _csv(tmp_path, "a,y", _table(overrides={5: "0.5,1,extra", 9: "0.5"}))
    _expect(
        _run(tmp_path, CSV, field="a", transform="[flatten]"),
        "E312",
        DATASET,
        "line 7 of 'd.csv' has 3 cells, the header has 2 (and 1 more rows)",
        "every row needs one cell per column",
    )


def test_duplicate_csv_columns(tmp_path):
    _csv(tmp_path, "a,a,y", [f"{row.split(',')[0]},{row}" for row in _table()])
    _expect(
        _run(tmp_path, CSV, field="a", transform="[flatten]"),
        "E313",
        DATASET,
        "'d.csv' has two columns named 'a' (columns 1 and 2)",
        "rename one of them",
    )


def test_a_scalar_field(tmp_path):
    np.savez(tmp_path / "d.npz", x=_features(), y=_binary(), scale=np.array(2.5))
    _expect(
        _run(tmp_path),
        "E303",
        DATASET,
        "field 'scale' is a single value (an array of shape ()), the label has 40 rows",
        "every field of a dataset needs one row per example",
    )


# --------------------------------------------------------------------------- shapes against types


def test_an_image_field_declared_vector(tmp_path):
    np.savez(tmp_path / "d.npz", x=_features(40, 16).reshape(40, 4, 4), y=_binary())
    _expect(
        _run(tmp_path),
        "E314",
        MODALITY,
        "modality 'x' is declared vector, but its examples have shape (4, 4)",
        "add 'flatten' to the transforms, or declare type = image",
    )


def test_a_csv_column_declared_vector(tmp_path):
    _csv(tmp_path, "a,y", _table())
    _expect(
        _run(tmp_path, CSV, field="a"),
        "E314",
        MODALITY,
        "modality 'x' is declared vector, but its examples have shape ()",
        "each example is a single number: add 'flatten' to the transforms",
    )


def test_a_text_column_without_a_featuriser(tmp_path):
    _csv(tmp_path, "text,y", [f"word{i % 3} thing,{i % 2}" for i in range(40)])
    _expect(
        _run(tmp_path, CSV, field="text"),
        "E314",
        MODALITY,
        "modality 'x' is declared vector, but its examples have shape ()",
        "the field is text: add hashed_ngrams to the transforms",
    )


def test_a_text_column_through_a_numeric_transform(tmp_path):
    _csv(tmp_path, "text,y", [f"word{i % 3} thing,{i % 2}" for i in range(40)])
    _expect(
        _run(tmp_path, CSV, field="text", transform="[flatten, standardize]"),
        "E311",
        MODALITY,
        "'standardize' needs numbers, but the examples are text",
        "start the transforms with one that turns text into numbers, such as hashed_ngrams",
    )


def test_pca_with_more_components_than_features(tmp_path):
    np.savez(tmp_path / "d.npz", x=_features(), y=_binary())
    _expect(
        _run(tmp_path, transform="[pca(components = 5)]"),
        "E314",
        MODALITY,
        "in modality 'x': pca asks for 5 components of a vector of 3 features",
        "each example of 'table.x' has shape (3,) at this point",
    )


def test_pca_with_more_components_than_training_examples(tmp_path):
    np.savez(tmp_path / "d.npz", x=_features(12, 20), y=_binary(12))
    _expect(
        _run(tmp_path, transform="[pca(components = 10)]"),
        "E309",
        MODALITY,
        "pca asks for 10 components, but it is fitted on 9 training examples",
        "ask for at most 9 components, or use more examples",
    )


# --------------------------------------------------------------------------- Parquet


def test_parquet_without_pyarrow_is_located(tmp_path, monkeypatch):
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # importing it raises ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    _expect(
        _run(tmp_path, PARQUET),
        "E306",
        DATASET,
        "reading Parquet needs the optional package pyarrow",
        "pip install 'homogc[parquet]'",
    )


def _parquet(tmp_path, **columns) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    names = list(columns)
    pq.write_table(
        pa.Table.from_arrays([pa.array(v) for v in columns.values()], names=names), tmp_path / "d.parquet"
    )


def test_null_parquet_labels_are_missing(tmp_path):
    labels = ["cat" if i % 2 else "dog" for i in range(40)]
    labels[4] = None
    _parquet(tmp_path, x=list(_features()[:, 0].astype(float)), y=labels)
    _expect(
        _run(tmp_path, PARQUET, transform="[flatten]"),
        "E307",
        DATASET,
        "the label 'y' is missing in 1 of 40 rows (index 4)",
        "drop those rows, or give them their class",
    )


def test_duplicate_parquet_columns(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    x = list(_features()[:, 0].astype(float))
    table = pa.Table.from_arrays([pa.array(x), pa.array(x), pa.array(list(_binary()))], names=["x", "x", "y"])
    pq.write_table(table, tmp_path / "d.parquet")
    _expect(
        _run(tmp_path, PARQUET, transform="[flatten]"),
        "E313",
        DATASET,
        "'d.parquet' has two columns named 'x' (columns 1 and 2)",
        "rename one of them",
    )
