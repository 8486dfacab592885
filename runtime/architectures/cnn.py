"""Convolutional networks over images (2-D) and over time (1-D)."""

from __future__ import annotations

import math

from torch import nn

from ..registry import implements


class CNN(nn.Module):
    """Convolutions (each halving the resolution while it can), then the flattened feature maps."""

    def __init__(
        self, shape: tuple[int, ...], out: int, channels: list[int], kernel: int, dropout: float, dims: int
    ) -> None:
        super().__init__()
        conv, pool = (nn.Conv2d, nn.MaxPool2d) if dims == 2 else (nn.Conv1d, nn.MaxPool1d)
        size = shape[-2:] if dims == 2 else (shape[0],)
        in_channels = (shape[0] if len(shape) == 3 else 1) if dims == 2 else shape[1]
        layers: list[nn.Module] = []
        for width in channels:
            layers += [conv(in_channels, width, kernel, padding=kernel // 2), nn.ReLU()]
            if min(size) >= 2:
                layers.append(pool(2))
                size = tuple(s // 2 for s in size)
            in_channels = width
        self.dims = dims
        self.body = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.features = in_channels * math.prod(size)
        self.out = nn.Linear(self.features, out)

    def forward(self, x):
        if self.dims == 1:
            x = x.transpose(1, 2)  # (n, T, F) -> (n, F, T)
        elif x.dim() == 3:
            x = x.unsqueeze(1)  # (n, H, W) -> (n, 1, H, W)
        h = self.body(x).flatten(1)
        return self.out(self.dropout(h)), h


@implements("architecture", "cnn")
def cnn(shape: tuple[int, ...], out: int, channels: list[int], kernel: int, dropout: float) -> CNN:
    return CNN(shape, out, channels, kernel, dropout, dims=2)


@implements("architecture", "cnn1d")
def cnn1d(shape: tuple[int, ...], out: int, channels: list[int], kernel: int, dropout: float) -> CNN:
    return CNN(shape, out, channels, kernel, dropout, dims=1)
