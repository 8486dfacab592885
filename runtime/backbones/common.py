"""What every backbone shares: loading by library, pooling, layer hooks, image preparation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from .. import errors
from .files import BASE


class Backbone(Protocol):
    module: torch.nn.Module
    modality: str  # "text", "image", or "any" (a plugin module)

    def prepare(self, values: np.ndarray) -> np.ndarray: ...

    def output(self, x: torch.Tensor, layer: str) -> tuple[torch.Tensor, torch.Tensor | None]: ...

    def blocks(self) -> list[torch.nn.Module]: ...


def load(name: str, library: str, params: dict[str, Any], base: Path | None = None) -> Backbone:
    """The backbone of an architecture entry `name` (of `library`) with the spec's parameters."""
    from .files import locate

    base = BASE.get() if base is None else base
    location = locate(library, params, base) if params.get("path") is not None else None
    if params.get("path") is not None and location is None and not params.get("download"):
        raise errors.RunError(
            errors.BACKBONE_UNLOADABLE,
            f"the {name} backbone '{params['path']}' is not on this machine",
            "save the model in that folder (see the language reference, 'Pretrained backbones')",
        )
    try:
        if library == "hf":
            from .hf import HFBackbone

            return HFBackbone(str(location) if location else params["path"], params)
        if library in ("timm", "torchvision"):
            from .vision import TimmBackbone, TorchvisionBackbone

            return (TimmBackbone if library == "timm" else TorchvisionBackbone)(location, params)
        from .module import ModuleBackbone

        return ModuleBackbone(name, location, params)
    except errors.RunError:
        raise
    except ImportError as error:
        raise errors.RunError(
            errors.BACKBONE_UNLOADABLE,
            f"the {name} backbone needs a library that is not installed: {error}",
            "install homogc's extras: pip install 'homogc[hf,vision]'",
        ) from error
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise errors.RunError(
            errors.BACKBONE_UNLOADABLE,
            f"the {name} backbone '{params.get('path')}' cannot be loaded: {type(error).__name__}: {error}",
            "check that the folder holds the model's config.json and weights (safetensors, or a "
            "torch file loadable with weights_only)",
        ) from error


def unknown_layer(layer: str, names: list[str]) -> errors.RunError:
    from homog.dsl.diagnostics import suggestion_hint

    return errors.RunError(
        errors.BACKBONE_UNKNOWN_LAYER,
        f"the backbone has no layer '{layer}'",
        suggestion_hint(layer, names, "layers"),
    )


def pool(h: torch.Tensor, pooling: str, mask: torch.Tensor | None = None) -> torch.Tensor:
    """One vector per example: a feature map's spatial mean; a token sequence's first token (`cls`)
    or its mean over the attention mask (`mean`); a vector as it is."""
    if isinstance(h, (tuple, list)):
        h = h[0]
    if h.dim() == 2:
        return h
    if h.dim() == 4:
        if pooling == "cls":
            raise errors.RunError(
                errors.BACKBONE_POOLING,
                "cls pooling takes a sequence of tokens, and this layer gives a feature map",
                "use pooling = mean (the spatial mean) for a convolutional layer",
            )
        return h.mean(dim=(2, 3))
    if h.dim() == 3:
        if pooling == "cls":
            return h[:, 0]
        if mask is None:
            return h.mean(dim=1)
        weights = mask.to(h.dtype).unsqueeze(-1)
        return (h * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
    return h.flatten(1)


def with_hook(module: torch.nn.Module, layer: str, run) -> torch.Tensor:
    """The output of the submodule named `layer` while `run()` runs the model."""
    names = [name for name, _ in module.named_modules() if name]
    if layer not in names:
        raise unknown_layer(layer, ["last", *names])
    captured: list[torch.Tensor] = []
    handle = module.get_submodule(layer).register_forward_hook(lambda m, i, o: captured.append(o))
    try:
        run()
    finally:
        handle.remove()
    return captured[-1]


def to_pixels(values: np.ndarray, size: int, mean, std) -> np.ndarray:
    """Images as a backbone takes them: (n, 3, size, size), scaled to [0, 1] (by 255 for 8-bit images,
    else by the largest value when it exceeds 1), resized bilinearly, normalised by mean and std.
    A grey image (n, H, W) is repeated over three channels; (n, H, W, C) is made channels-first."""
    x = torch.as_tensor(np.asarray(values, dtype=np.float32))
    if values.dtype == np.uint8:
        x = x / 255
    elif x.numel() and float(x.max()) > 1:
        x = x / float(x.max())
    if x.dim() == 3:
        x = x.unsqueeze(1)
    elif x.dim() == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.permute(0, 3, 1, 2)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    out = []
    for start in range(0, len(x), 256):
        chunk = torch.nn.functional.interpolate(
            x[start : start + 256], size=(size, size), mode="bilinear", align_corners=False, antialias=True
        )
        out.append(chunk)
    x = torch.cat(out) if out else x.new_zeros((0, 3, size, size))
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    return x.numpy().astype(np.float32)


def import_vision_libraries() -> None:
    """Import torchvision (which timm, peft and transformers' image code import) even where its
    compiled operators cannot load: a torchvision wheel built for CUDA over a CPU build of torch
    fails at import on registering the meta kernels of `nms` and `qnms`. The classification models
    homogc uses need neither: where the genuine import fails so, the two operators' schemas are
    declared (no kernel: calling them still fails) and the import is tried again."""
    import sys

    try:
        import torchvision
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        global _TORCHVISION_SCHEMAS
        _TORCHVISION_SCHEMAS = torch.library.Library("torchvision", "FRAGMENT")
        for op in ("nms", "qnms"):
            if not hasattr(torch.ops.torchvision, op) or not _has_op(op):
                _TORCHVISION_SCHEMAS.define(
                    f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"
                )
        import torchvision  # noqa: F401


_TORCHVISION_SCHEMAS = None


def _has_op(op: str) -> bool:
    try:
        getattr(torch.ops.torchvision, op).default  # noqa: B018
        return True
    except (AttributeError, RuntimeError):
        return False
