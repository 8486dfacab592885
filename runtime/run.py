"""`homogc run`: find what the cache lacks, compute it, and write the run directory.

The spec is compiled once (`compile_spec`), with the data files' digests and
the reduced mode as compiler options; the runtime works from that
compilation only. Nothing imports torch unless a torch node has to be
computed, so a re-run of an unchanged spec is only reading the cache.

Where it reads and writes is decided in `paths.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homog.compiler.driver import Compilation, Options, compile_text
from homog.compiler.graph import OP_VERSIONS, Graph, Node
from homog.compiler.ir import FitParams

from . import placement, rerun, rundir
from .cache import MISSING, Cache, io_failure
from .devices import check_device, configure_torch
from .learners import trains_together
from .nodes import RemoteRunner, Runner
from .paths import cache_folder, check_report_path, runs_folder, write_atomically
from .progress import Progress
from .scheduler import Callbacks, LocalExecutor, SyncExecutor, Task, make_tasks, run_tasks


@dataclass
class RunOptions:
    device: str | None = None
    jobs: int = max(1, os.cpu_count() or 1)
    smoke: bool = False
    explain: bool = False
    quiet: bool = False
    cache: Path | None = None  # None: `.homog` in the spec's folder
    runs: Path | None = None  # None: `runs` in the spec's folder
    executor: str = "local"  # local | ray
    address: str | None = None  # a Ray cluster's address; None starts a local instance


@dataclass
class RunResult:
    directory: Path
    status: str
    computed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    waited: list[str] = field(default_factory=list)  # computed by another run while this one waited


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

    def record(found: Path) -> str:  # a file in a folder: recorded like a data file, so a re-run sees edits
        digests[found] = rerun.file_digest(found, cache)
        return digests[found]

    def digest(relative: str) -> str | None:
        file = (path.parent / relative).resolve()
        if file.is_dir():  # a folder of files (image_folder, text_files): each file recorded
            from .backbones.files import folder_digest

            return folder_digest(file, record)
        if not file.is_file():
            return None
        digests[file] = rerun.file_digest(file, cache)
        return digests[file]

    def backbone(library: str, params: dict) -> dict | None:
        from .backbones.files import describe

        return describe(library, params, path.parent, record)

    options = Options(smoke=smoke, digest=digest, backbone=backbone)
    compilation = compile_text(text, str(path), options=options)
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
        problem = cache.problem(node.id)
        if problem is None:
            out.append((node, "cached"))
            continue
        if problem != MISSING:
            out.append((node, f"damaged: {problem}"))
            continue
        previous = cache.previous(experiment, node)
        if previous is None:
            reason = "new"
        elif previous["id"] == node.id:
            reason = "not in the cache"
        elif previous.get("version") != OP_VERSIONS[node.op]:
            reason = "code version changed"
        elif previous["params"] != node.params:
            reason = "a parameter changed: " + "; ".join(changed(previous["params"], node.params))
        else:
            reason = "an input changed"
        out.append((node, reason))
    return out


_ABSENT = object()


def changed(old: Any, new: Any, path: str = "") -> list[str]:
    """Each value that differs between two parameter trees: its dotted key path, old → new."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [] if old == new else [f"{path or '(all)'}: {_shown(old)} → {_shown(new)}"]
    keys = sorted(set(old) | set(new))
    return [
        p
        for k in keys
        for p in changed(old.get(k, _ABSENT), new.get(k, _ABSENT), f"{path}.{k}" if path else k)
    ]


def _shown(value: Any) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value, sort_keys=True)


def _device(spec: Spec, options: RunOptions) -> str:
    requested = options.device or spec.compilation.ir.experiment.device
    origin = None if options.device else spec.compilation.settings.get("device")
    return check_device(requested, origin)


def run_spec(spec: Spec, options: RunOptions, out=None) -> RunResult:
    out = sys.stderr if out is None else out  # looked up now: the caller may have redirected it
    ir, graph = spec.compilation.ir, spec.compilation.graph
    cache_root, runs = cache_folder(spec.path, options.cache), runs_folder(spec.path, options.runs)
    target = check_report_path(spec)  # before any work
    mode = "smoke" if options.smoke else "full"
    if options.smoke:  # never over a full run's report: beside it, as NAME.smoke.html
        target = target.with_name(f"{target.stem}.smoke{target.suffix}")
    cache = Cache(cache_root)
    experiment = ir.experiment.name
    status = explain(graph, cache, experiment)
    if options.explain:
        for node, reason in status:
            print(f"{node.op:<9} {node.name}  [{node.short_id}]  {reason}", file=out)
    for node, reason in status:
        if reason.startswith("damaged: "):
            print(
                f"warning: cache entry of {node.op} '{node.name}' [{node.short_id}] is damaged "
                f"({reason.removeprefix('damaged: ')}); recomputing",
                file=out,
            )
    todo = {node.id for node, reason in status if reason != "cached"}
    needs_torch = any(graph.nodes[i].resources.get("backend") == "torch" for i in todo)
    device = _device(spec, options) if needs_torch else options.device or ir.experiment.device
    if needs_torch:
        configure_torch(device)
    tasks = make_tasks(graph, group_key)
    runner = Runner(graph, cache, spec.path.parent, device, ir.experiment.seed)
    _check_metric_memory(graph, todo, tasks, runner)  # before any training
    slots = None
    if needs_torch and options.executor == "local" and device.startswith("cuda"):
        _run_inputs(tasks, runner)  # cheap, and what sizing the torch groups needs
        devices = placement.local_devices(device)
        place(tasks, runner, devices)
        slots = placement.DeviceSlots(devices)
    progress = Progress(tasks, todo, quiet=options.quiet, out=out)
    runner.on_epoch = progress.epoch
    timings: dict[str, dict[str, Any]] = {}
    # Whether this process computed a node: the cache knows what it stored. Ray's workers store
    # through caches of their own, so there a node in `todo` counts as computed.
    knows = options.executor == "local"

    def posttask(task: Task, seconds: float) -> None:
        hows = []
        for node in task.nodes:
            if node.id not in todo:
                how = "cached"
            elif knows and node.id not in cache.stored:
                how = "waited"  # another run computed it while this one waited on its lock
            else:
                how = "computed"
            hows.append(how)
            timings[node.id] = {"op": node.op, "name": node.name, "seconds": seconds / len(task.nodes)}
            timings[node.id]["cached"] = how != "computed"
            timings[node.id]["how"] = how
            if how != "cached":
                cache.remember(experiment, node, OP_VERSIONS[node.op])
        progress.done(task, seconds, waited=all(h == "waited" for h in hows))

    callbacks = Callbacks(lambda task: all(i not in todo for i in task.ids), posttask)
    execute, executor = _executor(spec, options, runner, device, slots, cache_root)
    directory = rundir.make(runs, spec.text, mode)
    outcome = "failed"
    try:
        try:
            run_tasks(tasks, execute, executor, callbacks)
        finally:
            progress.close()
        rundir.write(directory, spec.path, spec.text, ir, graph, cache, timings, device, mode)
        outputs = _write_report(spec, directory, target)
        outcome = "complete"
    except KeyboardInterrupt:
        outcome = "interrupted"
        raise
    finally:
        if outcome != "complete":
            # What the run has, for a look at why it stopped; the error that stopped it is what counts.
            with contextlib.suppress(Exception):
                rundir.write(directory, spec.path, spec.text, ir, graph, cache, timings, device, mode)
            with contextlib.suppress(Exception):
                rundir.finish(directory, spec.path, outcome, mode)
    rundir.finish(directory, spec.path, outcome, mode)  # last: "complete" once every file is whole
    key = rerun.run_key(spec.text, options.device, options.smoke, runs)
    entries = rerun.entry_signatures(cache_root, list(graph.nodes))
    rerun.remember_run(cache_root, key, directory, spec.digests, outputs, entries)
    computed = [i for i in todo if timings.get(i, {}).get("how") == "computed"]
    waited = [i for i in todo if timings.get(i, {}).get("how") == "waited"]
    return RunResult(directory, "complete", computed, [i for i in graph.nodes if i not in todo], waited)


def _executor(spec: Spec, options: RunOptions, runner: Runner, device: str, slots, cache_root: Path):
    if options.executor == "ray":
        from .ray_executor import RayExecutor

        base = spec.path.parent.resolve()
        seed = spec.compilation.ir.experiment.seed
        execute = RemoteRunner(spec.compilation.graph, cache_root.resolve(), base, device, seed)
        return execute, RayExecutor(options.address)
    return runner.execute, SyncExecutor() if options.jobs <= 1 else LocalExecutor(options.jobs, slots)


def _write_report(spec: Spec, directory: Path, target: Path) -> list[Path]:
    """report.html and scores.csv in the run directory, and the page at the spec's report path."""
    from .report.build import write_report

    try:
        page = write_report(directory, status="complete")  # the report is the last step of a complete run
    except OSError as error:
        raise io_failure(error, directory, "write the report").located(
            spec.compilation.settings.get("report.path")
        ) from error
    write_atomically(target, page.read_text(encoding="utf-8"), spec.compilation.settings.get("report.path"))
    return [page, directory / "results.json", target]


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
    cache = Cache(cache_folder(spec.path, options.cache))
    runner = Runner(graph, cache, spec.path.parent, device, ir.experiment.seed)
    _run_inputs(tasks, runner)
    devices = placement.local_devices(device)
    groups = place(tasks, runner, devices)
    if not groups:
        return "no torch learners: scikit-learn fits run on the CPU, beside one another\n"
    from . import metric_memory

    found = metric_memory.estimate(graph, runner.artifact)
    available = metric_memory.machine_memory()
    metric_memory.refuse(found, available)
    extra = "\n" + metric_memory.render(found, available) if found else ""
    return placement.render_plan(groups, devices) + extra


def _check_metric_memory(graph, todo: set[str], tasks: list[Task], runner: Runner) -> None:
    """Refuse (E371) a metric compared layer by layer whose memory cannot fit, before training."""
    layered = [
        i
        for i in todo
        if graph.nodes[i].op == "metric"
        and graph.nodes[i].params["metric"]["params"].get("layers") is not None
    ]
    if not layered:
        return
    from . import metric_memory

    _run_inputs(tasks, runner)
    metric_memory.refuse(metric_memory.estimate(graph, runner.artifact), metric_memory.machine_memory())


def dry_run(spec: Spec, options: RunOptions) -> str:
    """`homogc run --dry-run`: what a run would compute and why, and where it would write; runs
    nothing, and writes nothing (not even an empty cache)."""
    graph, ir = spec.compilation.graph, spec.compilation.ir
    root = cache_folder(spec.path, options.cache)
    if (root / "objects").is_dir():
        status = explain(graph, Cache(root), ir.experiment.name)
    else:
        status = [(node, "new (no cache yet)") for node in graph.nodes.values()]
    lines = [f"{node.op:<9} {node.name}  [{node.short_id}]  {reason}" for node, reason in status]
    todo = [node for node, reason in status if reason != "cached"]
    counts = Counter(node.op for node in todo)
    target = check_report_path(spec)
    if options.smoke:
        target = target.with_name(f"{target.stem}.smoke{target.suffix}")
    runs = runs_folder(spec.path, options.runs)
    if todo:
        what = ", ".join(f"{n} {op}" for op, n in counts.items())
        cached = len(graph.nodes) - len(todo)
        lines.append(f"would compute {len(todo)} of {len(graph.nodes)} nodes ({what}); {cached} cached")
    else:
        lines.append(f"would compute nothing: all {len(graph.nodes)} nodes are cached")
    lines.append(f"would write a run directory under {runs}/ and the report at {target}")
    lines.append("dry run: nothing was computed or written")
    return "\n".join(lines) + "\n"
