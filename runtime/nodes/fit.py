"""`fit`: train a learner at a sweep point; replicas that differ only in seed train as one group."""

from __future__ import annotations

import time

from homog.compiler.graph import Node
from homog.compiler.ir import FitParams

from ..backbones.files import BASE
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
    BASE.set(env.base)  # where a backbone's relative path starts
    device = env.device if params.learner.backend == "torch" else None
    return params, learner_for(params, node.id, device)


def compute_group(nodes: list[Node], inputs: Inputs, env: Env) -> list[Artifact]:
    """Train every replica of a task: a vectorised group trains whole, even when some of its fits
    are cached already (the runner stores only the missing ones), because a replica's bits depend on
    the replicas it is stacked with, and the group is part of its id."""
    params, fitting = learner(nodes[0], env)
    if "init" in inputs:  # start from another model's trained weights (`init = NAME`)
        fitting.initial = trained_replica(inputs["init"]).state
    seeds = [FitParams.model_validate(node.params).seed for node in nodes]
    start = time.perf_counter()
    trained = dict(zip(seeds, fitting.fit(training_data(inputs, params), seeds, env.on_epoch), strict=True))
    seconds = (time.perf_counter() - start) / len(seeds)
    # A probe's backbone ran once, in its `extract` node: its weights are frozen parameters of the fit.
    extracted = sum(
        inputs[f"view.{m}"].meta["parameters"]
        for m in params.learner.inputs
        if inputs.node(f"view.{m}").op == "extract" and inputs[f"view.{m}"].meta["output"] == "features"
    )
    return [
        Artifact(
            {
                "curves": trained[seed].curves,
                "parameters": trained[seed].parameters,
                "epochs": trained[seed].epochs,
                "frozen": trained[seed].frozen + extracted,
                "group": len(seeds),
                "seconds": seconds,
            },
            {f"state.{k}": v for k, v in trained[seed].state.items()},
        )
        for seed in seeds
    ]


def compute(node: Node, inputs: Inputs, env: Env) -> Artifact:
    return compute_group([node], inputs, env)[0]


def trained_replica(artifact: Artifact) -> Trained:
    meta = artifact.meta
    state = {k[6:]: v for k, v in artifact.arrays.items() if k.startswith("state.")}
    return Trained(state, meta["curves"], meta["parameters"], meta["epochs"], meta.get("frozen", 0))


trained = trained_replica  # the name the predict and late_fuse nodes use
