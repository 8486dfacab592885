"""`predict`: a trained learner on the test examples of its fold, under one evaluation condition."""

from __future__ import annotations

import numpy as np

from homog.compiler.graph import Node
from homog.compiler.ir import CallIR

from .. import errors, transforms
from ..cache import Artifact
from . import Env, Inputs, derived_seed
from .fit import learner, trained, training_data
from .load import loaded
from .view import transformed


def compute(node: Node, inputs: Inputs, env: Env) -> Artifact:
    fit = inputs.node("fit")
    params, predicting = learner(fit, env)
    data = training_data(inputs, params)
    test = data.split.test
    x, truth, examples = [values[test] for values in data.inputs], data.labels[test], test
    if "domain" in inputs:
        x, truth = _domain(node, inputs, params.learner.inputs, params.fold)
        examples = np.arange(len(truth))  # rows of the other dataset
    condition = node.params["condition"]
    shifts = node.params["shifts"]
    x = [
        transforms.shift(values, CallIR(**shifts[m]), derived_seed(env.seed, condition, m, params.fold))
        if m in shifts
        else values
        for m, values in zip(params.learner.inputs, x, strict=True)
    ]
    outputs = predicting.predict(trained(inputs["fit"]), data, x, node.params["representations"])
    arrays = {
        "probabilities": outputs.probabilities,
        "labels": outputs.probabilities.argmax(axis=1),
        "truth": truth,
        "examples": examples,  # the test examples' rows in their dataset, in this order
        **{f"layer.{k}": v for k, v in outputs.layers.items()},
    }
    return Artifact({"condition": condition, "examples": len(truth)}, arrays)


def _domain(
    node: Node, inputs: Inputs, modalities: list[str], fold: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Every example of another dataset, through the transforms fitted on this training split, and
    its labels as this dataset's class ids."""
    own, other = loaded(inputs["load"]), loaded(inputs["domain"])
    x = [transformed(inputs.node(f"view.{m}"), own, other, fold) for m in modalities]
    unknown = [c for c in other.classes if c not in own.classes]
    if unknown:
        raise errors.RunError(
            errors.DATA_FIELD_MISSING,
            f"dataset '{node.params['domain']}' has classes the learners never saw: {unknown}",
            "a domain shift needs the same classes",
            inputs.node(f"view.{modalities[0]}").origin,
        )
    ids = np.array([own.classes.index(c) for c in other.classes])
    return x, ids[other.labels]
