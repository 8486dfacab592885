"""Hugging Face transformers backbones: text through the model's tokenizer, images through its
image processor's size and normalisation; layers are the hidden states (`hidden.0` the embeddings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from .common import import_vision_libraries, to_pixels, unknown_layer
from .files import _config, hf_layers

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


class HFBackbone:
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        import_vision_libraries()
        from transformers import AutoModel

        offline = not params.get("download")  # local files only: nothing is fetched, no request is made
        options = {"revision": params.get("revision"), "local_files_only": offline}
        self.params = params
        self.module = AutoModel.from_pretrained(location, **options)
        self.module.eval()
        folder = Path(location)
        self.layers = hf_layers(_config(folder)) if folder.is_dir() else None
        self.layers = self.layers or hf_layers(self.module.config.to_dict())
        self.tokenizer = self.processor = None
        try:
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(location, **options)
        except (OSError, ValueError, KeyError, TypeError):
            self.tokenizer = None
        if self.tokenizer is None or (folder / "preprocessor_config.json").exists():
            from transformers import AutoImageProcessor

            self.processor = AutoImageProcessor.from_pretrained(location, **options)
        self.modality = "text" if self.processor is None else "image"
        # A two-tower model (CLIP, SigLIP): the tower of the modality read.
        tower = getattr(self.module, "vision_model" if self.modality == "image" else "text_model", None)
        if isinstance(tower, torch.nn.Module):
            self.module = tower

    def prepare(self, values: np.ndarray) -> np.ndarray:
        if self.modality == "text":
            encoded = self.tokenizer(
                [str(v) for v in values],
                max_length=self.params["max_length"],
                padding="max_length",
                truncation=True,
                return_tensors="np",
            )
            return np.stack([encoded["input_ids"], encoded["attention_mask"]], axis=1).astype(np.float32)
        size = self.params.get("size") or _size(self.processor)
        mean = getattr(self.processor, "image_mean", None) or IMAGENET[0]
        std = getattr(self.processor, "image_std", None) or IMAGENET[1]
        return to_pixels(values, size, mean, std)

    def output(self, x: torch.Tensor, layer: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.layers is not None and layer not in self.layers:
            raise unknown_layer(layer, self.layers)
        if self.modality == "text":
            mask = x[:, 1].long()
            out = self.module(input_ids=x[:, 0].long(), attention_mask=mask, output_hidden_states=True)
        else:
            mask = None
            out = self.module(pixel_values=x, output_hidden_states=True)
        states = out.hidden_states
        if layer == "last":
            return states[-1], mask
        index = 0 if layer == "embeddings" else int(layer.removeprefix("hidden."))
        return states[index], mask

    def blocks(self) -> list[torch.nn.Module]:
        """The encoder's layers: the longest list of modules in the model."""
        lists = [m for m in self.module.modules() if isinstance(m, torch.nn.ModuleList)]
        return list(max(lists, key=len)) if lists else list(self.module.children())


def _size(processor) -> int:
    size = getattr(processor, "size", None) or {}
    if not isinstance(size, dict):
        size = dict(size)
    return int(size.get("height") or size.get("shortest_edge") or 224)
