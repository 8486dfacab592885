"""Pretrained backbones as architectures: their parameters, and what keys their extraction.

A backbone entry (`hf`, `timm`, `torchvision`, or a plugin's own `nn.Module`
declared with `module_entry`) is an architecture whose network is a pretrained
model read from a local folder, with an adaptation mode declared in the spec:

    arch = hf(path = "models/bert", layer = "hidden.2", pooling = cls, mode = probe, head = linear)

`mode = probe` trains a head on frozen features, which the graph extracts once
per (backbone, weights, modality, layer, pooling, dtype) in an `extract` node
shared by every probe; `finetune` trains the last `blocks` blocks and the head,
`full` every weight, `lora` low-rank adapters of rank `rank` (peft). Nothing
here imports torch or reads a file: the runtime reads the folder, and the
compiler asks it about the folder through `Options.backbone`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .fields import Schema, Text, choice
from .registry import Entry, FieldInfo

LIBRARIES = ("hf", "timm", "torchvision", "module")
MODES = ("probe", "finetune", "full", "lora")
# Parameters that shape only what is trained on the features, never the features themselves.
_TRAINING_ONLY = ("mode", "head", "hidden", "blocks", "rank")
# Parameters that change only the network's output, never the preprocessed inputs.
_FEATURES_ONLY = ("layer", "pooling", "dtype", "batch")


class Adaptation(Schema):
    """How a backbone is read and adapted: common to every backbone entry."""

    layer: Text = "last"
    pooling: choice("mean", "cls") = "mean"
    mode: choice(*MODES) = "probe"
    head: choice("linear", "mlp") = "linear"
    hidden: int = Field(128, ge=1)  # the MLP head's width
    blocks: int = Field(1, ge=1)  # finetune: how many of the last blocks train
    rank: int = Field(8, ge=1)  # lora: the adapters' rank
    dtype: choice("float32", "bfloat16", "float16") = "float32"  # of frozen extraction
    batch: int = Field(64, ge=1)  # examples per forward pass while extracting


class Pretrained(Adaptation):
    path: Text  # a local folder, or a Hugging Face repository id found in the local cache
    revision: Text | None = None
    download: bool = False  # allow fetching from the Hugging Face Hub (never by default)
    size: int | None = Field(None, ge=1)  # images: resize to size x size (default: the model's own)


class HF(Pretrained):
    max_length: int = Field(128, ge=1)  # text: tokens per example, padded and truncated


class Vision(Pretrained):
    pass


class ModuleWeights(Adaptation):
    """A plugin's own module: optionally loaded from a safetensors file of its state dict."""

    path: Text | None = None


def _entry(name: str, summary: str, params: type[Schema], accepts: frozenset[str]) -> Entry:
    return Entry(
        "architecture",
        name,
        summary,
        params,
        accepts=accepts,
        backend="torch",
        representations=("penultimate", "logits"),
        backbone=name,
    )


ENTRIES = [
    _entry(
        "hf",
        "a Hugging Face transformers model (text or image) from a local folder, probed or fine-tuned",
        HF,
        frozenset({"text", "image"}),
    ),
    _entry(
        "timm", "a timm image model from a local folder, probed or fine-tuned", Vision, frozenset({"image"})
    ),
    _entry(
        "torchvision",
        "a torchvision image model from a local folder, probed or fine-tuned",
        Vision,
        frozenset({"image"}),
    ),
]


class ImageFolder(Schema):
    path: Text
    size: int | None = Field(None, ge=1)  # resize every image to size x size
    grey: bool = False  # one channel instead of RGB


class TextFiles(Schema):
    path: Text
    per: choice("file", "line") = "file"  # one example per file, or per non-blank line
    suffix: Text = ".txt"


SOURCES = [
    Entry(
        "source",
        "image_folder",
        "image files in one subfolder per class (the subfolder's name is the label)",
        ImageFolder,
        ("path",),
        fields={"image": FieldInfo(None), "label": FieldInfo((), is_label=True)},
    ),
    Entry(
        "source",
        "text_files",
        "text files in one subfolder per class; one example per file or per line",
        TextFiles,
        ("path",),
        fields={"text": FieldInfo(None, is_text=True), "label": FieldInfo((), is_label=True)},
    ),
]


def module_entry(
    name: str,
    summary: str,
    params: type[Schema],
    implementation: str,
    accepts: frozenset[str] = frozenset({"image", "sequence", "vector"}),
) -> Entry:
    """A plugin's own `nn.Module` as a backbone: `params` are its constructor's, to which the
    adaptation parameters (mode, layer, pooling, head, ... and an optional `path` to a safetensors
    file of its weights) are added. `implementation` names the module that registers, with
    `@implements("architecture", name)`, a callable taking `params` and returning the module."""
    schema = type(f"{params.__name__}Backbone", (params, ModuleWeights), {"__module__": params.__module__})
    return Entry(
        "architecture",
        name,
        summary,
        schema,
        accepts=accepts,
        backend="torch",
        representations=("penultimate", "logits"),
        implementation=implementation,
        backbone="module",
    )


def is_probe(params: dict[str, Any]) -> bool:
    return params.get("mode", "probe") == "probe"


def extraction(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """What an `extract` node computes: frozen features at a layer (probe), or the backbone's
    preprocessed inputs (the other modes). The parameters that only shape what is trained are left
    out, so ten probes with different heads on one backbone read one extraction."""
    dropped = _TRAINING_ONLY if is_probe(params) else _TRAINING_ONLY + _FEATURES_ONLY
    return {
        "arch": name,
        "output": "features" if is_probe(params) else "inputs",
        "params": {k: v for k, v in params.items() if k not in dropped},
    }
