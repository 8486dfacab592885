"""Recurrent networks over time: the last state is the representation."""

from __future__ import annotations

from torch import nn

from ..registry import implements


class Recurrent(nn.Module):
    def __init__(
        self, features: int, out: int, cell: type[nn.Module], hidden: int, layers: int, bidirectional: bool
    ) -> None:
        super().__init__()
        self.rnn = cell(features, hidden, layers, batch_first=True, bidirectional=bidirectional)
        self.features = hidden * (2 if bidirectional else 1)
        self.out = nn.Linear(self.features, out)

    def forward(self, x):
        output, _ = self.rnn(x)
        h = output[:, -1]
        return self.out(h), h


@implements("architecture", "gru")
def gru(shape: tuple[int, ...], out: int, hidden: int, layers: int, bidirectional: bool) -> Recurrent:
    return Recurrent(shape[-1], out, nn.GRU, hidden, layers, bidirectional)


@implements("architecture", "lstm")
def lstm(shape: tuple[int, ...], out: int, hidden: int, layers: int, bidirectional: bool) -> Recurrent:
    return Recurrent(shape[-1], out, nn.LSTM, hidden, layers, bidirectional)
