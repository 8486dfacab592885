"""What changed between two runs: the spec (a unified diff) and every key number that moved."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from ..results import Pairwise, Population, Results
from ..rundir import SMOKE_LINE
from .rundir import environment, load_run


def key_numbers(results: Results) -> dict[str, float | None]:
    """The numbers a diff compares: mean scores per learner and condition, pairwise block means,
    and systemic failure."""
    numbers: dict[str, float | None] = {}
    for label, metric in sorted(results.metrics.items()):
        for row in getattr(metric, "summary", None) or []:
            numbers[f"{label} | {row.learner} | {row.condition} | mean"] = row.mean
        if isinstance(metric, Pairwise):
            for entry in metric.per_condition:
                where = f"{entry.dataset} | {entry.condition} | fold {entry.fold}"
                for block in entry.between_learners:
                    numbers[f"{label} | {block.a} × {block.b} | {where}"] = block.mean
                for within in entry.within_learners:
                    numbers[f"{label} | {within.learner} seed to seed | {where}"] = within.mean
        if isinstance(metric, Population):
            for entry in metric.per_condition:
                where = f"{entry.dataset} | {entry.condition} | fold {entry.fold}"
                numbers[f"{label} | log10 H across learners | {where}"] = entry.across_learners_summary.mean
                for within in entry.within_learners:
                    numbers[f"{label} | H of {within.learner}'s seeds | {where}"] = within.homogenization
    return numbers


def latest_run_of(spec_text: str, runs: Path) -> Path | None:
    """The newest finished run directory whose spec is this text (a smoke run's: less its first line)."""
    candidates = sorted(runs.glob("*/spec.homog"), reverse=True) if runs.is_dir() else []
    for spec in candidates:
        if (
            spec.read_text(encoding="utf-8").removeprefix(SMOKE_LINE) == spec_text
            and (spec.parent / "results.json").is_file()
        ):
            return spec.parent
    return None


def diff_runs(a: Path, b: Path) -> dict[str, Any]:
    run_a, run_b = load_run(a), load_run(b)
    spec_diff = list(
        difflib.unified_diff(
            run_a.spec.splitlines(),
            run_b.spec.splitlines(),
            f"{a}/spec.homog",
            f"{b}/spec.homog",
            lineterm="",
        )
    )
    numbers_a, numbers_b = key_numbers(run_a.results), key_numbers(run_b.results)
    rows = []
    for key in sorted(set(numbers_a) | set(numbers_b)):
        va, vb = numbers_a.get(key), numbers_b.get(key)
        if va == vb:
            continue
        delta = vb - va if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None
        rows.append({"key": key, "a": va, "b": vb, "delta": delta})
    return {"a": str(a), "b": str(b), "spec_diff": spec_diff, "numbers": rows}


def _shown(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def diff_text(diff: dict[str, Any]) -> str:
    lines = [f"spec: {diff['a']} -> {diff['b']}"]
    lines += diff["spec_diff"] or ["  (the specs are the same)"]
    lines.append("")
    lines.append("key numbers that changed:" if diff["numbers"] else "no key number changed")
    for row in diff["numbers"]:
        delta = "" if row["delta"] is None else f"  ({row['delta']:+.4f})"
        lines.append(f"  {row['key']}: {_shown(row['a'])} -> {_shown(row['b'])}{delta}")
    return "\n".join(lines) + "\n"


def diff_html(diff: dict[str, Any]) -> str:
    return environment().get_template("diff.html.j2").render(diff=diff)
