"""Representations at named layers of a torch learner: forward hooks on the modules of its network.

A trained replica's weights are loaded into the learner's network as the registry builds it (one
replica, `torch_backend.network`), whose module tree names the layers: `body.0`, `out`,
`encoders.1.body.3`, `encoder.layers.0.linear1`, ... A forward hook on each selected module keeps
its output (the first tensor of a tuple) with the examples as rows, flattened. Selectors:

- `all`: every module the forward pass calls, in call order, but containers (`Sequential`,
  `ModuleList`) and modules that are the identity at evaluation (`Dropout`, `Identity`);
- a module name as `named_modules()` spells it, or `penultimate` / `logits` (the network's outputs);
- a pattern with `*` (fnmatch), matched against every module name.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from homog.compiler.ir import LearnerIR

SKIPPED = (nn.Dropout, nn.Identity, nn.Sequential, nn.ModuleList, nn.ModuleDict)
OUTPUTS = ("penultimate", "logits")


class UnknownLayer(ValueError):
    """A selector that names no module of the network; `available` lists those it has."""

    def __init__(self, selector: str, available: list[str]) -> None:
        super().__init__(selector)
        self.selector, self.available = selector, available


def unknown_layer(learner: str, error: UnknownLayer, origin):
    """E370 for a selector that names no layer of `learner`'s network, located at `origin`."""
    from .. import errors

    shown = ", ".join(error.available[:40])
    return errors.RunError(
        errors.LAYER_UNKNOWN,
        f"learner '{learner}' has no layer '{error.selector}'",
        f'its layers are: {shown}; or use layers = all, or a pattern such as "body.*"',
        origin,
    )


def layer_names(network: nn.Module) -> list[str]:
    """Every module name of the network (the root excluded), as selectors may spell them."""
    return [name for name, _ in network.named_modules() if name]


def selected(network: nn.Module, select: Sequence[str]) -> tuple[list[str], bool]:
    """The module names the selectors choose (before the forward pass decides the order), and
    whether `all` is among them (then the order is the call order)."""
    modules = dict(network.named_modules())
    names: list[str] = []
    every = False
    for selector in select:
        if selector == "all":
            every = True
            continue
        if selector in OUTPUTS or (selector and selector in modules):
            found = [selector]
        elif "*" in selector or "?" in selector or "[" in selector:
            found = [name for name in modules if name and fnmatch.fnmatchcase(name, selector)]
        else:
            found = []
        if not found:
            raise UnknownLayer(selector, [*OUTPUTS, *layer_names(network)])
        names += [name for name in found if name not in names]
    return names, every


def capture(
    network: nn.Module, inputs: Sequence[torch.Tensor], select: Sequence[str]
) -> dict[str, np.ndarray]:
    """The selected layers' outputs on `inputs` (one batch, examples first), float32 arrays
    (examples, features), in the order the forward pass produces them."""
    names, every = selected(network, select)
    modules = dict(network.named_modules())
    chosen = set(names)
    found: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(_module, _inputs, output) -> None:
            tensor = (
                next((t for t in output if isinstance(t, torch.Tensor)), None)
                if isinstance(output, tuple)
                else output
            )
            if isinstance(tensor, torch.Tensor) and tensor.dim() >= 1 and name not in found:
                found[name] = tensor.detach().reshape(len(tensor), -1).float().cpu()

        return hook

    hooks = []
    for name, module in modules.items():
        if not name:
            continue
        if name in chosen or (every and not isinstance(module, SKIPPED)):
            hooks.append(module.register_forward_hook(keep(name)))
    network.eval()
    try:
        # Gradients on: torch's fused inference paths (a transformer layer's fast path) skip the
        # submodules' hooks; nothing is kept for backward beyond this batch.
        with torch.enable_grad():
            logits, penultimate = network(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    batch = len(logits)
    outputs = {"penultimate": penultimate, "logits": logits}
    ordered = [name for name in found if found[name].shape[0] == batch]
    for name in OUTPUTS:
        if name in chosen:
            found[name] = outputs[name].detach().reshape(batch, -1).float().cpu()
            ordered.append(name)
    missing = [name for name in names if name not in found]
    if missing:
        raise UnknownLayer(missing[0], [name for name in found] + list(OUTPUTS))
    return {name: found[name].numpy() for name in ordered}


def plain_state(network: nn.Module, state: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """A trained replica's weights in the network's own names. A group-trained replica's (stacked
    MLP layers `weight.i` (in, out), `bias.i`; encoders under `encoder.m.`) map onto the network's
    linear layers in order: the encoders' (`encoders.m`), then the head's (or the MLP's own)."""
    own = network.state_dict()
    if set(state) == set(own):
        return {k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}
    stacks: dict[str, list[int]] = {}
    for key in state:
        prefix, _, index = key.rpartition(".")
        if prefix.endswith("weight"):
            stacks.setdefault(prefix[: -len("weight")], []).append(int(index))
    converted = {}
    for prefix, indices in stacks.items():
        owner = network
        if prefix.startswith("encoder."):
            owner = network.encoders[int(prefix.split(".")[1])]
        elif hasattr(network, "head"):
            owner = network.head
        linears = [name for name, m in owner.named_modules() if isinstance(m, nn.Linear)]
        base = "" if owner is network else _path_of(network, owner) + "."
        for i, name in zip(sorted(indices), linears, strict=True):
            converted[f"{base}{name}.weight"] = torch.from_numpy(
                np.asarray(state[f"{prefix}weight.{i}"]).T.copy()
            )
            converted[f"{base}{name}.bias"] = torch.from_numpy(
                np.asarray(state[f"{prefix}bias.{i}"]).reshape(-1)
            )
    if set(converted) != set(own):
        raise ValueError(f"cannot map the trained weights {sorted(state)} onto the network {sorted(own)}")
    return converted


def _path_of(network: nn.Module, owner: nn.Module) -> str:
    return next(name for name, m in network.named_modules() if m is owner)


def representations(
    learner: LearnerIR,
    shapes: list[tuple[int, ...]],
    classes: int,
    state: dict[str, np.ndarray],
    x: list[np.ndarray],
    select: Sequence[str],
) -> dict[str, np.ndarray]:
    """The selected layers of a trained replica of `learner` on examples `x`."""
    from .torch_backend import network

    built = network(learner, shapes, classes)
    built.load_state_dict(plain_state(built, state))
    tensors = [torch.as_tensor(values, dtype=torch.float32) for values in x]
    return capture(built, tensors, select)


def layer_widths(
    learner: LearnerIR, shapes: list[tuple[int, ...]], classes: int, select: Sequence[str]
) -> dict[str, int]:
    """Features per example of each selected layer, from a forward pass on torch's `meta` device
    (shapes, no storage, no weights): what `--plan` needs to size a metric before any training."""
    from .torch_backend import network

    with torch.device("meta"):
        built = network(learner, shapes, classes)
    names, every = selected(built, select)
    chosen, found = set(names), {}

    def keep(name: str):
        def hook(_module, _inputs, output) -> None:
            tensor = (
                next((t for t in output if isinstance(t, torch.Tensor)), None)
                if isinstance(output, tuple)
                else output
            )
            if isinstance(tensor, torch.Tensor) and tensor.dim() >= 1 and name not in found:
                found[name] = tensor[0].numel()

        return hook

    hooks = [
        module.register_forward_hook(keep(name))
        for name, module in built.named_modules()
        if name and (name in chosen or (every and not isinstance(module, SKIPPED)))
    ]
    try:
        with torch.no_grad():
            logits, penultimate = built(*(torch.empty((2, *s), device="meta") for s in shapes))
    finally:
        for hook in hooks:
            hook.remove()
    for name, tensor in (("penultimate", penultimate), ("logits", logits)):
        if name in chosen:
            found[name] = tensor[0].numel()
    return found
