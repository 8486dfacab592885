"""Splits: train, validation and test indices of each fold, checked against what scikit-learn's
splitters need before they run (enough examples, and of every class when stratified)."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import numpy as np

from homog.compiler.ir import CallIR

from . import errors
from .registry import implementation, implements


@dataclass
class Split:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def make_splits(
    labels: np.ndarray, split: CallIR, seed: int, classes: list[str] | None = None
) -> list[Split]:
    """Train, validation and test indices of each fold. Data too small for the split, or a class too
    rare for a stratified one, is a data error (E309), and so is a fold that trains on one class."""
    names = classes if classes is not None else [str(c) for c in range(int(labels.max(initial=-1)) + 1)]
    split_fn = implementation("split", split.name)
    params = dict(split.params)
    if "classes" in inspect.signature(split_fn).parameters:
        params["classes"] = names
    try:
        splits = split_fn(labels, seed, **params)
    except ValueError as error:  # a split (a plugin's, say) that scikit-learn refuses for this data
        raise errors.RunError(
            errors.DATA_TOO_FEW,
            f"the data ({len(labels)} examples) cannot be split by {split.name}: {error}",
            "add examples, drop or merge rare classes, or change the split",
        ) from None
    for fold, part in enumerate(splits):
        seen = np.unique(labels[part.train])
        if len(seen) < 2:
            only = f" ('{names[seen[0]]}')" if len(seen) else ""
            raise errors.RunError(
                errors.DATA_TOO_FEW,
                f"the training part of fold {fold} of {split.name} has {len(part.train)} examples "
                f"of a single class{only}",
                "add examples, or use a stratified split (stratify = true)",
            )
    return splits


def _too_few(message: str, stratify: bool) -> errors.RunError:
    return errors.RunError(
        errors.DATA_TOO_FEW,
        message,
        "add examples, drop or merge the rare classes, or change the split"
        + (" (stratify = false does not need every class on both sides)" if stratify else ""),
    )


def _check_cut(labels: np.ndarray, fraction: float, stratify: bool, names: list[str], what: str) -> None:
    """Whether scikit-learn's `train_test_split(test_size=fraction)` can cut `labels` in two: both parts
    non-empty and, stratified, every class twice or more, each part at least one example per class."""
    n = len(labels)
    cut = math.ceil(fraction * n)
    if cut >= n:
        raise _too_few(f"{what}: a part of {fraction:g} of {n} examples leaves none on the other side", False)
    if not stratify:
        return
    classes, counts = np.unique(labels, return_counts=True)
    rare = classes[counts < 2]
    if len(rare):
        shown = ", ".join(f"'{names[c]}'" for c in rare[:5]) + (" and more" if len(rare) > 5 else "")
        which = f"class {shown} has" if len(rare) == 1 else f"classes {shown} have"
        raise _too_few(
            f"{what}: {which} a single example; a stratified split needs at least 2 of each class",
            True,
        )
    if min(cut, n - cut) < len(classes):
        raise _too_few(
            f"{what}: {n} examples split {n - cut} / {cut} cannot put each of the {len(classes)} classes "
            "on both sides",
            True,
        )


@implements("split", "holdout")
def holdout(
    labels: np.ndarray,
    seed: int,
    test: float,
    stratify: bool,
    validation: float,
    classes: list[str] | None = None,
) -> list[Split]:
    from sklearn.model_selection import train_test_split

    names = classes or [str(c) for c in range(int(labels.max(initial=-1)) + 1)]
    _check_cut(labels, test, stratify, names, f"holdout(test = {test:g})")
    indices = np.arange(len(labels))
    train, tested = train_test_split(
        indices, test_size=test, random_state=seed, stratify=labels if stratify else None
    )
    return [_split(labels, train, tested, seed, stratify, validation, names, "the training part")]


@implements("split", "kfold")
def kfold(
    labels: np.ndarray,
    seed: int,
    k: int,
    stratify: bool,
    validation: float,
    classes: list[str] | None = None,
) -> list[Split]:
    from sklearn.model_selection import KFold, StratifiedKFold

    names = classes or [str(c) for c in range(int(labels.max(initial=-1)) + 1)]
    if len(labels) < k:
        raise _too_few(f"kfold(k = {k}) needs at least {k} examples; the data has {len(labels)}", False)
    if stratify:
        found, counts = np.unique(labels, return_counts=True)
        if counts.min() < k:
            rarest = found[np.argmin(counts)]
            raise _too_few(
                f"kfold(k = {k}): class '{names[rarest]}' has {counts.min()} examples; a stratified kfold "
                f"needs at least k = {k} of each class, one per fold",
                True,
            )
    splitter = (StratifiedKFold if stratify else KFold)(n_splits=k, shuffle=True, random_state=seed)
    folds = splitter.split(np.arange(len(labels)), labels)
    return [
        _split(labels, train, test, seed, stratify, validation, names, f"the training part of fold {fold}")
        for fold, (train, test) in enumerate(folds)
    ]


def _split(
    labels: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    seed: int,
    stratify: bool,
    validation: float,
    names: list[str] | None = None,
    what: str = "the training part",
) -> Split:
    """A fold's indices, sorted; the validation part is cut from training."""
    held_out = np.array([], dtype=np.int64)
    if validation > 0:
        from sklearn.model_selection import train_test_split

        if names is not None:
            _check_cut(labels[train], validation, stratify, names, f"validation = {validation:g} of {what}")
        train, held_out = train_test_split(
            train, test_size=validation, random_state=seed, stratify=labels[train] if stratify else None
        )
    return Split(np.sort(train), np.sort(held_out), np.sort(test))
