"""The report's sections, each from the typed results: formatting only, no statistic recomputed
(evaluation produced every mean and interval shown), and no display label parsed."""

from __future__ import annotations

from typing import Any

import numpy as np
from markupsafe import Markup

from ..results import Cluster, Pairwise, Population, Results, RunScores, Significance, Spread
from . import svg

Section = list[dict[str, Any]]
GENERIC_PHRASE = "have {metric} = {value:.2f}"


def _implementation(name: str) -> Any:
    from ..registry import implementation

    try:
        return implementation("metric", name)
    except (KeyError, ImportError):
        return None


def _phrase(name: str, value: float) -> str:
    found = _implementation(name)
    return getattr(found, "phrase", GENERIC_PHRASE).format(value=value, metric=name)


def _of(results: Results, kind: type) -> list[tuple[str, Any]]:
    return [(label, m) for label, m in sorted(results.metrics.items()) if isinstance(m, kind)]


def verdict(results: Results) -> list[str]:
    """Plain sentences, each backed by its numbers."""
    sentences = []
    for label, metric in _of(results, Pairwise):
        clean = next((entry for entry in metric.per_condition if entry.condition == "clean"), None)
        for within in clean.within_learners if clean else []:
            if within.mean is None:
                continue
            interval = f" [{within.ci95[0]:.2f}, {within.ci95[1]:.2f}]" if within.ci95 else ""
            words = _phrase(metric.metric, within.mean)
            sentences.append(f"The {within.runs} runs of {within.learner} {words}{interval} ({label}).")
    for _, metric in sorted(results.metrics.items()):
        if isinstance(metric, Population):
            sentences += [_systemic(entry) for entry in metric.per_condition if entry.condition == "clean"]
    return sentences


def _systemic(entry: Any) -> str:
    h = entry.homogenization
    if h is None:
        return f"Homogenization is undefined: {entry.reason}."
    together = (
        "fail together far more often than independent models would"
        if h > 1.5
        else "fail together about as often as independent models would"
    )
    return (
        f"Across all {entry.runs} runs, {entry.systemic_failure_rate:.1%} of test "
        f"examples are failed by every run; the runs {together} (H = {h:.3g})."
    )


def task_table(results: Results) -> Section:
    return [
        {"metric": label, **row.model_dump(), "parameters": results.parameters_of(row.learner)}
        for label, metric in _of(results, RunScores)
        for row in metric.summary or []
    ]


def spreads(results: Results) -> Section:
    return [{"title": label, "metric": metric} for label, metric in _of(results, Spread)]


def tests(results: Results) -> Section:
    return [{"title": label, "metric": metric} for label, metric in _of(results, Significance)]


def pairwise_charts(results: Results) -> Section:
    charts = []
    for label, metric in _of(results, Pairwise):
        found = _implementation(metric.metric)
        low, high = getattr(found, "low", None), getattr(found, "high", 1.0)
        for entry in metric.per_condition:
            title = f"{label}, {entry.condition}" + (f", fold {entry.fold}" if entry.fold else "")
            names = [run.run for run in entry.runs]
            charts.append(
                {
                    "title": title,
                    "svg": Markup(svg.heatmap(entry.matrix, names, title, low=low, high=high)),
                    "undefined": entry.undefined,
                    "between": entry.between_learners,
                }
            )
    return charts


def clusters(results: Results) -> Section:
    out = []
    for label, metric in _of(results, Cluster):
        item: dict[str, Any] = {"title": label, "notes": metric.notes, "svg": None}
        if metric.icoord is not None:
            drawing = svg.dendrogram(metric.icoord, metric.dcoord or [], metric.leaves or [], label)
            item["svg"] = Markup(drawing)
        else:
            item["assignment"] = dict(zip(metric.items, metric.assignment or [], strict=True))
        out.append(item)
    return out


def failures(results: Results) -> Section:
    out = []
    for label, metric in _of(results, Population):
        for entry in metric.per_condition:
            title = f"{label}, {entry.condition}"
            chart = svg.bars(
                entry.failure_counts,
                entry.independent_baseline,
                "number of runs that fail an example",
                "test examples",
                title,
            )
            out.append({"title": title, "entry": entry, "svg": Markup(chart)})
    return out


def confusions(results: Results) -> Section:
    out = []
    for _, metric in _of(results, RunScores):
        if metric.metric != "confusion":
            continue
        summed: dict[tuple[str, str], Any] = {}
        for row in metric.per_run:
            key = (row.learner, row.condition)
            summed[key] = summed.get(key, 0) + np.array(row.value)
        for (learner, condition), matrix in sorted(summed.items()):
            classes = [str(k) for k in range(len(matrix))]
            title = f"{learner}, {condition}: true (rows) × predicted (columns), summed over runs"
            out.append({"title": title, "svg": Markup(svg.heatmap(matrix.tolist(), classes, title, low=0.0))})
    return out


def curves(results: Results) -> Section:
    by_learner: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for fit in sorted(results.fits, key=lambda fit: fit.name):
        losses = fit.curves.get("loss")
        if losses and len(losses) > 1:
            points = [(i + 1, v) for i, v in enumerate(losses) if v is not None]
            by_learner.setdefault(fit.learner, {})[fit.name] = points
    out = []
    for learner, series in by_learner.items():
        title = f"training loss of {learner}"
        chart = svg.lines(dict(list(series.items())[:8]), "epoch", "training loss", title)
        out.append({"title": title, "svg": Markup(chart)})
    return out


def by_axis(results: Results) -> Section:
    charts = []
    for label, metric in _of(results, RunScores):
        rows = metric.by_axis or []
        for axis in dict.fromkeys(r.axis for r in rows):
            series: dict[str, list[tuple[float, float]]] = {}
            for r in rows:
                if r.axis == axis and r.condition == "clean":
                    series.setdefault(r.learner, []).append((r.value, r.mean))
            title = f"{label} against {axis}"
            charts.append({"title": title, "svg": Markup(svg.lines(series, axis, label, title))})
    return charts


def by_condition(results: Results) -> Section:
    conditions = results.conditions
    if len(conditions) < 2:
        return []
    charts = []
    for label, metric in _of(results, RunScores):
        if not metric.summary:
            continue
        series: dict[str, list[tuple[float, float]]] = {}
        for r in metric.summary:
            series.setdefault(r.learner, []).append((conditions.index(r.condition), r.mean))
        title = f"{label} by condition ({', '.join(f'{i} = {c}' for i, c in enumerate(conditions))})"
        charts.append({"title": title, "svg": Markup(svg.lines(series, "condition", label, title))})
    return charts
