"""A small transformer encoder over time, mean-pooled."""

from __future__ import annotations

from torch import nn

from ..registry import implements


@implements("architecture", "transformer")
class Encoder(nn.Module):
    def __init__(
        self, shape: tuple[int, ...], out: int, dim: int, heads: int, layers: int, dropout: float
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(shape[-1], dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Linear(dim, out)
        self.features = dim

    def forward(self, x):
        h = self.encoder(self.embed(x)).mean(dim=1)
        return self.out(h), h
