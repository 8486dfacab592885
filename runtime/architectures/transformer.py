"""A small transformer encoder over time, mean-pooled.

The layer is `torch.nn.TransformerEncoderLayer`'s (post-norm, ReLU feed-forward of twice the
width, dropout on the attention weights, after attention and inside and after the feed-forward),
written out so that every dropout is an `nn.Dropout` module and every step an operation that
`torch.func.vmap` batches: a group of replicas runs it once for all (see `learners/replicas.py`).
Unlike `nn.TransformerEncoder`, which deep-copies one initialised layer, each layer is
initialised on its own.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..registry import implements


class SelfAttention(nn.Module):
    """Multi-head self-attention, initialised as `nn.MultiheadAttention` (Xavier, zero biases)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.qkv.weight)
        nn.init.zeros_(self.qkv.bias)
        nn.init.zeros_(self.proj.bias)
        self.dropout = nn.Dropout(dropout)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
        attended = self.dropout(weights) @ v  # (n, heads, t, d / heads)
        return self.proj(attended.transpose(1, 2).reshape(n, t, d))


class EncoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.attention = SelfAttention(dim, heads, dropout)
        self.linear1, self.linear2 = nn.Linear(dim, 2 * dim), nn.Linear(2 * dim, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.dropout, self.dropout1, self.dropout2 = (nn.Dropout(dropout) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.dropout1(self.attention(x)))
        feed = self.linear2(self.dropout(torch.relu(self.linear1(x))))
        return self.norm2(x + self.dropout2(feed))


@implements("architecture", "transformer")
class Encoder(nn.Module):
    def __init__(
        self, shape: tuple[int, ...], out: int, dim: int, heads: int, layers: int, dropout: float
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(shape[-1], dim)
        self.layers = nn.ModuleList(EncoderLayer(dim, heads, dropout) for _ in range(layers))
        self.out = nn.Linear(dim, out)
        self.features = dim

    def forward(self, x):
        h = self.embed(x)
        for layer in self.layers:
            h = layer(h)
        h = h.mean(dim=1)
        return self.out(h), h
