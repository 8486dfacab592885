"""`external`: other people's models through their outputs: read every model of a source, join them by
example id (what was dropped is recorded), attach their attributes and embeddings, and describe the
population at the item level. The metric nodes make one run per model of it (`runs_of`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from homog.compiler.graph import Node

from .. import errors
from ..cache import Artifact
from ..external import join, readers
from ..external.errors import EXTERNAL_ATTRIBUTES, EXTERNAL_EMBEDDINGS
from ..metrics import allpairs
from ..registry import implementation
from . import Env, Inputs


def compute(node: Node, inputs: Inputs, env: Env) -> Artifact:
    external = node.params["external"]
    source = external["source"]
    answers = implementation("external", source["name"])(env.base, **source["params"])
    joined = join.join(answers)
    arrays: dict[str, np.ndarray] = {
        "labels": joined.labels,
        "probabilities": joined.probabilities,
        "truth": joined.truth,
        "options": joined.options,
        "ids": joined.ids.astype(str),
        "groups": joined.groups.astype(str),
    }
    attributes = _attributes(env, external.get("attributes"), joined.models)
    if external.get("embeddings"):
        for row, vectors in enumerate(_embeddings(env, external["embeddings"], joined)):
            arrays[f"embedding.{row}"] = vectors
    items = allpairs.item_level(joined.labels, joined.truth, joined.ids)
    adjusted = items["adjusted"].matrix
    upper = adjusted[np.triu_indices(len(joined.models), 1)]
    meta = {
        "name": external["name"],
        "format": source["name"],
        "models": joined.models,
        "classes": joined.classes,
        "examples": len(joined.ids),
        "scored": joined.scored,
        "attributes": attributes,
        "dropped": joined.dropped,
        "accuracy": (joined.labels == joined.truth[None, :]).mean(axis=1).tolist(),
        "item_level": {
            "failed_by_all": items["failed_by_all"],
            "difficulty_chance": items["difficulty_chance"],
            "adjusted_error_consistency_mean": float(np.nanmean(upper)) if np.isfinite(upper).any() else None,
            "undefined": items["adjusted"].undefined,
        },
    }
    return Artifact(meta, arrays)


def _attributes(env: Env, path: str | None, models: list[str]) -> dict[str, dict[str, Any]]:
    if not path:
        return {}
    table = readers.attributes(env.base, path)
    unknown = sorted(set(table) - set(models))
    if unknown and not set(table) & set(models):
        raise errors.RunError(
            EXTERNAL_ATTRIBUTES,
            f"'{path}' names none of the source's models (it names {unknown[:3]}; the source has "
            f"{models[:3]})",
            "name each model in the 'model' column as its source does",
        )
    return {model: table.get(model, {}) for model in models}


def _embeddings(env: Env, path: str, joined: join.Joined) -> list[np.ndarray]:
    """Each model's embedding of the joined examples, in their order (representation `penultimate`)."""
    found = readers.embeddings(env.base, path)
    out = []
    for model in joined.models:
        if model not in found:
            raise errors.RunError(
                EXTERNAL_EMBEDDINGS,
                f"'{path}' has no embeddings of model '{model}'",
                f"add {model.replace('/', '__')}.npz (or .npy, .safetensors, .parquet) to the folder",
            )
        ids, vectors = found[model]
        row = {i: r for r, i in enumerate(ids)}
        missing = [i for i in joined.ids if i not in row]
        if missing:
            raise errors.RunError(
                EXTERNAL_EMBEDDINGS,
                f"the embeddings of '{model}' in '{path}' lack {len(missing)} of the joined examples "
                f"(e.g. id {missing[0]})",
                "embed every example the models answered",
            )
        out.append(vectors[[row[i] for i in joined.ids]])
    return out


def runs_of(run: dict[str, Any], artifact: Artifact) -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """One run per model of an external source, with its outputs (as a predict node's)."""
    meta, arrays = artifact.meta, artifact.arrays
    out = []
    for row, model in enumerate(meta["models"]):
        outputs = {
            "labels": arrays["labels"][row],
            "probabilities": arrays["probabilities"][row],
            "truth": arrays["truth"],
            "options": arrays["options"],
            "examples": np.arange(len(arrays["truth"])),
        }
        if f"embedding.{row}" in arrays:
            outputs["layer.penultimate"] = arrays[f"embedding.{row}"]
        expanded = {**run, "node": f"{run['node']}/{row}", "learner": model}
        expanded.pop("external", None)
        expanded["attributes"] = meta["attributes"].get(model, {})
        out.append((expanded, outputs))
    return out
