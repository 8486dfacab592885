"""The report of a run: one self-contained HTML page, a CSV of per-run scores, and every result
in long form as tables (`results.*.parquet`, see `runtime/tables.py`).

Everything is read from the run directory (`results.json` as the typed `Results`,
`spec.homog`, `graph.json`, `environment.json`, `timings.json`), so `homogc report RUN_DIR`
renders the same page again without the cache. The sections are in `sections.py`; diffs of
two runs in `diff.py` (re-exported here, where the command line finds them).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..results import Results, RunScores
from ..tables import write_tables
from . import figures, sections
from .diff import diff_html, diff_runs, diff_text, key_numbers, latest_run_of
from .rundir import RunDirectory, environment, load_run
from .verdict import verdict

__all__ = [
    "diff_html",
    "diff_runs",
    "diff_text",
    "key_numbers",
    "latest_run_of",
    "load_run",
    "per_run_rows",
    "render_report",
    "scores_csv",
    "write_report",
]


def per_run_rows(results: Results) -> list[dict[str, Any]]:
    """One row per run and scalar score: what scores.csv holds."""
    rows = []
    for label, metric in sorted(results.metrics.items()):
        if not isinstance(metric, RunScores):
            continue
        for row in metric.per_run:
            if isinstance(row.value, (int, float)) or row.value is None:
                point = row.point.model_dump()
                rows.append(
                    {
                        "metric": label,
                        "learner": row.learner,
                        "condition": row.condition,
                        **{f"point.{k}": v for k, v in point.items()},
                        "value": row.value,
                    }
                )
    return rows


def scores_csv(results: Results) -> str:
    rows = [{**row, "mode": results.mode} for row in per_run_rows(results)]  # "smoke" rows are marked
    out = io.StringIO()
    if rows:
        fields = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def _context(run: RunDirectory) -> dict[str, Any]:
    results = run.results
    nodes = run.graph["nodes"]
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node["op"]] = counts.get(node["op"], 0) + 1
    timings = run.timings
    built = sections.built(results)
    any_figure = any(sections.figures_of(item) for _, items in built for item in items)
    return {
        "run": run,
        "results": results,
        "experiment": results.experiment,
        "title": results.report.title,
        "verdict": verdict(results),
        "sections": built,
        "vega_js": Markup(figures.javascript()) if any_figure else None,
        "spec_lines": run.spec.splitlines(),
        "node_counts": counts,
        "nodes": nodes,
        "timings": sorted(timings.values(), key=lambda t: -t["seconds"])[:40],
        "cache_hits": sum(1 for t in timings.values() if t["cached"]),
        "computed": sum(1 for t in timings.values() if not t["cached"]),
        "fits": results.fits,
    }


def render_report(run: RunDirectory | Path) -> str:
    found = run if isinstance(run, RunDirectory) else load_run(run)
    return environment().get_template("report.html.j2").render(**_context(found))


def write_report(directory: Path, extra_path: Path | None = None, status: str | None = None) -> Path:
    """report.html and scores.csv into the run directory, and the page also at `extra_path`.
    `status` is the run's outcome as the page should state it, where the run directory does not
    say it yet (a run writes its status last, after the report)."""
    directory = Path(directory)
    run = load_run(directory)
    if status is not None:
        run = dataclasses.replace(run, status={**run.status, "status": status})
    page = render_report(run)
    target = directory / "report.html"
    target.write_text(page, encoding="utf-8")
    (directory / "scores.csv").write_text(scores_csv(run.results))
    write_tables(directory, run.results)
    if extra_path is not None:
        extra_path.parent.mkdir(parents=True, exist_ok=True)
        extra_path.write_text(page, encoding="utf-8")
    return target
