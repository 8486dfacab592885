"""Pass 7: assemble the experiment IR from what the earlier passes validated and resolved."""

from __future__ import annotations

from typing import Any

from ..blocks import TrainBlock
from ..context import Context, Declared
from ..fields import Schema
from ..ir import (
    CallIR,
    ConditionIR,
    DatasetIR,
    ExperimentInfo,
    ExperimentIR,
    ExternalIR,
    LearnerIR,
    MetricIR,
    ModalityIR,
    PointIR,
    ReportIR,
    TrainingIR,
)
from ..values import Invocation, Symbol
from . import points
from .typecheck import learner_representations

# The registry entry a spec gets where it names none.
DEFAULTS = {"split": "holdout", "optimizer": "adam", "schedule": "constant"}


def build_ir(ctx: Context) -> None:
    experiment = ctx.one("experiment")
    info = experiment.data
    name = experiment.name or "experiment"
    report = ctx.one("report")
    report_data = report.data if report is not None else None
    learners = _seeded(
        sorted((_learner(ctx, d) for d in ctx.blocks if d.kind in ("model", "fusion")), key=lambda x: x.name)
    )
    sweep = [PointIR(**point) for point in ctx.sweep_points]
    smoke = bool(ctx.options and ctx.options.smoke)
    ctx.ir = ExperimentIR(
        experiment=ExperimentInfo(
            name=name, description=info.description, seed=info.seed, device=info.device, tags=list(info.tags)
        ),
        datasets=sorted((_dataset(ctx, d) for d in ctx.of_kind("dataset")), key=lambda d: d.name),
        modalities=sorted((_modality(ctx, d) for d in ctx.of_kind("modality")), key=lambda m: m.name),
        learners=learners,
        conditions=_conditions(ctx, learners),
        metrics=_metrics(ctx),
        sweep=sweep,
        fits=points.fits(learners, sweep, ctx.registry, smoke),
        report=ReportIR(
            path=(report_data.path if report_data and report_data.path else f"reports/{_slug(name)}.html"),
            title=(report_data.title if report_data and report_data.title else name),
        ),
        externals=sorted((_external(ctx, d) for d in ctx.of_kind("external")), key=lambda e: e.name),
    )


def _external(ctx: Context, external: Declared) -> ExternalIR:
    data = external.data
    return ExternalIR(
        name=external.name,
        source=_call(ctx, data.source, "external"),
        attributes=data.attributes,
        embeddings=data.embeddings,
        dataset=data.dataset.name if data.dataset is not None else None,
        id=data.id,
    )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text).strip("-") or "report"


def plain(value: Any) -> Any:
    """Validated parameters → JSON-ready data; references become their names."""
    if isinstance(value, Symbol):
        return value.name
    if isinstance(value, Schema):
        return {key: plain(getattr(value, key)) for key in type(value).model_fields}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def _call(ctx: Context, invocation: Invocation | None, kind: str | None = None) -> CallIR | None:
    if invocation is None:
        if kind is None:
            return None
        entry = ctx.registry.get(kind, DEFAULTS[kind])
        return CallIR(name=entry.name, params=plain(entry.params()))
    call = ctx.calls[id(invocation)]
    return CallIR(name=call.entry.name, params=plain(call.params))


def _dataset(ctx: Context, dataset: Declared) -> DatasetIR:
    data = dataset.data
    return DatasetIR(name=dataset.name, source=_call(ctx, data.source), split=_call(ctx, data.split, "split"))


def _modality(ctx: Context, modality: Declared) -> ModalityIR:
    data = modality.data
    dataset, field = data.from_.parts
    shape = ctx.shapes.get(modality.name)
    return ModalityIR(
        name=modality.name,
        dataset=dataset,
        field=field,
        type=data.type,
        transforms=[_call(ctx, t) for t in data.transform],
        augment=[_call(ctx, a) for a in data.augment],
        shape=list(shape) if shape is not None else None,
    )


def _training(ctx: Context, learner: Declared) -> TrainingIR:
    """The `train` block's settings, overridden key by key by a learner's own nested `train`."""
    settings = {name: getattr(TrainBlock(), name) for name in TrainBlock.model_fields}
    own = next((n for n in learner.nested if n.kind == "train"), None)
    for layer in (ctx.one("train"), own):
        if layer is not None and layer.data is not None:
            settings.update({key: getattr(layer.data, key) for key in layer.data.model_fields_set})
    return TrainingIR(
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        optimizer=_call(ctx, settings["optimizer"], "optimizer"),
        schedule=_call(ctx, settings["schedule"], "schedule"),
        early_stopping=_call(ctx, settings["early_stopping"]),
        gradient_clip=settings["gradient_clip"],
        mixed_precision=settings["mixed_precision"],
    )


def _learner(ctx: Context, learner: Declared) -> LearnerIR:
    data = learner.data
    seeded = True
    if learner.kind == "model":
        arch = _call(ctx, data.arch)
        backend = ctx.calls[id(data.arch)].entry.backend
        seeded = ctx.calls[id(data.arch)].entry.seeded
        inputs = [data.input.name]
        strategy = encoder = head = None
    else:
        arch = None
        strategy = _call(ctx, data.strategy)
        late = ctx.calls[id(data.strategy)].entry.late
        backend = "late" if late else "torch"
        inputs = [symbol.name for symbol in data.inputs]
        encoder = (
            None if late else _call(ctx, data.encoder) or CallIR(name="mlp", params=_mlp_params(ctx, [64]))
        )
        head = None if late else _call(ctx, data.head) or CallIR(name="mlp", params=_mlp_params(ctx, []))
    return LearnerIR(
        name=learner.name,
        kind=learner.kind,
        backend=backend,
        inputs=inputs,
        arch=arch,
        strategy=strategy,
        encoder=encoder,
        head=head,
        training=_training(ctx, learner) if backend == "torch" else None,
        representations=list(learner_representations(ctx, learner)),
        seeded=seeded,
        init=data.init.name if learner.kind == "model" and data.init is not None else None,
    )


def _seeded(learners: list[LearnerIR]) -> list[LearnerIR]:
    """A late fusion uses the seed where a learner it combines does."""
    by_name = {learner.name: learner for learner in learners}

    def seeded(name: str) -> bool:
        learner = by_name[name]
        if learner.backend != "late":
            return learner.seeded
        return any(seeded(n) for n in learner.inputs)

    return [
        learner.model_copy(update={"seeded": seeded(learner.name)}) if learner.backend == "late" else learner
        for learner in learners
    ]


def reads(learners: list[LearnerIR], name: str) -> set[str]:
    """The modalities whose test examples a learner reads; a late fusion reads its learners'."""
    by_name = {learner.name: learner for learner in learners}
    learner = by_name[name]
    if learner.backend != "late":
        return set(learner.inputs)
    return set().union(*(reads(learners, n) for n in learner.inputs))


def _mlp_params(ctx: Context, hidden: list[int]) -> dict[str, Any]:
    params = ctx.registry.get("architecture", "mlp").params(hidden=hidden)
    return plain(params)


def _conditions(ctx: Context, learners: list[LearnerIR]) -> list[ConditionIR]:
    every = [learner.name for learner in learners]
    conditions = [ConditionIR(name="clean", shifts={}, learners=every, shifted=[])]
    named = []
    for evaluate in ctx.of_kind("evaluate"):
        for condition in evaluate.nested:
            shifts = {key: _call(ctx, value) for key, value in sorted(condition.shifts.items())}
            domain = condition.domain.name if condition.domain is not None else None
            targets = every
            if condition.targets is not None:
                targets = sorted({symbol.name for symbol in condition.targets})
            shifted = [n for n in targets if domain is not None or reads(learners, n) & set(shifts)]
            named.append(
                ConditionIR(
                    name=condition.name, shifts=shifts, dataset=domain, learners=targets, shifted=shifted
                )
            )
    return conditions + sorted(named, key=lambda c: c.name)


def _label(invocation: Invocation) -> str:
    args = [plain(v) for v in invocation.positional]
    args += [f"{k}={plain(v)}" for k, v in invocation.keywords.items()]
    return invocation.name + (f"({', '.join(str(a) for a in args)})" if args else "")


def _metrics(ctx: Context) -> list[MetricIR]:
    learners = [d for d in ctx.blocks if d.kind in ("model", "fusion")]
    declared = []
    for block in ctx.of_kind("metrics"):
        for invocation in block.entries:
            call = ctx.calls[id(invocation)]
            taking_part = learners
            if call.entry.needs_representations:
                layer = call.params.layer
                taking_part = [d for d in learners if layer in learner_representations(ctx, d)]
            elif call.entry.scope == "test":
                taking_part = [d for d in learners if d.name in (call.params.a.name, call.params.b.name)]
            declared.append(
                MetricIR(
                    label=_label(invocation),
                    name=call.entry.name,
                    scope=call.entry.scope,
                    params=plain(call.params),
                    learners=sorted(d.name for d in taking_part),
                )
            )
    return sorted(_with_uses(ctx, declared), key=lambda m: m.label)


# The metric a metric builds on where the spec names none.
BUILDS_ON = {
    "cluster": "error_consistency",
    "spread": "accuracy",
    "ttest": "accuracy",
    "wilcoxon": "accuracy",
}


def _with_uses(ctx: Context, declared: list[MetricIR]) -> list[MetricIR]:
    """Each metric that builds on another gets the label of that metric's node; a metric named but
    not declared is measured too (with its defaults), so that nothing is computed twice."""
    out = {m.label: m for m in declared}
    for metric in declared:
        entry = ctx.registry.get("metric", metric.name)
        uses = {}
        for param, kind in entry.references.items():
            if kind != "metric":
                continue
            named = metric.params.get(param) or BUILDS_ON.get(metric.name)
            if named is None:
                continue
            found = [m for m in declared if m.name == named]
            chosen = next((m for m in found if m.label == named), found[0] if found else None)
            if chosen is None:
                chosen = out.get(named) or _implied(ctx, named, metric.learners)
                out[chosen.label] = chosen
            uses[param] = chosen.label
        out[metric.label] = metric.model_copy(update={"uses": uses})
    return list(out.values())


def _implied(ctx: Context, name: str, learners: list[str]) -> MetricIR:
    entry = ctx.registry.get("metric", name)
    params = entry.params()
    if entry.needs_representations:
        learners = [n for n in learners if params.layer in learner_representations(ctx, ctx.names[n])]
    return MetricIR(
        label=name, name=name, scope=entry.scope, params=plain(params), learners=learners, implied=True
    )
