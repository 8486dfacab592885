"""Intermediate fusion: encode each modality, fuse the encodings, classify with a head.

`Fusion` is the network of a `fusion` learner; the strategies below register
themselves under their registry entries.
"""

from __future__ import annotations

import torch
from torch import nn

from homog.compiler.ir import CallIR

from ..registry import implementation, implements
from .transformer import SelfAttention


def build(call: CallIR, shape: tuple[int, ...], out: int) -> nn.Module:
    """The network of an architecture entry, for examples of `shape` and `out` classes."""
    return implementation("architecture", call.name)(shape, out, **call.params)


class Fusion(nn.Module):
    def __init__(
        self, shapes: list[tuple[int, ...]], out: int, strategy: CallIR, encoder: CallIR, head: CallIR
    ) -> None:
        super().__init__()
        self.encoders = nn.ModuleList(build(encoder, shape, 1) for shape in shapes)
        for built in self.encoders:
            built.out = nn.Identity()  # only an encoder's features are fused: no unused parameters
        dims = [e.features for e in self.encoders]
        self.fuse = implementation("fusion", strategy.name)(dims, **strategy.params)
        self.head = build(head, (self.fuse.features,), out)
        self.features = self.head.features

    def forward(self, *inputs):
        encoded = [encoder(x)[1] for encoder, x in zip(self.encoders, inputs, strict=True)]
        return self.head(self.fuse(encoded))


@implements("fusion", "concat")
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


@implements("fusion", "gated")
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


@implements("fusion", "attention")
class Attention(nn.Module):
    """Attention across modality tokens: softmax(Q K^T / sqrt(d)) V over the projected modalities."""

    def __init__(self, dims: list[int], dim: int, heads: int) -> None:
        super().__init__()
        dim = max(heads, dim // heads * heads)
        self.project = nn.ModuleList(nn.Linear(d, dim) for d in dims)
        # nn.MultiheadAttention's arithmetic, written out so that `vmap` batches it (replica groups).
        self.attention = SelfAttention(dim, heads, 0.0)
        self.features = dim

    def forward(self, zs):
        tokens = torch.stack([p(z) for p, z in zip(self.project, zs, strict=True)], dim=1)
        return self.attention(tokens).mean(dim=1)


def _with_one(h):
    return torch.cat([torch.ones(h.shape[0], 1, dtype=h.dtype, device=h.device), h], dim=1)


@implements("fusion", "tensor")
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


@implements("fusion", "low_rank_tensor")
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


@implements("fusion", "film")
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


@implements("fusion", "sum")
def fusion_sum(dims: list[int], dim: int) -> Projected:
    return Projected(dims, dim, "sum")


@implements("fusion", "product")
def fusion_product(dims: list[int], dim: int) -> Projected:
    return Projected(dims, dim, "product")
