"""Pass 8: lower the experiment IR to the execution graph.

    load (dataset) -> view (modality) -> fit (learner x point) -> predict (x condition)
        -> late_fuse (late fusions) -> metric -> report

A fit depends only on what changes its result: a scikit-learn learner ignores
the training block and the width axis, and a condition that shifts none of a
learner's modalities gives the same predict node as clean data. Identical
work shares one node.
"""

from __future__ import annotations

from typing import Any

from . import codes
from .context import Context
from .graph import Graph
from .hashing import NotHashable
from .ir import ExperimentIR, LearnerIR, PointIR
from .passes.sweeps import NETWORK_AXES

CPU = {"backend": "numpy", "device": "cpu"}
POINT_AXES = ("seed", "width", "data_fraction", "lr", "epochs", "depth", "fold")


def origins(ctx: Context) -> dict[str, str]:
    """Where each declaration is named in the spec: a node's origin, for errors while running."""
    return {name: str(d.name_span) for name, d in ctx.names.items()}


def lower(ctx: Context) -> None:
    try:
        ctx.graph = lower_ir(ctx.ir, origins(ctx))
    except NotHashable as error:
        ctx.report(
            codes.NOT_HASHABLE,
            f"a value cannot be part of a cache key: {error}",
            None,
            hint="parameters must be numbers, text, booleans, names or lists of them",
        )


def lower_ir(
    ir: ExperimentIR,
    origins: dict[str, str] | None = None,
    smoke_rows: int | None = None,
    contents: dict[str, str] | None = None,
) -> Graph:
    """`smoke_rows` caps each dataset's examples: the reduced mode of `homogc run --smoke`.
    `contents` maps a dataset to its file's SHA-256 (the runtime reads files; the compiler does not),
    so that editing a data file changes its load node and everything built on it."""
    origins, contents = origins or {}, contents or {}
    graph = Graph()
    device = ir.experiment.device
    loads = {
        d.name: graph.add(
            "load",
            d.name,
            {"source": d.source.model_dump(), "split": d.split.model_dump(), "seed": ir.experiment.seed}
            | ({"smoke_rows": smoke_rows} if smoke_rows else {})
            | ({"content": contents[d.name]} if d.name in contents else {}),
            [],
            CPU,
            origins.get(d.name),
        )
        for d in ir.datasets
    }
    views = {
        m.name: graph.add(
            "view",
            m.name,
            m.model_dump(include={"dataset", "field", "type", "transforms", "shape"}),
            [loads[m.dataset]],
            CPU,
            origins.get(m.name),
        )
        for m in ir.modalities
    }
    modalities = {m.name: m for m in ir.modalities}
    varying = [axis for axis in POINT_AXES if len({getattr(p, axis) for p in ir.sweep}) > 1]
    predictions: dict[tuple[str, int, str], str] = {}
    fits: list[str] = []
    fits_of: dict[tuple[str, int], str] = {}
    for learner in _in_dependency_order(ir.learners):
        origin = origins.get(learner.name)
        # Widths scale networks only: a forest's name should not claim a width.
        shown = varying if learner.backend != "sklearn" else [a for a in varying if a not in NETWORK_AXES]
        for index, point in enumerate(ir.sweep):
            label = point_label(point.model_dump(), shown)
            if learner.backend == "late":
                for condition in ir.conditions:
                    deps = [predictions[(name, index, condition.name)] for name in learner.inputs]
                    if learner.strategy.name == "weighted":  # weights are learned from the inputs' fits
                        deps += [fits_of[(name, index)] for name in learner.inputs]
                    predictions[(learner.name, index, condition.name)] = graph.add(
                        "late_fuse",
                        f"{learner.name} {label} {condition.name}".strip(),
                        {
                            "learner": learner.name,
                            "strategy": learner.strategy.model_dump(),
                            "inputs": learner.inputs,
                        },
                        deps,
                        CPU,
                        origin,
                    )
                continue
            input_views = [views[name] for name in learner.inputs]
            resources = {
                "backend": learner.backend,
                "device": device if learner.backend == "torch" else "cpu",
            }
            fit = graph.add(
                "fit",
                f"{learner.name} {label}".strip(),
                _fit_params(learner, point, modalities),
                input_views,
                resources,
                origin,
            )
            fits.append(fit)
            fits_of[(learner.name, index)] = fit
            for condition in ir.conditions:
                shifts = {m: s.model_dump() for m, s in condition.shifts.items() if m in learner.inputs}
                applied = condition.name if shifts or condition.dataset else "clean"
                params = {"condition": applied, "shifts": shifts, "representations": learner.representations}
                deps = [fit, *input_views]
                if condition.dataset:  # test on another dataset, through the same fitted transforms
                    params["domain"] = condition.dataset
                    deps.append(loads[condition.dataset])
                predictions[(learner.name, index, condition.name)] = graph.add(
                    "predict",
                    f"{learner.name} {label} {applied}".replace("  ", " "),
                    params,
                    deps,
                    resources,
                    origin,
                )
    metrics = []
    labels = sorted(set(loads.values()))
    for metric in ir.metrics:
        runs = [
            {
                "learner": name,
                "point": point.model_dump(),
                "condition": condition.name,
                "node": predictions[(name, index, condition.name)],
            }
            for name in metric.learners
            for index, point in enumerate(ir.sweep)
            for condition in ir.conditions
        ]
        deps = labels + list(dict.fromkeys(run["node"] for run in runs))
        metrics.append(
            graph.add("metric", metric.label, {"metric": metric.model_dump(), "runs": runs}, deps, CPU)
        )
    graph.add(
        "report",
        ir.experiment.name,
        {
            "experiment": ir.experiment.model_dump(),
            "report": ir.report.model_dump(),
            "learners": [learner.model_dump() for learner in ir.learners],
            "conditions": [c.name for c in ir.conditions],
        },
        list(dict.fromkeys(metrics + fits)),
        CPU,
    )
    return graph


def _fit_params(learner: LearnerIR, point: PointIR, modalities) -> dict[str, Any]:
    params = learner.model_dump(exclude={"name", "representations"})
    params["learner"] = learner.name
    params["augment"] = {name: [a.model_dump() for a in modalities[name].augment] for name in learner.inputs}
    params["point"] = point.model_dump()
    if learner.backend == "sklearn":
        for axis in NETWORK_AXES:  # widths, depths and epochs shape networks; a forest is the same forest
            del params["point"][axis]
    return params


def point_label(point: dict, varying: list[str]) -> str:
    """`seed=1 width=2`: the axes that vary across the sweep, as node and run names show them."""
    return " ".join(f"{'data' if axis == 'data_fraction' else axis}={point[axis]:g}" for axis in varying)


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
        placed.add(learner.name)
        ordered.append(learner)

    for learner in learners:
        place(learner)
    return ordered
