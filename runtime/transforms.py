"""Modality transforms (the `view` node), training-time augmentation and test-time conditions.

Transforms are fitted on the training split of each fold only, then applied
to every example. Augmentations act on training batches; conditions shift the
test examples seen by `predict`, from a generator seeded by the condition
itself, so that every learner sees the same shifted examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Call = dict[str, Any]


def apply_transforms(values: np.ndarray, transforms: list[Call], train: np.ndarray) -> np.ndarray:
    x = values
    for transform in transforms:
        x = _TRANSFORMS[transform["name"]](x, train, **transform["params"])
    return x.astype(np.float32) if x.dtype.kind in "fiub" else x


def _standardize(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    return (x - mean) / np.where(std > 0, std, 1.0)


def _minmax(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    low, high = x[train].min(axis=0), x[train].max(axis=0)
    span = high - low
    return (x - low) / np.where(span > 0, span, 1.0)


def _flatten(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def _pca(x: np.ndarray, train: np.ndarray, components: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    pca = PCA(n_components=components, random_state=0).fit(x[train])
    return pca.transform(x)


def _row_col_profile(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    return np.concatenate([x.mean(axis=2), x.mean(axis=1)], axis=1)


def _crop(x: np.ndarray, train: np.ndarray, rows: list[int] | None, columns: list[int] | None) -> np.ndarray:
    r = slice(*rows) if rows else slice(None)
    c = slice(*columns) if columns else slice(None)
    return x[:, r, c]


def _hashed_ngrams(x: np.ndarray, train: np.ndarray, features: int, n: int) -> np.ndarray:
    from sklearn.feature_extraction.text import HashingVectorizer

    # Stateless and seedless (MurmurHash3), so the same text always gives the same vector.
    vectorizer = HashingVectorizer(
        analyzer="char_wb", ngram_range=(1, n), n_features=features, alternate_sign=False
    )
    return vectorizer.transform([str(v) for v in x]).toarray()


_TRANSFORMS = {
    "standardize": _standardize,
    "minmax": _minmax,
    "flatten": _flatten,
    "pca": _pca,
    "row_col_profile": _row_col_profile,
    "crop": _crop,
    "hashed_ngrams": _hashed_ngrams,
}
TRANSFORMS = frozenset(_TRANSFORMS)

# --------------------------------------------------------------------------- augmentation (torch)


def augment(batch, augmentations: list[Call], generator):
    """Apply training-time augmentations to a torch batch, drawing from `generator`."""
    import torch

    x = batch
    for item in augmentations:
        name, params = item["name"], item["params"]
        if name == "gaussian_noise":
            x = x + params["std"] * torch.randn(x.shape, generator=generator, device=x.device)
        elif name == "feature_dropout":
            keep = torch.rand(x.shape, generator=generator, device=x.device) >= params["p"]
            x = x * keep
        elif name == "flip":
            axis = -1 if params["axis"] == "horizontal" else -2
            flip = torch.rand((x.shape[0],), generator=generator, device=x.device) < 0.5
            x = torch.where(flip.view(-1, *([1] * (x.dim() - 1))), x.flip(axis), x)
        elif name == "random_crop":
            pad = params["padding"]
            h, w = x.shape[-2], x.shape[-1]
            padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
            dy, dx = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=generator))
            x = padded[..., dy : dy + h, dx : dx + w]
        else:
            raise KeyError(name)
    return x


AUGMENTATIONS = frozenset({"gaussian_noise", "feature_dropout", "flip", "random_crop"})

# --------------------------------------------------------------------------- conditions (numpy)


def shift(x: np.ndarray, condition: Call, seed: int) -> np.ndarray:
    """A test-time condition applied to the examples `x`."""
    rng = np.random.default_rng(seed)
    name, params = condition["name"], condition["params"]
    if name == "gaussian_noise":
        return (x + params["std"] * rng.standard_normal(x.shape)).astype(np.float32)
    if name == "feature_dropout":
        return (x * (rng.random(x.shape) >= params["p"])).astype(np.float32)
    if name == "drop":
        return np.zeros_like(x)
    if name == "occlusion":
        size = params["size"]
        out = x.copy()
        h, w = x.shape[-2], x.shape[-1]
        for i in range(len(x)):
            top = rng.integers(0, max(1, h - size + 1))
            left = rng.integers(0, max(1, w - size + 1))
            out[i, ..., top : top + size, left : left + size] = 0
        return out
    raise KeyError(name)


CONDITIONS = frozenset({"gaussian_noise", "feature_dropout", "drop", "occlusion"})
