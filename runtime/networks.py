"""Torch networks: the architectures and fusion strategies of the registry.

Every network maps its input(s) to `(logits, penultimate)`: the penultimate
representation is what CKA and the other similarity metrics compare. A sweep's
`width` multiplies every hidden size.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

Call = dict[str, Any]
_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


def scaled(size: int, width: float, multiple: int = 1) -> int:
    return max(multiple, round(size * width / multiple) * multiple)


class MLP(nn.Module):
    def __init__(
        self, in_features: int, out: int, hidden: list[int], dropout: float, activation: str
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size = in_features
        for width in hidden:
            layers += [nn.Linear(size, width), _ACTIVATIONS[activation](), nn.Dropout(dropout)]
            size = width
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(size, out)
        self.features = size

    def forward(self, x):
        h = self.body(x.flatten(1))
        return self.out(h), h


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


class Recurrent(nn.Module):
    def __init__(
        self, features: int, out: int, kind: str, hidden: int, layers: int, bidirectional: bool
    ) -> None:
        super().__init__()
        cell = nn.GRU if kind == "gru" else nn.LSTM
        self.rnn = cell(features, hidden, layers, batch_first=True, bidirectional=bidirectional)
        self.features = hidden * (2 if bidirectional else 1)
        self.out = nn.Linear(self.features, out)

    def forward(self, x):
        output, _ = self.rnn(x)
        h = output[:, -1]
        return self.out(h), h


class Encoder(nn.Module):
    def __init__(self, features: int, out: int, dim: int, heads: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Linear(features, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Linear(dim, out)
        self.features = dim

    def forward(self, x):
        h = self.encoder(self.embed(x)).mean(dim=1)
        return self.out(h), h


def build(arch: Call, shape: tuple[int, ...], out: int, width: float = 1.0) -> nn.Module:
    """The network of an architecture entry, for examples of `shape` and `out` classes."""
    name, p = arch["name"], arch["params"]
    if name == "mlp":
        hidden = [scaled(h, width) for h in p["hidden"]]
        return MLP(math.prod(shape), out, hidden, p["dropout"], p["activation"])
    if name in ("cnn", "cnn1d"):
        channels = [scaled(c, width) for c in p["channels"]]
        return CNN(shape, out, channels, p["kernel"], p["dropout"], 2 if name == "cnn" else 1)
    if name in ("gru", "lstm"):
        return Recurrent(shape[-1], out, name, scaled(p["hidden"], width), p["layers"], p["bidirectional"])
    if name == "transformer":
        dim = scaled(p["dim"], width, multiple=p["heads"])
        return Encoder(shape[-1], out, dim, p["heads"], p["layers"], p["dropout"])
    raise KeyError(f"no torch architecture {name!r}")


ARCHITECTURES = frozenset({"mlp", "cnn", "cnn1d", "gru", "lstm", "transformer"})

# --------------------------------------------------------------------------- fusion


class Fusion(nn.Module):
    """Encode each modality, fuse the encodings, and classify with a head."""

    def __init__(
        self, shapes: list[tuple[int, ...]], out: int, strategy: Call, encoder: Call, head: Call, width: float
    ) -> None:
        super().__init__()
        self.encoders = nn.ModuleList(build(encoder, shape, 1, width) for shape in shapes)
        for built in self.encoders:
            built.out = nn.Identity()  # only an encoder's features are fused: no unused parameters
        dims = [e.features for e in self.encoders]
        self.fuse = FUSIONS[strategy["name"]](dims, **strategy["params"])
        self.head = build(head, (self.fuse.features,), out, width)
        self.features = self.head.features

    def forward(self, *inputs):
        encoded = [encoder(x)[1] for encoder, x in zip(self.encoders, inputs, strict=True)]
        return self.head(self.fuse(encoded))


class Concat(nn.Module):
    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.features = sum(dims)

    def forward(self, zs):
        return torch.cat(zs, dim=1)


class Projected(nn.Module):
    """Sum or product of the modalities projected to one size."""

    def __init__(self, dims: list[int], dim: int, combine: str) -> None:
        super().__init__()
        self.project = nn.ModuleList(nn.Linear(d, dim) for d in dims)
        self.combine = combine
        self.features = dim

    def forward(self, zs):
        projected = [p(z) for p, z in zip(self.project, zs, strict=True)]
        out = projected[0]
        for h in projected[1:]:
            out = out + h if self.combine == "sum" else out * h
        return out


class Gated(nn.Module):
    """Gated multimodal unit (Arevalo et al. 2017), with a softmax gate over M modalities.

    h_m = tanh(W_m z_m); g = softmax_m(W_g [z_1; ...; z_M]); h = sum_m g_m * h_m.
    For M = 2 this is the paper's z * h_1 + (1 - z) * h_2 with z = sigmoid(a_1 - a_2).
    """

    def __init__(self, dims: list[int], dim: int) -> None:
        super().__init__()
        self.hidden = nn.ModuleList(nn.Linear(d, dim, bias=False) for d in dims)
        self.gate = nn.Linear(sum(dims), len(dims) * dim, bias=False)
        self.features = dim
        self.m = len(dims)

    def forward(self, zs):
        h = torch.stack([torch.tanh(w(z)) for w, z in zip(self.hidden, zs, strict=True)], dim=1)
        g = torch.softmax(self.gate(torch.cat(zs, dim=1)).view(-1, self.m, self.features), dim=1)
        return (g * h).sum(dim=1)


class Attention(nn.Module):
    """Attention across modality tokens: softmax(Q K^T / sqrt(d)) V over the projected modalities."""

    def __init__(self, dims: list[int], dim: int, heads: int) -> None:
        super().__init__()
        dim = max(heads, dim // heads * heads)
        self.project = nn.ModuleList(nn.Linear(d, dim) for d in dims)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.features = dim

    def forward(self, zs):
        tokens = torch.stack([p(z) for p, z in zip(self.project, zs, strict=True)], dim=1)
        attended, _ = self.attention(tokens, tokens, tokens, need_weights=False)
        return attended.mean(dim=1)


def _with_one(h):
    return torch.cat([torch.ones(h.shape[0], 1, dtype=h.dtype, device=h.device), h], dim=1)


class Tensor(nn.Module):
    """Tensor fusion (Zadeh et al. 2017): vec([1; h_1] x [1; h_2] x ...)."""

    def __init__(self, dims: list[int], dim: int) -> None:
        super().__init__()
        self.project = nn.ModuleList(nn.Linear(d, dim) for d in dims)
        self.features = (dim + 1) ** len(dims)

    def forward(self, zs):
        return tensor_product([p(z) for p, z in zip(self.project, zs, strict=True)])


def tensor_product(hs: list[torch.Tensor]) -> torch.Tensor:
    """vec([1; h_1] x [1; h_2] x ...) for a batch; TFN([2, 3], [5]) = [1, 5, 2, 10, 3, 15]."""
    out = None
    for h in hs:
        h = _with_one(h)
        out = h if out is None else torch.einsum("ni,nj->nij", out, h).flatten(1)
    return out


class LowRank(nn.Module):
    """Low-rank multimodal fusion (Liu et al. 2018): h = sum_r lambda_r * prod_m (W_m^(r) [1; z_m]) + b."""

    def __init__(self, dims: list[int], rank: int, dim: int) -> None:
        super().__init__()
        self.factors = nn.ParameterList(nn.Parameter(torch.empty(rank, d + 1, dim)) for d in dims)
        self.weights = nn.Parameter(torch.empty(1, rank))
        self.bias = nn.Parameter(torch.zeros(1, dim))
        for factor in self.factors:
            nn.init.xavier_normal_(factor)
        nn.init.xavier_normal_(self.weights)
        self.features = dim

    def forward(self, zs):
        product = None
        for factor, z in zip(self.factors, zs, strict=True):
            h = torch.einsum("ni,rio->rno", _with_one(z), factor)
            product = h if product is None else product * h
        return torch.einsum("r,rno->no", self.weights[0], product) + self.bias


class FiLM(nn.Module):
    """FiLM (Perez et al. 2018): the first modality, modulated by the others: gamma * F + beta."""

    def __init__(self, dims: list[int], dim: int) -> None:
        super().__init__()
        self.features_of = nn.Linear(dims[0], dim)
        self.condition = nn.Linear(sum(dims[1:]), 2 * dim)
        self.features = dim

    def forward(self, zs):
        gamma, beta = self.condition(torch.cat(zs[1:], dim=1)).chunk(2, dim=1)
        return gamma * self.features_of(zs[0]) + beta


FUSIONS = {
    "concat": Concat,
    "sum": lambda dims, dim: Projected(dims, dim, "sum"),
    "product": lambda dims, dim: Projected(dims, dim, "product"),
    "gated": Gated,
    "attention": Attention,
    "tensor": Tensor,
    "low_rank_tensor": LowRank,
    "film": FiLM,
}
