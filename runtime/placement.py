"""Placing torch work on the devices of one machine, and the plan `homogc run --plan` prints.

A group is a torch fit task (the replicas of one learner that train together)
and the predictions made with it. Its memory on a device is estimated from
the network itself, built on torch's `meta` device (shapes, no storage):

    weights:      parameters x replicas x 4 bytes x (weights, gradients, optimizer state)
    activations:  what a forward pass stores for backward, per example
                  x batch size x replicas x 4 bytes x 2 (the gradients of those activations)
    data:         every example of the learner's inputs, moved to the device once per task

Groups are placed largest first, each on the least loaded device it fits in
(so the work spreads over the GPUs); a device runs several groups at once
while their estimates fit in its memory, and one at a time beyond that. On the CPU torch
work runs one group at a time, using every core.

Within a group (`replica_groups`): on a GPU, the replicas train together when their
estimate fits in the device's free memory, else in as many parts as it takes; on the
CPU, the replicas are dealt to one part per core, each part trained by its own thread
with one torch thread (the parts run side by side; splitting each small operation over
the cores would cost more in synchronisation than it saves).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homog.compiler.graph import Graph
from homog.compiler.ir import FitParams, LearnerIR

from .scheduler import Task

BYTES = 4  # float32
STATE_SLOTS = {"sgd": 1, "adam": 2, "adamw": 2}  # momentum buffer; Adam's two moments


@dataclass(frozen=True)
class Device:
    name: str  # "cpu", "cuda:0", ...
    memory: int | None  # bytes; None for the CPU, where groups run one at a time


@dataclass
class Group:
    label: str
    fit_ids: list[str]
    replicas: int
    parameters: int  # one replica's
    memory: int  # bytes, estimated
    device: str = ""
    follow: list[str] = field(default_factory=list)  # predict nodes, on the fit's device


def memory_estimate(
    parameters: int, activations: int, batch: int, replicas: int, optimizer: str, data: int
) -> int:
    """Bytes a group needs on its device; `activations` are per example, `data` counts numbers."""
    weights = parameters * replicas * BYTES * (2 + STATE_SLOTS.get(optimizer, 2))
    return weights + activations * batch * replicas * BYTES * 2 + data * BYTES


def assign(groups: list[Group], devices: list[Device]) -> None:
    """Set each group's device. Largest first, each goes to the least loaded device (by the memory
    of what it holds already, a stand-in for work) among those it fits in beside that; when it fits
    in none, to the device with the most memory left, where it will run once others finish."""
    if len(devices) == 1:
        for group in groups:
            group.device = devices[0].name
        return
    load = {d.name: 0 for d in devices}
    for group in sorted(groups, key=lambda g: (-g.memory, g.label)):
        fitting = [d for d in devices if d.memory is None or load[d.name] + group.memory <= d.memory]
        if fitting:
            target = min(fitting, key=lambda d: (load[d.name], devices.index(d)))
        else:
            target = max(devices, key=lambda d: ((d.memory or 0) - load[d.name], -devices.index(d)))
        group.device = target.name
        load[target.name] += group.memory


def local_devices(device: str) -> list[Device]:
    """The devices a run on `device` (as `check_device` resolved it) may use: every CUDA device
    for `cuda`, only the named one for `cuda:N`, else that one device (CPU, MPS)."""
    import torch

    if device == "cuda":
        return [
            Device(f"cuda:{i}", torch.cuda.get_device_properties(i).total_memory)
            for i in range(torch.cuda.device_count())
        ]
    if device.startswith("cuda:"):
        index = int(device.split(":")[1])
        return [Device(device, torch.cuda.get_device_properties(index).total_memory)]
    return [Device(device, None)]


# --------------------------------------------------------------------------- estimating a group


def _network_size(learner: LearnerIR, shapes: list[tuple[int, ...]], classes: int) -> tuple[int, int]:
    """(parameters of one replica, activations stored per example) of the learner's network."""
    import torch

    from .learners.torch_backend import network

    # The one-at-a-time network has the parameters and activations of one replica of a group.
    with torch.device("meta"):
        built = network(learner, shapes, classes)
    arguments = tuple(torch.empty((1, *s), device="meta") for s in shapes)
    parameters = sum(p.numel() for p in built.parameters())
    stored = 0

    def count(_module, _inputs, output) -> None:
        nonlocal stored
        for tensor in output if isinstance(output, tuple) else (output,):
            if isinstance(tensor, torch.Tensor):
                stored += tensor.numel()

    leaves = [m for m in built.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(count) for m in leaves]
    try:
        with torch.no_grad():
            built(*arguments)
    finally:
        for hook in hooks:
            hook.remove()
    return parameters, max(stored, 1)


def plan_groups(graph: Graph, tasks: list[Task], artifact: Callable[[str], Any]) -> list[Group]:
    """Groups of the torch fit tasks, with memory estimates; `artifact(id)` reads a computed
    node (the load and view nodes: shapes, rows and classes)."""
    groups = []
    predicts_of: dict[str, list[str]] = {}  # fit id -> the predictions made with it
    for predict in graph.of_op("predict"):
        predicts_of.setdefault(predict.inputs["fit"], []).append(predict.id)
    for task in tasks:
        node = task.nodes[0]
        if node.op != "fit" or node.resources.get("backend") != "torch":
            continue
        params = FitParams.model_validate(node.params)
        views = [artifact(node.inputs[f"view.{m}"]) for m in params.learner.inputs]
        shapes = [tuple(view.meta["shape"]) for view in views]
        rows = len(views[0].arrays["x.0"])
        classes = len(artifact(node.inputs["load"]).meta["classes"])
        parameters, stored = _network_size(params.learner, shapes, classes)
        training = params.learner.training
        data = rows * sum(math.prod(s) for s in shapes)
        memory = memory_estimate(
            parameters, stored, training.batch_size, len(task.nodes), training.optimizer.name, data
        )
        label = node.name
        if len(task.nodes) > 1:
            label = f"{params.learner.name} x{len(task.nodes)} seeds"
        follow = [predict for fit in task.ids for predict in predicts_of.get(fit, [])]
        groups.append(Group(label, task.ids, len(task.nodes), parameters, memory, follow=follow))
    return groups


def placement_of(groups: list[Group]) -> dict[str, str]:
    """Node id -> device, for the fits and predictions of every group."""
    return {node_id: g.device for g in groups for node_id in (*g.fit_ids, *g.follow)}


def render_plan(groups: list[Group], devices: list[Device]) -> str:
    lines = [f"{'group':<44} {'replicas':>8} {'params':>10} {'memory':>10}  device"]
    for group in groups:
        size, count = _size(group.memory), f"{group.parameters:,}"
        lines.append(f"{group.label:<44} {group.replicas:>8} {count:>10} {size:>10}  {group.device}")
    lines.append("")
    for device in devices:
        mine = [g for g in groups if g.device == device.name]
        total = sum(g.memory for g in mine)
        capacity = "runs groups one at a time" if device.memory is None else f"of {_size(device.memory)}"
        at_once = ""
        if device.memory is not None:
            at_once = "; all at once" if total <= device.memory else "; some wait for memory"
        lines.append(f"{device.name}: {len(mine)} group(s), {_size(total)} estimated {capacity}{at_once}")
    return "\n".join(lines) + "\n"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- running several at once


class DeviceSlots:
    """Admits torch tasks to a device: on a GPU while their memory estimates fit (always at least
    one), on the CPU one at a time."""

    def __init__(self, devices: list[Device]) -> None:
        self.capacity = {d.name: d.memory for d in devices}
        self.used = {d.name: 0 for d in devices}
        self.running = {d.name: 0 for d in devices}
        self.condition = threading.Condition()

    def _fits(self, device: str, memory: int) -> bool:
        if self.running.get(device, 0) == 0:
            return True
        capacity = self.capacity.get(device)
        return capacity is not None and self.used[device] + memory <= capacity

    def acquire(self, device: str, memory: int) -> None:
        with self.condition:
            self.used.setdefault(device, 0)
            self.running.setdefault(device, 0)
            self.condition.wait_for(lambda: self._fits(device, memory))
            self.used[device] += memory
            self.running[device] += 1

    def release(self, device: str, memory: int) -> None:
        with self.condition:
            self.used[device] -= memory
            self.running[device] -= 1
            self.condition.notify_all()


# --------------------------------------------------------------------------- sizing a group to its device

MIN_PER_CORE = 2  # replicas: a part of one would vectorise nothing


def replica_groups(
    replicas: int, device: Any, learner: LearnerIR, shapes: list[tuple[int, ...]], classes: int, rows: int
) -> list[list[int]]:
    """The replicas of a fit task (indices 0..replicas-1) in the parts that train together: on a GPU
    as many per part as its free memory holds by the group's estimate, on the CPU one part per core
    (at least MIN_PER_CORE replicas each), else one part. Parts are balanced and never of one
    replica when avoidable (a replica's result is the same in any part, to 1e-7 for convolutions)."""
    import os

    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        parameters, activations = _network_size(learner, shapes, classes)
        training = learner.training
        one = memory_estimate(parameters, activations, training.batch_size, 1, training.optimizer.name, 0)
        data = rows * sum(math.prod(s) for s in shapes) * BYTES
        per_part = max(1, int((0.8 * free - data) // max(one, 1)))
        parts = math.ceil(replicas / per_part)
    elif kind == "cpu":
        parts = max(1, min(os.cpu_count() or 1, replicas // MIN_PER_CORE))
    else:
        parts = 1
    size, extra = divmod(replicas, parts)
    bounds = [p * size + min(p, extra) for p in range(parts + 1)]
    return [list(range(bounds[p], bounds[p + 1])) for p in range(parts)]
