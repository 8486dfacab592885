"""The report of a run: one self-contained HTML page, a CSV of per-run scores, and diffs of two runs.

Everything is read from the run directory (`results.json`, `spec.homog`,
`graph.json`, `environment.json`, `timings.json`), so `homogc report RUN_DIR`
renders the same page again without the cache.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from .. import metrics
from . import svg

PAIRWISE_WORDS = {
    "agreement": "agree on {value:.1%} of test examples",
    "cohen_kappa": "have Cohen's κ = {value:.2f} on their labels",
    "error_consistency": "have error consistency κ = {value:.2f}",
    "agreement_when_wrong": "give the same wrong label on {value:.1%} of the examples both get wrong",
    "cka": "have CKA = {value:.2f} between their representations",
    "procrustes": "are {value:.2f} rad apart (Procrustes angle)",
    "mutual_knn": "share {value:.1%} of nearest neighbours",
}


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("homog.runtime.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def load_run(directory: Path) -> dict[str, Any]:
    directory = Path(directory)
    read = lambda name: json.loads((directory / name).read_text())  # noqa: E731
    return {
        "results": read("results.json"),
        "spec": (directory / "spec.homog").read_text(),
        "graph": read("graph.json"),
        "environment": read("environment.json"),
        "timings": read("timings.json"),
        "status": read("status.json"),
        "directory": directory.name,
    }


def per_run_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per run and scalar score: what scores.csv holds."""
    rows = []
    for label, metric in sorted(results["metrics"].items()):
        for row in metric.get("per_run", []):
            if isinstance(row["value"], (int, float)) or row["value"] is None:
                rows.append(
                    {
                        "metric": label,
                        "learner": row["learner"],
                        "condition": row["condition"],
                        **{f"point.{k}": v for k, v in row["point"].items()},
                        "value": row["value"],
                    }
                )
    return rows


def scores_csv(results: dict[str, Any]) -> str:
    rows = per_run_rows(results)
    out = io.StringIO()
    if rows:
        fields = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def _within(block_means: list[dict], matrix: np.ndarray, learners: list[str], learner: str, seed: int):
    """Pairwise values among one learner's runs, their mean and a bootstrap interval."""
    index = np.array(learners) == learner
    block = matrix[np.ix_(index, index)]
    values = block[~np.eye(len(block), dtype=bool)]
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    return float(values.mean()), metrics.bootstrap_interval(values, seed=seed), int(index.sum())


def verdict(results: dict[str, Any], seed: int) -> list[str]:
    """Plain sentences, each backed by its numbers."""
    sentences = []
    for label, metric in sorted(results["metrics"].items()):
        if metric.get("scope") != "pairwise":
            continue
        clean = next((c for c in metric["per_condition"] if c["condition"] == "clean"), None)
        if clean is None:
            continue
        matrix = np.array([[np.nan if v is None else v for v in row] for row in clean["matrix"]], dtype=float)
        for learner in sorted(set(clean["learners"])):
            found = _within(clean["between_learners"], matrix, clean["learners"], learner, seed)
            if found is None:
                continue
            mean, interval, runs = found
            words = PAIRWISE_WORDS[metric["metric"]].format(value=mean)
            ci = f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else ""
            sentences.append(f"The {runs} runs of {learner} {words}{ci} ({label}).")
    for metric in results["metrics"].values():
        if metric.get("scope") == "population":
            for entry in metric["per_condition"]:
                if entry["condition"] != "clean":
                    continue
                h = entry["homogenization"]
                if h is None:
                    sentences.append(f"Homogenization is undefined: {entry['reason']}.")
                else:
                    together = (
                        "fail together far more often than independent models would"
                        if h > 1.5
                        else ("fail together about as often as independent models would")
                    )
                    sentences.append(
                        f"Across all {entry['runs']} runs, {entry['systemic_failure_rate']:.1%} of test "
                        f"examples are failed by every run; the runs {together} (H = {h:.3g})."
                    )
    return sentences


def _task_table(results: dict[str, Any]) -> list[dict[str, Any]]:
    fits = results["fits"]
    parameters: dict[str, int] = {}
    for name, fit in fits.items():
        parameters.setdefault(name.split(" ")[0], fit["parameters"])
    table = []
    for label, metric in sorted(results["metrics"].items()):
        for row in metric.get("summary", []):
            table.append({"metric": label, **row, "parameters": parameters.get(row["learner"])})
    return table


def _pairwise_charts(results: dict[str, Any]) -> list[dict[str, Any]]:
    charts = []
    for label, metric in sorted(results["metrics"].items()):
        if metric.get("scope") != "pairwise":
            continue
        for entry in metric["per_condition"]:
            low, high = (0.0, None) if metric["metric"] == "procrustes" else (None, 1.0)
            title = f"{label}, {entry['condition']}" + (
                f", fold {entry['fold']}" if entry.get("fold") else ""
            )
            charts.append(
                {
                    "title": title,
                    "svg": Markup(svg.heatmap(entry["matrix"], entry["runs"], title, low=low, high=high)),
                    "undefined": entry["undefined"],
                    "between": entry["between_learners"],
                }
            )
    return charts


def _clusters(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for label, metric in sorted(results["metrics"].items()):
        if metric.get("scope") == "cluster" and "icoord" in metric:
            out.append(
                {
                    "title": label,
                    "notes": metric.get("notes", []),
                    "svg": Markup(
                        svg.dendrogram(metric["icoord"], metric["dcoord"], metric["leaves"], label)
                    ),
                }
            )
        elif metric.get("scope") == "cluster":
            out.append(
                {
                    "title": label,
                    "notes": metric.get("notes", []),
                    "svg": None,
                    "assignment": dict(zip(metric["items"], metric["assignment"], strict=True)),
                }
            )
    return out


def _failures(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for label, metric in sorted(results["metrics"].items()):
        if metric.get("scope") != "population":
            continue
        for entry in metric["per_condition"]:
            title = f"{label}, {entry['condition']}"
            out.append(
                {
                    "title": title,
                    "entry": entry,
                    "svg": Markup(
                        svg.bars(
                            entry["failure_counts"],
                            entry["independent_baseline"],
                            "number of runs that fail an example",
                            "test examples",
                            title,
                        )
                    ),
                }
            )
    return out


def _confusions(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for metric in results["metrics"].values():
        if metric.get("metric") != "confusion":
            continue
        summed: dict[tuple[str, str], np.ndarray] = {}
        for row in metric["per_run"]:
            key = (row["learner"], row["condition"])
            summed[key] = summed.get(key, 0) + np.array(row["value"])
        for (learner, condition), matrix in sorted(summed.items()):
            classes = [str(k) for k in range(len(matrix))]
            title = f"{learner}, {condition}: true (rows) × predicted (columns), summed over runs"
            out.append({"title": title, "svg": Markup(svg.heatmap(matrix.tolist(), classes, title, low=0.0))})
    return out


def _curves(results: dict[str, Any]) -> list[dict[str, Any]]:
    by_learner: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for name, fit in sorted(results["fits"].items()):
        losses = fit["curves"].get("loss")
        if losses and len(losses) > 1:
            by_learner.setdefault(name.split(" ")[0], {})[name] = [(i + 1, v) for i, v in enumerate(losses)]
    return [
        {
            "title": f"training loss of {learner}",
            "svg": Markup(
                svg.lines(
                    dict(list(series.items())[:8]), "epoch", "training loss", f"training loss of {learner}"
                )
            ),
        }
        for learner, series in by_learner.items()
    ]


def _by_axis(results: dict[str, Any]) -> list[dict[str, Any]]:
    charts = []
    for label, metric in sorted(results["metrics"].items()):
        rows = metric.get("by_axis", [])
        for axis in dict.fromkeys(r["axis"] for r in rows):
            series: dict[str, list[tuple[float, float]]] = {}
            for r in rows:
                if r["axis"] == axis and r["condition"] == "clean":
                    series.setdefault(r["learner"], []).append((r["value"], r["mean"]))
            title = f"{label} against {axis}"
            charts.append({"title": title, "svg": Markup(svg.lines(series, axis, label, title))})
    return charts


def _by_condition(results: dict[str, Any]) -> list[dict[str, Any]]:
    charts = []
    conditions = results.get("conditions", [])
    if len(conditions) < 2:
        return charts
    for label, metric in sorted(results["metrics"].items()):
        rows = metric.get("summary", [])
        if not rows:
            continue
        series: dict[str, list[tuple[float, float]]] = {}
        for r in rows:
            series.setdefault(r["learner"], []).append((conditions.index(r["condition"]), r["mean"]))
        title = f"{label} by condition ({', '.join(f'{i} = {c}' for i, c in enumerate(conditions))})"
        charts.append({"title": title, "svg": Markup(svg.lines(series, "condition", label, title))})
    return charts


def _tests(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"title": label, **metric}
        for label, metric in sorted(results["metrics"].items())
        if metric.get("scope") == "test"
    ]


def _spreads(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"title": label, **metric}
        for label, metric in sorted(results["metrics"].items())
        if metric.get("scope") == "across"
    ]


def render_report(directory: Path) -> str:
    run = load_run(directory)
    results = run["results"]
    seed = results["experiment"]["seed"]
    nodes = run["graph"]["nodes"]
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node["op"]] = counts.get(node["op"], 0) + 1
    timings = run["timings"]
    context = {
        "run": run,
        "results": results,
        "experiment": results["experiment"],
        "title": results["report"]["title"],
        "verdict": verdict(results, seed),
        "task_table": _task_table(results),
        "spreads": _spreads(results),
        "pairwise": _pairwise_charts(results),
        "clusters": _clusters(results),
        "failures": _failures(results),
        "confusions": _confusions(results),
        "curves": _curves(results),
        "by_axis": _by_axis(results),
        "by_condition": _by_condition(results),
        "tests": _tests(results),
        "spec_lines": run["spec"].splitlines(),
        "node_counts": counts,
        "nodes": nodes,
        "timings": sorted(timings.values(), key=lambda t: -t["seconds"])[:40],
        "cache_hits": sum(1 for t in timings.values() if t["cached"]),
        "computed": sum(1 for t in timings.values() if not t["cached"]),
        "fits": results["fits"],
    }
    return _environment().get_template("report.html.j2").render(**context)


def write_report(directory: Path, extra_path: Path | None = None) -> Path:
    """report.html and scores.csv into the run directory, and the page also at the spec's report path."""
    directory = Path(directory)
    page = render_report(directory)
    target = directory / "report.html"
    target.write_text(page, encoding="utf-8")
    results = json.loads((directory / "results.json").read_text())
    (directory / "scores.csv").write_text(scores_csv(results))
    if extra_path is not None:
        extra_path.parent.mkdir(parents=True, exist_ok=True)
        extra_path.write_text(page, encoding="utf-8")
    return target


# --------------------------------------------------------------------------- diff


def key_numbers(results: dict[str, Any]) -> dict[str, float | None]:
    """The numbers a diff compares: mean scores per learner and condition, and pairwise block means."""
    numbers: dict[str, float | None] = {}
    for label, metric in sorted(results["metrics"].items()):
        for row in metric.get("summary", []):
            numbers[f"{label} | {row['learner']} | {row['condition']} | mean"] = row["mean"]
        for entry in metric.get("per_condition", []):
            for block in entry.get("between_learners", []):
                numbers[f"{label} | {block['a']} × {block['b']} | {entry['condition']}"] = block["mean"]
            if "homogenization" in entry:
                numbers[f"{label} | H | {entry['condition']}"] = entry["homogenization"]
                numbers[f"{label} | systemic failure rate | {entry['condition']}"] = entry[
                    "systemic_failure_rate"
                ]
    return numbers


def latest_run_of(spec_text: str, runs: Path) -> Path | None:
    """The newest finished run directory whose spec is exactly this text."""
    candidates = sorted(runs.glob("*/spec.homog"), reverse=True) if runs.is_dir() else []
    for spec in candidates:
        if spec.read_text(encoding="utf-8") == spec_text and (spec.parent / "results.json").is_file():
            return spec.parent
    return None


def diff_runs(a: Path, b: Path) -> dict[str, Any]:
    run_a, run_b = load_run(a), load_run(b)
    spec_diff = list(
        difflib.unified_diff(
            run_a["spec"].splitlines(),
            run_b["spec"].splitlines(),
            f"{a}/spec.homog",
            f"{b}/spec.homog",
            lineterm="",
        )
    )
    numbers_a, numbers_b = key_numbers(run_a["results"]), key_numbers(run_b["results"])
    rows = []
    for key in sorted(set(numbers_a) | set(numbers_b)):
        va, vb = numbers_a.get(key), numbers_b.get(key)
        if va == vb:
            continue
        delta = vb - va if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None
        rows.append({"key": key, "a": va, "b": vb, "delta": delta})
    return {"a": str(a), "b": str(b), "spec_diff": spec_diff, "numbers": rows}


def diff_text(diff: dict[str, Any]) -> str:
    lines = [f"spec: {diff['a']} -> {diff['b']}"]
    lines += diff["spec_diff"] or ["  (the specs are the same)"]
    lines.append("")
    lines.append("key numbers that changed:" if diff["numbers"] else "no key number changed")
    for row in diff["numbers"]:
        show = lambda v: "—" if v is None else f"{v:.4f}"  # noqa: E731
        delta = "" if row["delta"] is None else f"  ({row['delta']:+.4f})"
        lines.append(f"  {row['key']}: {show(row['a'])} -> {show(row['b'])}{delta}")
    return "\n".join(lines) + "\n"


def diff_html(diff: dict[str, Any]) -> str:
    return _environment().get_template("diff.html.j2").render(diff=diff)
