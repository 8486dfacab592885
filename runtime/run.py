"""`homogc run`: compile, find what the cache lacks, compute it, and write the run directory.

Nothing imports torch unless a torch node has to be computed, so a re-run of
an unchanged spec is only reading the cache.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from homog.compiler.graph import OP_VERSIONS, Graph, Node
from homog.compiler.ir import ExperimentIR
from homog.compiler.lower import lower_ir

from . import errors, placement, rerun
from .cache import Cache
from .ops import Ops, RemoteOps, group_key
from .progress import Progress
from .scheduler import Callbacks, LocalExecutor, SyncExecutor, Task, make_tasks, run_tasks

SMOKE_ROWS = 300
SMOKE_EPOCHS = 2
SMOKE_TREES = 10


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


def smoke_ir(ir: ExperimentIR) -> ExperimentIR:
    """The reduced mode: few epochs and small forests; datasets are capped when lowering."""
    learners = []
    for learner in ir.learners:
        update: dict[str, Any] = {}
        if learner.training is not None:
            update["training"] = learner.training.model_copy(
                update={"epochs": min(learner.training.epochs, SMOKE_EPOCHS)}
            )
        if learner.arch is not None and "trees" in learner.arch.params:
            params = {**learner.arch.params, "trees": min(learner.arch.params["trees"], SMOKE_TREES)}
            update["arch"] = learner.arch.model_copy(update={"params": params})
        learners.append(learner.model_copy(update=update))
    return ir.model_copy(update={"learners": learners})


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
            keys = sorted(
                k
                for k in set(previous["params"]) | set(node.params)
                if previous["params"].get(k) != node.params.get(k)
            )
            reason = "a parameter changed: " + ", ".join(keys)
        else:
            reason = "an input changed"
        out.append((node, reason))
    return out


def check_device(requested: str, origin: str | None) -> str:
    """The torch device to use; a located error if the spec asks for one this machine lacks."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise errors.RunError(
                errors.DEVICE_UNAVAILABLE,
                f"the spec asks for device '{requested}', and this machine has no CUDA device",
                "use device = auto (CUDA when there is one, else CPU), or run with --device cpu",
                origin,
            )
        index = int(requested.split(":")[1]) if ":" in requested else 0
        if index >= torch.cuda.device_count():
            raise errors.RunError(
                errors.DEVICE_UNAVAILABLE,
                f"'{requested}' asked for; this machine has {torch.cuda.device_count()} CUDA device(s)",
                f"use an index below {torch.cuda.device_count()}",
                origin,
            )
    if requested == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise errors.RunError(
            errors.DEVICE_UNAVAILABLE,
            "the spec asks for device 'mps', and this machine has none",
            "use device = auto, or run with --device cpu",
            origin,
        )
    return requested


def _lowered(
    path: Path, ir: ExperimentIR, origins: dict[str, str], options: RunOptions
) -> tuple[ExperimentIR, Graph, dict[Path, str]]:
    """The IR as run (reduced with --smoke), its graph with the data files' hashes, and those
    hashes by file."""
    if options.smoke:
        ir = smoke_ir(ir)
    files = rerun.data_files(ir, path.parent)
    contents = {name: rerun.file_digest(file, options.cache) for name, file in files.items()}
    graph = lower_ir(ir, origins, smoke_rows=SMOKE_ROWS if options.smoke else None, contents=contents)
    return ir, graph, {files[name]: sha for name, sha in contents.items()}


def run_spec(
    path: Path,
    text: str,
    ir: ExperimentIR,
    origins: dict[str, str],
    device_origin: str | None,
    options: RunOptions,
    out=sys.stderr,
) -> RunResult:
    key = rerun.run_key(text, options.device, options.smoke, options.runs)
    ir, graph, digests = _lowered(path, ir, origins, options)
    cache = Cache(options.cache)
    experiment = ir.experiment.name
    status = explain(graph, cache, experiment)
    if options.explain:
        for node, reason in status:
            print(f"{node.op:<9} {node.name}  [{node.short_id}]  {reason}", file=out)
    todo = {node.id for node, reason in status if reason != "cached"}
    needs_torch = any(graph.nodes[i].resources.get("backend") == "torch" for i in todo)
    requested = options.device or ir.experiment.device
    device = check_device(requested, None if options.device else device_origin) if needs_torch else requested
    if needs_torch:
        _configure_torch(options.jobs, device)
    tasks = make_tasks(graph, group_key)
    ops = Ops(graph, cache, path.parent, device, ir.experiment.seed)
    slots = None
    if needs_torch and options.executor == "local" and device.startswith("cuda"):
        # Inputs first (cheap), so the torch groups can be sized and placed on the GPUs.
        _run_inputs(tasks, ops)
        devices = placement.local_devices(device)
        place(graph, tasks, ops, devices)
        slots = placement.DeviceSlots(devices)
    progress = Progress(tasks, todo, quiet=options.quiet, out=out)
    timings: dict[str, dict[str, Any]] = {}

    def pretask(task: Task) -> bool:
        return all(node_id not in todo for node_id in task.ids)

    def posttask(task: Task, seconds: float) -> None:
        for node in task.nodes:
            cached = node.id not in todo
            timings[node.id] = {
                "op": node.op,
                "name": node.name,
                "seconds": seconds / len(task.nodes),
                "cached": cached,
            }
            if not cached:
                cache.remember(experiment, node, OP_VERSIONS[node.op])
        progress.done(task, seconds)

    execute = ops.execute
    if options.executor == "ray":
        from .ray_executor import RayExecutor

        executor = RayExecutor(options.address)
        execute = RemoteOps(graph, options.cache.resolve(), path.parent.resolve(), device, ir.experiment.seed)
    else:
        executor = SyncExecutor() if options.jobs <= 1 else LocalExecutor(options.jobs, slots)
    directory = _run_directory(options.runs, text)
    outcome = "complete"
    try:
        run_tasks(tasks, execute, executor, Callbacks(pretask, posttask))
    except KeyboardInterrupt:
        outcome = "interrupted"
        raise
    except Exception:
        outcome = "failed"
        raise
    finally:
        progress.close()
        _write_run(directory, path, text, ir, graph, cache, timings, device, outcome)
    from .report.build import write_report

    report = write_report(directory, Path(ir.report.path))
    outputs = [report, directory / "results.json", Path(ir.report.path)]
    rerun.remember_run(options.cache, key, directory, digests, outputs)
    computed = [i for i in todo if i in timings]
    return RunResult(directory, outcome, computed, [i for i in graph.nodes if i not in todo])


def _run_inputs(tasks: list[Task], ops: Ops) -> None:
    """Load and view every input (through the cache): what placement needs to size the networks."""
    inputs = [task for task in tasks if task.op in ("load", "view")]
    run_tasks([Task(t.nodes, t.deps) for t in inputs], ops.execute, SyncExecutor(), Callbacks())


def _facts(graph: Graph, ops: Ops) -> dict[str, dict[str, Any]]:
    facts = {}
    for view in graph.of_op("view"):
        artifact = ops.artifact(view.id)
        facts[view.id] = {
            "shape": artifact.meta["shape"],
            "rows": len(artifact.arrays["x.0"]),
            "classes": len(ops.loaded(view.deps[0]).classes),
        }
    return facts


def place(
    graph: Graph, tasks: list[Task], ops: Ops, devices: list[placement.Device]
) -> list[placement.Group]:
    """Size the torch groups, give each a device, and tell the tasks and the ops where they run."""
    groups = placement.plan_groups(graph, tasks, _facts(graph, ops))
    placement.assign(groups, devices)
    where = placement.placement_of(groups)
    memory = {g.fit_ids[0]: g.memory for g in groups}
    for task in tasks:
        task.device = where.get(task.ids[0])
        task.memory = memory.get(task.ids[0], 0)
    ops.placement = where
    return groups


def plan_spec(
    path: Path,
    text: str,
    ir: ExperimentIR,
    origins: dict[str, str],
    device_origin: str | None,
    options: RunOptions,
) -> str:
    """`homogc run --plan`: where each torch group would run and the memory it would need; trains nothing."""
    ir, graph, _ = _lowered(path, ir, origins, options)
    requested = options.device or ir.experiment.device
    device = check_device(requested, None if options.device else device_origin)
    tasks = make_tasks(graph, group_key)
    ops = Ops(graph, Cache(options.cache), path.parent, device, ir.experiment.seed)
    _run_inputs(tasks, ops)
    devices = placement.local_devices(device)
    groups = place(graph, tasks, ops, devices)
    if not groups:
        return "no torch learners: scikit-learn fits run on the CPU, beside one another\n"
    return placement.render_plan(groups, devices)


def _configure_torch(jobs: int, device: str) -> None:
    import torch

    # Torch tasks run one at a time (a lock per device), so each may use every core.
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if device != "cpu":
        # Accelerator kernels (atomic adds) are where nondeterminism lives; the CPU kernels homogc
        # uses repeat bit for bit (tested). The switch costs 1.5 s of imports (it loads torch's
        # compiler to set one flag), so a CPU run does without it.
        torch.use_deterministic_algorithms(True, warn_only=True)


def _run_directory(root: Path, text: str) -> Path:
    import hashlib

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    short = hashlib.sha256(text.encode()).hexdigest()[:8]
    directory = Path(root) / f"{stamp}-{short}"
    directory.mkdir(parents=True, exist_ok=False)
    return directory


def environment(device: str) -> dict[str, Any]:
    packages = {}
    for name in ("homogc", "torch", "numpy", "scikit-learn", "scipy", "lark", "pydantic", "jinja2"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "device": device,
        "packages": packages,
    }


def _write_run(
    directory: Path,
    path: Path,
    text: str,
    ir: ExperimentIR,
    graph: Graph,
    cache: Cache,
    timings: dict[str, dict[str, Any]],
    device: str,
    outcome: str,
) -> None:
    (directory / "spec.homog").write_text(text)
    (directory / "resolved.json").write_text(
        json.dumps(json.loads(ir.canonical_json()), indent=2, sort_keys=True)
    )
    (directory / "graph.json").write_text(graph.render_json())
    (directory / "environment.json").write_text(json.dumps(environment(device), indent=2, sort_keys=True))
    (directory / "timings.json").write_text(json.dumps(timings, indent=2, sort_keys=True))
    index, arrays = {}, {}
    for node in graph.nodes.values():
        if node.op in ("predict", "late_fuse") and cache.has(node.id):
            found = cache.load(node.id).arrays
            index[node.short_id] = node.name
            arrays[f"{node.short_id}.labels"] = found["labels"]
            arrays[f"{node.short_id}.probabilities"] = found["probabilities"]
    if arrays:
        np.savez_compressed(directory / "predictions.npz", **arrays)
        (directory / "predictions.json").write_text(json.dumps(index, indent=2, sort_keys=True))
    reports = graph.of_op("report")
    if reports and cache.has(reports[0].id):
        results = cache.load(reports[0].id).meta["results"]
        (directory / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True))
    status = {"status": outcome, "spec": str(path), "finished": time.time()}
    (directory / "status.json").write_text(json.dumps(status, indent=2))
