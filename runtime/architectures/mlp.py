"""A multilayer perceptron: images and sequences are flattened."""

from __future__ import annotations

import math

from torch import nn

from ..registry import implements

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


@implements("architecture", "mlp")
class MLP(nn.Module):
    def __init__(
        self, shape: tuple[int, ...], out: int, hidden: list[int], dropout: float, activation: str
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size = math.prod(shape)
        for width in hidden:
            layers += [nn.Linear(size, width), ACTIVATIONS[activation](), nn.Dropout(dropout)]
            size = width
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(size, out)
        self.features = size

    def forward(self, x):
        h = self.body(x.flatten(1))
        return self.out(h), h
