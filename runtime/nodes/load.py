"""`load`: a dataset's fields, labels and splits (capped to a stratified sample under --smoke)."""

from __future__ import annotations

import numpy as np

from homog.compiler.graph import Node
from homog.compiler.ir import CallIR

from .. import data
from ..cache import Artifact
from . import Env, Inputs


def compute(node: Node, inputs: Inputs, env: Env) -> Artifact:
    source, split = CallIR(**node.params["source"]), CallIR(**node.params["split"])
    seed = node.params["seed"]
    loaded = data.load(source, split, seed, env.base, node.origin)
    rows = node.params.get("smoke_rows")
    if rows and len(loaded.labels) > rows:
        loaded = _sample(loaded, rows, split, seed)
    meta = {"classes": loaded.classes, "examples": len(loaded.labels), "folds": len(loaded.splits)}
    return Artifact(meta, loaded.arrays())


def _sample(loaded: data.Loaded, rows: int, split: CallIR, seed: int) -> data.Loaded:
    """A stratified sample of `rows` examples, split anew: the reduced mode of --smoke."""
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        np.arange(len(loaded.labels)), train_size=rows, random_state=seed, stratify=loaded.labels
    )
    keep = np.sort(keep)
    labels = loaded.labels[keep]
    fields = {name: values[keep] for name, values in loaded.fields.items()}
    return data.Loaded(fields, labels, loaded.classes, data.make_splits(labels, split, seed))


def loaded(artifact: Artifact) -> data.Loaded:
    return data.Loaded.from_arrays(artifact.arrays)
