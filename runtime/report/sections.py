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


def phrase(name: str, value: float) -> str:
    found = _implementation(name)
    return getattr(found, "phrase", GENERIC_PHRASE).format(value=value, metric=name)


def metrics_of(results: Results, kind: type) -> list[tuple[str, Any]]:
    return [(label, m) for label, m in sorted(results.metrics.items()) if isinstance(m, kind)]


def task_table(results: Results) -> Section:
    """Scores per learner and condition; a condition that shifts nothing the learner reads is
    marked "not shifted" (its numbers are the clean ones)."""
    rows = []
    for label, metric in metrics_of(results, RunScores):
        unshifted = {(r.learner, r.condition) for r in metric.per_run if r.shifted is False}
        for row in metric.summary or []:
            note = "not shifted" if (row.learner, row.condition) in unshifted else None
            parameters = results.parameters_of(row.learner)
            rows.append({"metric": label, **row.model_dump(), "parameters": parameters, "note": note})
    return rows


def spreads(results: Results) -> Section:
    return [{"title": label, "metric": metric} for label, metric in metrics_of(results, Spread)]


def tests(results: Results) -> Section:
    return [{"title": label, "metric": metric} for label, metric in metrics_of(results, Significance)]


def pairwise_charts(results: Results) -> Section:
    charts = []
    for label, metric in metrics_of(results, Pairwise):
        found = _implementation(metric.metric)
        low, high = getattr(found, "low", None), getattr(found, "high", 1.0)
        for entry in metric.per_condition:
            if len(entry.runs) > 40 and entry.top_pairs is not None:
                continue  # a population of external models: sections_external draws it as an image
            where = f"{entry.dataset}, {entry.condition}" + (f", fold {entry.fold}" if entry.fold else "")
            title = f"{label}, {where}"
            names = [run.run for run in entry.runs]
            charts.append(
                {
                    "title": title,
                    "svg": Markup(svg.heatmap(entry.matrix, names, title, low=low, high=high)),
                    "undefined": entry.undefined,
                    "between": entry.between_learners,
                    "within": entry.within_learners,
                }
            )
    return charts


def clusters(results: Results) -> Section:
    out = []
    for label, metric in metrics_of(results, Cluster):
        item: dict[str, Any] = {"title": label, "notes": metric.notes, "svg": None}
        if metric.icoord is not None:
            drawing = svg.dendrogram(metric.icoord, metric.dcoord or [], metric.leaves or [], label)
            item["svg"] = Markup(drawing)
        else:
            item["assignment"] = dict(zip(metric.items, metric.assignment or [], strict=True))
        out.append(item)
    return out


def failures(results: Results) -> Section:
    """Per population: the failure histogram of the across-learner population at each sweep point
    (with the independent-failure baseline), and each learner's seeds as their own population."""
    out = []
    for label, metric in metrics_of(results, Population):
        for entry in metric.per_condition:
            where = f"{entry.dataset}, {entry.condition}" + (f", fold {entry.fold}" if entry.fold else "")
            for point in entry.across_learners[:3]:
                title = f"{label}, {where}, {point.shown}: {', '.join(point.learners)}"
                chart = svg.bars(point.failure_counts, point.independent_baseline,
                                 "number of runs that fail an example", "test examples", title)  # fmt: skip
                out.append({"title": title, "entry": point, "svg": Markup(chart)})
            for within in entry.within_learners:
                title = f"{label}, {where}: the {within.runs} runs of {within.learner}"
                chart = svg.bars(within.failure_counts, within.independent_baseline,
                                 "number of runs that fail an example", "test examples", title)  # fmt: skip
                out.append({"title": title, "entry": within, "svg": Markup(chart)})
    return out


def confusions(results: Results) -> Section:
    out = []
    for _, metric in metrics_of(results, RunScores):
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


def _point(x: float, mean: float | None, low: float | None, high: float | None) -> tuple:
    return (x, mean, low, high) if low is not None and high is not None else (x, mean)


def _chart(title: str, series: dict[str, list[tuple]], xlabel: str, ylabel: str, categories=None) -> dict:
    return {"title": title, "svg": Markup(svg.lines(series, xlabel, ylabel, title, categories))}


def _axis_series(metric: Any) -> dict[str, dict[str, list[tuple]]]:
    """Per axis: named series of (value, mean, low, high) on clean data, from what evaluation wrote."""
    found: dict[str, dict[str, list[tuple]]] = {}
    if isinstance(metric, RunScores):
        for r in metric.by_axis or []:
            if r.condition == "clean":
                low, high = r.ci95 or (None, None)
                found.setdefault(r.axis, {}).setdefault(r.learner, []).append(
                    _point(r.value, r.mean, low, high)
                )
    elif isinstance(metric, Pairwise):
        for entry in metric.per_condition[:1] if metric.per_condition else []:
            for b in entry.by_axis:
                name = f"{b.a} seed to seed" if b.a == b.b else f"{b.a} × {b.b}"
                found.setdefault(b.axis, {}).setdefault(name, []).append(
                    _point(b.value, b.mean, b.low, b.high)
                )
    elif isinstance(metric, Population):
        for entry in [e for e in metric.per_condition if e.condition == "clean"][:1]:
            for h in entry.by_axis:
                series = found.setdefault(h.axis, {}).setdefault("across learners", [])
                series.append(_point(h.value, h.mean, h.low, h.high))
    return found


def by_axis(results: Results) -> Section:
    """Every score and homogenization metric against every swept axis, with 95% intervals."""
    charts = []
    for label, metric in sorted(results.metrics.items()):
        ylabel = f"log10 H, {label}" if isinstance(metric, Population) else label
        for axis, series in _axis_series(metric).items():
            charts.append(_chart(f"{label} against {axis} (clean; bars: 95% CI)", series, axis, ylabel))
    return charts


def _condition_series(metric: Any, conditions: list[str]) -> dict[str, list[tuple]]:
    found: dict[str, list[tuple]] = {}
    if isinstance(metric, RunScores):
        for r in metric.summary or []:
            low, high = r.ci95 or (None, None)
            found.setdefault(r.learner, []).append(_point(conditions.index(r.condition), r.mean, low, high))
    elif isinstance(metric, Pairwise):
        for entry in metric.per_condition:
            if entry.fold == 0:
                for b in entry.between_learners:
                    x = conditions.index(entry.condition)
                    found.setdefault(f"{b.a} × {b.b}", []).append(_point(x, b.mean, b.low, b.high))
    elif isinstance(metric, Population):
        for entry in metric.per_condition:
            if entry.fold == 0:
                h = entry.across_learners_summary
                x = conditions.index(entry.condition)
                found.setdefault("across learners", []).append(_point(x, h.mean, h.low, h.high))
    return found


def by_condition(results: Results) -> Section:
    """Every score and homogenization metric per evaluation condition (categories), with intervals."""
    conditions = results.conditions
    if len(conditions) < 2:
        return []
    charts = []
    for label, metric in sorted(results.metrics.items()):
        series = _condition_series(metric, conditions)
        if series:
            ylabel = f"log10 H, {label}" if isinstance(metric, Population) else label
            charts.append(
                _chart(f"{label} by condition (bars: 95% CI)", series, "condition", ylabel, conditions)
            )
    return charts
