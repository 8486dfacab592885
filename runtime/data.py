"""Datasets as the `load` node holds them, and the checks a dataset passes before any training.

The sources that read data are in `sources.py`, the splits in `splits.py`.
Problems with the data — a missing file or field, fields of different
lengths, missing labels, continuous labels, text in a numeric field, NaNs, a
single class, too few examples for the split — are located data errors,
reported before any training starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from homog.compiler.ir import CallIR
from homog.dsl.diagnostics import suggestion_hint
from homog.dsl.syntax import Span

from . import errors
from .registry import implementation
from .splits import Split, make_splits

Columns = dict[str, np.ndarray]


@dataclass
class Loaded:
    fields: dict[str, np.ndarray]
    labels: np.ndarray  # integer class ids, 0..k-1
    classes: list[str]
    splits: list[Split]  # one per fold
    missing: str = "error"  # mean | median | most_frequent: blank cells (NaN) the views impute per fold

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"field.{name}": values for name, values in self.fields.items()}
        out["labels"] = self.labels
        out["classes"] = np.array(self.classes)
        if self.missing != "error":
            out["missing"] = np.array(self.missing)
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
        missing = str(arrays["missing"]) if "missing" in arrays else "error"
        return cls(fields, arrays["labels"], [str(c) for c in arrays["classes"]], splits, missing)


def load(source: CallIR, split: CallIR, seed: int, base: Path, origin: Span | None) -> Loaded:
    """Read a source and check it before any training: one class label per example, one row per
    example in every field, no missing or non-finite numbers, enough examples for the split."""
    try:
        fields, raw_labels, *more = implementation("source", source.name)(base, origin, **source.params)
        lines = more[0] if more else None  # the file line of each example, where the source knows it
        label = str(source.params.get("label", "target"))
        missing = str(source.params.get("missing", "error"))
        if missing == "drop":
            fields, raw_labels, lines = _drop_missing(fields, raw_labels, lines)
        raw_labels = _check_labels(raw_labels, label, lines)
        n = len(raw_labels)
        if n == 0:
            raise errors.RunError(errors.DATA_TOO_FEW, "the data has no examples", "check the data file")
        for name, values in fields.items():
            _check_field(name, values, n, lines, imputed=missing in IMPUTED)
        classes, labels = np.unique(raw_labels, return_inverse=True)
        labels = labels.reshape(-1)
        if len(classes) < 2:
            raise errors.RunError(
                errors.DATA_ONE_CLASS,
                f"the label has a single class ({classes[0]})",
                "a classification needs at least two classes",
            )
        names = [str(c) for c in classes]
        splits = make_splits(labels, split, seed, names)
    except errors.RunError as error:
        raise error.located(origin) from error.__cause__
    return Loaded(fields, labels.astype(np.int64), names, splits, missing if missing in IMPUTED else "error")


IMPUTED = ("mean", "median", "most_frequent")


def _missing_rows(values: np.ndarray) -> np.ndarray:
    """Which rows of a field or label have a missing value: NaN, a blank cell or a null."""
    values = np.asarray(values)
    if values.ndim == 0:
        return np.zeros(0, dtype=bool)
    flat = values.reshape(len(values), -1)
    if values.dtype.kind == "f":
        return np.isnan(flat).any(axis=1)
    if values.dtype.kind in "US":
        return (np.char.strip(flat.astype(str)) == "").any(axis=1)
    if values.dtype.kind == "O":
        return np.array(
            [any(v is None or (isinstance(v, float) and np.isnan(v)) for v in row) for row in flat]
        )
    return np.zeros(len(values), dtype=bool)


def _drop_missing(fields: Columns, labels: np.ndarray, lines: np.ndarray | None):
    """`missing = drop`: the rows with a missing value in any field or in the label, left out."""
    labels = np.asarray(labels)
    drop = _missing_rows(labels) if labels.ndim == 1 else np.zeros(len(labels), dtype=bool)
    for values in fields.values():
        if np.ndim(values) and len(values) == len(drop):
            drop |= _missing_rows(values)
    if not drop.any():
        return fields, labels, lines
    keep = ~drop
    kept = {name: v[keep] if np.ndim(v) and len(v) == len(keep) else v for name, v in fields.items()}
    return kept, labels[keep], None if lines is None else lines[keep]


def impute(
    values: np.ndarray, strategy: str, train: np.ndarray, where: str, origin: Span | None
) -> np.ndarray:
    """Missing values (NaN) filled in from the training split's values of each feature: its mean,
    median or most frequent value (`missing = mean | median | most_frequent`), never from the test split."""
    if values.dtype.kind != "f" or not np.isnan(values).any():
        return values
    from sklearn.impute import SimpleImputer

    flat = values.reshape(len(values), -1)
    empty = np.flatnonzero(np.isnan(flat[train]).all(axis=0))
    if len(empty):
        raise errors.RunError(
            errors.DATA_HAS_NAN,
            f"{where} has no value in the training split for {len(empty)} of its {flat.shape[1]} features "
            f"(the first: feature {int(empty[0])}), so there is nothing to impute them from",
            "fill those values in, or drop the rows that miss them (missing = drop)",
            origin,
        )
    imputer = SimpleImputer(strategy=strategy).fit(flat[train])
    return imputer.transform(flat).astype(values.dtype).reshape(values.shape)


def shown_rows(rows: np.ndarray, lines: np.ndarray | None = None, shown: int = 5) -> str:
    """Where some examples are: file lines where the source knows them, else their indices (from 0)."""
    picked = [int(lines[r]) if lines is not None else int(r) for r in rows[:shown]]
    text = ", ".join(str(r) for r in picked)
    more = f" and {len(rows) - shown} more" if len(rows) > shown else ""
    if lines is not None:
        return f"line{'s' if len(rows) > 1 else ''} {text}{more}"
    return f"{'indices' if len(rows) > 1 else 'index'} {text}{more}"


def _check_labels(raw: np.ndarray, label: str, lines: np.ndarray | None) -> np.ndarray:
    """The label as a column of classes: 1-D, none missing, not continuous numbers."""
    raw = np.asarray(raw)
    if raw.ndim != 1:
        if raw.ndim == 0:
            message = f"the label '{label}' is a single value (an array of shape ()), not one per example"
            hint = "the label needs one class per example"
        else:
            message = f"the label '{label}' has shape {raw.shape}: it needs one class per example (1-D)"
            hint = (
                "save it as a 1-D array (y.ravel())"
                if raw.shape[1:] == (1,) * (raw.ndim - 1)
                else "for one-hot or score rows, save the class of each example (y.argmax(axis=1))"
            )
        raise errors.RunError(errors.DATA_LABELS_NOT_CLASSES, message, hint)
    if raw.dtype.kind == "f":
        missing = ~np.isfinite(raw)
    elif raw.dtype.kind in "US":
        missing = np.char.strip(raw.astype(str)) == ""
    elif raw.dtype.kind == "O":
        missing = np.array([value is None or (isinstance(value, float) and np.isnan(value)) for value in raw])
    else:
        missing = np.zeros(len(raw), dtype=bool)
    if missing.any():
        rows = np.flatnonzero(missing)
        raise errors.RunError(
            errors.DATA_LABELS_MISSING,
            f"the label '{label}' is missing in {len(rows)} of {len(raw)} rows ({shown_rows(rows, lines)})",
            "drop those rows, or give them their class, before running: a missing label is not a class",
        )
    if raw.dtype.kind == "f":
        fractional = np.flatnonzero(raw != np.round(raw))
        if len(fractional):
            distinct = len(np.unique(raw))
            raise errors.RunError(
                errors.DATA_LABELS_NOT_CLASSES,
                f"the label '{label}' looks continuous: {distinct} distinct values, "
                f"{len(fractional)} of them not whole numbers (e.g. {raw[fractional[0]]:g} at "
                f"{shown_rows(fractional[:1], lines)})",
                "homogc classifies: give each example a class (an integer or a name), "
                "for example by binning the values",
            )
    return raw


def _check_field(
    name: str, values: np.ndarray, n: int, lines: np.ndarray | None, imputed: bool = False
) -> None:
    if values.ndim == 0:
        raise errors.RunError(
            errors.DATA_LENGTHS_DIFFER,
            f"field '{name}' is a single value (an array of shape ()), the label has {n} rows",
            "every field of a dataset needs one row per example",
        )
    if len(values) != n:
        raise errors.RunError(
            errors.DATA_LENGTHS_DIFFER,
            f"field '{name}' has {len(values)} rows, the label has {n}",
            "every field of a dataset needs one row per example",
        )
    if values.dtype.kind != "f":
        return
    bad = np.isinf(values) if imputed else ~np.isfinite(values)  # imputed: NaN is a missing value
    if bad.any():
        rows = np.flatnonzero(bad.reshape(n, -1).any(axis=1))
        raise errors.RunError(
            errors.DATA_HAS_NAN,
            f"field '{name}' has missing or non-finite values in {len(rows)} rows "
            f"({shown_rows(rows, lines)})",
            "drop or impute those rows before running, or declare it in the source: missing = drop, "
            "or missing = mean | median | most_frequent (imputed from each training split)",
        )


def field(loaded: Loaded, name: str, origin: Span | None) -> np.ndarray:
    if name not in loaded.fields:
        raise errors.RunError(
            errors.DATA_FIELD_MISSING,
            f"the data has no field '{name}'",
            suggestion_hint(name, loaded.fields, "fields"),
            origin,
        )
    return loaded.fields[name]


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
