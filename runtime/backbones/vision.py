"""timm and torchvision image backbones, from a local folder of config.json and weights.

timm's folder is what `timm.models.save_for_hf(model, path)` writes; torchvision's is what
`save_torchvision` below writes: config.json ({"architecture", "kwargs", "input_size", "mean",
"std"}) and model.safetensors. Layers: timm's `block.N` (the N-th output of
`forward_intermediates`) or `last` (`forward_features`); torchvision's module names
(`layer3`, `features.4`, ...) or `last` (the input of the final linear layer).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .common import import_vision_libraries, to_pixels, unknown_layer, with_hook

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def read_weights(folder: Path) -> dict[str, torch.Tensor]:
    """The state dict in a folder: safetensors first, else a torch file loaded with weights_only."""
    safe = sorted(folder.glob("*.safetensors"))
    if safe:
        from safetensors.torch import load_file

        state: dict[str, torch.Tensor] = {}
        for file in safe:
            state.update(load_file(str(file)))
        return state
    for pattern in ("*.bin", "*.pt", "*.pth"):
        for file in sorted(folder.glob(pattern)):
            return torch.load(file, map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"no weights (*.safetensors, *.bin, *.pt, *.pth) in {folder}")


def _config(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))


class TimmBackbone:
    modality = "image"

    def __init__(self, folder: Path, params: dict[str, Any]) -> None:
        import_vision_libraries()
        import timm

        config = _config(folder)
        args = dict(config.get("model_args") or {})
        classes = config.get("num_classes", args.pop("num_classes", 1000))
        args.pop("num_classes", None)
        self.module = timm.create_model(config["architecture"], pretrained=False, num_classes=classes, **args)
        self.module.load_state_dict(read_weights(folder))
        self.module.reset_classifier(0)
        self.module.eval()
        self.params = params
        self.cfg = config.get("pretrained_cfg") or {}
        self.names = ["last", *(f"block.{i}" for i in range(len(self.module.feature_info)))]

    def prepare(self, values: np.ndarray) -> np.ndarray:
        size = self.params.get("size") or int(self.cfg.get("input_size", (3, 224, 224))[-1])
        mean, std = self.cfg.get("mean", IMAGENET[0]), self.cfg.get("std", IMAGENET[1])
        return to_pixels(values, size, mean, std)

    def output(self, x: torch.Tensor, layer: str) -> tuple[torch.Tensor, None]:
        if layer == "last":
            return self.module.forward_features(x), None
        if layer not in self.names:
            raise unknown_layer(layer, self.names)
        index = int(layer.removeprefix("block."))
        (found,) = self.module.forward_intermediates(x, indices=[index], intermediates_only=True)
        return found, None

    def blocks(self) -> list[nn.Module]:
        return [self.module.get_submodule(info["module"]) for info in self.module.feature_info]


def save_torchvision(model: nn.Module, architecture: str, path: str | Path, **kwargs: Any) -> None:
    """Write a torchvision model as homogc reads it: config.json and model.safetensors."""
    from safetensors.torch import save_file

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"architecture": architecture, "kwargs": kwargs, "input_size": 224}
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))


class TorchvisionBackbone:
    modality = "image"

    def __init__(self, folder: Path, params: dict[str, Any]) -> None:
        import_vision_libraries()
        import torchvision

        config = _config(folder)
        self.module = torchvision.models.get_model(config["architecture"], weights=None, **config["kwargs"])
        self.module.load_state_dict(read_weights(folder))
        _drop_last_linear(self.module)
        self.module.eval()
        self.params, self.config = params, config

    def prepare(self, values: np.ndarray) -> np.ndarray:
        size = self.params.get("size") or int(self.config.get("input_size", 224))
        mean, std = self.config.get("mean", IMAGENET[0]), self.config.get("std", IMAGENET[1])
        return to_pixels(values, size, mean, std)

    def output(self, x: torch.Tensor, layer: str) -> tuple[torch.Tensor, None]:
        if layer == "last":
            return self.module(x), None
        return with_hook(self.module, layer, lambda: self.module(x)), None

    def blocks(self) -> list[nn.Module]:
        return [m for m in self.module.children() if any(True for _ in m.parameters())]


def _drop_last_linear(model: nn.Module) -> None:
    """The classifier's last linear layer becomes the identity: the model gives its features."""
    linear = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linear:
        raise ValueError(
            'the model has no linear classifier to remove: name a layer, e.g. layer = "features"'
        )
    name = linear[-1]
    parent, _, leaf = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, nn.Identity())
