"""`report`: the run's results, one typed record (`results.Results`), from the metrics and fits."""

from __future__ import annotations

from homog.compiler.graph import Node

from ..cache import Artifact
from . import Env, Inputs

FIT_FIELDS = ("curves", "parameters", "epochs", "seconds")


def compute(node: Node, inputs: Inputs, env: Env) -> Artifact:
    from ..results import Results, finite

    params = node.params
    metrics = {name[len("metric.") :]: inputs[name].meta["result"] for name in inputs.named("metric.")}
    fits = [
        {
            **record,
            "node": record["node"][:8],
            **{k: inputs[record["node"]].meta[k] for k in FIT_FIELDS},
            "frozen": inputs[record["node"]].meta.get("frozen", 0),
        }
        for record in params["fits"]
    ]
    results = Results.model_validate(
        finite(
            {
                "experiment": params["experiment"],
                "report": params["report"],
                "conditions": params["conditions"],
                "learners": params["learners"],
                "metrics": metrics,
                "fits": fits,
                "externals": {
                    name[len("external.") :]: inputs[name].meta for name in inputs.named("external.")
                },
            }
        )
    )
    return Artifact({"results": results.model_dump(mode="json")}, {})
