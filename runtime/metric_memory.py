"""The memory of the metrics that compare representations layer by layer, before any training.

`homogc run --plan` prints it and `homogc run` checks it before it trains: each such metric node
holds every run's captured layers (examples x features, in the declared storage) and runs the
all-pairs engine (`metrics.layerwise.plan`: its working space, the centred copies it keeps) over
the largest population, plus, with `permutations`, the Gram matrices a CKA null keeps for a pair of
runs. Layer widths come from the learners' networks on torch's `meta` device; the number of
examples from the fold's split (or the declared subsample). A metric whose estimate exceeds this
machine's memory is refused (E371), located at the metric.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homog.compiler.graph import Graph
from homog.compiler.ir import FitParams

from . import errors


@dataclass
class MetricMemory:
    label: str
    representations: int  # (run, layer) pairs held
    examples: int
    held: int  # bytes of the captured layers
    working: int  # bytes of the engine's working space and a null's Grams
    form: str

    @property
    def total(self) -> int:
        return self.held + self.working


def machine_memory() -> int:
    """Physical memory of this machine in bytes, or HOMOG_MEMORY_LIMIT (bytes) where it is set lower:
    the memory a run may count on."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = os.environ.get("HOMOG_MEMORY_LIMIT")
    return min(physical, int(float(limit))) if limit else physical


def estimate(graph: Graph, artifact: Callable[[str], Any]) -> list[tuple[Any, MetricMemory]]:
    """(metric node, its estimate) for every metric compared layer by layer; `artifact(id)` reads a
    computed load or view node."""
    from .learners.capture import UnknownLayer, layer_widths, unknown_layer
    from .metrics import layerwise
    from .nodes.load import loaded

    out = []
    widths_of: dict[str, dict[str, int]] = {}
    for node in graph.of_op("metric"):
        params = node.params["metric"]["params"]
        if params.get("layers") is None:
            continue
        select = params["layers"] if isinstance(params["layers"], list) else [params["layers"]]
        bytes_per = 2 if params.get("storage") == "float16" else 4
        populations: dict[tuple, list[list[int]]] = defaultdict(list)
        examples = 0
        held = 0
        for run in node.params["runs"]:
            predict = graph.nodes[run["node"]]
            if "layers" not in predict.params:
                continue
            fit = graph.nodes[predict.inputs["fit"]]
            fit_params = FitParams.model_validate(fit.params)
            learner = fit_params.learner
            key = fit.id
            if key not in widths_of:
                views = [artifact(fit.inputs[f"view.{m}"]) for m in learner.inputs]
                shapes = [tuple(view.meta["shape"]) for view in views]
                classes = len(artifact(fit.inputs["load"]).meta["classes"])
                try:
                    widths_of[key] = layer_widths(learner, shapes, classes, select)
                except UnknownLayer as error:  # found before any training
                    raise unknown_layer(learner.name, error, fit.origin) from error
            split = loaded(artifact(fit.inputs["load"])).splits[fit_params.fold]
            n = len(split.test)
            if params.get("examples"):
                n = min(n, params["examples"])
            examples = max(examples, n)
            widths = list(widths_of[key].values())
            held += n * sum(widths) * bytes_per
            populations[(run["dataset"], run["condition"], run["fold"])].append(widths)
        if not populations:
            continue
        largest = max(populations.values(), key=lambda runs: sum(map(sum, runs)))
        shapes = [(examples, p) for widths in largest for p in widths]
        name = node.params["metric"]["name"]
        plan = layerwise.plan(shapes, params.get("kernel", "debiased"), params.get("minibatch"))
        working, form = plan.memory, f"{plan.form} form"
        if name == "mutual_knn":  # one similarity block per representation, then sparse indicators
            k = params.get("k", 10)
            working, form = (
                min(8 * examples * examples, layerwise.MEMORY) + 16 * len(shapes) * examples * k,
                "k-NN",
            )
        elif name == "procrustes":  # per pair of representations: both in float64 and their product
            widest = max(p for _, p in shapes)
            working, form = 16 * examples * widest + 8 * widest * widest, "per pair"
        if params.get("permutations") and name == "cka":
            pair = sorted((len(w) for w in largest), reverse=True)[:2]
            working += 4 * sum(pair) * examples * examples
        label = node.params["metric"]["label"]
        out.append((node, MetricMemory(label, len(shapes), examples, held, working, form)))
    return out


def render(found: list[tuple[Any, MetricMemory]], available: int) -> str:
    from .placement import _size

    lines = [f"{'layer-by-layer metric':<44} {'reps':>6} {'examples':>8} {'held':>10} {'working':>10}"]
    for _, m in found:
        lines.append(
            f"{m.label[:44]:<44} {m.representations:>6} {m.examples:>8} {_size(m.held):>10} "
            f"{_size(m.working):>10}  ({m.form})"
        )
    total = sum(m.total for _, m in found)
    lines.append(f"metrics: {_size(total)} estimated of {_size(available)} on this machine")
    return "\n".join(lines) + "\n"


def refuse(found: list[tuple[Any, MetricMemory]], available: int) -> None:
    """E371 for the first metric whose estimate does not fit in this machine's memory."""
    from .placement import _size

    for node, m in found:
        if m.total > available:
            raise errors.RunError(
                errors.METRIC_MEMORY,
                f"'{m.label}' needs about {_size(m.total)} ({_size(m.held)} of captured layers for "
                f"{m.representations} layer(s) x {m.examples} examples, {_size(m.working)} to compare them), "
                f"and this machine has {_size(available)}",
                "declare fewer examples (examples = 1000), storage = float16, fewer layers, minibatch = 256",
                node.origin,
            )
