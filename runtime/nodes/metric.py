"""`metric`: one metric of the spec over the runs it compares (and the metrics it builds on)."""

from __future__ import annotations

import numpy as np

from homog.compiler.graph import Node

from .. import data
from ..cache import Artifact
from ..results import finite
from . import Env, Inputs
from .load import loaded


def compute(node: Node, inputs: Inputs, env: Env) -> Artifact:
    from ..evaluation import evaluate

    metric, runs = node.params["metric"], node.params["runs"]
    runs, outputs = _expanded(runs, inputs)
    named = {param: inputs[f"metric.{param}"].meta["result"] for param in metric["uses"]}

    def groups(reference: str, fold: int) -> np.ndarray:
        """A dataset field's values on the test examples of a fold (`systemic_failure(groups = ...)`)."""
        dataset, field = reference.split(".")
        found = loaded(inputs[f"load.{dataset}"])
        return data.field(found, field, inputs.node(f"load.{dataset}").origin)[found.splits[fold].test]

    result = evaluate(metric, runs, outputs, named, env.seed, groups)
    return Artifact({"result": finite(result)}, {})


def _expanded(runs: list[dict], inputs: Inputs) -> tuple[list[dict], dict[str, dict[str, np.ndarray]]]:
    """The runs with their outputs; an external source's run is one run per model of it."""
    from .external import runs_of

    out, outputs = [], {}
    for run in runs:
        if "external" in run:
            for expanded, found in runs_of(run, inputs[run["node"]]):
                out.append(expanded)
                outputs[expanded["node"]] = found
        else:
            out.append(run)
            outputs[run["node"]] = inputs[run["node"]].arrays
    return out, outputs
