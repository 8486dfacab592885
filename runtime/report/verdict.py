"""The verdict: at most about ten plain sentences that answer the spec, each with its interval and
n, formatted from the typed results (evaluation computed every number)."""

from __future__ import annotations

from typing import Any

from ..results import Pairwise, Population, Results
from .sections import metrics_of, phrase

MAX_SENTENCES = 10


def verdict(results: Results) -> list[str]:
    """At most about ten plain sentences, each with its interval and n: first the comparison the
    spec declares (between learners), then homogenization across learners, then the seed-to-seed
    replication as a check on it."""
    between, homogenization, replication = [], [], []
    for label, metric in metrics_of(results, Pairwise):
        between += _between(label, metric)
        replication += _replication(label, metric)
    for label, metric in metrics_of(results, Population):
        pooled = [p for p in metric.pooled if p.condition == "clean"]
        clean = [e for e in metric.per_condition if e.condition == "clean" and e.fold == 0]
        homogenization += [_pooled_h(label, p) for p in pooled] or [_across(label, e) for e in clean]
    return list(dict.fromkeys(between[:5] + homogenization[:2] + replication))[:MAX_SENTENCES]


def _interval(low: float | None, high: float | None, n: int, unit: str) -> str:
    if low is None or high is None:
        return f" (n = {n} {unit}: too few for an interval)"
    return f" [95% CI {low:.2f}, {high:.2f}; n = {n} {unit}]"


def _between(label: str, metric: Pairwise) -> list[str]:
    """Learner against learner on clean data: pooled over folds where there are several."""
    pooled = [p for p in metric.pooled if p.condition == "clean"]
    if pooled:
        return [
            f"{p.a} and {p.b} {phrase(metric.metric, p.mean)}"
            f"{_interval(p.low, p.high, p.n, 'folds')} ({label})."
            for p in pooled
            if p.mean is not None
        ]
    return [
        f"{b.a} and {b.b} {phrase(metric.metric, b.mean)}{_interval(b.low, b.high, b.n, 'sweep points')} "
        f"({label})."
        for entry in metric.per_condition
        if entry.condition == "clean" and entry.fold == 0
        for b in entry.between_learners
        if b.mean is not None
    ]


def _replication(label: str, metric: Pairwise) -> list[str]:
    out = []
    for entry in metric.per_condition:
        if entry.condition != "clean" or entry.fold != 0:
            continue
        for within in entry.within_learners:
            if within.note and within.note.startswith("deterministic"):
                out.append(
                    f"{within.learner} is deterministic: the seed has no effect "
                    f"({within.seeds} seeds, one fit)."
                )
            elif within.mean is not None:
                low, high = within.ci95 or (None, None)
                words = phrase(metric.metric, within.mean)
                bootstrap = bool(within.method and within.method.startswith("percentile bootstrap"))
                n = within.pairs if bootstrap else within.independent_pairs
                unit = "pairs of runs" if bootstrap else "pairs that share no run"
                shown = _interval(low, high, n, unit)
                runs = f"the {within.runs} runs of {within.learner}"
                if within.configurations > 1:
                    runs += f" ({within.configurations} configurations)"
                out.append(f"Seed to seed, {runs} {words}{shown} ({label}).")
    return list(dict.fromkeys(out))


def _pooled_h(label: str, pooled: Any) -> str:
    """Homogenization across learners, pooled over k folds (each fold's mean log10 H one unit)."""
    if pooled.mean is None:
        return f"Homogenization across learners is undefined on {pooled.dataset} ({label})."
    low = None if pooled.low is None else 10**pooled.low
    high = None if pooled.high is None else 10**pooled.high
    shown = _interval(low, high, pooled.n, "folds")
    return f"Across learners, H = {10**pooled.mean:.3g}{shown} on {pooled.dataset} ({label}; over folds)."


def _across(label: str, entry: Any) -> str:
    """Homogenization across learners, summarised over the sweep points (seeds) on a log scale."""
    summary = entry.across_learners_summary
    if summary.mean is None:
        reasons = {point.reason for point in entry.across_learners if point.reason}
        why = "; ".join(sorted(reasons)) or "fewer than two learners"
        return f"Homogenization across learners is undefined ({label}): {why}."
    h = 10**summary.mean
    if summary.low is None:
        judged = "(too few sweep points for an interval)"
    elif summary.low > 0:
        judged = "they fail together more often than independent models would"
    elif summary.high < 0:
        judged = "they fail together less often than independent models would"
    else:
        judged = "the interval includes independence (H = 1)"
    low = None if summary.low is None else 10**summary.low
    high = None if summary.high is None else 10**summary.high
    shown = _interval(low, high, summary.n, "sweep points")
    mean = "the geometric mean over seeds"
    return f"Across learners, H = {h:.3g}{shown}: {judged} ({label}; H is {mean})."
