"""`late_fuse`: combine the predictions of several learners (mean, learned weights or a vote)."""

from __future__ import annotations

import numpy as np

from homog.compiler.graph import Node
from homog.compiler.ir import CallIR

from ..cache import Artifact
from ..registry import implementation, implements
from . import Env, Inputs
from .fit import learner, trained, training_data


def compute(node: Node, inputs: Inputs, env: Env) -> Artifact:
    predictions = [inputs[name].arrays for name in inputs.named("input.")]
    stacked = np.stack([p["probabilities"] for p in predictions])  # (learners, examples, classes)
    strategy = CallIR.model_validate(node.params["strategy"]).name
    probabilities, meta = implementation("fusion", strategy)(stacked, inputs, env)
    arrays = {
        "probabilities": probabilities,
        "labels": probabilities.argmax(axis=1),
        "truth": predictions[0]["truth"],
        "examples": predictions[0]["examples"],
    }
    return Artifact({"strategy": strategy, **meta}, arrays)


@implements("fusion", "mean")
def mean(stacked: np.ndarray, inputs: Inputs, env: Env) -> tuple[np.ndarray, dict]:
    return stacked.mean(axis=0), {}


@implements("fusion", "vote")
def vote(stacked: np.ndarray, inputs: Inputs, env: Env) -> tuple[np.ndarray, dict]:
    classes = stacked.shape[2]
    votes = np.stack([np.bincount(row, minlength=classes) for row in stacked.argmax(axis=2).T])
    # Ties go to the class with the highest mean probability, so a vote is never arbitrary.
    probabilities = votes / len(stacked) + 1e-9 * stacked.mean(axis=0)
    return probabilities / probabilities.sum(axis=1, keepdims=True), {}


@implements("fusion", "weighted")
def weighted(stacked: np.ndarray, inputs: Inputs, env: Env) -> tuple[np.ndarray, dict]:
    weights = learned_weights(inputs, env)
    return np.tensordot(weights, stacked, axes=1), {"weights": weights.tolist()}


def learned_weights(inputs: Inputs, env: Env) -> np.ndarray:
    """Softmax-normalised weights minimising the log-loss of the mixture on held-out training data."""
    mixtures = []
    for name in inputs.named("fit."):
        fitted = name[len("fit.") :]
        params, predicting = learner(inputs.node(name), env)
        data = training_data(inputs, params, views=f"view.{fitted}.")
        held_out = data.split.validation if len(data.split.validation) else data.split.train
        outputs = predicting.predict(trained(inputs[name]), data, [x[held_out] for x in data.inputs], [])
        mixtures.append(outputs.probabilities)
        truth = data.labels[held_out]
    chosen = np.stack(mixtures)[:, np.arange(len(truth)), truth]  # (m, n)
    logits = np.zeros(len(mixtures))
    for _ in range(500):  # gradient descent on the mean negative log-likelihood
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()
        mixture = np.clip(weights @ chosen, 1e-12, None)
        gradient_w = -(chosen / mixture).mean(axis=1)
        logits -= 0.5 * weights * (gradient_w - weights @ gradient_w)
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()
