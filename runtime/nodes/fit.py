"""`fit`: train a learner at a sweep point; replicas that differ only in seed train as one group."""

from __future__ import annotations

import time

from homog.compiler.graph import Node
from homog.compiler.ir import FitParams

from ..cache import Artifact
from ..learners import Learner, Trained, TrainingData, learner_for
from . import Env, Inputs
from .load import loaded


def training_data(inputs: Inputs, params: FitParams, views: str = "view.") -> TrainingData:
    """The learner's inputs on its fold; `views` is the prefix of the names of its view inputs."""
    dataset = loaded(inputs["load"])
    x = [inputs[f"{views}{m}"].arrays[f"x.{params.fold}"] for m in params.learner.inputs]
    return TrainingData(x, dataset.labels, dataset.splits[params.fold], len(dataset.classes))


def learner(node: Node, env: Env) -> tuple[FitParams, Learner]:
    params = FitParams.model_validate(node.params)
    device = env.device if params.learner.backend == "torch" else None
    return params, learner_for(params, node.id, device)


def compute_group(nodes: list[Node], inputs: Inputs, env: Env) -> list[Artifact]:
    params, fitting = learner(nodes[0], env)
    seeds = [FitParams.model_validate(node.params).seed for node in nodes]
    start = time.perf_counter()
    replicas = fitting.fit(training_data(inputs, params), seeds)
    seconds = (time.perf_counter() - start) / len(nodes)
    return [
        Artifact(
            {
                "curves": r.curves,
                "parameters": r.parameters,
                "epochs": r.epochs,
                "group": len(nodes),
                "seconds": seconds,
            },
            {f"state.{k}": v for k, v in r.state.items()},
        )
        for r in replicas
    ]


def compute(node: Node, inputs: Inputs, env: Env) -> Artifact:
    return compute_group([node], inputs, env)[0]


def trained(artifact: Artifact) -> Trained:
    meta = artifact.meta
    state = {k[6:]: v for k, v in artifact.arrays.items() if k.startswith("state.")}
    return Trained(state, meta["curves"], meta["parameters"], meta["epochs"])
