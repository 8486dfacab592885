"""The split's cuts are scikit-learn's, draw for draw, without importing `sklearn.model_selection`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn import model_selection

from homog.runtime import splits

CASES = [(n, c, seed) for n in (7, 40, 151) for c in (2, 3, 5) for seed in (0, 1, 17) if n >= 2 * c]


def _labels(n: int, classes: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 100 * n)
    labels = rng.integers(0, classes, n)
    labels[:classes] = labels[classes : 2 * classes] = np.arange(classes)  # every class at least twice
    return rng.permutation(labels)


@pytest.mark.parametrize(("n", "classes", "seed"), CASES)
def test_train_test_split_equals_scikit_learns(n, classes, seed):
    labels, items = _labels(n, classes, seed), np.arange(n) * 3 + 1
    for fraction in (0.2, 0.25, 0.5):
        for stratify in (None, labels):
            cut = int(np.ceil(fraction * n))
            if stratify is not None and min(cut, n - cut) < classes:
                continue
            ours = splits.train_test_split(items, fraction, seed, stratify)
            theirs = model_selection.train_test_split(
                items, test_size=fraction, random_state=seed, stratify=stratify
            )
            for a, b in zip(ours, theirs, strict=True):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("n", "classes", "seed"), CASES)
def test_folds_equal_scikit_learns(n, classes, seed):
    labels = _labels(n, classes, seed)
    for k in (2, 3, 5):
        if k > n:
            continue
        theirs = model_selection.KFold(k, shuffle=True, random_state=seed).split(np.arange(n))
        for (a, b), (c, d) in zip(splits._folds(n, k, seed), theirs, strict=True):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)
        if np.bincount(labels).min() < k:
            continue
        theirs = model_selection.StratifiedKFold(k, shuffle=True, random_state=seed).split(
            np.arange(n), labels
        )
        for (a, b), (c, d) in zip(splits._stratified_folds(labels, k, seed), theirs, strict=True):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)


def test_splitting_imports_no_scikit_learn_model_selection():
    code = (
        "import sys, numpy as np\n"
        "from homog.compiler.ir import CallIR\n"
        "from homog.runtime.splits import make_splits\n"
        "y = np.arange(60) % 3\n"
        "make_splits(y, CallIR(name='kfold', params={'k': 3, 'stratify': True, 'validation': 0.2}), 0)\n"
        "holdout = {'test': 0.25, 'stratify': True, 'validation': 0.2}\n"
        "make_splits(y, CallIR(name='holdout', params=holdout), 0)\n"
        "print('sklearn.model_selection' in sys.modules)\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
