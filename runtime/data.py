"""Data sources and splits: the `load` node.

Sources ship with scikit-learn (no download) or are files: `.npz` (each array a
field), CSV (each column a field; numbers where every cell parses, text
otherwise) and Parquet (with the optional `pyarrow`). Problems with the data —
a missing file or field, fields of different lengths, NaNs, a single class —
are reported before any training starts.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from homog.dsl.diagnostics import suggestion_hint

from . import errors

SOURCES = ("sklearn.digits", "sklearn.iris", "sklearn.wine", "sklearn.breast_cancer", "npz", "csv", "parquet")
_SKLEARN = {
    "sklearn.digits": "load_digits",
    "sklearn.iris": "load_iris",
    "sklearn.wine": "load_wine",
    "sklearn.breast_cancer": "load_breast_cancer",
}


@dataclass
class Split:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


@dataclass
class Loaded:
    fields: dict[str, np.ndarray]
    labels: np.ndarray  # integer class ids, 0..k-1
    classes: list[str]
    splits: list[Split]  # one per fold

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"field.{name}": values for name, values in self.fields.items()}
        out["labels"] = self.labels
        out["classes"] = np.array(self.classes)
        for fold, split in enumerate(self.splits):
            for part in ("train", "validation", "test"):
                out[f"split.{fold}.{part}"] = getattr(split, part)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Loaded:
        fields = {key[6:]: value for key, value in arrays.items() if key.startswith("field.")}
        folds = sorted({int(key.split(".")[1]) for key in arrays if key.startswith("split.")})
        splits = [
            Split(*(arrays[f"split.{fold}.{part}"] for part in ("train", "validation", "test")))
            for fold in folds
        ]
        return cls(fields, arrays["labels"], [str(c) for c in arrays["classes"]], splits)


def load(source: dict[str, Any], split: dict[str, Any], seed: int, base: Path, origin: str | None) -> Loaded:
    fields, raw_labels = _read(source, base, origin)
    n = len(raw_labels)
    for name, values in fields.items():
        if len(values) != n:
            raise errors.RunError(
                errors.DATA_LENGTHS_DIFFER,
                f"field '{name}' has {len(values)} rows, the label has {n}",
                "every field of a dataset needs one row per example",
                origin,
            )
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            bad = int((~np.isfinite(values.reshape(n, -1))).any(axis=1).sum())
            raise errors.RunError(
                errors.DATA_HAS_NAN,
                f"field '{name}' has missing or non-finite values in {bad} rows",
                "drop or impute those rows before running",
                origin,
            )
    classes, labels = np.unique(raw_labels, return_inverse=True)
    if len(classes) < 2:
        raise errors.RunError(
            errors.DATA_ONE_CLASS,
            f"the label has a single class ({classes[0] if len(classes) else 'no rows'})",
            "a classification needs at least two classes",
            origin,
        )
    splits = make_splits(labels, split, seed)
    return Loaded(fields, labels.astype(np.int64), [str(c) for c in classes], splits)


def _read(source: dict[str, Any], base: Path, origin: str | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    name, params = source["name"], source["params"]
    if name in _SKLEARN:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, _SKLEARN[name])()
        fields = {"features": bunch.data.astype(np.float32)}
        if name == "sklearn.digits":
            fields["image"] = bunch.images.astype(np.float32)
        return fields, bunch.target
    path = (base / params["path"]).resolve()
    if not path.is_file():
        raise errors.RunError(
            errors.DATA_FILE_MISSING,
            f"no data file '{params['path']}' (looked for {path})",
            "paths are relative to the spec's folder",
            origin,
        )
    label = params["label"]
    try:
        columns = {"npz": _npz, "csv": _csv, "parquet": _parquet}[name](path)
    except errors.RunError:
        raise
    except Exception as error:  # a malformed file, whatever the reader's exception
        raise errors.RunError(
            errors.DATA_UNREADABLE,
            f"cannot read '{params['path']}' as {name}: {error}",
            f"check the {name} file",
            origin,
        ) from None
    if label not in columns:
        raise errors.RunError(
            errors.DATA_FIELD_MISSING,
            f"'{params['path']}' has no label field '{label}'",
            suggestion_hint(label, columns, "fields"),
            origin,
        )
    labels = columns.pop(label)
    return columns, labels


def _npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: _numeric(data[key]) for key in data.files}


def _csv(path: Path) -> dict[str, np.ndarray]:
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    return {
        name: _numeric(np.array([row[i] if i < len(row) else "" for row in body]))
        for i, name in enumerate(header)
    }


def _parquet(path: Path) -> dict[str, np.ndarray]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise errors.RunError(
            errors.DATA_UNREADABLE,
            "reading Parquet needs the optional package pyarrow",
            "pip install 'homogc[parquet]'",
        ) from None
    table = pq.read_table(path)
    return {name: _numeric(np.asarray(table.column(name).to_numpy())) for name in table.column_names}


def _numeric(values: np.ndarray) -> np.ndarray:
    """Numbers as float32 where every value parses; text (or integer labels) as they are."""
    if values.dtype.kind in "iub":
        return values
    if values.dtype.kind == "f":
        return values.astype(np.float32)
    try:
        return values.astype(np.float64).astype(np.float32)
    except ValueError:
        return values.astype(str)


def field(loaded: Loaded, name: str, origin: str | None) -> np.ndarray:
    if name not in loaded.fields:
        raise errors.RunError(
            errors.DATA_FIELD_MISSING,
            f"the data has no field '{name}'",
            suggestion_hint(name, loaded.fields, "fields"),
            origin,
        )
    return loaded.fields[name]


def make_splits(labels: np.ndarray, split: dict[str, Any], seed: int) -> list[Split]:
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    params = split["params"]
    indices = np.arange(len(labels))
    stratify = params["stratify"]
    if split["name"] == "holdout":
        train, test = train_test_split(
            indices, test_size=params["test"], random_state=seed, stratify=labels if stratify else None
        )
        folds = [(train, test)]
    else:
        splitter = (StratifiedKFold if stratify else KFold)(
            n_splits=params["k"], shuffle=True, random_state=seed
        )
        folds = list(splitter.split(indices, labels))
    out = []
    for train, test in folds:
        validation = np.array([], dtype=np.int64)
        if params["validation"] > 0:
            train, validation = train_test_split(
                train,
                test_size=params["validation"],
                random_state=seed,
                stratify=labels[train] if stratify else None,
            )
        out.append(Split(np.sort(train), np.sort(validation), np.sort(test)))
    return out


def subsample(train: np.ndarray, labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A stratified fraction of the training indices, the same for every learner with this seed."""
    if fraction >= 1.0:
        return train
    rng = np.random.default_rng(seed)
    keep = []
    for cls in np.unique(labels[train]):
        members = train[labels[train] == cls]
        count = max(1, round(fraction * len(members)))
        keep.append(rng.choice(members, size=count, replace=False))
    return np.sort(np.concatenate(keep))
