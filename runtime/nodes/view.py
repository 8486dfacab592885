"""`view`: a modality, its transforms fitted on each fold's training split and applied to every example."""

from __future__ import annotations

import numpy as np

from homog.compiler.graph import Node
from homog.compiler.ir import CallIR

from .. import data, transforms
from ..cache import Artifact
from . import Env, Inputs
from .load import loaded


def compute(node: Node, inputs: Inputs, env: Env) -> Artifact:
    dataset = loaded(inputs["load"])
    values = data.field(dataset, node.params["field"], node.origin)
    calls = [CallIR(**call) for call in node.params["transforms"]]
    arrays = {
        f"x.{fold}": transforms.apply_transforms(values, calls, split.train)
        for fold, split in enumerate(dataset.splits)
    }
    return Artifact({"shape": list(arrays["x.0"].shape[1:])}, arrays)


def transformed(node: Node, own: data.Loaded, other: data.Loaded, fold: int) -> np.ndarray:
    """Every example of another dataset, through this view's transforms fitted on `own`'s training
    split of `fold` (a domain shift)."""
    values = np.concatenate(
        [
            data.field(own, node.params["field"], node.origin),
            data.field(other, node.params["field"], node.origin),
        ]
    )
    calls = [CallIR(**call) for call in node.params["transforms"]]
    return transforms.apply_transforms(values, calls, own.splits[fold].train)[len(own.labels) :]
