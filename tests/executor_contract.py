"""The contract every executor passes: one shared test class, subclassed per executor."""

from __future__ import annotations

import threading

import pytest

from homog.compiler.graph import Graph
from homog.runtime.scheduler import Callbacks, make_tasks, run_tasks


def diamond(width: int = 6) -> Graph:
    """load -> view -> `width` independent fits -> metric -> report."""
    graph = Graph()
    load = graph.add("load", "data", {"n": 1}, [])
    view = graph.add("view", "x", {"n": 2}, [load])
    fits = [graph.add("fit", f"fit {i}", {"i": i}, [view]) for i in range(width)]
    metric = graph.add("metric", "m", {}, fits)
    graph.add("report", "r", {}, [metric])
    return graph


class ExecutorContract:
    """Subclasses define `executor()`, returning a fresh executor."""

    def executor(self):
        raise NotImplementedError

    def test_runs_every_task_after_its_dependencies(self):
        graph = diamond()
        done: list[str] = []
        lock = threading.Lock()

        def execute(task):
            for node in task.nodes:
                assert all(dep in done for dep in node.deps), node.name
                with lock:
                    done.append(node.id)

        run_tasks(make_tasks(graph, lambda n: None), execute, self.executor(), Callbacks())
        assert sorted(done) == sorted(graph.nodes)

    def test_callbacks_see_every_task_and_pretask_can_skip(self):
        graph = diamond()
        executed, posted = [], []
        skip = {n.id for n in graph.of_op("fit")[:2]}

        def pretask(task):
            return set(task.ids) <= skip

        def posttask(task, seconds):
            posted.append(task.ids[0])

        run_tasks(
            make_tasks(graph, lambda n: None),
            lambda t: executed.append(t.ids[0]),
            self.executor(),
            Callbacks(pretask, posttask),
        )
        assert sorted(posted) == sorted(graph.nodes)
        assert set(executed) == set(graph.nodes) - skip

    def test_grouped_nodes_run_as_one_task(self):
        graph = diamond()
        sizes = []
        run_tasks(
            make_tasks(graph, lambda n: "fits" if n.op == "fit" else None),
            lambda t: sizes.append(len(t.nodes)),
            self.executor(),
            Callbacks(),
        )
        assert sorted(sizes) == [1, 1, 1, 1, 6]

    def test_a_failure_stops_the_run_and_is_raised(self):
        graph = diamond()
        ran = []

        def execute(task):
            if task.op == "fit" and task.nodes[0].name == "fit 0":
                raise ValueError("boom")
            ran.append(task.op)

        with pytest.raises(ValueError, match="boom"):
            run_tasks(make_tasks(graph, lambda n: None), execute, self.executor(), Callbacks())
        assert "metric" not in ran and "report" not in ran
