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
    fitted = trained(inputs["fit"])
    outputs = predicting.predict(fitted, data, x, node.params["representations"])
    layers = _layers(node, params, data, fitted, x, env) if "layers" in node.params else {}
    arrays = {
        "probabilities": outputs.probabilities,
        "labels": outputs.probabilities.argmax(axis=1),
        "truth": truth,
        "examples": examples,  # the test examples' rows in their dataset, in this order
        **{f"layer.{k}": v for k, v in outputs.layers.items()},
        **layers,
    }
    return Artifact({"condition": condition, "examples": len(truth)}, arrays)


def _layers(node: Node, params, data, fitted, x: list[np.ndarray], env: Env) -> dict[str, np.ndarray]:
    """The layers the metrics compare layer by layer (`compiler.lower.layer_capture`), on a fixed
    random subsample of the test examples: `layers.examples` (positions in the test order; every
    run of a population draws the same ones, and a metric that declares fewer takes the first),
    `layers.names` (in the order the forward pass makes them) and `layers.NAME` (examples x
    features, float16 where every metric declares it)."""
    from ..learners.capture import UnknownLayer, representations, unknown_layer

    capture = node.params["layers"]
    n = len(x[0])
    order = np.random.default_rng(derived_seed(env.seed, "layers", params.fold, n)).permutation(n)
    chosen = order[: capture["examples"]] if capture["examples"] is not None else order
    try:
        found = representations(
            params.learner, data.shapes, data.classes, fitted.state, [v[chosen] for v in x], capture["select"]
        )
    except UnknownLayer as error:
        raise unknown_layer(params.learner.name, error, node.origin) from error
    dtype = np.float16 if capture["storage"] == "float16" else np.float32
    out = {f"layers.{name}": values.astype(dtype) for name, values in found.items()}
    return {"layers.examples": chosen, "layers.names": np.array(list(found)), **out}


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
