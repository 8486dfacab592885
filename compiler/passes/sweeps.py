"""Pass 6: expand the sweep into points — a cross product, with zip(...) for paired axes.

    sweep {
      seed  = 0..4                                             # one axis
      scale = zip(width = [1, 2, 4], data_fraction = [0.25, 0.5, 1])   # paired axes
    }

gives 5 x 3 = 15 points. Without a sweep, every learner runs once, with the
experiment's seed, full width and all the training data.

The number of runs (learners x points x folds) is counted from the axes'
lengths before anything is expanded, and bounded by MAX_RUNS: every run is a
training, and the graph and its compilation grow with the runs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from homog.dsl.diagnostics import Related, did_you_mean
from homog.dsl.syntax import Attribute, Call, ListValue, Range, Span

from .. import codes
from ..blocks import MAX_SEED
from ..context import Context

MAX_RUNS = 5_000  # learners x sweep points x folds: at most about 1 s to compile (lowering is linear)


@dataclass(frozen=True)
class Axis:
    integer: bool
    low: float  # values must be above it (or equal, when `inclusive`)
    inclusive: bool
    high: float | None  # values must be at most `high`
    meaning: str


AXES = {
    "seed": Axis(True, 0, True, MAX_SEED, "the seed of initial weights, batch order and dropout"),
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
    setters: dict[str, Span] = {}  # axis -> where it is first set
    if sweep is not None:
        for member in sweep.block.members:
            if isinstance(member, Attribute):
                group = _group(ctx, member)
                if group is not None and _set_once(ctx, member, setters):
                    groups.append(group)
    folds = _folds(ctx)
    if not _within_bounds(ctx, sweep, groups, folds):
        ctx.sweep_points = []
        return
    points = []
    for combination in itertools.product(*groups):
        point = dict(defaults)
        for part in combination:
            point.update(part)
        points.append(point)
    ctx.sweep_points = [{**point, "fold": fold} for point in points for fold in range(folds)]
    _metrics_need_two_runs(ctx)


def _set_once(ctx: Context, member: Attribute, setters: dict[str, Span]) -> bool:
    """An axis is set by one member: plainly, or in one zip(...); a second would silently win."""
    value = member.value
    if isinstance(value, Call) and value.callee.dotted == "zip" and member.key.text not in AXES:
        named = [(arg.name.text, arg.name.span) for arg in value.args if arg.name is not None]
    else:
        named = [(member.key.text, member.key.span)]
    for axis, span in named:
        first = setters.get(axis)
        if first is not None:
            ctx.report(
                codes.AXIS_SET_TWICE,
                f"sweep axis '{axis}' is set twice: one setting would silently replace the other",
                span,
                hint=f"set '{axis}' once: either plainly or in one zip(...)",
                related=(Related(first, f"'{axis}' is first set here"),),
            )
            return False
    for axis, span in named:
        setters[axis] = span
    return True


def _within_bounds(ctx: Context, sweep, groups: list[list[dict[str, Any]]], folds: int) -> bool:
    """Count the runs from the axes' lengths, before the cross product is expanded."""
    learners = max(1, len([d for d in ctx.blocks if d.kind in ("model", "fusion")]))
    points = 1
    for group in groups:
        points *= len(group)
    runs = learners * points * folds
    if runs <= MAX_RUNS:
        return True
    parts = [f"{learners} learner{'s' if learners != 1 else ''}"]
    parts += [f"{len(group):,} {'/'.join(group[0])} values" for group in groups]
    if folds > 1:
        parts.append(f"{folds} folds")
    ctx.report(
        codes.SWEEP_TOO_LARGE,
        f"the sweep gives {runs:,} runs ({' x '.join(parts)}); a spec compiles at most {MAX_RUNS:,}",
        sweep.block.kind.span if sweep is not None else None,
        hint="sweep fewer values (a few seeds per configuration usually suffice), "
        "or split the study into several specs",
    )
    return False


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
        bounds = f"{'at least' if axis.inclusive else 'greater than'} {_number(axis.low)}"
        if axis.high is not None:
            bounds += f" and at most {_number(axis.high)}"
        return (
            codes.OUT_OF_RANGE,
            f"'{name}' values must be {bounds}, not {_number(value)}",
            f"'{name}' is {axis.meaning}",
        )
    return None


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _metrics_need_two_runs(ctx: Context) -> None:
    learners = [d for d in ctx.blocks if d.kind in ("model", "fusion")]
    runs = len(learners) * len(ctx.sweep_points)
    if ctx.failed or runs >= 2 or ctx.of_kind("external"):  # an external source is a population
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
