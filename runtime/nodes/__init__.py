"""What each node of the graph computes: one module per node kind.

A kind's module has `compute(node, inputs, env) -> Artifact` (and the fit
module `compute_group(nodes, inputs, env)` for replicas that train together).
A node receives its inputs by the names the compiler gave them
(`inputs["fit"]`, `inputs.named("view.")`), the way a task receives its
dependencies' values; nothing here walks the graph or re-derives what the
compiler decided. `Runner` runs a scheduler task: it skips what the cache
holds, computes the rest under the cache's locks, and stores it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homog.compiler.graph import Graph, Node

from .. import errors
from ..cache import Artifact, Cache
from ..scheduler import Task


def derived_seed(*parts: object) -> int:
    """A seed from named parts, the same in every process (never Python's salted hash())."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return int(digest[:8], 16)


@dataclass
class Env:
    """What a node may use besides its inputs: where relative data paths start, the experiment's
    seed and the torch device its task was given."""

    base: Path
    seed: int
    device_name: str
    on_epoch: Callable[[int, int], None] | None = None  # a fit's training reports its epochs here

    @property
    def device(self):
        import torch

        return torch.device(self.device_name)


class Inputs:
    """A node's inputs by name: `inputs[name]` is the artifact, `inputs.node(name)` the node."""

    def __init__(self, node: Node, graph: Graph, artifact: Callable[[str], Artifact]) -> None:
        self._names, self._graph, self._artifact = node.inputs, graph, artifact

    def __getitem__(self, name: str) -> Artifact:
        return self._artifact(self._names[name])

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def node(self, name: str) -> Node:
        return self._graph.nodes[self._names[name]]

    def named(self, prefix: str) -> list[str]:
        """The names that start with `prefix`, in the order the compiler gave them."""
        return [name for name in self._names if name.startswith(prefix)]


def kind(op: str):
    return importlib.import_module(f"{__name__}.{op}")


class Runner:
    """Runs tasks of one graph against one cache, keeping recent artifacts in memory."""

    def __init__(self, graph: Graph, cache: Cache, base: Path, device: str, seed: int) -> None:
        self.graph, self.cache = graph, cache
        self.base, self.device, self.seed = base, device, seed
        self.placement: dict[str, str] = {}  # node id -> device, where placement chose one
        self.on_epoch: Callable[[Task, int, int], None] | None = None  # progress of a task's training
        self._memory: OrderedDict[str, Artifact] = OrderedDict()
        self._lock = threading.Lock()  # tasks run in a pool of threads

    def artifact(self, node_id: str) -> Artifact:
        with self._lock:
            found = self._memory.get(node_id)
        if found is None:
            found = self.cache.load(node_id)
            self._remember(node_id, found)
        return found

    def _remember(self, node_id: str, artifact: Artifact) -> None:
        with self._lock:
            self._memory[node_id] = artifact
            while len(self._memory) > 256:
                self._memory.popitem(last=False)

    def inputs(self, node: Node) -> Inputs:
        return Inputs(node, self.graph, self.artifact)

    def execute(self, task: Task) -> None:
        """Compute a task whose nodes are not all cached, under their locks, and store what was missing."""
        locks = [self.cache.lock(node_id) for node_id in sorted(task.ids)]
        for lock in locks:
            lock.__enter__()
        try:
            todo = {node.id for node in task.nodes if not self.cache.has(node.id)}
            if todo:
                # A task computes whole (a vectorised group's replicas depend on one another's
                # presence); only what the cache lacks is stored.
                env = Env(self.base, self.seed, self.placement.get(task.ids[0], self.device))
                if self.on_epoch is not None:
                    env.on_epoch = functools.partial(self.on_epoch, task)
                for node, artifact in zip(task.nodes, self._compute(task.nodes, env), strict=True):
                    if node.id in todo:
                        self.cache.store(node.id, artifact)
                        self._remember(node.id, artifact)
        finally:
            for lock in reversed(locks):
                lock.__exit__(None, None, None)

    def _compute(self, todo: list[Node], env: Env) -> list[Artifact]:
        node = todo[0]
        module = kind(node.op)
        try:
            if len(todo) > 1:
                return module.compute_group(todo, self.inputs(node), env)
            return [module.compute(node, self.inputs(node), env)]
        except errors.RunError as error:
            raise error.located(node.origin) from error.__cause__
        except Exception as error:
            raise errors.RunError(
                errors.NODE_FAILED,
                f"{node.op} '{node.name}' failed: {type(error).__name__}: {error}",
                "if the spec and the data look right, this is a bug in homogc: "
                "run again with --debug for the traceback, and report it",
                node.origin,
            ) from error


class RemoteRunner:
    """A picklable stand-in for `Runner.execute`, for executors whose workers are other processes
    (Ray): each worker process builds its own `Runner` once, on the same cache folder."""

    def __init__(self, graph: Graph, cache_root: Path, base: Path, device: str, seed: int) -> None:
        self.args: tuple[Any, ...] = (graph, cache_root, base, device, seed)
        self._runner: Runner | None = None

    def __getstate__(self):
        return {"args": self.args}

    def __setstate__(self, state) -> None:
        self.args = state["args"]
        self._runner = None

    def __call__(self, task: Task) -> None:
        if self._runner is None:
            graph, cache_root, base, device, seed = self.args
            self._runner = Runner(graph, Cache(cache_root), base, device, seed)
        self._runner.execute(task)
