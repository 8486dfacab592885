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

import numpy as np

from homog.compiler.ir import CallIR
from homog.dsl.diagnostics import suggestion_hint
from homog.dsl.syntax import Span

from . import errors
from .registry import implementation, implements

Columns = dict[str, np.ndarray]


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


def load(source: CallIR, split: CallIR, seed: int, base: Path, origin: Span | None) -> Loaded:
    fields, raw_labels = implementation("source", source.name)(base, origin, **source.params)
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


def _sklearn(loader: str, image: bool = False):
    def read(base: Path, origin: Span | None) -> tuple[Columns, np.ndarray]:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader)()
        fields = {"features": bunch.data.astype(np.float32)}
        if image:
            fields["image"] = bunch.images.astype(np.float32)
        return fields, bunch.target

    return read


implements("source", "sklearn.digits")(_sklearn("load_digits", image=True))
implements("source", "sklearn.iris")(_sklearn("load_iris"))
implements("source", "sklearn.wine")(_sklearn("load_wine"))
implements("source", "sklearn.breast_cancer")(_sklearn("load_breast_cancer"))


def _file(fmt: str, reader):
    """A source read from a file: its columns are fields, `label` the label."""

    def read(base: Path, origin: Span | None, path: str, label: str) -> tuple[Columns, np.ndarray]:
        found = (base / path).resolve()
        if not found.is_file():
            raise errors.RunError(
                errors.DATA_FILE_MISSING,
                f"no data file '{path}' (looked for {found})",
                "paths are relative to the spec's folder",
                origin,
            )
        try:
            columns = reader(found)
        except errors.RunError:
            raise
        except Exception as error:  # a malformed file, whatever the reader's exception
            raise errors.RunError(
                errors.DATA_UNREADABLE,
                f"cannot read '{path}' as {fmt}: {error}",
                f"check the {fmt} file",
                origin,
            ) from None
        if label not in columns:
            raise errors.RunError(
                errors.DATA_FIELD_MISSING,
                f"'{path}' has no label field '{label}'",
                suggestion_hint(label, columns, "fields"),
                origin,
            )
        labels = columns.pop(label)
        return columns, labels

    return implements("source", fmt)(read)


def _npz(path: Path) -> Columns:
    with np.load(path, allow_pickle=False) as data:
        return {key: _numeric(data[key]) for key in data.files}


def _csv(path: Path) -> Columns:
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    return {
        name: _numeric(np.array([row[i] if i < len(row) else "" for row in body]))
        for i, name in enumerate(header)
    }


def _parquet(path: Path) -> Columns:
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


_file("npz", _npz)
_file("csv", _csv)
_file("parquet", _parquet)


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


def field(loaded: Loaded, name: str, origin: Span | None) -> np.ndarray:
    if name not in loaded.fields:
        raise errors.RunError(
            errors.DATA_FIELD_MISSING,
            f"the data has no field '{name}'",
            suggestion_hint(name, loaded.fields, "fields"),
            origin,
        )
    return loaded.fields[name]


def make_splits(labels: np.ndarray, split: CallIR, seed: int) -> list[Split]:
    """Train, validation and test indices of each fold."""
    return implementation("split", split.name)(labels, seed, **split.params)


@implements("split", "holdout")
def holdout(labels: np.ndarray, seed: int, test: float, stratify: bool, validation: float) -> list[Split]:
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    train, tested = train_test_split(
        indices, test_size=test, random_state=seed, stratify=labels if stratify else None
    )
    return [_split(labels, train, tested, seed, stratify, validation)]


@implements("split", "kfold")
def kfold(labels: np.ndarray, seed: int, k: int, stratify: bool, validation: float) -> list[Split]:
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (StratifiedKFold if stratify else KFold)(n_splits=k, shuffle=True, random_state=seed)
    folds = splitter.split(np.arange(len(labels)), labels)
    return [_split(labels, train, test, seed, stratify, validation) for train, test in folds]


def _split(
    labels: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int, stratify: bool, validation: float
) -> Split:
    """A fold's indices, sorted; the validation part is cut from training."""
    held_out = np.array([], dtype=np.int64)
    if validation > 0:
        from sklearn.model_selection import train_test_split

        train, held_out = train_test_split(
            train, test_size=validation, random_state=seed, stratify=labels[train] if stratify else None
        )
    return Split(np.sort(train), np.sort(held_out), np.sort(test))


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
