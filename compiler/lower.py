"""Pass 8: lower the experiment IR to the execution graph.

    load (dataset) -> view (modality) -> fit (learner x point) -> predict (x condition)
        -> late_fuse (late fusions) -> metric -> report

Every node names its inputs (`{"fit": id, "view.pixels": id}`), and its
parameters are all it needs besides them: a fit's are the learner as trained
(the IR's `fits`), a metric's name each run it compares with the run's
identity. A fit depends only on what changes its result: a scikit-learn
learner ignores the training block and the width axis, a learner that does not
use the seed (`LearnerIR.seeded` False) gets seed 0 on all the training data,
so its seeds are one fit, and a condition that shifts none of a learner's
modalities gives the same predict node as clean data. Identical work shares
one node; the metrics' runs keep each run's identity (its own seed), pointing
at the shared node. A condition evaluates only the learners it applies to
(`ConditionIR.learners`); a late fusion's learners are predicted under it too,
as its inputs, and measured only where it names them.
"""

from __future__ import annotations

from typing import Any

from homog.dsl.syntax import Span

from . import codes
from .context import Context
from .graph import Graph
from .hashing import NotHashable, canonical_json, content_hash
from .ir import (
    POINT_AXES,
    ExperimentIR,
    FitIR,
    FitParams,
    LearnerIR,
    MetricIR,
    PointIR,
    point_label,
    trains_together,
)
from .passes.sweeps import NETWORK_AXES

CPU = {"backend": "numpy", "device": "cpu"}


def origins(ctx: Context) -> dict[str, Span]:
    """Where each declaration is named in the spec: a node's origin, for errors while running."""
    found = {name: d.name_span for name, d in ctx.names.items()}
    from .passes.build_ir import _label

    for block in ctx.of_kind("metrics"):  # a metric compared layer by layer: for --plan's refusal
        for invocation in block.entries:
            if any(key == "layers" for key in invocation.keywords):
                found[f"metric:{_label(invocation)}"] = invocation.span
    return found


def lower(ctx: Context) -> None:
    options = ctx.options
    try:
        ctx.graph = lower_ir(
            ctx.ir,
            origins(ctx),
            smoke_rows=options.smoke_rows if options and options.smoke else None,
            digest=options.digest if options else None,
            backbone=options.backbone if options else None,
            registry=ctx.registry,
        )
    except NotHashable as error:
        ctx.report(
            codes.NOT_HASHABLE,
            f"a value cannot be part of a cache key: {error}",
            None,
            hint="parameters must be numbers, text, booleans, names or lists of them",
        )


class _Lowering:
    """The nodes made so far, by what they stand for."""

    def __init__(self, ir: ExperimentIR, origins: dict[str, Span]) -> None:
        self.ir, self.origins, self.graph = ir, origins, Graph()
        self.loads: dict[str, str] = {}
        self.views: dict[str, str] = {}
        self.fits: dict[tuple[str, int], str] = {}
        self.predictions: dict[tuple[str, int, str], str] = {}
        self.externals: dict[str, str] = {}  # external source -> its node
        self.backbone, self.registry = None, None  # what a backbone's files say; the registry
        self.modalities = {m.name: m for m in ir.modalities}
        self.learners = {learner.name: learner for learner in ir.learners}
        self.varying = [axis for axis in POINT_AXES if len({getattr(p, axis) for p in ir.sweep}) > 1]
        # A sweep point's axes but the seed -> a digest of the seeds swept with them (a vectorised
        # group), computed once so that lowering stays linear in the number of points.
        seeds: dict[str, list[int]] = {}
        for point in ir.sweep:
            seeds.setdefault(_configuration(point), []).append(point.seed)
        self.groups = {key: content_hash(sorted(set(values)))[:16] for key, values in seeds.items()}
        # condition -> the learners predicted under it: those it applies to, and their late inputs
        self.predicted = {c.name: self.with_inputs(c.learners) for c in ir.conditions}

    def with_inputs(self, names: list[str]) -> set[str]:
        found: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name not in found:
                found.add(name)
                learner = self.learners[name]
                if learner.backend == "late":
                    pending.extend(learner.inputs)
        return found

    def dataset_of(self, learner: LearnerIR) -> str:
        """The dataset whose test examples a learner is evaluated on: that of its first input."""
        first = learner.inputs[0]
        if learner.backend == "late":
            return self.dataset_of(self.learners[first])
        return self.modalities[first].dataset

    def label(self, learner: LearnerIR, point: PointIR) -> str:
        """`seed=1 width=2`: the axes that vary across the sweep, as node and run names show them;
        widths scale networks only, so a forest's name does not claim a width."""
        shown = self.varying
        if learner.backend == "sklearn":
            shown = [a for a in shown if a not in NETWORK_AXES]
        if not seed_matters(learner, point):
            shown = [a for a in shown if a != "seed"]
        return point_label(point.model_dump(), shown)


def seed_matters(learner: LearnerIR, point: PointIR) -> bool:
    """Whether a run's fit depends on its seed: the learner uses it, or the point subsamples the
    training data by it (runtime/data.py `subsample`)."""
    return learner.seeded or point.data_fraction < 1


def lower_ir(
    ir: ExperimentIR,
    origins: dict[str, Span] | None = None,
    smoke_rows: int | None = None,
    digest=None,
    backbone=None,
    registry=None,
) -> Graph:
    """`smoke_rows` caps each dataset's examples (the reduced mode of `homogc run --smoke`).
    `digest(path)` gives the SHA-256 of a data file named by the spec (None when there is no such
    file): the compiler reads no files, and a file's digest in its load node makes an edit of the
    file recompute everything built on it."""
    low = _Lowering(ir, origins or {})
    low.backbone, low.registry = backbone, registry
    for d in ir.datasets:
        params = {"source": d.source.model_dump(), "split": d.split.model_dump(), "seed": ir.experiment.seed}
        if smoke_rows:
            params["smoke_rows"] = smoke_rows
        content = digest(d.source.params["path"]) if digest and "path" in d.source.params else None
        if content:
            params["content"] = content
        low.loads[d.name] = low.graph.add("load", d.name, params, {}, CPU, low.origins.get(d.name))
    for m in ir.modalities:
        params = m.model_dump(include={"dataset", "field", "type", "transforms", "shape"})
        inputs = {"load": low.loads[m.dataset]}
        low.views[m.name] = low.graph.add("view", m.name, params, inputs, CPU, low.origins.get(m.name))
    for e in ir.externals:
        params = {"external": e.model_dump()}
        for key, path in (
            ("source", e.source.params["path"]),
            ("attributes", e.attributes),
            ("embeddings", e.embeddings),
        ):
            content = digest(path) if digest and path else None
            if content:
                params[f"content.{key}"] = content
        inputs = {"load": low.loads[e.dataset]} if e.dataset else {}
        low.externals[e.name] = low.graph.add(
            "external", e.name, params, inputs, CPU, low.origins.get(e.name)
        )
    fits_of = {(fit.learner.name, fit.index): fit for fit in ir.fits}
    for learner in _in_dependency_order(ir.learners):
        for index, point in enumerate(ir.sweep):
            if learner.backend == "late":
                _late_fuse(low, learner, index, point)
            else:
                _fit_and_predict(low, fits_of[(learner.name, index)])
    metrics = _metrics(low)
    fit_records = [_fit_record(low, fit) for fit in ir.fits]
    _report(low, metrics, fit_records)
    return low.graph


def _fit_and_predict(low: _Lowering, fit: FitIR) -> None:
    learner, point = fit.learner, fit.point
    views = {f"view.{name}": low.views[name] for name in learner.inputs}
    views.update(_extractions(low, learner))
    dataset = low.dataset_of(learner)
    resources = {"backend": learner.backend, "device": low.ir.experiment.device}
    if learner.backend != "torch":
        resources["device"] = "cpu"
    origin = low.origins.get(learner.name)
    name = f"{learner.name} {low.label(learner, point)}".strip()
    inputs = {**views, "load": low.loads[dataset]}
    if learner.init is not None:  # its weights start from that model's fit at the same point
        inputs["init"] = low.fits[(learner.init, fit.index)]
    fit_id = low.graph.add("fit", name, _fit_params(low, fit), inputs, resources, origin)
    low.fits[(learner.name, fit.index)] = fit_id
    for condition in low.ir.conditions:
        if learner.name not in low.predicted[condition.name]:
            continue
        shifts = {m: s.model_dump() for m, s in condition.shifts.items() if m in learner.inputs}
        applied = condition.name if shifts or condition.dataset else "clean"
        params: dict[str, Any] = {
            "condition": applied,
            "shifts": shifts,
            "representations": learner.representations,
        }
        capture = layer_capture(low.ir.metrics, learner)
        if capture is not None:  # a metric compares this learner layer by layer
            params["layers"] = capture
        inputs = {"fit": fit_id, **views, "load": low.loads[dataset]}
        if condition.dataset:  # test on another dataset, through the same fitted transforms
            params["domain"] = condition.dataset
            inputs["domain"] = low.loads[condition.dataset]
        low.predictions[(learner.name, fit.index, condition.name)] = low.graph.add(
            "predict", f"{name} {applied}", params, inputs, resources, origin
        )


def layer_capture(metrics: list[MetricIR], learner: LearnerIR) -> dict[str, Any] | None:
    """What a torch learner's predictions keep of its layers for the metrics that compare it layer by
    layer: every selector they use (`all`, names, patterns), float16 only if all of them store it so,
    and the largest subsample they declare (None: every test example)."""
    wanted = [m for m in metrics if m.params.get("layers") is not None and learner.name in m.learners]
    if learner.backend != "torch" or not wanted:
        return None
    select: list[str] = []
    for metric in wanted:
        chosen = metric.params["layers"]
        for item in [chosen] if isinstance(chosen, str) else chosen:
            if item not in select:
                select.append(item)
    sizes = [m.params.get("examples") for m in wanted]
    storage = "float16" if all(m.params.get("storage") == "float16" for m in wanted) else "float32"
    return {"select": select, "storage": storage, "examples": None if None in sizes else max(sizes)}


def _extractions(low: _Lowering, learner: LearnerIR) -> dict[str, str]:
    """A pretrained backbone's learner reads its modality through an `extract` node: frozen features
    (a probe) or the backbone's preprocessed inputs (fine-tuning), keyed by the backbone, the digest
    of its weight files and the modality, so that every probe of one backbone shares one pass."""
    from .backbones import extraction
    from .registry import default_registry

    arch = learner.arch
    entry = (low.registry or default_registry()).get("architecture", arch.name) if arch else None
    if entry is None or not entry.backbone:
        return {}
    (modality,) = learner.inputs
    params = {**extraction(arch.name, arch.params), "modality": modality, "library": entry.backbone}
    found = low.backbone(entry.backbone, arch.params) if low.backbone and arch.params.get("path") else None
    if found:
        params["weights"] = found["digest"]
    name = f"{modality} {arch.name}:{arch.params.get('path') or arch.name} {params['output']}"
    if params["output"] == "features":
        name += f" {arch.params['layer']} {arch.params['pooling']}"
    resources = {"backend": "torch", "device": low.ir.experiment.device}
    inputs = {"view": low.views[modality]}
    node = low.graph.add("extract", name, params, inputs, resources, low.origins.get(learner.name))
    return {f"view.{modality}": node}


def _fit_params(low: _Lowering, fit: FitIR) -> dict[str, Any]:
    """The learner as trained, with what else decides the fit: seed, fold and data fraction. A learner
    whose fit does not use the seed gets seed 0, so that its seeds are one node."""
    learner = fit.learner
    # Every seed of this configuration trains in one group; which seeds is part of the id.
    group = low.groups[_configuration(fit.point)] if trains_together(learner) else ""
    return FitParams(
        learner=learner,
        augment={name: low.modalities[name].augment for name in learner.inputs},
        seed=fit.point.seed if seed_matters(learner, fit.point) else 0,
        fold=fit.point.fold,
        data_fraction=fit.point.data_fraction,
        group=group,
    ).model_dump()


def _configuration(point: PointIR) -> str:
    return canonical_json(point.model_dump(exclude={"seed"}))


def _late_fuse(low: _Lowering, learner: LearnerIR, index: int, point: PointIR) -> None:
    label = low.label(learner, point)
    params = {"learner": learner.name, "strategy": learner.strategy.model_dump(), "inputs": learner.inputs}
    for condition in low.ir.conditions:
        if learner.name not in low.predicted[condition.name]:
            continue
        inputs = {f"input.{n}": low.predictions[(n, index, condition.name)] for n in learner.inputs}
        if learner.strategy.name == "weighted":  # weights are learned from the inputs' fits
            for n in learner.inputs:
                inputs[f"fit.{n}"] = low.fits[(n, index)]
                inputs.update({f"view.{n}.{m}": low.views[m] for m in low.learners[n].inputs})
            inputs["load"] = low.loads[low.dataset_of(learner)]
        low.predictions[(learner.name, index, condition.name)] = low.graph.add(
            "late_fuse",
            f"{learner.name} {label} {condition.name}".replace("  ", " "),
            params,
            inputs,
            _late_resources(low, learner),
            low.origins.get(learner.name),
        )


def _late_resources(low: _Lowering, learner: LearnerIR) -> dict[str, str]:
    """Learned weights predict with the inputs' fits: torch work, where an input is a torch learner."""
    predicts = learner.strategy.name == "weighted"
    if predicts and any(low.learners[n].backend == "torch" for n in learner.inputs):
        return {"backend": "torch", "device": low.ir.experiment.device}
    return CPU


def _identity(low: _Lowering, learner: LearnerIR, point: PointIR) -> dict[str, Any]:
    """What a run is, as fields: never a display label to parse. `seeded`: whether the run's fit
    depends on its seed (where not, its seeds share one node and are one run)."""
    return {
        "learner": learner.name,
        "kind": learner.kind,
        "dataset": low.dataset_of(learner),
        "seed": point.seed,
        "fold": point.fold,
        "point": point.model_dump(),
        "seeded": seed_matters(learner, point),
    }


def _metrics(low: _Lowering) -> dict[str, str]:
    """Metric nodes by label; a metric that builds on another reads that metric's node."""
    made: dict[str, str] = {}
    pending = list(low.ir.metrics)
    while pending:  # a metric after those it builds on (the compiler refused cycles)
        metric = next(m for m in pending if all(label in made for label in m.uses.values()))
        pending.remove(metric)
        runs = [
            {
                "node": low.predictions[(name, index, condition.name)],
                "condition": condition.name,
                "shifted": name in condition.shifted,  # False: clean data, under the condition's name
                **_identity(low, low.learners[name], point),
            }
            for name in metric.learners
            for index, point in enumerate(low.ir.sweep)
            for condition in low.ir.conditions
            if name in condition.learners
        ]
        runs += _external_runs(low, metric)
        inputs = {f"load.{name}": node for name, node in sorted(low.loads.items())}
        inputs.update({run["node"]: run["node"] for run in runs})
        inputs.update({f"metric.{param}": made[label] for param, label in metric.uses.items()})
        params = {"metric": metric.model_dump(), "runs": runs}
        origin = low.origins.get(f"metric:{metric.label}")
        made[metric.label] = low.graph.add("metric", metric.label, params, inputs, CPU, origin)
    return made


def _external_runs(low: _Lowering, metric) -> list[dict[str, Any]]:
    """An external source's runs, one entry per sweep point of the first fold (the same node: its
    models' outputs do not change with the seed); the metric node makes one run per model of it.
    Representation metrics take the sources with embeddings; tests name two learners and take none."""
    if metric.scope == "test" or not low.externals:
        return []
    chosen = [e for e in low.ir.externals if e.embeddings or "layer" not in metric.params]
    return [
        {
            "node": low.externals[e.name],
            "external": e.name,
            "condition": "clean",
            "shifted": False,
            "learner": e.name,
            "kind": "external",
            "dataset": e.dataset or e.name,
            "seed": point.seed,
            "fold": point.fold,
            "point": point.model_dump(),
            "seeded": False,
        }
        for e in chosen
        for point in low.ir.sweep
        if point.fold == 0 or e.dataset  # joined to a dataset: tested on each fold's test examples
    ]


def _fit_record(low: _Lowering, fit: FitIR) -> dict[str, Any]:
    node = low.fits[(fit.learner.name, fit.index)]
    return {"node": node, "name": low.graph.nodes[node].name, **_identity(low, fit.learner, fit.point)}


def _report(low: _Lowering, metrics: dict[str, str], fits: list[dict[str, Any]]) -> None:
    ir = low.ir
    inputs = {f"metric.{label}": node for label, node in metrics.items()}
    inputs.update({record["node"]: record["node"] for record in fits})
    inputs.update({f"external.{name}": node for name, node in low.externals.items()})
    params = {
        "experiment": ir.experiment.model_dump(),
        "report": ir.report.model_dump(),
        "learners": [learner.model_dump() for learner in ir.learners],
        "conditions": [c.name for c in ir.conditions],
        "fits": fits,
    }
    low.graph.add("report", ir.experiment.name, params, inputs, CPU)


def _in_dependency_order(learners: list[LearnerIR]) -> list[LearnerIR]:
    """Late fusions after the learners they combine (cycles were refused by type-checking)."""
    by_name = {learner.name: learner for learner in learners}
    ordered: list[LearnerIR] = []
    placed: set[str] = set()

    def place(learner: LearnerIR) -> None:
        if learner.name in placed:
            return
        if learner.backend == "late":
            for name in learner.inputs:
                place(by_name[name])
        if learner.init is not None:  # the model whose trained weights start it
            place(by_name[learner.init])
        placed.add(learner.name)
        ordered.append(learner)

    for learner in learners:
        place(learner)
    return ordered
