"""Data in the shapes researchers have it: a field made of a list of columns, a range of columns or
the columns with a prefix (one input vector per example), and missing values declared in the
source (`missing = drop | mean | median | most_frequent`) or a located error."""

from __future__ import annotations

import numpy as np
import pytest

from homog.compiler.driver import compile_text
from homog.compiler.ir import CallIR
from homog.runtime import data
from homog.runtime import sources as _sources  # noqa: F401  (registers the sources)
from homog.runtime.registry import implementation

from .conftest import run_cli
from .test_data_errors import DATASET, SPEC, _expect

HEADER = "hr,bp,lab_a,lab_b,g1,g2,g3,g4,note,y"
HOLDOUT = CallIR(name="holdout", params={"test": 0.25, "stratify": True, "validation": 0.0})


def _table(tmp_path, n: int = 40, blanks: dict[int, int] | None = None) -> np.ndarray:
    """A CSV of 8 numeric columns, a text column and a class; `blanks` {row: column} left blank."""
    values = np.round(np.random.default_rng(0).standard_normal((n, 8)), 3)
    rows = []
    for i in range(n):
        cells = [f"{v:.3f}" for v in values[i]]
        if blanks and i in blanks:
            cells[blanks[i]] = ""
        rows.append(",".join([*cells, f"note {i}", str(i % 2)]))
    (tmp_path / "d.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    return values


def _group(name: str, **form) -> dict:
    return {"name": name, "columns": None, "prefix": None, "first": None, "last": None, **form}


def test_groups_of_columns_by_list_prefix_and_range(tmp_path):
    values = _table(tmp_path)
    groups = [
        _group("vitals", columns=["bp", "hr"]),
        _group("labs", prefix="lab_"),
        _group("genes", first="g4", last="g2"),  # either order: the file's order between them
    ]
    fields, _, lines = implementation("source", "csv")(tmp_path, None, "d.csv", "y", groups)
    np.testing.assert_allclose(fields["vitals"], values[:, [1, 0]], rtol=1e-6)
    np.testing.assert_allclose(fields["labs"], values[:, [2, 3]], rtol=1e-6)
    np.testing.assert_allclose(fields["genes"], values[:, [5, 6, 7]], rtol=1e-6)
    assert fields["genes"].dtype == np.float32 and fields["hr"].shape == (40,)  # columns stay fields too
    assert list(lines[:2]) == [2, 3]


def _spec(tmp_path, source: str, field: str):
    spec = tmp_path / "data.homog"
    text = SPEC.format(
        source=source, split="holdout(test = 0.25)", field=field, type="vector", transform="[]"
    )
    spec.write_text(text)
    return run_cli("run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec))


def test_a_spec_reads_a_group_of_columns_as_one_input_vector(tmp_path):
    _table(tmp_path)
    source = 'csv("d.csv", label = "y", fields = [columns("genes", first = "g1", last = "g4")])'
    result = _spec(tmp_path, source, "genes")
    assert result.status == 0, result.stderr


@pytest.mark.parametrize(
    ("fields", "code", "message", "hint"),
    [
        (
            '[columns("v", ["hr", "pulse"])]',
            "E302",
            "'d.csv' has no column 'pulse' (group 'v')",
            "expected one of the columns",
        ),
        (
            '[columns("v", prefix = "lb_")]',
            "E302",
            "no column of 'd.csv' starts with 'lb_'",
            "give a prefix that begins",
        ),
        (
            '[columns("hr", ["bp", "g1"])]',
            "E313",
            "already has a column named 'hr'",
            "name the group otherwise",
        ),
        (
            '[columns("v", ["hr", "note"])]',
            "E311",
            "column 'note' of 'd.csv' holds text",
            "leave text columns",
        ),
    ],
)
def test_a_wrong_group_is_a_located_error(tmp_path, fields, code, message, hint):
    _table(tmp_path)
    result = _spec(tmp_path, f'csv("d.csv", label = "y", fields = {fields})', "hr")
    _expect(result, code, DATASET, message, hint)


def test_a_malformed_group_is_a_compile_error_at_it():
    text = SPEC.format(
        source='csv("d.csv", label = "y", fields = [columns("v", prefix = "a", first = "b", last = "c")])',
        split="holdout(test = 0.25)",
        field="v",
        type="vector",
        transform="[]",
    )
    (diagnostic,) = compile_text(text, "data.homog").diagnostics
    assert diagnostic.code.id == "E213" and (diagnostic.span.line, diagnostic.span.column) == (6, 48)
    assert "give a group's columns one way" in diagnostic.message


def _load(tmp_path, missing: str) -> data.Loaded:
    source = CallIR(name="csv", params={"path": "d.csv", "label": "y", "fields": [], "missing": missing})
    return data.load(source, HOLDOUT, 0, tmp_path, None)


def test_missing_drop_leaves_out_the_rows_that_miss_a_value(tmp_path):
    values = _table(tmp_path, blanks={3: 0, 17: 5})
    loaded = _load(tmp_path, "drop")
    assert len(loaded.labels) == 38
    kept = np.delete(np.arange(40), [3, 17])
    np.testing.assert_allclose(loaded.fields["hr"], values[kept, 0], rtol=1e-6)


def test_missing_blank_cells_are_an_error_unless_declared(tmp_path):
    _table(tmp_path, blanks={5: 0})
    result = _spec(tmp_path, 'csv("d.csv", label = "y")', "hr")
    _expect(
        result,
        "E304",
        DATASET,
        "field 'hr' has missing or non-finite values in 1 rows (line 7)",
        "drop or impute those rows before running, or declare it in the source: missing = drop",
    )
    declared = 'csv("d.csv", label = "y", fields = [columns("vitals", ["hr", "bp"])], missing = median)'
    assert _spec(tmp_path, declared, "vitals").status == 0


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent"])
def test_imputation_learns_from_the_training_split_only(strategy):
    values = np.array([[1.0, 10.0], [3.0, np.nan], [3.0, 30.0], [np.nan, 1000.0], [500.0, 500.0]], np.float32)
    train = np.array([0, 1, 2, 3])  # the last row is the test split: its 500s must not count
    filled = data.impute(values, strategy, train, "field 'x'", None)
    expected = {"mean": (7 / 3, 1040 / 3), "median": (3.0, 30.0), "most_frequent": (3.0, 10.0)}[strategy]
    assert filled[3, 0] == pytest.approx(expected[0]) and filled[1, 1] == pytest.approx(expected[1])
    np.testing.assert_array_equal(filled[[0, 2, 4]], values[[0, 2, 4]])


def test_a_feature_with_no_training_value_cannot_be_imputed():
    values = np.array([[np.nan, 1.0], [np.nan, 2.0], [5.0, 3.0]], np.float32)
    with pytest.raises(data.errors.RunError) as raised:
        data.impute(values, "mean", np.array([0, 1]), "field 'x' of 't'", None)
    assert raised.value.code.id == "E304" and "no value in the training split" in raised.value.message
    assert "missing = drop" in raised.value.hint
