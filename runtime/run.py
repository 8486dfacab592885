"""`homogc run`: find what the cache lacks, compute it, and write the run directory.

The spec is compiled once (`compile_spec`), with the data files' digests and
the reduced mode as compiler options; the runtime works from that
compilation only. Nothing imports torch unless a torch node has to be
computed, so a re-run of an unchanged spec is only reading the cache.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homog.compiler.driver import Compilation, Options, compile_text
from homog.compiler.graph import OP_VERSIONS, Graph, Node
from homog.compiler.ir import FitParams

from . import placement, rerun, rundir
from .cache import Cache
from .devices import check_device, configure_torch
from .learners import trains_together
from .nodes import RemoteRunner, Runner
from .progress import Progress
from .scheduler import Callbacks, LocalExecutor, SyncExecutor, Task, make_tasks, run_tasks


@dataclass
class RunOptions:
    device: str | None = None
    jobs: int = max(1, os.cpu_count() or 1)
    smoke: bool = False
    explain: bool = False
    quiet: bool = False
    cache: Path = Path(".homog")
    runs: Path = Path("runs")
    executor: str = "local"  # local | ray
    address: str | None = None  # a Ray cluster's address; None starts a local instance


@dataclass
class RunResult:
    directory: Path
    status: str
    computed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)


@dataclass
class Spec:
    """A compiled spec, as the runtime takes it."""

    path: Path
    text: str
    compilation: Compilation
    digests: dict[Path, str]  # the data files it reads, by path


def compile_spec(path: Path, text: str, smoke: bool = False, cache: Path | None = None) -> Spec:
    """Compile once, with the SHA-256 of each data file the spec names (remembered in the cache)."""
    digests: dict[Path, str] = {}

    def digest(relative: str) -> str | None:
        file = (path.parent / relative).resolve()
        if not file.is_file():
            return None
        digests[file] = rerun.file_digest(file, cache)
        return digests[file]

    compilation = compile_text(text, str(path), options=Options(smoke=smoke, digest=digest))
    return Spec(path, text, compilation, digests)


def group_key(node: Node) -> str | None:
    """Fits of a learner that trains as a vectorised group, differing only in seed, form one task."""
    if node.op != "fit":
        return None
    params = FitParams.model_validate(node.params)
    if not trains_together(params.learner):
        return None
    rest = {k: v for k, v in node.params.items() if k != "seed"}
    return json.dumps([rest, list(node.deps)], sort_keys=True)


def explain(graph: Graph, cache: Cache, experiment: str) -> list[tuple[Node, str]]:
    """For every node: 'cached', or why it must be computed."""
    out = []
    for node in graph.nodes.values():
        if cache.has(node.id):
            out.append((node, "cached"))
            continue
        previous = cache.previous(experiment, node)
        if previous is None:
            reason = "new"
        elif previous["id"] == node.id:
            reason = "not in the cache"
        elif previous.get("version") != OP_VERSIONS[node.op]:
            reason = "code version changed"
        elif previous["params"] != node.params:
            reason = "a parameter changed: " + ", ".join(changed(previous["params"], node.params))
        else:
            reason = "an input changed"
        out.append((node, reason))
    return out


def changed(old: Any, new: Any, path: str = "") -> list[str]:
    """The dotted paths of the values that differ between two parameter trees."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [] if old == new else [path or "(all)"]
    keys = sorted(set(old) | set(new))
    return [p for k in keys for p in changed(old.get(k), new.get(k), f"{path}.{k}" if path else k)]


def _device(spec: Spec, options: RunOptions) -> str:
    requested = options.device or spec.compilation.ir.experiment.device
    origin = None if options.device else spec.compilation.settings.get("device")
    return check_device(requested, origin)


def run_spec(spec: Spec, options: RunOptions, out=sys.stderr) -> RunResult:
    ir, graph = spec.compilation.ir, spec.compilation.graph
    cache = Cache(options.cache)
    experiment = ir.experiment.name
    status = explain(graph, cache, experiment)
    if options.explain:
        for node, reason in status:
            print(f"{node.op:<9} {node.name}  [{node.short_id}]  {reason}", file=out)
    todo = {node.id for node, reason in status if reason != "cached"}
    needs_torch = any(graph.nodes[i].resources.get("backend") == "torch" for i in todo)
    device = _device(spec, options) if needs_torch else options.device or ir.experiment.device
    if needs_torch:
        configure_torch(device)
    tasks = make_tasks(graph, group_key)
    runner = Runner(graph, cache, spec.path.parent, device, ir.experiment.seed)
    slots = None
    if needs_torch and options.executor == "local" and device.startswith("cuda"):
        _run_inputs(tasks, runner)  # cheap, and what sizing the torch groups needs
        devices = placement.local_devices(device)
        place(tasks, runner, devices)
        slots = placement.DeviceSlots(devices)
    progress = Progress(tasks, todo, quiet=options.quiet, out=out)
    timings: dict[str, dict[str, Any]] = {}

    def posttask(task: Task, seconds: float) -> None:
        for node in task.nodes:
            cached = node.id not in todo
            timings[node.id] = {"op": node.op, "name": node.name, "seconds": seconds / len(task.nodes)}
            timings[node.id]["cached"] = cached
            if not cached:
                cache.remember(experiment, node, OP_VERSIONS[node.op])
        progress.done(task, seconds)

    callbacks = Callbacks(lambda task: all(i not in todo for i in task.ids), posttask)
    execute, executor = _executor(spec, options, runner, device, slots)
    directory = rundir.make(options.runs, spec.text)
    outcome = "failed"
    try:
        run_tasks(tasks, execute, executor, callbacks)
        outcome = "complete"
    except KeyboardInterrupt:
        outcome = "interrupted"
        raise
    finally:
        progress.close()
        rundir.write(directory, spec.path, spec.text, ir, graph, cache, timings, device, outcome)
    return _finish(spec, options, directory, todo, timings)


def _executor(spec: Spec, options: RunOptions, runner: Runner, device: str, slots):
    if options.executor == "ray":
        from .ray_executor import RayExecutor

        base = spec.path.parent.resolve()
        seed = spec.compilation.ir.experiment.seed
        execute = RemoteRunner(spec.compilation.graph, options.cache.resolve(), base, device, seed)
        return execute, RayExecutor(options.address)
    return runner.execute, SyncExecutor() if options.jobs <= 1 else LocalExecutor(options.jobs, slots)


def _finish(spec: Spec, options: RunOptions, directory: Path, todo: set[str], timings) -> RunResult:
    from .report.build import write_report

    ir, graph = spec.compilation.ir, spec.compilation.graph
    report = write_report(directory, Path(ir.report.path))
    outputs = [report, directory / "results.json", Path(ir.report.path)]
    key = rerun.run_key(spec.text, options.device, options.smoke, options.runs)
    rerun.remember_run(options.cache, key, directory, spec.digests, outputs)
    computed = [i for i in todo if i in timings]
    return RunResult(directory, "complete", computed, [i for i in graph.nodes if i not in todo])


def _run_inputs(tasks: list[Task], runner: Runner) -> None:
    """Load and view every input (through the cache): what placement needs to size the networks."""
    inputs = [Task(t.nodes, t.deps) for t in tasks if t.op in ("load", "view")]
    run_tasks(inputs, runner.execute, SyncExecutor(), Callbacks())


def place(tasks: list[Task], runner: Runner, devices: list[placement.Device]) -> list[placement.Group]:
    """Size the torch groups, give each a device, and tell the tasks and the runner where they run."""
    groups = placement.plan_groups(runner.graph, tasks, runner.artifact)
    placement.assign(groups, devices)
    where = placement.placement_of(groups)
    memory = {g.fit_ids[0]: g.memory for g in groups}
    for task in tasks:
        task.device = where.get(task.ids[0])
        task.memory = memory.get(task.ids[0], 0)
    runner.placement = where
    return groups


def plan_spec(spec: Spec, options: RunOptions) -> str:
    """`homogc run --plan`: where each torch group would run and the memory it would need; trains nothing."""
    ir, graph = spec.compilation.ir, spec.compilation.graph
    device = _device(spec, options)
    tasks = make_tasks(graph, group_key)
    runner = Runner(graph, Cache(options.cache), spec.path.parent, device, ir.experiment.seed)
    _run_inputs(tasks, runner)
    devices = placement.local_devices(device)
    groups = place(tasks, runner, devices)
    if not groups:
        return "no torch learners: scikit-learn fits run on the CPU, beside one another\n"
    return placement.render_plan(groups, devices)
