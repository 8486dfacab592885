"""Benchmark: frozen-feature extraction by homogc's `extract` node against a plain loop.

    python -m tests.bench.extract_bench

Same model, data and batch size in both, measured in this run:

- text: a BERT (4 blocks, width 128, from a configuration, random weights) on 2,000 sentences,
  max length 32, batch 64, mean pooling of the last hidden state over the attention mask; the
  plain loop calls the tokenizer and the model batch by batch, as a user would;
- images: timm's `test_resnet` on 2,000 digits resized to 64 x 64, batch 64, spatial mean of
  `forward_features`; the plain loop resizes, normalises and calls the model batch by batch.

Both include loading the model from its folder, preparing the inputs and the forward passes.
Prints each throughput (examples per second) and the ratio homogc / plain (goal: at least 0.9).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from homog.compiler.graph import Node
from homog.runtime.backbones import tiny
from homog.runtime.backbones.common import import_vision_libraries
from homog.runtime.cache import Artifact
from homog.runtime.nodes import Env, extract

N, BATCH, LENGTH, SIZE, REPEATS = 2000, 64, 32, 64, 3


class _Inputs:
    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def __getitem__(self, name: str) -> Artifact:
        return Artifact({}, {"x.0": self.values})


def _homogc(root: Path, arch: str, library: str, params: dict, values: np.ndarray) -> float:
    node = Node("bench", "extract", "bench", {"arch": arch, "library": library, "output": "features",
                                              "params": params}, {})  # fmt: skip
    start = time.perf_counter()
    out = extract.compute(node, _Inputs(values), Env(root, 0, "cpu"))
    seconds = time.perf_counter() - start
    assert out.arrays["x.0"].shape[0] == len(values)
    return seconds


def _plain_text(folder: Path, texts: list[str]) -> float:
    from transformers import AutoModel, AutoTokenizer

    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), BATCH):
            batch = tokenizer(texts[i : i + BATCH], max_length=LENGTH, padding="max_length", truncation=True,
                              return_tensors="pt")  # fmt: skip
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            out.append((hidden * mask).sum(1) / mask.sum(1).clamp(min=1))
    torch.cat(out)
    return time.perf_counter() - start


def _plain_image(folder: Path, images: np.ndarray) -> float:
    import json

    import timm
    from safetensors.torch import load_file

    start = time.perf_counter()
    config = json.loads((folder / "config.json").read_text())
    model = timm.create_model(config["architecture"], pretrained=False, num_classes=config["num_classes"])
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    model.reset_classifier(0)
    model.eval()
    mean = torch.tensor(config["pretrained_cfg"]["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(config["pretrained_cfg"]["std"]).view(1, 3, 1, 1)
    x = torch.from_numpy(images).float() / images.max()
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), BATCH):
            batch = x[i : i + BATCH].unsqueeze(1).expand(-1, 3, -1, -1)
            batch = torch.nn.functional.interpolate(batch, size=(SIZE, SIZE), mode="bilinear", antialias=True)
            out.append(model.forward_features((batch - mean) / std).mean(dim=(2, 3)))
    torch.cat(out)
    return time.perf_counter() - start


def _best(run) -> float:
    return min(run() for _ in range(REPEATS))


def main() -> None:
    import_vision_libraries()
    from sklearn.datasets import load_digits

    torch.manual_seed(0)
    root = Path(tempfile.mkdtemp(prefix="extract-bench-"))
    bert = tiny.bert(root / "bert", layers=4, width=128)
    resnet = tiny.resnet(root / "resnet")
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(tiny.WORDS, size=rng.integers(5, 30))) for _ in range(N)]
    images = np.resize(load_digits().images, (N, 8, 8)).astype(np.float32)
    common = {"layer": "last", "pooling": "mean", "dtype": "float32", "batch": BATCH, "revision": None,
              "download": False, "size": SIZE}  # fmt: skip
    cases = [
        ("text (transformers BERT)",
         lambda: _homogc(root, "hf", "hf", {**common, "path": str(bert), "max_length": LENGTH},
                         np.array(texts)),
         lambda: _plain_text(bert, texts)),
        ("images (timm test_resnet)",
         lambda: _homogc(root, "timm", "timm", {**common, "path": str(resnet)}, images),
         lambda: _plain_image(resnet, images)),
    ]  # fmt: skip
    print(f"{N} examples, batch {BATCH}, best of {REPEATS}, {torch.get_num_threads()} torch threads")
    for name, ours, plain in cases:
        ours_s, plain_s = _best(ours), _best(plain)
        ratio = plain_s / ours_s
        print(f"{name:28s} homogc {N / ours_s:8.0f}/s   plain {N / plain_s:8.0f}/s   ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
