"""Running the graph on Ray: the same tasks, as Ray tasks sized by each node's resource hint.

Results travel through the cache folder, so on a cluster it must be shared
storage that every worker sees at the same path. The cache's atomic writes
and per-node locks make concurrent workers safe. Ray is optional:
`pip install 'homogc[ray]'`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from .scheduler import Callbacks, Task


def _run_remote(execute, task: Task) -> float:
    start = time.perf_counter()
    execute(task)
    return time.perf_counter() - start


class RayExecutor:
    def __init__(self, address: str | None = None, start: bool = True) -> None:
        import ray

        self.ray = ray
        if start and not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        self.remote = ray.remote(_run_remote)
        self.running: dict[object, tuple[Task, float]] = {}

    def _options(self, task: Task) -> dict[str, float]:
        resources = task.nodes[0].resources
        gpu = resources.get("backend") == "torch" and str(resources.get("device", "cpu")).startswith("cuda")
        return {"num_cpus": 1, "num_gpus": 1 if gpu else 0}

    def step(
        self, ready: Sequence[Task], execute, callbacks: Callbacks
    ) -> list[tuple[Task, BaseException | None]]:
        results: list[tuple[Task, BaseException | None]] = []
        for task in ready:
            if callbacks.pretask(task):
                callbacks.posttask(task, 0.0)
                results.append((task, None))
                continue
            ref = self.remote.options(**self._options(task)).remote(execute, task)
            self.running[ref] = (task, time.perf_counter())
        if results or not self.running:
            return results
        done, _ = self.ray.wait(list(self.running), num_returns=1)
        for ref in done:
            task, _ = self.running.pop(ref)
            try:
                seconds = self.ray.get(ref)
            except self.ray.exceptions.RayTaskError as error:
                results.append((task, error.cause if error.cause is not None else error))
                continue
            callbacks.posttask(task, seconds)
            results.append((task, None))
        return results

    def close(self) -> None:
        for ref in list(self.running):
            self.ray.cancel(ref, force=True)
        self.running.clear()
