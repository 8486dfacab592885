"""`view`: a modality, its transforms fitted on each fold's training split and applied to every example."""

from __future__ import annotations

import numpy as np

from homog.compiler.graph import Node
from homog.compiler.ir import CallIR

from .. import data, errors, transforms
from ..cache import Artifact
from . import Env, Inputs
from .load import loaded


def compute(node: Node, inputs: Inputs, env: Env) -> Artifact:
    dataset = loaded(inputs["load"])
    values = data.field(dataset, node.params["field"], node.origin)
    calls = [CallIR(**call) for call in node.params["transforms"]]
    source = f"{node.params['dataset']}.{node.params['field']}"
    transforms.check_shape(values, calls, node.params["type"], node.name, source, node.origin)
    arrays = {
        f"x.{fold}": transforms.apply_transforms(
            _imputed(values, dataset, split.train, node), calls, split.train, node.params["type"] == "text"
        )
        for fold, split in enumerate(dataset.splits)
    }
    return Artifact({"shape": list(arrays["x.0"].shape[1:])}, arrays)


def _imputed(values: np.ndarray, dataset: data.Loaded, train: np.ndarray, node: Node) -> np.ndarray:
    """The field with its missing values filled in from this fold's training split, where the
    dataset's source declares `missing = mean | median | most_frequent`."""
    if dataset.missing not in data.IMPUTED:
        return values
    where = f"field '{node.params['field']}' of '{node.params['dataset']}'"
    return data.impute(values, dataset.missing, train, where, node.origin)


def transformed(node: Node, own: data.Loaded, other: data.Loaded, fold: int) -> np.ndarray:
    """Every example of another dataset, through this view's transforms fitted on `own`'s training
    split of `fold` (a domain shift)."""
    mine = data.field(own, node.params["field"], node.origin)
    theirs = data.field(other, node.params["field"], node.origin)
    if mine.shape[1:] != theirs.shape[1:]:
        raise errors.RunError(
            errors.DATA_SHAPE_MISMATCH,
            f"modality '{node.name}' reads examples of shape {mine.shape[1:]}, but the shifted dataset's "
            f"field '{node.params['field']}' has examples of shape {theirs.shape[1:]}",
            "a dataset condition needs a field of the same shape in both datasets",
            node.origin,
        )
    train = own.splits[fold].train
    values = _imputed(np.concatenate([mine, theirs]), own, train, node)  # from own's training split
    calls = [CallIR(**call) for call in node.params["transforms"]]
    return transforms.apply_transforms(values, calls, train)[len(own.labels) :]
