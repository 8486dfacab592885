"""`load`: a dataset's fields, labels and splits (capped to a stratified sample under --smoke)."""

from __future__ import annotations

import numpy as np

from homog.compiler.graph import Node
from homog.compiler.ir import CallIR

from .. import data, errors
from ..cache import Artifact
from ..splits import make_splits
from . import Env, Inputs


def compute(node: Node, inputs: Inputs, env: Env) -> Artifact:
    source, split = CallIR(**node.params["source"]), CallIR(**node.params["split"])
    seed = node.params["seed"]
    loaded = data.load(source, split, seed, env.base, node.origin)
    rows = node.params.get("smoke_rows")
    kept = None
    if rows and len(loaded.labels) > rows:
        loaded, kept = _sample(loaded, rows, split, seed)
    meta = {"classes": loaded.classes, "examples": len(loaded.labels), "folds": len(loaded.splits)}
    arrays = loaded.arrays()
    if kept is not None:
        arrays["source_rows"] = kept  # each example's row in the source (external runs join by it)
    return Artifact(meta, arrays)


def _sample(loaded: data.Loaded, rows: int, split: CallIR, seed: int) -> tuple[data.Loaded, np.ndarray]:
    """A sample of `rows` examples, split anew: the reduced mode of --smoke. Stratified where every
    class can be (twice or more, and room for each class in the sample and in what is left)."""
    from sklearn.model_selection import train_test_split

    counts = np.bincount(loaded.labels)
    present = int((counts > 0).sum())
    stratified = counts[counts > 0].min() >= 2 and min(rows, len(loaded.labels) - rows) >= present
    keep, _ = train_test_split(
        np.arange(len(loaded.labels)),
        train_size=rows,
        random_state=seed,
        stratify=loaded.labels if stratified else None,
    )
    keep = np.sort(keep)
    labels = loaded.labels[keep]
    fields = {name: values[keep] for name, values in loaded.fields.items()}
    try:
        splits = make_splits(labels, split, seed, loaded.classes)
    except errors.RunError as error:
        raise errors.RunError(
            error.code, f"{error.message} (in the {rows}-example sample of --smoke)", error.hint
        ) from None
    return data.Loaded(fields, labels, loaded.classes, splits, loaded.missing), keep


def loaded(artifact: Artifact) -> data.Loaded:
    return data.Loaded.from_arrays(artifact.arrays)
