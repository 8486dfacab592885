"""Recurrent networks over time: the last state is the representation.

The cells are written out (the gates of Cho et al. 2014 and Hochreiter & Schmidhuber 1997, as
`torch.nn.GRU` / `torch.nn.LSTM` compute them, with their initialisation) rather than called
through `torch.nn.GRU`: torch's fused recurrent kernels have no `vmap` batching rule, and a
group of replicas runs one network under `torch.func.vmap` (see `learners/replicas.py`). The
input projections of every time step are one matrix product; the recurrence is a loop over time.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..registry import implements


class RecurrentLayer(nn.Module):
    """One direction of one layer: (n, T, in) -> states (n, T, hidden)."""

    def __init__(self, features: int, hidden: int, gates: int, lstm: bool, reverse: bool) -> None:
        super().__init__()
        bound = 1 / math.sqrt(hidden)  # torch's RNN initialisation: U(-1/sqrt(h), 1/sqrt(h))
        self.weight_ih = nn.Parameter(torch.empty(gates * hidden, features).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(gates * hidden, hidden).uniform_(-bound, bound))
        self.bias_ih = nn.Parameter(torch.empty(gates * hidden).uniform_(-bound, bound))
        self.bias_hh = nn.Parameter(torch.empty(gates * hidden).uniform_(-bound, bound))
        self.hidden, self.lstm, self.reverse = hidden, lstm, reverse

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Every step's input projection at once, unbound (indexing one step at a time would make
        # backward fill a zero tensor of every step for each: quadratic in the sequence's length).
        projected = nn.functional.linear(x, self.weight_ih, self.bias_ih).unbind(1)
        steps = range(x.shape[1] - 1, -1, -1) if self.reverse else range(x.shape[1])
        h = x.new_zeros(x.shape[0], self.hidden)
        c = h
        states = []
        for t in steps:
            recurrent = nn.functional.linear(h, self.weight_hh, self.bias_hh)
            if self.lstm:
                i, f, g, o = (projected[t] + recurrent).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                x_r, x_z, x_n = projected[t].chunk(3, dim=1)
                h_r, h_z, h_n = recurrent.chunk(3, dim=1)
                r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
                n = torch.tanh(x_n + r * h_n)
                h = (1 - z) * n + z * h
            states.append(h)
        if self.reverse:
            states.reverse()
        return torch.stack(states, dim=1)


class Recurrent(nn.Module):
    def __init__(
        self, features: int, out: int, lstm: bool, hidden: int, layers: int, bidirectional: bool
    ) -> None:
        super().__init__()
        gates = 4 if lstm else 3
        directions = (False, True) if bidirectional else (False,)
        self.layers = nn.ModuleList()
        for layer in range(layers):
            width = features if layer == 0 else hidden * len(directions)
            self.layers.append(
                nn.ModuleList(RecurrentLayer(width, hidden, gates, lstm, r) for r in directions)
            )
        self.features = hidden * len(directions)
        self.out = nn.Linear(self.features, out)

    def forward(self, x):
        for directions in self.layers:
            x = torch.cat([direction(x) for direction in directions], dim=2)
        h = x[:, -1]
        return self.out(h), h


@implements("architecture", "gru")
def gru(shape: tuple[int, ...], out: int, hidden: int, layers: int, bidirectional: bool) -> Recurrent:
    return Recurrent(shape[-1], out, False, hidden, layers, bidirectional)


@implements("architecture", "lstm")
def lstm(shape: tuple[int, ...], out: int, hidden: int, layers: int, bidirectional: bool) -> Recurrent:
    return Recurrent(shape[-1], out, True, hidden, layers, bidirectional)
