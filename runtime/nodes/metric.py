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
    outputs = {run["node"]: inputs[run["node"]].arrays for run in runs}
    named = {param: inputs[f"metric.{param}"].meta["result"] for param in metric["uses"]}

    def groups(reference: str, fold: int) -> np.ndarray:
        """A dataset field's values on the test examples of a fold (`systemic_failure(groups = ...)`)."""
        dataset, field = reference.split(".")
        found = loaded(inputs[f"load.{dataset}"])
        return data.field(found, field, inputs.node(f"load.{dataset}").origin)[found.splits[fold].test]

    result = evaluate(metric, runs, outputs, named, env.seed, groups)
    return Artifact({"result": finite(result)}, {})
