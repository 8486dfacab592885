"""The Python API: run a spec, or load a run directory, and read what it found as pandas DataFrames.

    from homog.runtime.api import load, run

    results = run("specs/quickstart.homog", smoke=True)  # or load("runs/20250101T...-ab12cd34")
    results.scores            # one row per run and score
    results.pairwise          # every pairwise matrix in long form: run_a, run_b, value
    results.between           # learner against learner: mean, interval, n
    results.population        # systemic failure (H) per population of runs
    results.tests             # McNemar, t-test, Wilcoxon: statistic, p, Holm's p
    results.predictions()     # one row per run and test example: truth, predicted, correct
    results.representations() # one row per run and layer: the (examples x features) array
    results.typed             # results.json as the typed model (homog.runtime.results.Results)

`run` goes through `homogc run` itself (the same cache, the same run directory, the same
diagnostics, printed on stderr); a spec with errors raises `RunFailed` with them. The tables are
`runtime/tables.py`'s, read from `results.json` (a run also writes them as Parquet).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import tables
from .results import Pairwise, RunScores, load_results
from .results import Results as TypedResults

__all__ = ["Results", "RunFailed", "load", "run"]


class RunFailed(Exception):
    """`homogc run` stopped: `status` is its exit status, `diagnostics` what it said."""

    def __init__(self, status: int, diagnostics: str) -> None:
        super().__init__(f"homogc run failed (exit status {status}):\n{diagnostics}")
        self.status, self.diagnostics = status, diagnostics


class Results:
    """A finished run directory, read as tidy DataFrames (each computed once, on first use)."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        if not (self.directory / "results.json").is_file():
            raise FileNotFoundError(f"'{self.directory}' is not a finished run directory (no results.json)")
        self.typed: TypedResults = load_results(self.directory)

    def __repr__(self) -> str:
        fits, metrics = len(self.typed.fits), len(self.typed.metrics)
        return f"Results({str(self.directory)!r}: {fits} fits, {metrics} metrics)"

    def table(self, name: str) -> pd.DataFrame:
        """One of `tables.TABLES` by name (a copy: change it freely)."""
        return self._table(name).copy()

    @functools.cache  # noqa: B019 -- one Results per run directory; the tables live as long as it
    def _table(self, name: str) -> pd.DataFrame:
        return tables.table(self.typed, name)

    scores = property(lambda self: self.table("scores"), doc="One row per run and scalar score.")
    summary = property(lambda self: self.table("summary"), doc="Scores per learner and condition.")
    pairwise = property(lambda self: self.table("pairwise"), doc="Every pairwise matrix, long form.")
    between = property(lambda self: self.table("between"), doc="Learner against learner.")
    within = property(lambda self: self.table("within"), doc="Seed to seed, per learner.")
    population = property(lambda self: self.table("population"), doc="Systemic failure per population.")
    tests = property(lambda self: self.table("tests"), doc="Statistical tests.")
    fits = property(lambda self: self.table("fits"), doc="One row per fit.")
    curves = property(lambda self: self.table("curves"), doc="Training curves, one row per epoch.")

    def matrix(self, metric: str, condition: str = "clean", fold: int = 0, dataset: str | None = None):
        """One pairwise matrix as a square DataFrame (rows and columns: the runs' labels)."""
        found = self.pairwise
        found = found[(found.metric == metric) & (found.condition == condition) & (found.fold == fold)]
        if dataset is not None:
            found = found[found.dataset == dataset]
        if found.empty:
            raise KeyError(f"no pairwise matrix {metric!r} under {condition!r}, fold {fold}")
        order = list(dict.fromkeys(found.run_a))
        return found.pivot(index="run_a", columns="run_b", values="value").loc[order, order]

    def _runs(self) -> dict[str, dict[str, Any]]:
        """Each predict (or late fusion) node's run identity, by short id, from the results' rows."""
        found: dict[str, dict[str, Any]] = {}
        for metric in self.typed.metrics.values():
            rows = []
            if isinstance(metric, RunScores):
                rows = metric.per_run
            elif isinstance(metric, Pairwise):
                rows = [run for entry in metric.per_condition for run in entry.runs]
            for row in rows:
                identity = {"dataset": row.dataset, "condition": row.condition, "fold": row.fold}
                found.setdefault(row.node[:8], {**identity, **tables._run(row)})
        return found

    def predictions(self) -> pd.DataFrame:
        """One row per run and test example: the example's row in its dataset, the true and the
        predicted class, whether it is right, and the probability given to the predicted class."""
        arrays = self._arrays("predictions.npz")
        names = json.loads((self.directory / "predictions.json").read_text(encoding="utf-8"))
        runs = self._runs()
        frames = []
        for short in sorted(names):
            labels = arrays[f"{short}.labels"]
            probabilities = arrays[f"{short}.probabilities"]
            frame = pd.DataFrame(
                {
                    "example": arrays[f"{short}.examples"],
                    "truth": arrays[f"{short}.truth"],
                    "predicted": labels,
                    "correct": labels == arrays[f"{short}.truth"],
                    "probability": probabilities[np.arange(len(labels)), labels],
                }
            )
            identity = runs.get(short, {"run": names[short], "node": short})
            frames.append(frame.assign(**identity))
        if not frames:
            return pd.DataFrame(columns=["run", "example", "truth", "predicted", "correct"])
        out = pd.concat(frames, ignore_index=True)
        first = [c for c in out.columns if c not in frame.columns]
        return out[first + list(frame.columns)]

    def representations(self, layer: str | None = None) -> pd.DataFrame:
        """One row per run and layer: `array`, the (test examples x features) representation the
        metrics compared, its examples in the order of `predictions()`."""
        path = self.directory / "representations.npz"
        if not path.is_file():
            return pd.DataFrame(columns=["run", "layer", "array"])
        arrays = self._arrays("representations.npz")
        runs = self._runs()
        rows = []
        for key in sorted(arrays):
            if key == "mode":  # a smoke run's mark, not a representation
                continue
            short, name = key.split(".", 1)
            if layer is None or name == layer:
                rows.append({**runs.get(short, {"node": short}), "layer": name, "array": arrays[key]})
        return pd.DataFrame(rows)

    @functools.cache  # noqa: B019
    def _arrays(self, name: str) -> dict[str, np.ndarray]:
        with np.load(self.directory / name) as found:
            return {key: found[key] for key in found.files}


def load(directory: Path | str) -> Results:
    """A finished run directory (one `homogc run` printed)."""
    return Results(directory)


def run(
    spec: Path | str,
    *,
    smoke: bool = False,
    device: str | None = None,
    jobs: int | None = None,
    cache: Path | str | None = None,
    runs: Path | str | None = None,
) -> Results:
    """Run a spec as `homogc run` does (an unchanged spec answers from the cache) and load its run
    directory. Diagnostics (warnings) are printed on stderr; errors raise `RunFailed`."""
    from .cli import main

    argv = ["run", str(spec), "--quiet"]
    argv += ["--smoke"] if smoke else []
    for flag, value in (("--device", device), ("--jobs", jobs), ("--cache", cache), ("--runs", runs)):
        if value is not None:
            argv += [flag, str(value)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    if err.getvalue():
        print(err.getvalue(), end="", file=sys.stderr)
    if status != 0:
        raise RunFailed(status, err.getvalue() + out.getvalue())
    return Results(Path(out.getvalue().strip().splitlines()[-1]).resolve())
