"""Data sources read from folders: images or text files sorted into one subfolder per class.

    images/cat/001.png, images/dog/7.jpg, ...      image_folder(path = "images", size = 32)
    reviews/pos/a.txt, reviews/neg/b.txt, ...      text_files(path = "reviews", per = file)

A subfolder's name is its examples' label. Files are read in sorted order (by class, then by
name), so an example's row is the same on every machine. Images are decoded with Pillow,
converted to RGB (or grey, `grey = true`) and, where `size` is given, resized to size x size;
without it every image must have the same size. Text files are read as UTF-8, each file one
example (`per = file`) or each non-blank line one (`per = line`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from homog.dsl.syntax import Span

from . import errors
from .registry import implements

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def _classes(base: Path, path: str, origin: Span | None) -> tuple[Path, list[Path]]:
    root = (base / path).resolve()
    if not root.is_dir():
        raise errors.RunError(
            errors.DATA_FILE_MISSING,
            f"no data folder '{path}' (looked for {root})",
            "paths are relative to the spec's folder; the folder holds one subfolder per class",
            origin,
        )
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise errors.RunError(
            errors.DATA_LABELS_MISSING,
            f"the folder '{path}' has no subfolders: its examples have no labels",
            "put each class's files in a subfolder named after the class",
            origin,
        )
    return root, classes


def _files(folder: Path, suffixes: set[str]) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


@implements("source", "image_folder")
def image_folder(base: Path, origin: Span | None, path: str, size: int | None, grey: bool):
    from PIL import Image

    root, classes = _classes(base, path, origin)
    images, labels, shapes = [], [], set()
    for folder in classes:
        for file in _files(folder, IMAGE_SUFFIXES):
            try:
                with Image.open(file) as opened:
                    image = opened.convert("L" if grey else "RGB")
                    if size is not None:
                        image = image.resize((size, size), Image.Resampling.BILINEAR)
                    images.append(np.asarray(image, dtype=np.uint8))
            except OSError as error:
                raise errors.RunError(
                    errors.DATA_UNREADABLE,
                    f"cannot read the image '{file.relative_to(root)}' in '{path}': {error}",
                    "remove or replace the file",
                    origin,
                ) from None
            labels.append(folder.name)
            shapes.add(images[-1].shape)
    if len(shapes) > 1:
        raise errors.RunError(
            errors.DATA_SHAPE_MISMATCH,
            f"the images in '{path}' have {len(shapes)} different sizes, e.g. {sorted(shapes)[:2]}",
            "give image_folder a size, as in image_folder(path = ..., size = 64)",
            origin,
        )
    if not images:
        raise errors.RunError(
            errors.DATA_TOO_FEW, f"no image files in '{path}'", "images end in .png, .jpg, ...", origin
        )
    return {"image": np.stack(images)}, np.array(labels)


@implements("source", "text_files")
def text_files(base: Path, origin: Span | None, path: str, per: str, suffix: str):
    root, classes = _classes(base, path, origin)
    texts, labels = [], []
    for folder in classes:
        for file in _files(folder, {suffix.lower()}):
            try:
                content = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise errors.RunError(
                    errors.DATA_UNREADABLE,
                    f"cannot read '{file.relative_to(root)}' in '{path}' as UTF-8 text: {error}",
                    "save the file as UTF-8",
                    origin,
                ) from None
            found = (
                [line.strip() for line in content.splitlines() if line.strip()]
                if per == "line"
                else [content]
            )
            texts += found
            labels += [folder.name] * len(found)
    if not texts:
        raise errors.RunError(
            errors.DATA_TOO_FEW, f"no '{suffix}' files with text in '{path}'", "check the suffix", origin
        )
    return {"text": np.array(texts, dtype=str)}, np.array(labels)
