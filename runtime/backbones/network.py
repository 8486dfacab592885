"""The networks of backbone learners: a probe head on frozen features, or a backbone adapted whole.

`mode = probe`: the fit reads features an `extract` node computed once, and
trains only the head (linear, or an MLP of `hidden` units). The other modes
read the backbone's prepared inputs and train, besides the head, its last
`blocks` blocks (`finetune`), every weight (`full`) or low-rank adapters of
rank `rank` on its blocks' linear layers (`lora`, with peft). Frozen parts stay
in evaluation mode while training (no dropout, no batch-norm statistics updated).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import torch
from torch import nn

from homog.compiler.backbones import is_probe
from homog.compiler.ir import CallIR

from .. import errors
from ..registry import implements
from .common import load, pool


class Head(nn.Module):
    """A linear layer, or one hidden layer of ReLU units; `penultimate` is its input (linear) or its
    hidden units (MLP)."""

    def __init__(self, features: int, out: int, head: str, hidden: int) -> None:
        super().__init__()
        self.hidden = (
            nn.Sequential(nn.Linear(features, hidden), nn.ReLU()) if head == "mlp" else nn.Identity()
        )
        self.features = hidden if head == "mlp" else features
        self.out = nn.Linear(self.features, out)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.hidden(z.flatten(1))
        return self.out(h), h


class Probe(nn.Module):
    """A head on features extracted once; the backbone's weights are counted as frozen."""

    def __init__(self, shape: tuple[int, ...], out: int, head: str, hidden: int) -> None:
        super().__init__()
        self.head = Head(math.prod(shape), out, head, hidden)
        self.features = self.head.features

    def forward(self, x):
        return self.head(x)


class Adapted(nn.Module):
    def __init__(self, name: str, library: str, shape: tuple[int, ...], out: int, params: dict[str, Any]):
        super().__init__()
        self.backbone = load(name, library, params)
        self.body = self.backbone.module
        self.layer, self.pooling = params["layer"], params["pooling"]
        self._frozen_modules: list[nn.Module] = []
        self._adapt(params)
        with torch.no_grad():
            probe = torch.zeros((1, *shape))
            if self.backbone.modality == "text":
                probe[:, 1] = 1  # an attention mask over every token
            features = self._encode(probe).shape[1]
        self.head = Head(features, out, params["head"], params["hidden"])
        self.features = self.head.features

    def _adapt(self, params: dict[str, Any]) -> None:
        mode = params["mode"]
        if mode == "full":
            return
        for p in self.body.parameters():
            p.requires_grad = False
        blocks = self.backbone.blocks()
        if mode == "finetune":
            trained = blocks[-params["blocks"] :]
            for block in trained:
                for p in block.parameters():
                    p.requires_grad = True
            kept = {id(m) for block in trained for m in block.modules()}
            self._frozen_modules = [m for m in self.body.modules() if id(m) not in kept]
            return
        self._lora(blocks, params["rank"])

    def _lora(self, blocks: list[nn.Module], rank: int) -> None:
        from .common import import_vision_libraries

        import_vision_libraries()
        from peft import LoraConfig, inject_adapter_in_model

        inside = {id(m) for block in blocks for m in block.modules()}
        kinds = (
            (nn.Linear,)
            if any(isinstance(m, nn.Linear) for b in blocks for m in b.modules())
            else (nn.Conv2d,)
        )
        targets = [
            n
            for n, m in self.body.named_modules()
            if id(m) in inside and isinstance(m, kinds) and getattr(m, "groups", 1) == 1
        ]
        if not targets:
            raise errors.RunError(
                errors.BACKBONE_UNLOADABLE,
                "LoRA found no linear or convolutional layer in the backbone's blocks",
                "use mode = finetune or full for this backbone",
            )
        config = LoraConfig(r=rank, lora_alpha=rank, target_modules=targets, lora_dropout=0.0)
        try:
            inject_adapter_in_model(config, self.body)
        except ValueError as error:
            raise errors.RunError(
                errors.BACKBONE_UNLOADABLE,
                f"LoRA cannot adapt this backbone: {error}",
                "choose another rank, or use mode = finetune or full",
            ) from error
        for n, p in self.body.named_parameters():
            p.requires_grad = "lora_" in n

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        h, mask = self.backbone.output(x, self.layer)
        return pool(h, self.pooling, mask)

    def train(self, mode: bool = True):
        super().train(mode)
        for module in self._frozen_modules:
            module.train(False)
        return self

    def forward(self, x):
        return self.head(self._encode(x))

    def frozen_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if not p.requires_grad)


def build(name: str, library: str, shape: tuple[int, ...], out: int, **params: Any) -> nn.Module:
    """The network of a backbone learner, for inputs of `shape` (features, or prepared inputs)."""
    if is_probe(params):
        return Probe(shape, out, params["head"], params["hidden"])
    return Adapted(name, library, shape, out, params)


def backbone_network(arch: CallIR, shape: tuple[int, ...], out: int) -> nn.Module | None:
    """The network of an architecture entry that is a backbone (a plugin module's too); None otherwise."""
    from homog.compiler.registry import default_registry

    entry = default_registry().get("architecture", arch.name)
    if entry is None or not entry.backbone:
        return None
    return build(arch.name, entry.backbone, shape, out, **arch.params)


def frozen_parameters(model: nn.Module) -> int:
    """Weights a replica model holds and does not train (a partly frozen backbone's)."""
    network = getattr(model, "network", model)
    count = getattr(network, "frozen_parameters", None)
    return count() if count is not None else 0


for _library in ("hf", "timm", "torchvision"):
    implements("architecture", _library)(partial(build, _library, _library))
