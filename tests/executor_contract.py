"""The contract every executor passes: one shared test class, subclassed per executor.

Tasks record what they did in files, so the contract holds for executors that
run tasks in other processes (Ray) as well as in threads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from homog.compiler.graph import Graph
from homog.runtime.scheduler import Callbacks, make_tasks, run_tasks


def diamond(width: int = 6) -> Graph:
    """load -> view -> `width` independent fits -> metric -> report."""
    graph = Graph()
    load = graph.add("load", "data", {"n": 1}, {})
    view = graph.add("view", "x", {"n": 2}, {"load": load})
    fits = [graph.add("fit", f"fit {i}", {"i": i}, {"view": view}) for i in range(width)]
    metric = graph.add("metric", "m", {}, {f"run.{i}": fit for i, fit in enumerate(fits)})
    graph.add("report", "r", {}, {"metric": metric})
    return graph


class Recorder:
    """A picklable task body: checks the inputs are done, then marks its nodes done in `folder`."""

    def __init__(self, folder: Path, fail_on: str | None = None) -> None:
        self.folder = folder
        self.fail_on = fail_on

    def __call__(self, task) -> None:
        for node in task.nodes:
            missing = [
                d for d in node.deps if d not in {n.id for n in task.nodes} and not (self.folder / d).exists()
            ]
            assert not missing, f"{node.name} ran before its inputs"
            if node.name == self.fail_on:
                raise ValueError("boom")
        for node in task.nodes:
            # Written aside and renamed: a task cancelled mid-write (after a failure) leaves no torn file.
            partial = self.folder.parent / f"{self.folder.name}.{node.id}.partial"
            partial.write_text(str(len(task.nodes)))
            partial.replace(self.folder / node.id)

    def done(self) -> dict[str, int]:
        return {path.name: int(path.read_text()) for path in self.folder.iterdir()}


class ExecutorContract:
    """Subclasses define `executor()`, returning a fresh executor."""

    def executor(self):
        raise NotImplementedError

    def test_runs_every_task_after_its_dependencies(self, tmp_path):
        graph = diamond()
        recorder = Recorder(tmp_path)
        run_tasks(make_tasks(graph, lambda n: None), recorder, self.executor(), Callbacks())
        assert set(recorder.done()) == set(graph.nodes)

    def test_callbacks_see_every_task_and_pretask_can_skip(self, tmp_path):
        graph = diamond()
        posted = []
        skip = {n.id for n in graph.of_op("fit")[:2]}
        recorder = Recorder(tmp_path)
        for node_id in skip:  # what a cache would hold
            (tmp_path / node_id).write_text("1")
        callbacks = Callbacks(
            lambda task: set(task.ids) <= skip, lambda task, seconds: posted.append(task.ids[0])
        )
        run_tasks(make_tasks(graph, lambda n: None), recorder, self.executor(), callbacks)
        assert sorted(posted) == sorted(graph.nodes)
        assert set(recorder.done()) == set(graph.nodes)

    def test_grouped_nodes_run_as_one_task(self, tmp_path):
        graph = diamond()
        recorder = Recorder(tmp_path)
        run_tasks(
            make_tasks(graph, lambda n: "fits" if n.op == "fit" else None),
            recorder,
            self.executor(),
            Callbacks(),
        )
        sizes = recorder.done()
        assert [sizes[n.id] for n in graph.of_op("fit")] == [6] * 6
        assert sizes[graph.of_op("report")[0].id] == 1

    def test_a_failure_stops_the_run_and_is_raised(self, tmp_path):
        graph = diamond()
        recorder = Recorder(tmp_path, fail_on="fit 0")
        with pytest.raises(ValueError, match="boom"):
            run_tasks(make_tasks(graph, lambda n: None), recorder, self.executor(), Callbacks())
        done = recorder.done()
        assert graph.of_op("metric")[0].id not in done and graph.of_op("report")[0].id not in done
