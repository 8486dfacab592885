"""Small hand-written SVG charts for the report.

Hand-written rather than a plotting library: the charts are few and simple
(heatmaps, a dendrogram, bars, lines), SVG inlines into one offline HTML file,
and the page stays small. Every value is escaped; every axis is labelled;
colours come from viridis (readable with colour-blindness); a cell or point
shows its exact value on hover through a <title>.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

# Viridis, 9 stops: perceptually uniform and readable by colour-blind readers.
_VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"]
SERIES = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"]  # Okabe-Ito


def _open(kind: str, title: str, width: float, height: float) -> str:
    return (
        f'<svg class="chart {kind}" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
    )


def colour(value: float | None, low: float, high: float) -> str:
    if value is None or not math.isfinite(value):
        return "#dddddd"
    t = 0.0 if high <= low else min(1.0, max(0.0, (value - low) / (high - low)))
    position = t * (len(_VIRIDIS) - 1)
    i = min(int(position), len(_VIRIDIS) - 2)
    frac = position - i
    a, b = _VIRIDIS[i], _VIRIDIS[i + 1]
    mixed = [round(int(a[k : k + 2], 16) * (1 - frac) + int(b[k : k + 2], 16) * frac) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "undefined"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def heatmap(
    matrix: Sequence[Sequence[float | None]],
    labels: Sequence[str],
    title: str,
    low: float | None = None,
    high: float | None = None,
    cell: int = 0,
) -> str:
    n = len(labels)
    values = [v for row in matrix for v in row if v is not None and math.isfinite(v)]
    low = min(values, default=0.0) if low is None else low
    high = max(values, default=1.0) if high is None else high
    cell = cell or max(6, min(28, 480 // max(n, 1)))
    margin = min(220, 7 * max((len(label) for label in labels), default=4) + 12)
    size = margin + n * cell + 70
    parts = [_open("heatmap", title, size, margin + n * cell + 10)]
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            x, y = margin + j * cell, margin + i * cell
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{colour(value, low, high)}">'
                f"<title>{escape(labels[i])} × {escape(labels[j])}: {_fmt(value)}</title></rect>"
            )
    show_labels = cell >= 8
    for i, label in enumerate(labels if show_labels else []):
        y = margin + i * cell + cell / 2 + 4
        parts.append(
            f'<text x="{margin - 4}" y="{y:.1f}" text-anchor="end" class="tick">{escape(label)}</text>'
        )
        x = margin + i * cell + cell / 2 + 4
        parts.append(
            f'<text x="{x:.1f}" y="{margin - 4}" transform="rotate(-60 {x:.1f} {margin - 4})" class="tick">'
            f"{escape(label)}</text>"
        )
    parts.append(_legend(margin + n * cell + 12, margin, max(60, n * cell), low, high))
    parts.append("</svg>")
    return "".join(parts)


def _legend(x: float, y: float, height: float, low: float, high: float) -> str:
    steps = 24
    parts = []
    for k in range(steps):
        value = high - (high - low) * k / (steps - 1)
        parts.append(
            f'<rect x="{x}" y="{y + k * height / steps:.1f}" width="12" height="{height / steps + 0.5:.1f}" '
            f'fill="{colour(value, low, high)}"/>'
        )
    parts.append(f'<text x="{x + 16}" y="{y + 8}" class="tick">{high:.2f}</text>')
    parts.append(f'<text x="{x + 16}" y="{y + height}" class="tick">{low:.2f}</text>')
    return "".join(parts)


def dendrogram(icoord: list[list[float]], dcoord: list[list[float]], leaves: list[str], title: str) -> str:
    n = len(leaves)
    width, height, margin_bottom, margin_left = max(300, 22 * n + 140), 260, 150, 50
    top = max((max(d) for d in dcoord), default=1.0) or 1.0
    span = 10 * n

    def sx(value: float) -> float:
        return margin_left + (value - 5) / max(span - 10, 1) * (width - margin_left - 90)

    def sy(value: float) -> float:
        return 10 + (1 - value / top) * (height - 20)

    parts = [_open("dendrogram", title, width, height + margin_bottom)]
    for xs, ys in zip(icoord, dcoord, strict=True):
        points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys, strict=True))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="#2c728e" stroke-width="1.5">'
            f"<title>merged at distance {max(ys):.3f}</title></polyline>"
        )
    for k, leaf in enumerate(leaves):
        x = sx(5 + 10 * k)
        parts.append(
            f'<text x="{x:.1f}" y="{height + 6}" transform="rotate(60 {x:.1f} {height + 6})" class="tick">'
            f"{escape(leaf)}</text>"
        )
    parts.append(_axis_y(margin_left, 10, height - 10, 0.0, top, "distance (1 − similarity)"))
    parts.append("</svg>")
    return "".join(parts)


def _axis_y(x: float, y0: float, y1: float, low: float, high: float, label: str) -> str:
    parts = [f'<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="#555"/>']
    for k in range(5):
        value = low + (high - low) * k / 4
        y = y1 - (y1 - y0) * k / 4
        parts.append(f'<text x="{x - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{value:.2f}</text>')
    mid = (y0 + y1) / 2
    parts.append(
        f'<text x="12" y="{mid:.1f}" transform="rotate(-90 12 {mid:.1f})" text-anchor="middle" '
        f'class="axis">{escape(label)}</text>'
    )
    return "".join(parts)


def bars(counts: Sequence[float], baseline: Sequence[float], xlabel: str, ylabel: str, title: str) -> str:
    """Observed counts as bars, an independent-failure baseline as dots joined by a line."""
    n = len(counts)
    width, height, left, bottom = max(320, 40 * n + 90), 240, 60, 40
    top = max([*counts, *baseline, 1])
    step = (width - left - 20) / max(n, 1)
    parts = [_open("bars", title, width, height + bottom)]

    def sy(value: float) -> float:
        return 10 + (1 - value / top) * (height - 10)

    for k, count in enumerate(counts):
        x = left + k * step + step * 0.15
        bar = f'x="{x:.1f}" y="{sy(count):.1f}" width="{step * 0.7:.1f}" height="{height - sy(count):.1f}"'
        parts.append(
            f'<rect {bar} fill="{SERIES[0]}"><title>{k} failing: {count:g} examples observed</title></rect>'
        )
        parts.append(
            f'<text x="{x + step * 0.35:.1f}" y="{height + 16}" text-anchor="middle" class="tick">{k}</text>'
        )
    points = " ".join(f"{left + k * step + step / 2:.1f},{sy(v):.1f}" for k, v in enumerate(baseline))
    parts.append(f'<polyline points="{points}" fill="none" stroke="{SERIES[1]}" stroke-width="2"/>')
    for k, value in enumerate(baseline):
        parts.append(
            f'<circle cx="{left + k * step + step / 2:.1f}" cy="{sy(value):.1f}" r="3.5" fill="{SERIES[1]}">'
            f"<title>{k} failing: {value:.1f} expected if independent</title></circle>"
        )
    parts.append(_axis_y(left, 10, height, 0, top, ylabel))
    parts.append(
        f'<text x="{(left + width) / 2:.1f}" y="{height + bottom - 4}" text-anchor="middle" '
        f'class="axis">{escape(xlabel)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


Point = tuple[float, ...]  # (x, y) or (x, y, low, high): a value with its interval


def lines(
    series: dict[str, list[Point]], xlabel: str, ylabel: str, title: str, categories: list[str] | None = None
) -> str:
    """Named series of points (with an error bar where a point has an interval); a legend names each
    series. Ticks are at the x values that occur, or name `categories` (x is then their index)."""
    width, height, left, bottom = 460, 240, 60, 44
    points = [p for values in series.values() for p in values if _finite(p[1])]
    if not points:
        return ""
    xs = sorted({p[0] for p in points})
    ys = [v for p in points for v in p[1:] if _finite(v)]
    x0, x1 = xs[0], xs[-1]
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5

    def sx(x: float) -> float:
        return left + 10 + (x - x0) / (x1 - x0) * (width - left - 150)

    def sy(y: float) -> float:
        return 10 + (1 - (y - y0) / (y1 - y0)) * (height - 10)

    parts = [_open("lines", title, width, height + bottom)]
    for k, (name, values) in enumerate(series.items()):
        stroke = SERIES[k % len(SERIES)]
        shown = [v for v in values if _finite(v[1])]
        path = " ".join(f"{sx(v[0]):.1f},{sy(v[1]):.1f}" for v in shown)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{stroke}" stroke-width="2"/>')
        for v in shown:
            if len(v) == 4 and _finite(v[2]) and _finite(v[3]):
                parts.append(
                    f'<line x1="{sx(v[0]):.1f}" y1="{sy(v[2]):.1f}" x2="{sx(v[0]):.1f}" y2="{sy(v[3]):.1f}" '
                    f'stroke="{stroke}" stroke-width="1"/>'
                )
            interval = f" [{v[2]:.4f}, {v[3]:.4f}]" if len(v) == 4 and _finite(v[2]) and _finite(v[3]) else ""
            at = categories[int(v[0])] if categories else f"{v[0]:g}"
            parts.append(
                f'<circle cx="{sx(v[0]):.1f}" cy="{sy(v[1]):.1f}" r="2.5" fill="{stroke}">'
                f"<title>{escape(name)}: {escape(at)} → {v[1]:.4f}{interval}</title></circle>"
            )
        parts.append(
            f'<rect x="{width - 120}" y="{14 + 16 * k}" width="10" height="10" fill="{stroke}"/>'
            f'<text x="{width - 106}" y="{23 + 16 * k}" class="tick">{escape(name[:18])}</text>'
        )
    parts.append(_axis_y(left, 10, height, y0, y1, ylabel))
    parts.append(f'<line x1="{left}" y1="{height}" x2="{width - 130}" y2="{height}" stroke="#555"/>')
    for x in xs if len(xs) <= 12 else xs[:: len(xs) // 6 + 1]:
        tick = categories[int(x)] if categories else f"{x:g}"
        parts.append(
            f'<text x="{sx(x):.1f}" y="{height + 16}" text-anchor="middle" class="tick">{escape(tick)}</text>'
        )
    parts.append(
        f'<text x="{(left + width - 130) / 2:.1f}" y="{height + bottom - 4}" text-anchor="middle" '
        f'class="axis">{escape(xlabel)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
