"""SGD, Adam and AdamW: the registry's optimizers, as their published update rules.

Why not `torch.optim`: constructing or stepping any of its optimizers imports
torch's compiler (torch._dynamo), about 1.5 s on a 2-core machine, which a run
that never compiles pays on every cold start. These are the same updates, in
the same order of operations as torch's implementations (tests compare the
two step by step). They are element-wise, so stacked replica weights are
updated exactly as each replica's own weights would be.

Adam: Kingma & Ba (2015), Algorithm 1, with the bias corrections folded into
the step size as torch does; AdamW: Loshchilov & Hutter (2019), decoupled
weight decay; SGD with momentum and Nesterov's variant as in Sutskever et al.
(2013), weight decay added to the gradient.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from homog.compiler.ir import CallIR

from ..registry import implementation, implements


class Optimizer:
    """Updates `params` from their `.grad`; `lr` may be changed between steps (schedules)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float) -> None:
        self.params = list(params)
        self.lr = lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    def __init__(self, params, lr: float, momentum: float, weight_decay: float, nesterov: bool) -> None:
        super().__init__(params, lr)
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.buffers: dict[int, torch.Tensor] = {}

    @torch.no_grad()
    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self._update(i, p, p.grad)

    def _update(self, i: int, p: torch.Tensor, grad: torch.Tensor) -> None:
        if self.weight_decay:
            grad = grad.add(p, alpha=self.weight_decay)
        if self.momentum:
            buffer = self.buffers.get(i)
            if buffer is None:
                buffer = self.buffers[i] = grad.clone()
            else:
                buffer.mul_(self.momentum).add_(grad)
            grad = grad.add(buffer, alpha=self.momentum) if self.nesterov else buffer
        p.add_(grad, alpha=-self.lr)


class Adam(Optimizer):
    """Adam, or AdamW when `decoupled`. One fused (`_foreach`) operation per stage over all
    parameters, as torch's own default implementation does: per-tensor Python loops cost more
    than the arithmetic for the small networks of a replica group."""

    def __init__(
        self, params, lr: float, weight_decay: float, decoupled: bool = False, betas=(0.9, 0.999), eps=1e-8
    ) -> None:
        super().__init__(params, lr)
        self.weight_decay, self.decoupled = weight_decay, decoupled
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.firsts = [torch.zeros_like(p) for p in self.params]
        self.seconds = [torch.zeros_like(p) for p in self.params]
        self.steps = 0

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        chosen = [i for i, p in enumerate(self.params) if p.grad is not None]
        params = [self.params[i] for i in chosen]
        grads = [self.params[i].grad for i in chosen]
        firsts = [self.firsts[i] for i in chosen]
        seconds = [self.seconds[i] for i in chosen]
        if self.weight_decay and self.decoupled:
            torch._foreach_mul_(params, 1 - self.lr * self.weight_decay)
        elif self.weight_decay:
            grads = torch._foreach_add(grads, params, alpha=self.weight_decay)
        torch._foreach_lerp_(firsts, grads, 1 - self.beta1)
        torch._foreach_mul_(seconds, self.beta2)
        torch._foreach_addcmul_(seconds, grads, grads, 1 - self.beta2)
        step_size = self.lr / (1 - self.beta1**self.steps)
        denominators = torch._foreach_sqrt(seconds)
        torch._foreach_div_(denominators, math.sqrt(1 - self.beta2**self.steps))
        torch._foreach_add_(denominators, self.eps)
        torch._foreach_addcdiv_(params, firsts, denominators, -step_size)


@implements("optimizer", "sgd")
def sgd(
    params: Iterable[torch.Tensor], lr: float, momentum: float, weight_decay: float, nesterov: bool
) -> Optimizer:
    return SGD(params, lr, momentum, weight_decay, nesterov and momentum > 0)


@implements("optimizer", "adam")
def adam(params: Iterable[torch.Tensor], lr: float, weight_decay: float) -> Optimizer:
    return Adam(params, lr, weight_decay, decoupled=False)


@implements("optimizer", "adamw")
def adamw(params: Iterable[torch.Tensor], lr: float, weight_decay: float) -> Optimizer:
    return Adam(params, lr, weight_decay, decoupled=True)


def make_optimizer(params: Iterable[torch.Tensor], optimizer: CallIR) -> Optimizer:
    """The optimizer of a spec's `optimizer = name(...)` entry."""
    return implementation("optimizer", optimizer.name)(params, **optimizer.params)
