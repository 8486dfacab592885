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
                if expanded["joined"]:  # one run per fold: that fold's test examples
                    expanded["node"] = f"{expanded['node']}@{run['fold']}"
                out.append(expanded)
                outputs[expanded["node"]] = found
        else:
            out.append(run)
            outputs[run["node"]] = inputs[run["node"]].arrays
    return out, _on_shared_examples(out, outputs, inputs)


PER_EXAMPLE = ("labels", "probabilities", "truth", "examples", "options")


def _on_shared_examples(runs: list[dict], outputs: dict, inputs: Inputs) -> dict:
    """Where external models are joined to a dataset, every run of that population (dataset, fold,
    clean data) is compared on the fold's test examples the external models answered: the same
    examples for all (what they did not answer is in `results.json`, externals.NAME.dropped)."""
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        groups.setdefault((run["dataset"], run["fold"], run["condition"]), []).append(run)
    out = dict(outputs)
    for (dataset, fold, _), members in groups.items():
        joined = [run for run in members if run.get("joined")]
        if not joined:
            continue
        test = loaded(inputs[f"load.{dataset}"]).splits[fold].test
        keep = np.ones(len(test), dtype=bool)
        for run in joined:
            keep &= np.isin(test, outputs[run["node"]]["examples"])
        shared = test[keep]
        for node in dict.fromkeys(run["node"] for run in members):
            found = outputs[node]
            position = {int(row): i for i, row in enumerate(found["examples"])}
            chosen = np.array([position[int(row)] for row in shared], dtype=np.int64)
            out[node] = {
                key: (values[chosen] if key in PER_EXAMPLE or key.startswith("layer.") else values)
                for key, values in found.items()
            }
    return out
