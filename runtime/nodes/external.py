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
from ..external.errors import EXTERNAL_ATTRIBUTES, EXTERNAL_DATASET, EXTERNAL_EMBEDDINGS
from ..metrics import allpairs
from ..registry import implementation
from . import Env, Inputs
from .load import loaded


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
    if "load" in inputs:  # joined to a dataset of the spec: its rows, classes and labels
        source_rows = inputs["load"].arrays.get("source_rows")  # a --smoke sample's rows in the source
        joined, joined_meta = _to_dataset(joined, loaded(inputs["load"]), external, source_rows)
        arrays.update(
            labels=joined.labels,
            probabilities=joined.probabilities,
            truth=joined.truth,
            options=joined.options,
            ids=joined.ids.astype(str),
            groups=joined.groups.astype(str),
            rows=joined_meta.pop("rows"),
        )
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
    if "load" in inputs:
        meta["dropped"]["dataset"] = joined_meta
    return Artifact(meta, arrays)


def _to_dataset(
    joined: join.Joined, data, external: dict, source_rows: np.ndarray | None = None
) -> tuple[join.Joined, dict[str, Any]]:
    """The answers on the dataset's examples: each example id found among the dataset's ids (its
    `id` field, else its row), classes by name. Examples the dataset lacks, and examples whose gold
    label is not the dataset's, are dropped and counted; a predicted class the dataset does not
    have is an error (its probabilities would have no column)."""
    field = external.get("id")
    if field:
        if field not in data.fields:
            raise errors.RunError(
                EXTERNAL_DATASET,
                f"dataset '{external['dataset']}' has no field '{field}' of example ids",
                f"name one of its fields: {sorted(data.fields)}",
            )
        keys = [str(v) for v in data.fields[field]]
    else:
        rows = source_rows if source_rows is not None else range(len(data.labels))
        keys = [str(int(row)) for row in rows]
    row_of = {key: row for row, key in enumerate(keys)}
    column = {name: k for k, name in enumerate(data.classes)}
    foreign = sorted({joined.classes[c] for c in np.unique(joined.labels)} - set(column))
    if foreign:
        raise errors.RunError(
            EXTERNAL_DATASET,
            f"the models of '{external['name']}' predict classes dataset '{external['dataset']}' does not "
            f"have: {foreign[:5]} (its classes: {data.classes[:10]})",
            "write the predictions with the dataset's class names",
        )
    unknown = [i for i in joined.ids if i not in row_of]
    kept = [j for j, i in enumerate(joined.ids) if i in row_of]
    rows = np.array([row_of[joined.ids[j]] for j in kept], dtype=np.int64)
    gold = np.array([column.get(joined.classes[joined.truth[j]], -1) for j in kept])
    agree = gold == data.labels[rows]
    disagree = [str(joined.ids[kept[j]]) for j in np.flatnonzero(~agree)]
    keep = np.array(kept, dtype=np.int64)[agree]
    if len(keep) < 2:
        raise errors.RunError(
            EXTERNAL_DATASET,
            f"the models of '{external['name']}' share {len(keep)} example(s) with dataset "
            f"'{external['dataset']}' ({len(unknown)} ids it lacks, {len(disagree)} labels that differ)",
            'join by a field of example ids (id = "field"), or check the ids and classes',
        )
    remap = np.array([column.get(name, -1) for name in joined.classes])
    probabilities = np.zeros((len(joined.models), len(keep), len(data.classes)), dtype=np.float32)
    for k, c in enumerate(remap):
        if c >= 0:
            probabilities[:, :, c] += joined.probabilities[:, keep, k]
    rows = rows[agree]
    moved = join.Joined(
        joined.models,
        joined.ids[keep],
        list(data.classes),
        data.labels[rows],
        remap[joined.labels[:, keep]],
        probabilities,
        np.minimum(joined.options[keep], len(data.classes)),
        joined.groups[keep],
        joined.scored,
        joined.dropped,
    )
    folds = [
        {
            "fold": fold,
            "test_examples": len(split.test),
            "answered": int(np.isin(split.test, rows).sum()),
            "unanswered": [int(r) for r in split.test[~np.isin(split.test, rows)][: join.SHOWN]],
        }
        for fold, split in enumerate(data.splits)
    ]
    report = {
        "name": external["dataset"],
        "ids_not_in_dataset": {"count": len(unknown), "examples": unknown[: join.SHOWN]},
        "labels_differ_from_dataset": {"count": len(disagree), "examples": disagree[: join.SHOWN]},
        "folds": folds,
        "rows": rows,
    }
    return moved, report


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
            # the dataset's rows where joined to one (the metric node keeps a fold's test rows)
            "examples": arrays["rows"] if "rows" in arrays else np.arange(len(arrays["truth"])),
        }
        if f"embedding.{row}" in arrays:
            outputs["layer.penultimate"] = arrays[f"embedding.{row}"]
        expanded = {**run, "node": f"{run['node']}/{row}", "learner": model}
        expanded.pop("external", None)
        expanded["attributes"] = meta["attributes"].get(model, {})
        expanded["joined"] = "rows" in arrays
        out.append((expanded, outputs))
    return out
