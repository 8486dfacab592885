"""Tiny randomly initialised backbones, built from configurations and saved as a user saves a model.

    python -m homog.runtime.backbones.tiny FOLDER

writes FOLDER/bert (transformers BertModel and its WordPiece tokenizer), FOLDER/vit (transformers
ViTModel and its image processor), FOLDER/resnet (timm `test_resnet`) and FOLDER/shufflenet
(torchvision `shufflenet_v2_x0_5`): small enough for a CPU, loaded by homogc exactly as a downloaded
checkpoint is. Their weights are random (seed 0): they test the machinery, they know nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from .common import import_vision_libraries

WORDS = [
    "the",
    "a",
    "an",
    "and",
    "or",
    "but",
    "not",
    "is",
    "was",
    "are",
    "good",
    "bad",
    "great",
    "awful",
    "fine",
    "movie",
    "film",
    "plot",
    "actor",
    "story",
    "love",
    "hate",
    "like",
    "boring",
    "fun",
    "dull",
    "best",
    "worst",
    "ever",
    "never",
    "very",
    "really",
    "quite",
    "this",
    "that",
    "it",
]


def bert(folder: Path, layers: int = 2, width: int = 32) -> Path:
    import_vision_libraries()
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz"]
    vocab += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=width,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * width,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


def vit(folder: Path, size: int = 16) -> Path:
    import_vision_libraries()
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    config = ViTConfig(
        image_size=size,
        patch_size=4,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    torch.manual_seed(0)
    ViTModel(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": size, "width": size}).save_pretrained(folder)
    return folder


def resnet(folder: Path) -> Path:
    import_vision_libraries()
    import timm

    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=10)
    timm.models.save_for_hf(model, folder, safe_serialization=True)
    return folder


def shufflenet(folder: Path) -> Path:
    import_vision_libraries()
    import torchvision

    from .vision import save_torchvision

    torch.manual_seed(0)
    model = torchvision.models.get_model("shufflenet_v2_x0_5", weights=None, num_classes=10)
    save_torchvision(model, "shufflenet_v2_x0_5", folder, num_classes=10)
    return folder


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m homog.runtime.backbones.tiny FOLDER", file=sys.stderr)
        return 2
    root = Path(argv[0])
    for make in (bert, vit, resnet, shufflenet):
        print(make(root / make.__name__))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
