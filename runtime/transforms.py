"""Modality transforms (the `view` node) and test-time conditions (the `predict` node), on numpy.

Transforms are fitted on the training split of each fold only, then applied
to every example. Conditions shift the test examples seen by `predict`, from
a generator seeded by the condition itself, so that every learner sees the
same shifted examples. (Training-time augmentations act on torch batches:
`learners/augment.py`.)
"""

from __future__ import annotations

import numpy as np

from homog.compiler.ir import CallIR
from homog.dsl.syntax import Span

from . import errors
from .registry import implementation, implements


def apply_transforms(
    values: np.ndarray, transforms: list[CallIR], train: np.ndarray, keep_text: bool = False
) -> np.ndarray:
    """`keep_text`: a `text` modality may stay text (a backbone's tokenizer reads it)."""
    x = values
    for transform in transforms:
        text = _is_text(x)
        try:
            x = implementation("transform", transform.name)(x, train, **transform.params)
        except (ValueError, TypeError) as error:
            if not text:
                raise
            raise _text_error(f"'{transform.name}' needs numbers, but the examples are text") from error
    if _is_text(x):
        if keep_text:
            return x.astype(str)
        raise _text_error("the examples are still text after the transforms")
    return x.astype(np.float32, copy=False) if x.dtype.kind in "fiub" else x


def _is_text(x: np.ndarray) -> bool:
    return x.dtype.kind in "USO"


def _text_error(message: str) -> errors.RunError:
    return errors.RunError(
        errors.DATA_NOT_NUMERIC,
        message,
        "start the transforms with one that turns text into numbers, such as hashed_ngrams",
    )


# The ranks of one example that each declared modality type takes, as the compiler checks them (E244).
_RANKS = {"vector": (1,), "sequence": (2,), "image": (2, 3)}


def check_shape(
    values: np.ndarray,
    transforms: list[CallIR],
    declared: str,
    modality: str,
    source: str,
    origin: Span | None,
) -> None:
    """The compiler's shape check (E244) for a field whose shape only the data tells: the shape of one
    example through each transform's shape rule, then its rank against the declared type. `text`
    modalities are not checked (no rank is declared for them)."""
    from homog.compiler.registry import default_registry

    shape: tuple[int, ...] = tuple(int(d) for d in values.shape[1:])
    text = _is_text(values)
    registry = default_registry()
    for call in transforms:
        entry = registry.get("transform", call.name)
        if entry is None or entry.shape_rule is None:
            continue
        result = entry.shape_rule(shape, entry.params.model_construct(**call.params))
        if isinstance(result, str):
            raise errors.RunError(
                errors.DATA_SHAPE_MISMATCH,
                f"in modality '{modality}': {result}",
                f"each example of '{source}' has shape {_shape(shape)} at this point",
                origin,
            )
        shape, text = tuple(result), False
    if declared not in _RANKS or len(shape) in _RANKS[declared]:
        return
    raise errors.RunError(
        errors.DATA_SHAPE_MISMATCH,
        f"modality '{modality}' is declared {declared}, but its examples have shape {_shape(shape)}",
        _type_for_shape(shape, declared, text),
        origin,
    )


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _type_for_shape(shape: tuple[int, ...], declared: str, text: bool) -> str:
    if text:
        return "the field is text: add hashed_ngrams to the transforms to make each example a vector"
    if not shape:
        return "each example is a single number: add 'flatten' to the transforms for a vector of one"
    if len(shape) == 1:
        return "declare type = vector"
    if declared == "vector":
        return "add 'flatten' to the transforms, or declare type = image"
    return "declare type = image or sequence to match the shape"


@implements("transform", "standardize")
def standardize(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    """(x - mean) / std of the training rows, in float32. The statistics and each value are computed
    in float64 as before, a block of rows at a time: no float64 copy of the whole data."""
    rows = x[train].astype(np.float64)
    mean, std = rows.mean(axis=0), rows.std(axis=0)
    del rows
    std = np.where(std > 0, std, 1.0)
    out = np.empty(x.shape, dtype=np.float32)
    block = max(1, (1 << 22) // max(1, x[0].size))  # about 32 MiB of float64 per block
    for start in range(0, len(x), block):
        out[start : start + block] = (x[start : start + block].astype(np.float64) - mean) / std
    return out


@implements("transform", "minmax")
def minmax(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    low, high = x[train].min(axis=0), x[train].max(axis=0)
    span = high - low
    return (x - low) / np.where(span > 0, span, 1.0)


@implements("transform", "flatten")
def flatten(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


@implements("transform", "pca")
def pca(x: np.ndarray, train: np.ndarray, components: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    if x.ndim != 2 or components > x.shape[1]:
        raise errors.RunError(
            errors.DATA_SHAPE_MISMATCH,
            f"pca asks for {components} components of examples of shape {_shape(x.shape[1:])}",
            "pca needs vectors with at least as many features as components: flatten first, "
            "or ask for fewer components",
        )
    if components > len(train):
        raise errors.RunError(
            errors.DATA_TOO_FEW,
            f"pca asks for {components} components, but it is fitted on {len(train)} training examples",
            f"ask for at most {len(train)} components, or use more examples",
        )
    pca = PCA(n_components=components, random_state=0).fit(x[train])
    return pca.transform(x)


@implements("transform", "row_col_profile")
def row_col_profile(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    return np.concatenate([x.mean(axis=2), x.mean(axis=1)], axis=1)


@implements("transform", "crop")
def crop(x: np.ndarray, train: np.ndarray, rows: list[int] | None, columns: list[int] | None) -> np.ndarray:
    r = slice(*rows) if rows else slice(None)
    c = slice(*columns) if columns else slice(None)
    return x[:, r, c]


@implements("transform", "hashed_ngrams")
def hashed_ngrams(x: np.ndarray, train: np.ndarray, features: int, n: int) -> np.ndarray:
    from sklearn.feature_extraction.text import HashingVectorizer

    # Stateless and seedless (MurmurHash3), so the same text always gives the same vector.
    vectorizer = HashingVectorizer(
        analyzer="char_wb", ngram_range=(1, n), n_features=features, alternate_sign=False
    )
    return vectorizer.transform([str(v) for v in x]).toarray()


# --------------------------------------------------------------------------- conditions (numpy)


def shift(x: np.ndarray, condition: CallIR, seed: int) -> np.ndarray:
    """A test-time condition applied to the examples `x`, drawing from a generator seeded by `seed`."""
    rng = np.random.default_rng(seed)
    return implementation("condition", condition.name)(x, rng, **condition.params)


@implements("condition", "gaussian_noise")
def gaussian_noise(x: np.ndarray, rng: np.random.Generator, std: float) -> np.ndarray:
    return (x + std * rng.standard_normal(x.shape)).astype(np.float32)


@implements("condition", "feature_dropout")
def feature_dropout(x: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    return (x * (rng.random(x.shape) >= p)).astype(np.float32)


@implements("condition", "drop")
def drop(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.zeros_like(x)


@implements("condition", "occlusion")
def occlusion(x: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    out = x.copy()
    h, w = x.shape[-2], x.shape[-1]
    for i in range(len(x)):
        top = rng.integers(0, max(1, h - size + 1))
        left = rng.integers(0, max(1, w - size + 1))
        out[i, ..., top : top + size, left : left + size] = 0
    return out
