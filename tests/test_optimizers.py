"""homogc's optimizers against torch.optim, step by step, and a hand-computed Adam step."""

from __future__ import annotations

import math

import pytest
import torch

from homog.compiler.ir import CallIR
from homog.runtime.learners.optimizers import make_optimizer

CASES = [
    ("sgd", {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.0, "nesterov": False}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3, "nesterov": False}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.0, "nesterov": True}),
    ("adam", {"lr": 1e-2, "weight_decay": 0.0}),
    ("adam", {"lr": 1e-2, "weight_decay": 1e-2}),
    ("adamw", {"lr": 1e-2, "weight_decay": 5e-2}),
]


def _reference(name: str, p: dict, params):
    if name == "sgd":
        return torch.optim.SGD(params, p["lr"], p["momentum"], weight_decay=p["weight_decay"],
                               nesterov=p["nesterov"])  # fmt: skip
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return cls(params, lr=p["lr"], weight_decay=p["weight_decay"])


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_updates_equal_torch_optim(name, params):
    generator = torch.Generator().manual_seed(0)
    start = [torch.randn(4, 3, generator=generator), torch.randn(3, generator=generator)]
    ours = [t.clone().requires_grad_() for t in start]
    theirs = [t.clone().requires_grad_() for t in start]
    optimizer = make_optimizer(ours, CallIR(name=name, params=params))
    reference = _reference(name, params, theirs)
    for step in range(25):
        factor = 0.5 if step >= 10 else 1.0  # a schedule changes the learning rate between steps
        optimizer.lr = params["lr"] * factor
        for group in reference.param_groups:
            group["lr"] = params["lr"] * factor
        grads = [torch.randn(t.shape, generator=generator) for t in start]
        for tensor, grad in zip(ours, grads, strict=True):
            tensor.grad = grad.clone()
        for tensor, grad in zip(theirs, grads, strict=True):
            tensor.grad = grad.clone()
        optimizer.step()
        reference.step()
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), atol=1e-6, rtol=0)


def test_first_adam_step_by_hand():
    """Step 1: m = (1 - b1) g, v = (1 - b2) g^2, so the update is lr * g / (|g| + eps') = lr * sign(g)."""
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    optimizer = make_optimizer([p], CallIR(name="adam", params={"lr": 0.1, "weight_decay": 0.0}))
    p.grad = torch.tensor([0.5, -3.0])
    optimizer.step()
    # Exactly: lr * |g| / (|g| + eps * sqrt(1 - b2)), with eps = 1e-8.
    expected = [
        1.0 - 0.1 * 0.5 / (0.5 + 1e-8 * math.sqrt(0.001)),
        -2.0 + 0.1 * 3.0 / (3.0 + 1e-8 * math.sqrt(0.001)),
    ]
    assert p.detach().tolist() == pytest.approx(expected, abs=1e-7)
