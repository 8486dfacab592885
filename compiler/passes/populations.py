"""Pass 6b: populations — what a comparison compares, and what a condition shifts.

Runs are compared only when they are tested on the same examples: the same
dataset, fold and condition. A comparison (a pairwise, population, test or
cluster metric) whose learners are tested on different datasets compares each
dataset's runs separately (W205), and is an error where no two of its distinct
runs share a dataset (E249). Runs whose fit does not depend on an axis are one
run: a scikit-learn learner is the same at every width, learning rate, epochs
and depth, and a deterministic one (`Entry.seeded` False) at every seed on all
the training data. A condition that shifts nothing a learner it applies to
reads would report that learner's clean numbers under its name (W206).
"""

from __future__ import annotations

from dataclasses import dataclass

from homog.dsl.diagnostics import Related

from .. import codes
from ..context import Context, Declared
from .sweeps import AXES, NETWORK_AXES, RUN_SCOPES_NEEDING_TWO
from .typecheck import learner_representations, reads, tested_on

COMPARING = ("pairwise", "population", "test", "cluster")


@dataclass(frozen=True)
class Facts:
    """What decides a learner's runs: where it is tested, what it reads, and which axes change its fit."""

    dataset: str | None
    reads: frozenset[str]
    sklearn: bool
    seeded: bool
    late_inputs: tuple[str, ...]  # a late fusion's learners; () otherwise


def populations(ctx: Context) -> None:
    if ctx.failed:  # an unresolved reference would make a learner's dataset or inputs unknown
        return
    facts = {d.name: _facts(ctx, d) for d in ctx.blocks if d.kind in ("model", "fusion")}
    for metrics in ctx.of_kind("metrics"):
        for invocation in metrics.entries:
            call = ctx.call(invocation)
            if call is not None:
                _metric(ctx, facts, call, invocation)
                if call.entry.name == "cluster":
                    _cluster_size(ctx, facts, call, invocation)
    for evaluate in ctx.of_kind("evaluate"):
        for condition in evaluate.nested:
            _condition(ctx, facts, condition)


def _facts(ctx: Context, learner: Declared) -> Facts:
    data = learner.data
    if learner.kind == "model":
        call = ctx.call(data.arch)
        sklearn = call is not None and call.entry.backend == "sklearn"
        seeded = call is None or call.entry.seeded
        return Facts(tested_on(ctx, learner), frozenset(reads(ctx, learner)), sklearn, seeded, ())
    strategy = ctx.call(data.strategy)
    late = tuple(s.name for s in data.inputs) if strategy is not None and strategy.entry.late else ()
    return Facts(tested_on(ctx, learner), frozenset(reads(ctx, learner)), False, True, late)


def run_key(facts: dict[str, Facts], name: str, point: dict) -> tuple:
    """What tells one of a learner's runs from another: the axes its fit depends on at this point."""
    fact = facts[name]
    if fact.late_inputs:
        return tuple(run_key(facts, n, point) for n in fact.late_inputs)
    seed_matters = fact.seeded or point["data_fraction"] < 1
    return tuple(
        point[axis]
        for axis in AXES
        if not (fact.sklearn and axis in NETWORK_AXES) and (axis != "seed" or seed_matters)
    )


def _distinct(ctx: Context, facts: dict[str, Facts], names: list[str]) -> int:
    """Distinct runs of these learners on one fold (every fold has the same points)."""
    points = [p for p in ctx.sweep_points if p.get("fold", 0) == 0]
    return len({(name, run_key(facts, name, p)) for name in names for p in points})


def _taking_part(ctx: Context, call) -> list[str]:
    learners = [d for d in ctx.blocks if d.kind in ("model", "fusion")]
    if call.entry.needs_representations:
        return [d.name for d in learners if call.params.layer in learner_representations(ctx, d)]
    if call.entry.scope == "test":
        return list(dict.fromkeys([call.params.a.name, call.params.b.name]))
    return [d.name for d in learners]


def _metric(ctx: Context, facts: dict[str, Facts], call, invocation) -> None:
    scope, metric = call.entry.scope, call.entry.name
    names = _taking_part(ctx, call)
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(facts[name].dataset or "", []).append(name)
    if scope == "test":
        if len(groups) > 1:
            a, b = names
            ctx.report(
                codes.NO_SHARED_EXAMPLES,
                f"'{metric}' compares '{a}' (tested on '{facts[a].dataset}') with '{b}' "
                f"(tested on '{facts[b].dataset}'): they are never tested on the same examples",
                invocation.span,
                hint="compare two learners tested on the same dataset",
            )
        return
    if len(groups) == 1:
        if scope in RUN_SCOPES_NEEDING_TWO:
            _identical_runs(ctx, facts, names, metric, invocation)
        return
    if scope not in COMPARING or not groups:
        return
    sizes = {dataset: _distinct(ctx, facts, group) for dataset, group in groups.items()}
    described = _groups(groups)
    if all(size < 2 for size in sizes.values()):
        ctx.report(
            codes.NO_SHARED_EXAMPLES,
            f"'{metric}' compares runs tested on the same examples, and no two of its runs are: {described}",
            invocation.span,
            hint="runs on different datasets are never compared: test the learners on one dataset, "
            "or sweep seeds (seed = 0..4) to compare each learner's runs",
        )
        return
    lonely = [name for dataset, size in sizes.items() if size < 2 for name in groups[dataset]]
    left_out = ""
    if lonely:
        left_out = f"; {_names(lonely)} {'has' if len(lonely) == 1 else 'have'} no run to compare with"
    ctx.report(
        codes.COMPARED_SEPARATELY,
        f"'{metric}' compares only runs tested on the same examples: {described} "
        f"are compared separately{left_out}",
        invocation.span,
        hint="runs on different datasets are never compared: to compare these learners with each "
        "other, test them on one dataset",
    )


def _cluster_size(ctx: Context, facts: dict[str, Facts], call, invocation) -> None:
    """k-means cannot make fewer than one cluster, nor more clusters than it has items. The items are
    at most the learners (level = learners), or their distinct runs on one fold (runs that are one fit
    are one item): an error only where even that many are too few."""
    k = call.params.k
    if not isinstance(k, int) or isinstance(k, bool):
        return  # auto
    span = invocation.spans.get(("k",), invocation.span)
    if k < 1:
        ctx.report(
            codes.OUT_OF_RANGE,
            f"'k' of 'cluster' must be at least 1, not {k}",
            span,
            hint="ask for at least one cluster, or write k = auto to choose k by silhouette",
        )
        return
    if call.params.method != "kmeans":
        return  # hierarchical clustering draws a dendrogram and takes no k
    learners = len([d for d in ctx.blocks if d.kind in ("model", "fusion")])
    if call.params.level == "learners":
        items, what = learners, f"{learners} learner{'s' if learners != 1 else ''}"
    else:
        items = _distinct(ctx, facts, list(facts))
        what = f"at most {items} distinct run{'s' if items != 1 else ''}"
    if k > items:
        ctx.report(
            codes.TOO_MANY_CLUSTERS,
            f"'cluster' asks k-means for {k} clusters of {what}",
            span,
            hint=f"ask for at most {items} clusters, or write k = auto to choose k by silhouette",
        )


def _identical_runs(ctx: Context, facts: dict[str, Facts], names: list[str], metric: str, invocation):
    """Several runs that are one fit: a comparison of a run with itself (E247)."""
    runs = len(names) * len([p for p in ctx.sweep_points if p.get("fold", 0) == 0])
    if runs < 2 or _distinct(ctx, facts, names) >= 2:
        return
    ctx.report(
        codes.METRIC_NEEDS_TWO_RUNS,
        f"'{metric}' compares runs, and the {runs} runs of {_names(names)} are one fit: "
        "the seed has no effect on it",
        invocation.span,
        hint="sweep seeds of a learner that uses them (a network, a forest), or declare more learners",
    )


def _names(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _groups(groups: dict[str, list[str]]) -> str:
    return "; ".join(f"{_names(names)} on '{dataset}'" for dataset, names in sorted(groups.items()))


def _condition(ctx: Context, facts: dict[str, Facts], condition: Declared) -> None:
    if condition.domain is not None:
        return  # every learner is tested on the other dataset's examples
    shifted = set(condition.shifts)
    if condition.targets is not None:
        for symbol in condition.targets:
            fact = facts.get(symbol.name)
            if fact is None or fact.reads & shifted:
                continue
            ctx.report(
                codes.CONDITION_SHIFTS_NOTHING,
                f"condition '{condition.name}' shifts nothing '{symbol.name}' reads: it would be "
                f"evaluated on clean data under the condition's name",
                symbol.span,
                hint=f"shift a modality '{symbol.name}' reads ({', '.join(sorted(fact.reads))}), "
                f"or remove it from 'learners'",
                related=(Related(condition.name_span, f"condition '{condition.name}' is declared here"),),
            )
        return
    untouched = [name for name, fact in facts.items() if not fact.reads & shifted]
    if not untouched:
        return
    touched = [name for name in facts if name not in untouched]
    read = sorted(set().union(*(facts[n].reads for n in untouched)))
    they = "it" if len(untouched) == 1 else "they"
    verb = "reads" if len(untouched) == 1 else "read"
    target = f"learners = [{', '.join(touched)}]" if touched else "learners = [...]"
    ctx.report(
        codes.CONDITION_SHIFTS_NOTHING,
        f"condition '{condition.name}' shifts nothing {_names(untouched)} {verb}: {they} would be "
        f"reported under '{condition.name}' on clean data",
        condition.name_span,
        hint=f"name the learners the condition targets ({target}), or shift a modality "
        f"{_names(untouched)} {verb} ({', '.join(read)})",
    )
