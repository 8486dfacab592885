"""Training-time augmentations of torch batches, each drawing from the replica's own generator."""

from __future__ import annotations

import torch

from homog.compiler.ir import CallIR

from ..registry import implementation, implements


def augment(batch: torch.Tensor, augmentations: list[CallIR], generator: torch.Generator) -> torch.Tensor:
    x = batch
    for item in augmentations:
        x = implementation("augment", item.name)(x, generator, **item.params)
    return x


@implements("augment", "gaussian_noise")
def gaussian_noise(x: torch.Tensor, generator: torch.Generator, std: float) -> torch.Tensor:
    return x + std * torch.randn(x.shape, generator=generator, device=x.device)


@implements("augment", "feature_dropout")
def feature_dropout(x: torch.Tensor, generator: torch.Generator, p: float) -> torch.Tensor:
    return x * (torch.rand(x.shape, generator=generator, device=x.device) >= p)


@implements("augment", "flip")
def flip(x: torch.Tensor, generator: torch.Generator, axis: str) -> torch.Tensor:
    dim = -1 if axis == "horizontal" else -2
    flipped = torch.rand((x.shape[0],), generator=generator, device=x.device) < 0.5
    return torch.where(flipped.view(-1, *([1] * (x.dim() - 1))), x.flip(dim), x)


@implements("augment", "random_crop")
def random_crop(x: torch.Tensor, generator: torch.Generator, padding: int) -> torch.Tensor:
    h, w = x.shape[-2], x.shape[-1]
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    dy, dx = (int(v) for v in torch.randint(0, 2 * padding + 1, (2,), generator=generator, device=x.device))
    return padded[..., dy : dy + h, dx : dx + w]
