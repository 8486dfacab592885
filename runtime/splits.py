"""Splits: train, validation and test indices of each fold, checked before they are cut (enough
examples, and of every class when stratified).

The cuts are scikit-learn's (`train_test_split`, `KFold`, `StratifiedKFold` with `shuffle=True`),
written with numpy's `RandomState` draw for draw as scikit-learn makes them, so a seed gives the
same folds as before (tests compare the two); importing `sklearn.model_selection` alone took 1.5 s
of every cold start."""

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
    names = classes or [str(c) for c in range(int(labels.max(initial=-1)) + 1)]
    _check_cut(labels, test, stratify, names, f"holdout(test = {test:g})")
    indices = np.arange(len(labels))
    train, tested = train_test_split(indices, test, seed, labels if stratify else None)
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
    folds = _stratified_folds(labels, k, seed) if stratify else _folds(len(labels), k, seed)
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
        if names is not None:
            _check_cut(labels[train], validation, stratify, names, f"validation = {validation:g} of {what}")
        train, held_out = train_test_split(train, validation, seed, labels[train] if stratify else None)
    return Split(np.sort(train), np.sort(held_out), np.sort(test))


# --------------------------------------------------------------------------- the cuts


def train_test_split(
    items: np.ndarray, fraction: float, seed: int, stratify: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's `train_test_split(items, test_size=fraction, random_state=seed,
    stratify=stratify)`: `ShuffleSplit`, or `StratifiedShuffleSplit` when stratified."""
    n = len(items)
    n_test = math.ceil(fraction * n)
    n_train = n - n_test
    rng = np.random.RandomState(seed)
    if stratify is None:
        permutation = rng.permutation(n)
        return items[permutation[n_test:]], items[permutation[:n_test]]
    _, inverse, counts = np.unique(stratify, return_inverse=True, return_counts=True)
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    train_counts = _approximate_mode(counts, n_train, rng)
    test_counts = _approximate_mode(counts - train_counts, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for m, count in enumerate(counts):
        shuffled = members[m].take(rng.permutation(count), mode="clip")
        train.extend(shuffled[: train_counts[m]])
        test.extend(shuffled[train_counts[m] : train_counts[m] + test_counts[m]])
    return items[rng.permutation(train)], items[rng.permutation(test)]


def _approximate_mode(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of each class `draws` examples take (scikit-learn's `_approximate_mode`): the floor
    of each class's share, then one more for the largest remainders, ties broken at random."""
    continuous = counts / counts.sum() * draws
    floored = np.floor(continuous)
    need = int(draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            now = min(len(tied), need)
            floored[rng.choice(tied, size=now, replace=False)] += 1
            need -= now
            if need == 0:
                break
    return floored.astype(int)


def _folds(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`KFold(k, shuffle=True, random_state=seed)`: consecutive blocks of one shuffle."""
    order = np.arange(n)
    np.random.RandomState(seed).shuffle(order)
    sizes = np.full(k, n // k, dtype=int)
    sizes[: n % k] += 1
    folds, start = [], 0
    for size in sizes:
        mask = np.zeros(n, dtype=bool)
        mask[order[start : start + size]] = True
        folds.append((np.flatnonzero(~mask), np.flatnonzero(mask)))
        start += size
    return folds


def _stratified_folds(labels: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`StratifiedKFold(k, shuffle=True, random_state=seed)`: each class dealt round robin over the
    folds, its fold numbers shuffled."""
    rng = np.random.RandomState(seed)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    _, order = np.unique(first, return_inverse=True)  # classes numbered by first appearance
    encoded = order[inverse]
    classes = len(first)
    ordered = np.sort(encoded)
    allocation = np.asarray([np.bincount(ordered[i::k], minlength=classes) for i in range(k)])
    test_folds = np.empty(len(labels), dtype=int)
    for c in range(classes):
        of_class = np.arange(k).repeat(allocation[:, c])
        rng.shuffle(of_class)
        test_folds[encoded == c] = of_class
    everything = np.arange(len(labels))
    return [(everything[test_folds != i], everything[test_folds == i]) for i in range(k)]
