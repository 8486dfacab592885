"""The report's figures: Vega-Lite charts built with altair, one helper per kind of figure.

Why Vega-Lite: the page stays one offline file (the Vega, Vega-Lite and vega-embed JavaScript,
~0.9 MB, is inlined once from `vl_convert.javascript_bundle()`), every mark has a tooltip, line
charts zoom and pan, and the same spec exports to SVG, PNG and PDF through `vl_convert` without a
browser (`homogc figures RUN_DIR --format pdf`).

Every helper takes a tidy `pandas.DataFrame` (one row per mark) and returns a `Figure`. A figure
names its integer-valued axes (`integer_axes`, by title): their ticks are drawn at integers only,
and the browser tests check that from the rendered page. Colour domains are given by the caller so
that every panel of one metric shares one scale.

To add a figure to a section, build a DataFrame and call a helper here; to add a section, see
`sections.py`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import pandas as pd

VEGA_LITE = "6.4"  # the Vega-Lite version of altair's schema, which vl_convert bundles and renders
CELL_VALUES_UP_TO = 12  # a matrix shows its values in the cells up to this many rows
WIDTH = 420
HEIGHT = 260


@dataclass(frozen=True)
class Figure:
    name: str  # a file name stem, unique within a report
    title: str
    spec: dict[str, Any]  # a Vega-Lite spec, data inline
    integer_axes: tuple[str, ...] = field(default=())  # titles of the axes whose values are integers


def slug(*parts: Any) -> str:
    text = "-".join(str(p) for p in parts if p is not None and p != "")
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:120] or "figure"


def _figure(name: str, title: str, chart: alt.TopLevelMixin, integer_axes: Sequence[str] = ()) -> Figure:
    chart = chart.properties(title=alt.Title(title, anchor="start", fontSize=12, limit=0))
    chart = chart.configure_legend(labelLimit=0, titleLimit=0).configure_axis(labelLimit=220)
    return Figure(name, title, chart.to_dict(validate=False), tuple(integer_axes))


def _integer_axis(title: str, values: Sequence[Any] = ()) -> alt.Axis:
    """An axis of integers: a tick at each integer where there are few, else integer ticks only."""
    found = [int(v) for v in values if v is not None]
    if found and max(found) - min(found) <= 30:
        return alt.Axis(title=title, format="d", values=list(range(min(found), max(found) + 1)))
    return alt.Axis(title=title, format="d", tickMinStep=1)


def heatmap(
    frame: pd.DataFrame,
    *,
    name: str,
    title: str,
    x: str,
    y: str,
    value: str,
    domain: tuple[float, float],
    order: Sequence[str],
    value_title: str,
    tooltip: Sequence[str] = (),
    text: str | None = None,
    x_title: str = "",
    y_title: str = "",
) -> Figure:
    """A matrix of cells: rows and columns in `order` (categories), colour on the fixed `domain`,
    the values written in the cells (`text`, default `value`) when the matrix is small enough."""
    n = max(len(order), 1)
    cell = max(11, min(34, 560 // n))  # 60 runs: 660 pixels, labels still 8-pixel text
    font = 11 if cell >= 16 else max(8, cell - 3)
    diverging = domain[0] < 0 < domain[1]
    scale = (
        alt.Scale(domain=list(domain), scheme="blueorange", domainMid=0)
        if diverging
        else alt.Scale(domain=list(domain), scheme="viridis")
    )
    axis = {"labelFontSize": font, "labelLimit": 320, "ticks": False, "domain": False}
    base = alt.Chart(frame).encode(
        x=alt.X(f"{x}:N", sort=list(order), title=x_title, axis=alt.Axis(labelAngle=-45, **axis)),
        y=alt.Y(f"{y}:N", sort=list(order), title=y_title, axis=alt.Axis(**axis)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=scale, title=value_title, legend=alt.Legend(gradientLength=160)),
        tooltip=[*tooltip, alt.Tooltip(f"{value}:Q", format=".4f", title=value_title)],
    )
    chart: alt.TopLevelMixin = cells
    if n <= CELL_VALUES_UP_TO:
        shown = text or value
        middle = (domain[0] + domain[1]) / 2
        dark = f"abs(datum.{value}) > {abs(domain[1]) / 2}" if diverging else f"datum.{value} < {middle}"
        labels = base.mark_text(fontSize=min(11, max(7, cell // 3))).encode(
            text=alt.Text(f"{shown}:Q", format=".2f" if text is None else "d"),
            color=alt.condition(dark, alt.value("white"), alt.value("black")),
        )
        chart = cells + labels
    return _figure(name, title, chart.properties(width=cell * n, height=cell * n), ())


def bars(
    frame: pd.DataFrame,
    *,
    name: str,
    title: str,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    baseline: str | None = None,
    baseline_title: str = "",
) -> Figure:
    """Counts of an integer quantity: one bar per value of `x` (all shown, the tail included), on
    a symmetric-log count axis so that a count of 1 stays visible beside hundreds; an optional
    expected count per bar (`baseline`) as a line with points."""
    xs = sorted(frame[x].unique().tolist())
    x_enc = alt.X(f"{x}:O", sort=xs, title=x_title, axis=alt.Axis(labelAngle=0))
    top = float(frame[[y, baseline]].max().max() if baseline else frame[y].max()) if len(frame) else 1.0
    scale = alt.Scale(type="symlog", constant=1, domain=[0, top * 1.3 + 1])  # room for the counts
    y_axis = _integer_axis(f"{y_title} (symmetric log scale)", [0, int(frame[y].max())] if len(frame) else [])
    if len(frame) and frame[y].max() > 10:
        y_axis = alt.Axis(title=y_axis.title, format="d", tickMinStep=1)
    tips = [alt.Tooltip(f"{x}:O", title=x_title), alt.Tooltip(f"{y}:Q", title=y_title)]
    if baseline:
        tips.append(alt.Tooltip(f"{baseline}:Q", title=baseline_title, format=".1f"))
    base = alt.Chart(frame).encode(x=x_enc)
    chart: alt.TopLevelMixin = base.mark_bar(color="#4c78a8").encode(
        y=alt.Y(f"{y}:Q", scale=scale, axis=y_axis), tooltip=tips
    )
    chart = chart + base.mark_text(dy=-6, fontSize=9).encode(
        y=alt.Y(f"{y}:Q", scale=scale), text=alt.Text(f"{y}:Q", format="d")
    )
    if baseline:
        expected = base.mark_line(color="#e45756", point=True).encode(
            y=alt.Y(f"{baseline}:Q", scale=scale), tooltip=tips
        )
        chart = chart + expected
    width = max(WIDTH, 22 * len(xs))
    return _figure(name, title, chart.properties(width=width, height=HEIGHT), (x_title, y_axis.title))


def intervals(
    frame: pd.DataFrame,
    *,
    name: str,
    title: str,
    x: str,
    x_title: str,
    y_title: str,
    series: str,
    series_title: str,
    categories: Sequence[Any] | None = None,
    integer_x: bool = False,
    joined: bool = True,
) -> Figure:
    """Means (`mean`) with their intervals (`low`, `high`, error bars) at each value of `x`, one
    colour per `series`, joined by lines (`joined`; else side by side). `x` is categorical: the
    values of a sweep axis or the evaluation conditions, each labelled as it is (never a tick
    between two values)."""
    order = list(categories) if categories is not None else sorted(frame[x].dropna().unique().tolist())
    dodge = not joined and frame[series].nunique() > 1
    offset = alt.XOffset(f"{series}:N") if dodge else alt.Undefined
    x_enc = alt.X(f"{x}:N" if categories is not None else f"{x}:O", sort=order, title=x_title)
    x_enc = x_enc.axis(labelAngle=0 if len(order) < 6 else -30)
    color = alt.Color(f"{series}:N", title=series_title, legend=alt.Legend(orient="bottom", columns=2))
    tips = [
        alt.Tooltip(f"{series}:N", title=series_title),
        alt.Tooltip(f"{x}:N", title=x_title),
        alt.Tooltip("mean:Q", format=".4f"),
        alt.Tooltip("low:Q", format=".4f", title="95% CI low"),
        alt.Tooltip("high:Q", format=".4f", title="95% CI high"),
        alt.Tooltip("n:Q", title="n"),
    ]
    base = alt.Chart(frame).encode(x=x_enc, color=color)
    points = base.mark_point(filled=True, size=50).encode(
        y=alt.Y("mean:Q", title=y_title, scale=alt.Scale(zero=False)), tooltip=tips, xOffset=offset
    )
    errors = base.mark_errorbar(ticks={"size": 10}, thickness=1.5).encode(
        y=alt.Y("low:Q", title=y_title), y2="high:Q", xOffset=offset
    )
    chart = errors + points
    if joined and len(order) > 1:
        chart = base.mark_line(opacity=0.5).encode(y="mean:Q") + chart
    width = max(WIDTH, 70 * len(order))
    integer = (x_title,) if integer_x else ()
    return _figure(name, title, chart.properties(width=width, height=HEIGHT), integer)


def lines(
    frame: pd.DataFrame,
    *,
    name: str,
    title: str,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    color: str,
    color_title: str,
    detail: str,
    integer_x: bool = True,
) -> Figure:
    """One line per `detail` (a run), coloured by `color` (its learner); hover names the run;
    zoom and pan with the mouse."""
    x_axis = _integer_axis(x_title, frame[x].tolist()) if integer_x else alt.Axis(title=x_title)
    tips = [alt.Tooltip(f"{detail}:N", title="run"), alt.Tooltip(f"{x}:Q", title=x_title)]
    tips.append(alt.Tooltip(f"{y}:Q", title=y_title, format=".4f"))
    chart = (
        alt.Chart(frame)
        .mark_line(point=True, opacity=0.75)
        .encode(
            x=alt.X(f"{x}:Q", axis=x_axis, scale=alt.Scale(nice=False)),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(zero=False)),
            color=alt.Color(f"{color}:N", title=color_title, legend=alt.Legend(orient="bottom", columns=3)),
            detail=f"{detail}:N",
            tooltip=tips,
        )
        .interactive()
    )
    integer = (x_title,) if integer_x else ()
    return _figure(name, title, chart.properties(width=WIDTH, height=HEIGHT), integer)


def dendrogram(
    icoord: list[list[float]], dcoord: list[list[float]], leaves: list[str], *, name: str, title: str
) -> Figure:
    """SciPy's dendrogram drawing (`icoord`, `dcoord`) on its side: the leaves down the left, read
    horizontally, the merge distance along the bottom."""
    segments = []
    for xs, ds in zip(icoord, dcoord, strict=True):
        for k in range(3):
            segments.append({"y": xs[k], "y2": xs[k + 1], "x": ds[k], "x2": ds[k + 1]})
    positions = [5.0 + 10.0 * i for i in range(len(leaves))]
    expression = f"{json.dumps(leaves)}[round((datum.value - 5) / 10)] || ''"
    height = max(120, min(18, 900 // max(len(leaves), 1)) * len(leaves))
    chart = (
        alt.Chart(pd.DataFrame(segments))
        .mark_rule(color="#2c728e", strokeWidth=1.5)
        .encode(
            x=alt.X("x:Q", title="merge distance (1 − similarity)", scale=alt.Scale(zero=True)),
            x2="x2:Q",
            y=alt.Y(
                "y:Q",
                title=None,
                scale=alt.Scale(domain=[0, 10 * len(leaves)], nice=False, zero=False),
                axis=alt.Axis(values=positions, labelExpr=expression, grid=False, labelFontSize=10),
            ),
            y2="y2:Q",
        )
    )
    return _figure(name, title, chart.properties(width=WIDTH, height=height))


@functools.cache
def javascript() -> str:
    """Vega, Vega-Lite and vega-embed as one script, safe to inline in a <script> element."""
    import vl_convert

    return vl_convert.javascript_bundle(vl_version=VEGA_LITE).replace("</script", "<\\/script")


def export(figure: Figure, fmt: str) -> bytes:
    """The figure as SVG, PNG (2x) or PDF, rendered without a browser."""
    import vl_convert

    if fmt == "svg":
        return vl_convert.vegalite_to_svg(figure.spec, vl_version=VEGA_LITE).encode()
    if fmt == "png":
        return vl_convert.vegalite_to_png(figure.spec, vl_version=VEGA_LITE, scale=2)
    if fmt == "pdf":
        return vl_convert.vegalite_to_pdf(figure.spec, vl_version=VEGA_LITE)
    raise ValueError(f"unknown figure format {fmt!r}: use svg, png or pdf")
