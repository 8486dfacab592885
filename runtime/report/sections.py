"""The report's sections, each from the typed results: formatting only, no statistic recomputed
(evaluation produced every mean and interval shown), and no display label parsed.

Adding a section: write a builder `def name(results: Results) -> list[dict]` that returns one item
per figure or table, and register it with `@section(id, title)`; the page shows the sections in
the order they are registered, and leaves out a section whose builder returns no item (the nav
too). An item is a dict; the generic template (`templates/sections/figures.html.j2`) shows
`item["figure"]` (a `figures.Figure`, built with a helper of `figures.py`) above
`item["caption"]`. A section whose items need their own markup (tables) names a template of
its own in `templates/sections/`. `homogc figures` exports every item's figure.

    @section("layers", "Layer by layer")
    def layers(results: Results) -> list[dict]:
        frame = ...  # a tidy DataFrame, one row per cell
        figure = figures.heatmap(frame, name=figures.slug("layers", label), title=..., ...)
        return [{"figure": figure, "caption": "..."}]

The summary, the spec, the graph and the provenance are fixed parts of the page (report.html.j2).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..results import Cluster, Pairwise, Population, Results, RunScores, Significance, Spread
from . import figures
from .figures import Figure, slug

Items = list[dict[str, Any]]
GENERIC_PHRASE = "have {metric} = {value:.2f}"
EXTERNAL_DRAWN = 40  # beyond this many external models a heatmap is an image (sections_external)


@dataclass(frozen=True)
class Section:
    id: str  # the HTML anchor
    title: str  # the heading, and the nav's link text is `nav`
    nav: str
    build: Callable[[Results], Items]
    template: str  # templates/sections/<template>.html.j2
    intro: str | None = None  # one sentence above the items


SECTIONS: list[Section] = []


def section(
    id: str, title: str, nav: str | None = None, template: str = "figures", intro: str | None = None
) -> Callable[[Callable[[Results], Items]], Callable[[Results], Items]]:
    """Register a section builder; sections appear in the order they are registered."""

    def register(build: Callable[[Results], Items]) -> Callable[[Results], Items]:
        SECTIONS[:] = [s for s in SECTIONS if s.id != id]
        SECTIONS.append(Section(id, title, nav or title, build, template, intro))
        return build

    return register


def built(results: Results) -> list[tuple[Section, Items]]:
    """Every section with something to show, and its items (each figure's name unique in the page)."""
    found = [(s, items) for s in SECTIONS if (items := s.build(results))]
    names: dict[str, int] = {}

    def unique(figure: Figure) -> Figure:
        names[figure.name] = names.get(figure.name, 0) + 1
        count = names[figure.name]
        return figure if count == 1 else dataclasses.replace(figure, name=f"{figure.name}-{count}")

    for _, items in found:
        for item in items:
            if item.get("figure") is not None:
                item["figure"] = unique(item["figure"])
            if item.get("figures"):
                item["figures"] = [unique(figure) for figure in item["figures"]]
    return found


def figures_of(item: dict[str, Any]) -> list[Figure]:
    """An item's figures: its `figure`, then its list `figures` (an item with several)."""
    return ([item["figure"]] if item.get("figure") is not None else []) + list(item.get("figures") or [])


def all_figures(results: Results) -> list[Figure]:
    """Every figure of the report, in page order (what `homogc figures` exports)."""
    return [figure for _, items in built(results) for item in items for figure in figures_of(item)]


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


def _where(entry: Any) -> str:
    return f"{entry.dataset}, {entry.condition}" + (f", fold {entry.fold}" if entry.fold else "")


# --------------------------------------------------------------------------------------- sections


@section("scores", "Task scores", "Scores", template="scores")
def task_table(results: Results) -> Items:
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


@section("spread", "Spread σ = (max − min) / min across runs", "Spread", template="spread")
def spreads(results: Results) -> Items:
    return [{"title": label, "metric": metric} for label, metric in metrics_of(results, Spread)]


def _labels(entry: Any) -> list[str]:
    """The matrix's run labels, made unique for display where two runs share one."""
    seen: dict[str, int] = {}
    out = []
    for run in entry.runs:
        seen[run.run] = seen.get(run.run, 0) + 1
        out.append(run.run if seen[run.run] == 1 else f"{run.run} (#{seen[run.run]})")
    return out


def _domain(metric: Pairwise, low: float | None, high: float | None) -> tuple[float, float]:
    """One colour range for every panel of a metric: the metric's own range where it has one,
    else the range of its values over every panel (0 included)."""
    values = [v for e in metric.per_condition for row in e.matrix for v in row if v is not None]
    lo = low if low is not None else min([0.0, *values])
    hi = high if high is not None else max([lo + 1e-9, *values])
    return float(lo), float(hi)


def cluster_order(matrix: list[list[float | None]], similarity: bool = True) -> list[int]:
    """Rows in the order of an average-linkage clustering with optimal leaf ordering (display only:
    the order in which a large matrix is drawn, so that blocks of similar runs show)."""
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    m = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    distance = 1.0 - m if similarity else m.copy()
    if len(m) < 3 or not np.isfinite(distance).any():  # nothing to order by
        return list(range(len(m)))
    distance = np.where(np.isfinite(distance), distance, np.nanmax(distance[np.isfinite(distance)]))
    distance = np.clip((distance + distance.T) / 2, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    condensed = squareform(distance, checks=False)
    tree = optimal_leaf_ordering(linkage(condensed, "average"), condensed)
    return [int(i) for i in leaves_list(tree)]


@section(
    "pairwise",
    "Pairwise comparisons of runs",
    "Pairwise",
    template="pairwise",
    intro="Each cell compares two runs on the same test examples; one colour scale per metric; hover "
    "for the value.",
)
def pairwise_charts(results: Results) -> Items:
    charts = []
    for label, metric in metrics_of(results, Pairwise):
        found = _implementation(metric.metric)
        low, high = getattr(found, "low", None), getattr(found, "high", 1.0)
        domain = _domain(metric, low, high)
        for entry in metric.per_condition:
            if len(entry.runs) > EXTERNAL_DRAWN and entry.top_pairs is not None:
                continue  # a population of external models: sections_external draws it as an image
            title = f"{label}, {_where(entry)}"
            names = _labels(entry)
            order = list(range(len(names)))
            ordered = len(names) > figures.CELL_VALUES_UP_TO and all(
                any(v is not None for v in row) for row in entry.matrix
            )
            if ordered:
                order = cluster_order(entry.matrix, similarity=high is not None)
            rows = [
                {
                    "a": names[i],
                    "b": names[j],
                    "learner_a": entry.runs[i].learner,
                    "learner_b": entry.runs[j].learner,
                    "value": entry.matrix[i][j],
                }
                for i in range(len(names))
                for j in range(len(names))
            ]
            figure = figures.heatmap(
                pd.DataFrame(rows),
                name=slug("pairwise", label, entry.dataset, entry.condition, entry.fold),
                title=title,
                x="b",
                y="a",
                value="value",
                domain=domain,
                order=[names[i] for i in order],
                value_title=label,
                tooltip=["a:N", "b:N"],
            )
            how = "rows ordered by average-linkage clustering" if ordered else "rows by learner and seed"
            charts.append(
                {
                    "title": title,
                    "figure": figure,
                    "caption": f"{title} ({len(names)} runs; {how}).",
                    "undefined": entry.undefined,
                    "between": entry.between_learners,
                    "within": entry.within_learners,
                }
            )
    return charts


@section("clusters", "Clusters", template="clusters")
def clusters(results: Results) -> Items:
    out = []
    for label, metric in metrics_of(results, Cluster):
        item: dict[str, Any] = {"title": label, "notes": metric.notes, "figure": None}
        if metric.icoord is not None:
            item["figure"] = figures.dendrogram(
                metric.icoord,
                metric.dcoord or [],
                metric.leaves or [],
                name=slug("clusters", label),
                title=f"{label}: hierarchical clustering of the runs by {metric.by}",
            )
        else:
            item["assignment"] = dict(zip(metric.items, metric.assignment or [], strict=True))
        out.append(item)
    return out


def _failure_figure(name: str, title: str, entry: Any) -> Figure:
    counts, baseline = entry.failure_counts, entry.independent_baseline
    frame = pd.DataFrame(
        {"runs": list(range(len(counts))), "examples": counts, "independent": baseline[: len(counts)]}
    )
    return figures.bars(
        frame,
        name=name,
        title=title,
        x="runs",
        y="examples",
        x_title="number of runs that fail an example",
        y_title="test examples",
        baseline="independent",
        baseline_title="expected if failures were independent",
    )


def _failure_caption(title: str, entry: Any) -> str:
    if entry.homogenization is None:
        h = f"undefined: {entry.reason}"
    else:
        h = f"{entry.homogenization:.3g}"
        if entry.ci95:
            h += f" [95% CI {entry.ci95[0]:.3g}, {entry.ci95[1]:.3g}, bootstrap over examples]"
    return (
        f"{title}: bars are observed, the line is what independent failures (Poisson-binomial) would "
        f"give. Systemic failure rate {entry.systemic_failure_rate:.4f}; H = {h}."
    )


@section("failures", "How many runs fail each example", "Failures")
def failures(results: Results) -> Items:
    """Per population: the failure histogram of the across-learner population at each sweep point
    (with the independent-failure baseline), and each learner's seeds as their own population."""
    out = []
    for label, metric in metrics_of(results, Population):
        for entry in metric.per_condition:
            where = _where(entry)
            for k, point in enumerate(entry.across_learners[:3]):
                title = f"{label}, {where}, {point.shown}: {', '.join(point.learners)}"
                name = slug("failures", label, entry.dataset, entry.condition, entry.fold, "point", k)
                figure = _failure_figure(name, title, point)
                out.append({"figure": figure, "caption": _failure_caption(title, point)})
            for within in entry.within_learners:
                title = f"{label}, {where}: the {within.runs} runs of {within.learner}"
                name = slug("failures", label, entry.dataset, entry.condition, entry.fold, within.learner)
                figure = _failure_figure(name, title, within)
                out.append({"figure": figure, "caption": _failure_caption(title, within)})
    return out


@section("confusion", "Confusion matrices", "Confusion")
def confusions(results: Results) -> Items:
    out = []
    for label, metric in metrics_of(results, RunScores):
        if metric.metric != "confusion":
            continue
        summed: dict[tuple[str, str], Any] = {}
        for row in metric.per_run:
            key = (row.learner, row.condition)
            summed[key] = summed.get(key, 0) + np.array(row.value)
        for (learner, condition), matrix in sorted(summed.items()):
            classes = [str(k) for k in range(len(matrix))]
            totals = matrix.sum(axis=1)
            rows = [
                {
                    "truth": classes[i],
                    "predicted": classes[j],
                    "count": int(matrix[i, j]),
                    "share": float(matrix[i, j] / totals[i]) if totals[i] else None,
                }
                for i in range(len(classes))
                for j in range(len(classes))
            ]
            title = f"{learner}, {condition}: true class × predicted class, summed over runs"
            figure = figures.heatmap(
                pd.DataFrame(rows),
                name=slug("confusion", label, learner, condition),
                title=title,
                x="predicted",
                y="truth",
                value="share",
                text="count",
                domain=(0.0, 1.0),
                order=classes,
                value_title="share of the true class",
                tooltip=["truth:N", "predicted:N", "count:Q"],
                x_title="predicted class",
                y_title="true class",
            )
            caption = f"{title}; colour: the share of each true class (row), cells: counts."
            out.append({"figure": figure, "caption": caption})
    return out


@section("curves", "Training curves", "Training", template="figures")
def curves(results: Results) -> Items:
    rows = []
    for fit in sorted(results.fits, key=lambda fit: fit.name):
        losses = fit.curves.get("loss")
        if losses and len(losses) > 1:
            rows += [
                {"run": fit.name, "learner": fit.learner, "epoch": i + 1, "loss": v}
                for i, v in enumerate(losses)
                if v is not None
            ]
    if not rows:
        return []
    frame = pd.DataFrame(rows)
    figure = figures.lines(
        frame,
        name="curves-training-loss",
        title="training loss of every fit",
        x="epoch",
        y="loss",
        x_title="epoch",
        y_title="training loss",
        color="learner",
        color_title="learner",
        detail="run",
    )
    runs = frame["run"].nunique()
    caption = f"Training loss per epoch of {runs} fits (one line each; hover names the run; drag to zoom)."
    return [{"figure": figure, "caption": caption}]


def _interval_row(x: Any, series: str, mean: Any, low: Any, high: Any, n: int) -> dict[str, Any]:
    return {"x": x, "series": series, "mean": mean, "low": low, "high": high, "n": n}


def _axis_rows(metric: Any) -> dict[str, list[dict[str, Any]]]:
    """Per axis: rows of (value, series, mean, low, high, n) on clean data, from what evaluation wrote."""
    found: dict[str, list[dict[str, Any]]] = {}
    if isinstance(metric, RunScores):
        for r in metric.by_axis or []:
            if r.condition == "clean" and r.mean is not None:
                low, high = r.ci95 or (None, None)
                found.setdefault(r.axis, []).append(_interval_row(r.value, r.learner, r.mean, low, high, r.n))
    elif isinstance(metric, Pairwise):
        for entry in metric.per_condition[:1]:
            for b in entry.by_axis:
                name = f"{b.a} seed to seed" if b.a == b.b else f"{b.a} × {b.b}"
                if b.mean is not None:
                    row = _interval_row(b.value, name, b.mean, b.low, b.high, b.n)
                    found.setdefault(b.axis, []).append(row)
    elif isinstance(metric, Population):
        for entry in [e for e in metric.per_condition if e.condition == "clean"][:1]:
            for h in entry.by_axis:
                if h.mean is not None:
                    row = _interval_row(h.value, "across learners", h.mean, h.low, h.high, h.n)
                    found.setdefault(h.axis, []).append(row)
    return found


def _integers(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and float(v).is_integer() for v in values)


@section("scale", "Against scale (sweep axes)", "Scale")
def by_axis(results: Results) -> Items:
    """Every score and homogenization metric against every swept axis, with 95% intervals."""
    charts = []
    for label, metric in sorted(results.metrics.items()):
        ylabel = f"log10 H, {label}" if isinstance(metric, Population) else label
        for axis, rows in _axis_rows(metric).items():
            frame = pd.DataFrame(rows)
            integer = _integers(frame["x"].tolist())
            if integer:
                frame["x"] = frame["x"].astype(int)
            title = f"{label} against {axis}"
            figure = figures.intervals(
                frame,
                name=slug("scale", label, axis),
                title=title,
                x="x",
                x_title=axis,
                y_title=ylabel,
                series="series",
                series_title="runs",
                integer_x=integer,
            )
            caption = f"{title}: clean data, mean over seeds, bars: 95% CI."
            charts.append({"figure": figure, "caption": caption})
    return charts


def _condition_rows(metric: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if isinstance(metric, RunScores):
        for r in metric.summary or []:
            low, high = r.ci95 or (None, None)
            rows.append(_interval_row(r.condition, r.learner, r.mean, low, high, r.n))
    elif isinstance(metric, Pairwise):
        for entry in metric.per_condition:
            if entry.fold == 0:
                for b in entry.between_learners:
                    rows.append(_interval_row(entry.condition, f"{b.a} × {b.b}", b.mean, b.low, b.high, b.n))
    elif isinstance(metric, Population):
        for entry in metric.per_condition:
            if entry.fold == 0:
                h = entry.across_learners_summary
                rows.append(_interval_row(entry.condition, "across learners", h.mean, h.low, h.high, h.n))
    return [row for row in rows if row["mean"] is not None]


@section("robustness", "Against evaluation conditions", "Robustness")
def by_condition(results: Results) -> Items:
    """Every score and homogenization metric per evaluation condition (categories), with intervals."""
    conditions = results.conditions
    if len(conditions) < 2:
        return []
    charts = []
    for label, metric in sorted(results.metrics.items()):
        rows = _condition_rows(metric)
        if rows:
            ylabel = f"log10 H, {label}" if isinstance(metric, Population) else label
            figure = figures.intervals(
                pd.DataFrame(rows),
                name=slug("robustness", label),
                title=f"{label} by condition",
                x="x",
                x_title="condition",
                y_title=ylabel,
                series="series",
                series_title="runs",
                categories=conditions,
                joined=False,
            )
            charts.append({"figure": figure, "caption": f"{label} by condition (bars: 95% CI)."})
    return charts


@section("tests", "Statistical tests", "Tests", template="tests")
def tests(results: Results) -> Items:
    return [{"title": label, "metric": metric} for label, metric in metrics_of(results, Significance)]


from . import sections_external, sections_layers  # noqa: E402, F401 -- register their sections after these
