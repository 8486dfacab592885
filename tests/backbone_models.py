"""Tiny pretrained-model folders for the backbone tests: written as a user's tools write them.

`configs_only` writes only what `check` reads (config.json, a tokenizer's or an image processor's
file, a weights file of a few bytes): no torch. `tiny_models` builds randomly initialised models
from configurations with transformers, timm and torchvision (homog.runtime.backbones.tiny) and
saves them; cached per session by the fixtures that call it.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from functools import cache
from pathlib import Path


def configs_only(root: Path) -> Path:
    bert = root / "bert"
    bert.mkdir(parents=True)
    (bert / "config.json").write_text(json.dumps({"model_type": "bert", "num_hidden_layers": 2}))
    (bert / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\ngood\nbad\n")
    (bert / "model.safetensors").write_bytes(b"not really weights")
    vit = root / "vit"
    vit.mkdir()
    (vit / "config.json").write_text(json.dumps({"model_type": "vit", "num_hidden_layers": 3}))
    (vit / "preprocessor_config.json").write_text("{}")
    (vit / "model.safetensors").write_bytes(b"weights")
    resnet = root / "resnet"
    resnet.mkdir()
    (resnet / "config.json").write_text(json.dumps({"architecture": "test_resnet", "num_classes": 10}))
    (resnet / "model.safetensors").write_bytes(b"weights")
    return root


@cache
def tiny_models() -> Path:
    """A folder of tiny models (bert, vit, resnet, shufflenet), built once per test process and
    removed when it ends; tests name them by absolute path or copy them."""
    from homog.runtime.backbones import tiny

    root = Path(tempfile.mkdtemp(prefix="homog-tiny-models-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for make in (tiny.bert, tiny.vit, tiny.resnet, tiny.shufflenet):
        make(root / make.__name__)
    return root


def reviews(path: Path, n: int = 120) -> Path:
    """A CSV of short reviews whose words give away the label."""
    import csv
    import random

    rng = random.Random(0)
    words = {0: ["good", "great", "love", "fun", "best"], 1: ["bad", "awful", "hate", "dull", "worst"]}
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        for i in range(n):
            text = " ".join(rng.choice([*words[i % 2], "the", "movie", "plot"]) for _ in range(6))
            writer.writerow([text, i % 2])
    return path
