"""Scheduling a graph: tasks in dependency order, independent ones at once.

A task is a group of nodes run together (replicas of one learner that differ
only in seed form one task). The scheduler knows nothing of what a node does:
it hands ready tasks to an executor's `submit`, and calls `pretask` and
`posttask` around each (for the cache, progress and timing). Tasks are
ordered by when their inputs are done, then by the graph's order, never by
name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from homog.compiler.graph import Graph, Node


@dataclass
class Task:
    nodes: list[Node]
    deps: set[str] = field(default_factory=set)  # ids outside the task it waits for
    device: str | None = None  # torch tasks: where placement put them (None: the run's device)
    memory: int = 0  # bytes it is estimated to need on that device

    @property
    def op(self) -> str:
        return self.nodes[0].op

    @property
    def ids(self) -> list[str]:
        return [n.id for n in self.nodes]


def make_tasks(graph: Graph, group_key: Callable[[Node], str | None]) -> list[Task]:
    """Group nodes with the same non-None key into one task, in graph order."""
    tasks: list[Task] = []
    by_key: dict[str, Task] = {}
    for node in graph.nodes.values():
        key = group_key(node)
        if key is not None and key in by_key:
            by_key[key].nodes.append(node)
            continue
        task = Task([node])
        tasks.append(task)
        if key is not None:
            by_key[key] = task
    for task in tasks:
        own = set(task.ids)
        task.deps = {d for n in task.nodes for d in n.deps if d not in own}
    return tasks


@dataclass
class Callbacks:
    pretask: Callable[[Task], bool] = lambda task: False  # True: already done (cached), skip it
    posttask: Callable[[Task, float], None] = lambda task, seconds: None


def run_with_callbacks(task: Task, execute: Callable[[Task], None], callbacks: Callbacks) -> None:
    if callbacks.pretask(task):
        callbacks.posttask(task, 0.0)
        return
    start = time.perf_counter()
    execute(task)
    callbacks.posttask(task, time.perf_counter() - start)


class SyncExecutor:
    """Runs tasks one at a time in this thread: the debugging executor (`--jobs 1`)."""

    def step(
        self, ready: Sequence[Task], execute, callbacks: Callbacks
    ) -> list[tuple[Task, BaseException | None]]:
        results = []
        for task in ready:
            try:
                run_with_callbacks(task, execute, callbacks)
                results.append((task, None))
            except BaseException as error:  # handed back to the scheduler, which stops
                results.append((task, error))
                break
        return results

    def close(self) -> None:
        pass


class LocalExecutor:
    """A pool of threads. Torch tasks are admitted to their device by `slots` (placement.DeviceSlots):
    by default one at a time, as torch work on the CPU uses every core already."""

    def __init__(self, jobs: int, slots=None) -> None:
        self.pool = ThreadPoolExecutor(max_workers=jobs)
        self.slots = slots if slots is not None else _OneAtATime()
        self.running: dict[Future, Task] = {}

    def step(
        self, ready: Sequence[Task], execute, callbacks: Callbacks
    ) -> list[tuple[Task, BaseException | None]]:
        for task in ready:
            self.running[self.pool.submit(self._guarded, task, execute, callbacks)] = task
        if not self.running:
            return []
        done, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
        return [(self.running.pop(future), future.exception()) for future in done]

    def _guarded(self, task: Task, execute, callbacks: Callbacks) -> None:
        if task.nodes[0].resources.get("backend") != "torch":
            run_with_callbacks(task, execute, callbacks)
            return
        device = task.device or "default"
        self.slots.acquire(device, task.memory)
        try:
            run_with_callbacks(task, execute, callbacks)
        finally:
            self.slots.release(device, task.memory)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _OneAtATime:
    def __init__(self) -> None:
        self.lock = threading.Lock()

    def acquire(self, device: str, memory: int) -> None:
        self.lock.acquire()

    def release(self, device: str, memory: int) -> None:
        self.lock.release()


def run_tasks(tasks: list[Task], execute: Callable[[Task], None], executor, callbacks: Callbacks) -> None:
    """Run every task after the tasks it depends on; the first failure stops the run and is raised."""
    owner = {node_id: task for task in tasks for node_id in task.ids}
    order = {id(task): index for index, task in enumerate(tasks)}
    waiting = {id(task): {id(owner[d]) for d in task.deps if d in owner} for task in tasks}
    dependants: dict[int, list[Task]] = {id(task): [] for task in tasks}
    for task in tasks:
        for dep in waiting[id(task)]:
            dependants[dep].append(task)
    ready = [task for task in tasks if not waiting[id(task)]]
    remaining = len(tasks)
    try:
        while remaining:
            batch, ready = ready, []
            finished = executor.step(batch, execute, callbacks)
            if not finished and not batch:
                raise RuntimeError("the graph has a cycle or a missing dependency")
            for task, error in finished:
                if error is not None:
                    raise error
                remaining -= 1
                for dependant in dependants[id(task)]:
                    waiting[id(dependant)].discard(id(task))
                    if not waiting[id(dependant)]:
                        ready.append(dependant)
            ready.sort(key=lambda t: order[id(t)])
    finally:
        executor.close()
