"""`results.json` as tidy tables: one pandas DataFrame per kind of result, in long form (one row
per number, its identity in columns), for the Python API (`api.py`) and for the Parquet files a
run writes beside `results.json` (`results.NAME.parquet`, or CSV where pyarrow is missing).

Every table is read from the typed `Results`: nothing is recomputed, and no display label is
parsed (a run's identity is its fields: learner, kind, dataset, condition, seed, fold and the
sweep point's axes, which become columns). An undefined number is missing (NaN / None).

| table | one row per |
|---|---|
| scores | run and scalar score (`metric`: the label in the spec) |
| summary | learner, condition and score: n, mean, std, Student's t interval over the units |
| pairwise | cell of every pairwise matrix: run a, run b, value (the matrices in long form) |
| between | pair of learners in a population: mean over shared sweep points, interval, n |
| within | learner in a population: seed-to-seed mean, interval, pairs |
| population | population of runs that systemic failure measures: H, its interval, the rate |
| tests | statistical test: statistic, p, Holm's p (McNemar's b, c: `only_a_right`, `only_b_right`) |
| fits | fit: learner, point, parameters, epochs, seconds |
| curves | fit, curve and epoch: the training curves |
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .results import Pairwise, Population, Results, RunScores, Significance
from .schema import Point, RunRow

AXES = ["width", "data_fraction", "lr", "epochs", "depth"]  # a point's axes besides seed and fold


def _axes(point: Point, suffix: str = "") -> dict[str, Any]:
    return {f"{axis}{suffix}": getattr(point, axis) for axis in AXES}


def _run(row: RunRow, suffix: str = "") -> dict[str, Any]:
    """A run's identity as columns (`suffix` tells the two runs of a pair apart)."""
    return {
        f"run{suffix}": row.run,
        f"node{suffix}": row.node[:8],
        f"learner{suffix}": row.learner,
        f"kind{suffix}": row.kind,
        f"seed{suffix}": row.seed,
        **_axes(row.point, suffix),
        f"copies{suffix}": row.copies,
    }


def _interval(ci: list[float | None] | None) -> dict[str, Any]:
    low, high = ci if ci else (None, None)
    return {"ci_low": low, "ci_high": high}


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """A DataFrame with these columns first, even when it has no row."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    return frame[columns + [c for c in frame.columns if c not in columns]]


def scores(results: Results) -> pd.DataFrame:
    rows = []
    for label, metric in sorted(results.metrics.items()):
        if isinstance(metric, RunScores):
            for row in metric.per_run:
                if row.value is None or isinstance(row.value, (int, float)):
                    rows.append(
                        {
                            "metric": label,
                            "dataset": row.dataset,
                            "condition": row.condition,
                            "fold": row.fold,
                            **_run(row),
                            "value": row.value,
                        }
                    )
    return _frame(rows, ["metric", "dataset", "condition", "fold", "run", "learner", "seed", "value"])


def summary(results: Results) -> pd.DataFrame:
    rows = []
    for label, metric in sorted(results.metrics.items()):
        if isinstance(metric, RunScores):
            for row in metric.summary or []:
                found = row.model_dump(exclude={"ci95"})
                rows.append({"metric": label, **found, **_interval(row.ci95)})
    return _frame(rows, ["metric", "learner", "condition", "n", "mean", "ci_low", "ci_high", "unit"])


def _pairwise(results: Results) -> list[tuple[str, Pairwise]]:
    return [(label, m) for label, m in sorted(results.metrics.items()) if isinstance(m, Pairwise)]


def _where(label: str, entry: Any) -> dict[str, Any]:
    """The columns that name a population: the metric, and the dataset, condition and fold."""
    return {"metric": label, "dataset": entry.dataset, "condition": entry.condition, "fold": entry.fold}


def pairwise(results: Results) -> pd.DataFrame:
    rows = []
    for label, metric in _pairwise(results):
        for entry in metric.per_condition:
            where = _where(label, entry)
            for i, a in enumerate(entry.runs):
                for j, b in enumerate(entry.runs):
                    rows.append({**where, **_run(a, "_a"), **_run(b, "_b"), "value": entry.matrix[i][j]})
    return _frame(rows, ["metric", "dataset", "condition", "fold", "run_a", "run_b", "value"])


def between(results: Results) -> pd.DataFrame:
    rows = []
    for label, metric in _pairwise(results):
        for entry in metric.per_condition:
            where = _where(label, entry)
            rows += [{**where, **block.model_dump()} for block in entry.between_learners]
    return _frame(rows, ["metric", "dataset", "condition", "fold", "a", "b", "n", "mean", "low", "high"])


def within(results: Results) -> pd.DataFrame:
    rows = []
    for label, metric in _pairwise(results):
        for entry in metric.per_condition:
            where = _where(label, entry)
            for w in entry.within_learners:
                rows.append({**where, **w.model_dump(exclude={"ci95"}), **_interval(w.ci95)})
    return _frame(
        rows, ["metric", "dataset", "condition", "fold", "learner", "pairs", "mean", "ci_low", "ci_high"]
    )


def population(results: Results) -> pd.DataFrame:
    rows = []
    drop = {"ci95", "point", "groups", "error_rates", "failure_counts", "independent_baseline"}
    for label, metric in sorted(results.metrics.items()):
        if not isinstance(metric, Population):
            continue
        for entry in metric.per_condition:
            where = _where(label, entry)
            for h in entry.across_learners:
                found = h.model_dump(exclude=drop)
                point = {"seed": h.point.seed, **_axes(h.point)}
                rows.append({**where, "population": "across learners", "learner": None, **point, **found})
                rows[-1].update(_interval(h.ci95))
            for w in entry.within_learners:
                found = w.model_dump(exclude=drop)
                found["learners"] = [w.learner]
                rows.append({**where, "population": "seeds of one learner", **found, **_interval(w.ci95)})
    columns = ["metric", "dataset", "condition", "fold", "population", "learner", "runs"]
    return _frame(rows, [*columns, "homogenization", "ci_low", "ci_high", "systemic_failure_rate"])


def tests(results: Results) -> pd.DataFrame:
    rows = []
    for label, metric in sorted(results.metrics.items()):
        if not isinstance(metric, Significance):
            continue
        who = {"metric": label, "test": metric.metric, "a": metric.a, "b": metric.b}
        for test in metric.tests:
            found = test.model_dump(exclude={"point"})
            point = {"seed": test.point.seed, **_axes(test.point)} if hasattr(test, "point") else {}
            if "exact_p" in found:  # McNemar: the exact p is the test's p; b and c are counts
                found["p"] = found.pop("exact_p")
                found["only_a_right"], found["only_b_right"] = found.pop("b"), found.pop("c")
            rows.append({**who, **point, **found})
        for combined in metric.combined:
            rows.append({**who, "test": f"{metric.metric}, combined", **combined.model_dump()})
    return _frame(rows, ["metric", "test", "a", "b", "condition", "statistic", "p", "p_holm"])


def fits(results: Results) -> pd.DataFrame:
    rows = [{**fit.model_dump(exclude={"curves", "point"}), **_axes(fit.point)} for fit in results.fits]
    return _frame(rows, ["node", "name", "learner", "kind", "dataset", "seed", "fold"])


def curves(results: Results) -> pd.DataFrame:
    rows = [
        {
            "node": fit.node,
            "name": fit.name,
            "learner": fit.learner,
            "seed": fit.seed,
            "fold": fit.fold,
            **_axes(fit.point),
            "curve": curve,
            "epoch": epoch + 1,
            "value": value,
        }
        for fit in results.fits
        for curve, values in sorted(fit.curves.items())
        for epoch, value in enumerate(values)
    ]
    return _frame(rows, ["node", "name", "learner", "seed", "fold", "curve", "epoch", "value"])


TABLES: dict[str, Callable[[Results], pd.DataFrame]] = {
    "scores": scores,
    "summary": summary,
    "pairwise": pairwise,
    "between": between,
    "within": within,
    "population": population,
    "tests": tests,
    "fits": fits,
    "curves": curves,
}


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def table_path(directory: Path, name: str, parquet: bool = True) -> Path:
    """Where a run directory holds a table: `results.NAME.parquet` beside `results.json`."""
    return Path(directory) / f"results.{name}.{'parquet' if parquet else 'csv'}"


def table(results: Results, name: str) -> pd.DataFrame:
    """The table `name` of `TABLES`, each row marked with the run's mode (`full` or `smoke`)."""
    return TABLES[name](results).assign(mode=results.mode)


def write_tables(directory: Path, results: Results) -> list[Path]:
    """Every table beside `results.json`: Parquet where pyarrow is installed, else CSV."""
    parquet = parquet_available()
    written = []
    for name in TABLES:
        frame = table(results, name)
        path = table_path(directory, name, parquet)
        temporary = path.with_name(f".{path.name}.tmp")
        if parquet:
            frame.to_parquet(temporary, index=False)
        else:
            frame.to_csv(temporary, index=False)
        temporary.replace(path)
        written.append(path)
    return written
