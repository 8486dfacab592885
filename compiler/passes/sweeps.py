"""Pass 6: expand the sweep into points — a cross product, with zip(...) for paired axes.

    sweep {
      seed  = 0..4                                             # one axis
      scale = zip(width = [1, 2, 4], data_fraction = [0.25, 0.5, 1])   # paired axes
    }

gives 5 x 3 = 15 points. Without a sweep, every learner runs once, with the
experiment's seed, full width and all the training data.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from homog.dsl.diagnostics import did_you_mean
from homog.dsl.syntax import Attribute, Call, ListValue, Range, Span

from .. import codes
from ..context import Context


@dataclass(frozen=True)
class Axis:
    integer: bool
    low: float  # values must be above it (or equal, when `inclusive`)
    inclusive: bool
    high: float | None  # values must be at most `high`
    meaning: str


AXES = {
    "seed": Axis(True, 0, True, None, "the seed of initial weights, batch order and dropout"),
    "width": Axis(False, 0, False, None, "multiplies every hidden size of a network"),
    "data_fraction": Axis(False, 0, False, 1.0, "the fraction of the training split used"),
    "lr": Axis(False, 0, False, None, "the learning rate of a network's optimizer"),
    "epochs": Axis(True, 1, True, None, "a network's training epochs"),
    "depth": Axis(True, 1, True, None, "a network's number of hidden layers"),
}
# Axes that only networks have: a scikit-learn learner is the same at every value.
NETWORK_AXES = ("width", "lr", "epochs", "depth")
RUN_SCOPES_NEEDING_TWO = ("across", "pairwise", "population", "cluster")


def expand_sweeps(ctx: Context) -> None:
    experiment = ctx.one("experiment")
    base_seed = experiment.data.seed if experiment and experiment.data else 0
    defaults = {
        "seed": base_seed,
        "width": 1.0,
        "data_fraction": 1.0,
        "lr": None,
        "epochs": None,
        "depth": None,
    }
    groups: list[list[dict[str, Any]]] = []
    sweep = ctx.one("sweep")
    if sweep is not None:
        for member in sweep.block.members:
            if isinstance(member, Attribute):
                group = _group(ctx, member)
                if group is not None:
                    groups.append(group)
    points = []
    for combination in itertools.product(*groups):
        point = dict(defaults)
        for part in combination:
            point.update(part)
        points.append(point)
    folds = _folds(ctx)
    ctx.sweep_points = [{**point, "fold": fold} for point in points for fold in range(folds)]
    _metrics_need_two_runs(ctx)


def _folds(ctx: Context) -> int:
    """Every run is repeated per fold of a k-fold split."""
    counts = {}
    for dataset in ctx.of_kind("dataset"):
        call = ctx.call(dataset.data.split) if dataset.data else None
        if call is not None and call.entry.name == "kfold":
            counts[dataset.name] = (call.params.k, dataset.data.split.span)
    if len({k for k, _ in counts.values()}) > 1:
        (first, (k1, _)), *rest = counts.items()
        other, (k2, span) = next((name, v) for name, v in rest if v[0] != k1)
        ctx.report(
            codes.MIXED_FOLDS,
            f"'{first}' is split into {k1} folds and '{other}' into {k2}",
            span,
            hint="use the same k for every dataset of one experiment",
        )
        return 1
    return next(iter(counts.values()))[0] if counts else 1


def _group(ctx: Context, member: Attribute) -> list[dict[str, Any]] | None:
    key = member.key
    value = member.value
    if isinstance(value, Call) and value.callee.dotted == "zip" and key.text not in AXES:
        return _zip(ctx, member)
    if key.text not in AXES:
        ctx.report(
            codes.UNKNOWN_SWEEP_AXIS,
            f"there is no sweep axis '{key.text}'",
            key.span,
            hint=_axis_hint(key.text),
        )
        return None
    values = _axis_values(ctx, key.text, value)
    return None if values is None else [{key.text: v} for v in values]


def _axis_hint(name: str) -> str:
    close = did_you_mean(name, AXES)
    if close is not None:
        return f"did you mean '{close}'?"
    return "the axes are " + ", ".join(AXES) + "; pair axes as in scale = zip(width = [...], seed = [...])"


def _zip(ctx: Context, member: Attribute) -> list[dict[str, Any]] | None:
    call = member.value
    columns: dict[str, list[Any]] = {}
    spans: dict[str, Span] = {}
    for arg in call.args:
        if arg.name is None or arg.name.text not in AXES:
            name = arg.name.text if arg.name else None
            ctx.report(
                codes.UNKNOWN_SWEEP_AXIS,
                f"there is no sweep axis '{name}'" if name else "zip(...) pairs named axes",
                arg.name.span if arg.name else arg.span,
                hint=_axis_hint(name) if name else "write zip(width = [...], seed = [...])",
            )
            return None
        values = _axis_values(ctx, arg.name.text, arg.value, warn_single=False)
        if values is None:
            return None
        columns[arg.name.text] = values
        spans[arg.name.text] = arg.value.span
    if not columns:
        ctx.report(codes.EMPTY_SWEEP, "zip() pairs no axes", call.span, hint="write zip(width = [...], ...)")
        return None
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        first, *rest = lengths
        odd = next(name for name in rest if lengths[name] != lengths[first])
        ctx.report(
            codes.ZIP_LENGTH_MISMATCH,
            f"zip pairs '{first}' ({_values(lengths[first])}) with '{odd}' ({_values(lengths[odd])})",
            spans[odd],
            hint="paired axes need the same number of values",
        )
        return None
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _values(count: int) -> str:
    return f"{count} value" + ("" if count == 1 else "s")


def _axis_values(ctx: Context, axis: str, value, warn_single: bool = True) -> list[Any] | None:
    if isinstance(value, Range):
        values = list(range(value.start, value.stop + 1))
        items = None
    elif isinstance(value, ListValue):
        items = list(value.items)
        values = [getattr(item, "value", None) for item in items]
    elif hasattr(value, "value") and not isinstance(value.value, (str, bool)):
        items = [value]
        values = [value.value]
    else:
        ctx.report(
            codes.WRONG_TYPE,
            f"sweep axis '{axis}' expects a range such as 0..4 or a list",
            value.span,
            hint=f"write {axis} = [...]",
        )
        return None
    if not values:
        ctx.report(
            codes.EMPTY_SWEEP,
            f"sweep axis '{axis}' has no values",
            value.span,
            hint="a range counts up: write 0..4, not 4..0"
            if isinstance(value, Range)
            else "list at least one value",
        )
        return None
    for index, item_value in enumerate(values):
        problem = _check_value(axis, item_value)
        if problem is not None:
            code, message, hint = problem
            span = items[index].span if items else value.span
            ctx.report(code, message, span, hint=hint)
            return None
    if len(values) == 1 and warn_single:
        ctx.report(
            codes.SINGLE_VALUE_SWEEP,
            f"sweep axis '{axis}' has one value: it sweeps nothing",
            value.span,
            hint="add values, or set it once elsewhere",
        )
    return values if AXES[axis].integer else [float(v) for v in values]


def _check_value(name: str, value: Any):
    axis = AXES[name]
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if axis.integer and not (isinstance(value, int) and numeric):
        return codes.WRONG_TYPE, f"'{name}' values must be integers, not {value!r}", "write whole numbers"
    if not numeric:
        return codes.WRONG_TYPE, f"'{name}' values must be numbers, not {value!r}", "write numbers"
    too_low = value < axis.low if axis.inclusive else value <= axis.low
    too_high = axis.high is not None and value > axis.high
    if too_low or too_high:
        bounds = f"{'at least' if axis.inclusive else 'greater than'} {axis.low:g}"
        if axis.high is not None:
            bounds += f" and at most {axis.high:g}"
        return (
            codes.OUT_OF_RANGE,
            f"'{name}' values must be {bounds}, not {value:g}",
            f"'{name}' is {axis.meaning}",
        )
    return None


def _metrics_need_two_runs(ctx: Context) -> None:
    learners = [d for d in ctx.blocks if d.kind in ("model", "fusion")]
    runs = len(learners) * len(ctx.sweep_points)
    if ctx.failed or runs >= 2:
        return
    for metrics in ctx.of_kind("metrics"):
        for invocation in metrics.entries:
            call = ctx.call(invocation)
            if call is not None and call.entry.scope in RUN_SCOPES_NEEDING_TWO:
                ctx.report(
                    codes.METRIC_NEEDS_TWO_RUNS,
                    f"'{call.entry.name}' compares runs, and this spec has one run",
                    invocation.span,
                    hint="sweep seeds (seed = 0..4) or declare more learners",
                )
