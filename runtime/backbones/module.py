"""A plugin's own `nn.Module` as a backbone (an entry made with `compiler.backbones.module_entry`).

The plugin registers, with `@implements("architecture", name)`, a callable that takes its
parameters and returns the module; the module maps a batch to its features (any shape: pooled),
and its layers are its submodules' names. Built under seed 0, then loaded from `path` (a
safetensors file of its state dict) where the spec gives one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from homog.compiler.backbones import Adaptation, ModuleWeights

from ..registry import implementation
from .common import with_hook

_OURS = set(ModuleWeights.model_fields) | set(Adaptation.model_fields)


class ModuleBackbone:
    modality = "any"

    def __init__(self, name: str, location: Path | None, params: dict[str, Any]) -> None:
        own = {k: v for k, v in params.items() if k not in _OURS}
        with torch.random.fork_rng():
            torch.manual_seed(0)
            self.module = implementation("architecture", name)(**own)
        if location is not None:
            from safetensors.torch import load_file

            self.module.load_state_dict(load_file(str(location)))
        self.module.eval()

    def prepare(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float32)

    def output(self, x: torch.Tensor, layer: str) -> tuple[torch.Tensor, None]:
        if layer == "last":
            return self.module(x), None
        return with_hook(self.module, layer, lambda: self.module(x)), None

    def blocks(self) -> list[torch.nn.Module]:
        found = getattr(self.module, "blocks", None)
        if found is not None:
            return list(found)
        return [m for m in self.module.children() if any(True for _ in m.parameters())]
