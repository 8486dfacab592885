"""The Python API as a notebook uses it: run the quickstart, read its results as DataFrames, and
check them against `results.json` (read here as plain JSON) and the predictions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from homog.runtime.api import Results, RunFailed, load, run
from homog.runtime.tables import TABLES, write_tables

from .test_report import _directory, _results

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory) -> Results:
    folder = tmp_path_factory.mktemp("api")
    shutil.copy(ROOT / "specs" / "quickstart.homog", folder)
    return run(folder / "quickstart.homog", smoke=True)


@pytest.fixture(scope="module")
def raw(quickstart) -> dict:
    return json.loads((quickstart.directory / "results.json").read_text())


def test_scores_are_one_row_per_run_and_scalar_score(quickstart, raw):
    scores = quickstart.scores
    expected = [
        (label, row["node"][:8], row["condition"], row["seed"], row["value"])
        for label, metric in raw["metrics"].items()
        if metric["scope"] == "run"
        for row in metric["per_run"]
        if not isinstance(row["value"], list)
    ]
    assert len(scores) == len(expected) == 2 * 2 * 3  # accuracy, macro_f1 x 2 learners x 3 seeds
    got = sorted(zip(scores.metric, scores.node, scores.condition, scores.seed, scores.value, strict=True))
    assert got == sorted(expected)
    assert {"learner", "kind", "dataset", "fold", "width", "data_fraction", "run"} <= set(scores.columns)


def test_pairwise_matrices_in_long_form(quickstart, raw):
    pairwise = quickstart.pairwise
    entries = [
        (label, entry)
        for label, metric in raw["metrics"].items()
        if metric["scope"] == "pairwise"
        for entry in metric["per_condition"]
    ]
    assert len(pairwise) == sum(len(entry["runs"]) ** 2 for _, entry in entries)
    for label, entry in entries:
        matrix = quickstart.matrix(label, entry["condition"], entry["fold"])
        assert list(matrix.index) == [run["run"] for run in entry["runs"]]
        np.testing.assert_allclose(matrix.to_numpy(dtype=float), np.array(entry["matrix"], dtype=float))
    between = quickstart.between
    assert len(between) == sum(len(entry["between_learners"]) for _, entry in entries)
    agreement = next(entry for label, entry in entries if label == "agreement")
    row = between[(between.metric == "agreement") & (between.a == "linear") & (between.b == "mlp")]
    block = agreement["between_learners"][0]
    found = (row["mean"].item(), row["low"].item(), row["n"].item())
    assert found == (block["mean"], block["low"], block["n"])
    within = quickstart.within
    mlp = within[(within.metric == "agreement") & (within.learner == "mlp")]
    expected = next(w for w in agreement["within_learners"] if w["learner"] == "mlp")
    assert (mlp["mean"].item(), mlp["ci_low"].item(), mlp["pairs"].item()) == (
        expected["mean"],
        expected["ci95"][0],
        expected["pairs"],
    )


def test_summary_matches_the_results(quickstart, raw):
    summary = quickstart.summary
    rows = raw["metrics"]["accuracy"]["summary"]
    for row in rows:
        found = summary[(summary.metric == "accuracy") & (summary.learner == row["learner"])]
        assert found["mean"].item() == row["mean"] and found["n"].item() == row["n"]


def test_predictions_carry_truth_examples_and_the_run(quickstart, raw):
    predictions = quickstart.predictions()
    runs = raw["metrics"]["accuracy"]["per_run"]
    distinct = {row["node"][:8] for row in runs}
    test_examples = 75  # --smoke: 300 examples, a quarter held out
    assert len(predictions) == len(distinct) * test_examples
    assert predictions.groupby("node").example.nunique().eq(test_examples).all()
    assert (predictions.correct == (predictions.truth == predictions.predicted)).all()
    # Each run's accuracy, from its predictions, is the score results.json holds for it.
    accuracy = predictions.groupby("node").correct.mean()
    for row in runs:
        assert accuracy[row["node"][:8]] == pytest.approx(row["value"])
    assert set(predictions.learner) == {"mlp", "linear"} and set(predictions.condition) == {"clean"}


def test_representations_by_run_and_layer(quickstart):
    representations = quickstart.representations()
    logits = representations[representations.layer == "logits"]
    assert set(logits.learner) == {"mlp", "linear"}
    assert all(array.shape == (75, 10) for array in logits.array)
    assert set(quickstart.representations("penultimate").layer) == {"penultimate"}


def test_the_tables_are_written_as_parquet_beside_results_json(quickstart):
    for name in ("scores", "pairwise", "between", "within", "summary", "fits", "curves"):
        written = pd.read_parquet(quickstart.directory / f"results.{name}.parquet")
        expected = quickstart.table(name)
        assert written.shape == expected.shape, name
        pd.testing.assert_frame_equal(written, expected, check_dtype=False, check_column_type=False)


def test_load_reads_the_same_run_and_a_rerun_answers_from_the_cache(quickstart):
    again = run(quickstart.directory.parent.parent / "quickstart.homog", smoke=True)
    assert again.directory == quickstart.directory  # unchanged: the same run directory, nothing computed
    pd.testing.assert_frame_equal(load(quickstart.directory).scores, quickstart.scores)
    assert len(quickstart.fits) == 6 and set(quickstart.curves.curve) >= {"loss"}


def test_a_spec_with_errors_raises_with_its_located_diagnostics(tmp_path):
    spec = tmp_path / "broken.homog"
    spec.write_text((ROOT / "specs" / "quickstart.homog").read_text().replace("accuracy\n", "acuracy\n"))
    with pytest.raises(RunFailed) as raised:
        run(spec)
    assert raised.value.status == 1
    assert "broken.homog:" in raised.value.diagnostics and "acuracy" in raised.value.diagnostics


def test_population_and_tests_tables_of_a_synthetic_run(tmp_path):
    results = _results()
    found = load(_directory(tmp_path / "run", results))
    population = found.population
    metric = results.metrics["systemic_failure"]
    across = [(e, h) for e in metric.per_condition for h in e.across_learners]
    seeds = [(e, w) for e in metric.per_condition for w in e.within_learners]
    assert len(population) == len(across) + len(seeds)
    entry, point = across[0]
    row = population[
        (population.population == "across learners")
        & (population.condition == entry.condition)
        & (population.seed == point.point.seed)
    ]
    assert row["homogenization"].item() == pytest.approx(point.homogenization)
    tests = found.tests
    mcnemar = results.metrics["mcnemar"]
    assert len(tests[tests.metric == "mcnemar"]) == len(mcnemar.tests) + len(mcnemar.combined)
    first = tests[(tests.test == "mcnemar")].iloc[0]
    expected = (mcnemar.tests[0].b, mcnemar.tests[0].c, mcnemar.tests[0].exact_p)
    assert (first.only_a_right, first.only_b_right, first.p) == expected and first.b == "linear"
    assert len(tests[tests.metric == "ttest"]) == len(results.metrics["ttest"].tests)
    written = write_tables(found.directory, results)  # what a run writes beside results.json
    assert len(written) == len(TABLES)
    for name in ("population", "tests"):
        table = pd.read_parquet(found.directory / f"results.{name}.parquet")
        # Missing is None in a Parquet list column, NaN in pandas' object column: the same value.
        same = [frame.astype(object).where(frame.notna(), None) for frame in (table, found.table(name))]
        pd.testing.assert_frame_equal(*same, check_dtype=False)
    with pytest.raises(FileNotFoundError, match="not a finished run directory"):
        load(tmp_path)


def test_without_pyarrow_the_tables_are_csv(tmp_path, monkeypatch):
    from homog.runtime import tables

    results = _results(seeds=2)
    monkeypatch.setattr(tables, "parquet_available", lambda: False)
    written = tables.write_tables(tmp_path, results)
    assert [p.name for p in written] == [f"results.{name}.csv" for name in tables.TABLES]
    scores = pd.read_csv(tmp_path / "results.scores.csv")
    assert len(scores) == len(tables.scores(results)) == 2 * 2 * 2  # 2 learners x 2 seeds x 2 conditions
    assert scores["value"].tolist() == tables.scores(results)["value"].tolist()
