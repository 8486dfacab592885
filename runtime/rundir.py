"""The run directory: what a run read, computed and concluded.

It appears with a `status.json` that says "running" (and the process's id and host), and every
other file is written at the end, each atomically (a temporary file renamed over it); the status
is written last, so a run directory says "complete" only when every file in it is whole. A run
directory left by a killed process (no status, or "running" by a process that no longer exists on
this host) is marked "abandoned" by the next run that writes to the same folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import socket
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from homog.compiler.graph import Graph
from homog.compiler.ir import ExperimentIR

from .cache import Cache, _alive, io_failure

STATUS = "status.json"
# The first line of a smoke run's copy of its spec.
SMOKE_LINE = "# smoke run (homogc run --smoke): few epochs, small forests, few examples; not for citing\n"


def make(root: Path, text: str, mode: str = "full") -> Path:
    """A new run directory saying "running"; first, mark the ones killed runs left as abandoned.
    A smoke run's directory name ends in "-smoke" (and every file in it says so: see `write`)."""
    root = Path(root)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    short = hashlib.sha256(text.encode()).hexdigest()[:8] + ("-smoke" if mode == "smoke" else "")
    directory = root / f"{stamp}-{short}"
    temporary = root / f".{stamp}-{short}.{os.getpid()}.tmp"
    try:
        root.mkdir(parents=True, exist_ok=True)
        mark_abandoned(root)
        temporary.mkdir()
        status = {"status": "running", "pid": os.getpid(), "host": socket.gethostname(), "mode": mode}
        status["started"] = time.time()
        write_text(temporary / STATUS, json.dumps(status, indent=2, sort_keys=True))
        os.rename(temporary, directory)  # it appears with its status: never a folder without one
    except OSError as error:
        with contextlib.suppress(OSError):
            (temporary / STATUS).unlink(missing_ok=True)
            temporary.rmdir()
        raise io_failure(error, directory, "create the run directory") from error
    return directory


def mark_abandoned(root: Path) -> list[Path]:
    """Mark the run directories of killed processes "abandoned" (best effort); the ones marked."""
    marked = []
    host = socket.gethostname()
    for directory in sorted(Path(root).iterdir()):
        if not directory.is_dir():
            continue
        if directory.name.startswith("."):  # a run directory being made: gone if its process is
            pid = directory.name.rsplit(".", 2)[-2] if directory.name.endswith(".tmp") else ""
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    for file in directory.iterdir():
                        file.unlink()
                    directory.rmdir()
            continue
        status = _read(directory / STATUS)
        if status is None:
            killed = True
        elif status.get("status") == "running":
            pid = status.get("pid")
            killed = status.get("host") == host and isinstance(pid, int) and not _alive(pid)
        else:
            killed = False
        if killed:
            record = {"status": "abandoned", "found": time.time(), "was": status}
            with contextlib.suppress(OSError):
                write_text(directory / STATUS, json.dumps(record, indent=2, sort_keys=True))
                marked.append(directory)
    return marked


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


def write_text(path: Path, text: str) -> None:
    """Write a file atomically: a temporary file beside it, flushed, renamed over it."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise


def _dump(path: Path, value: Any) -> None:
    write_text(path, json.dumps(value, indent=2, sort_keys=True))


def write(
    directory: Path,
    spec: Path,
    text: str,
    ir: ExperimentIR,
    graph: Graph,
    cache: Cache,
    timings: dict[str, dict[str, Any]],
    device: str,
    mode: str = "full",
) -> None:
    """Every file of the run directory but its status (see `finish`); an OS error is a run error.
    Each file states the run's `mode` ("full", or "smoke" for `homogc run --smoke`): JSON files in a
    "mode" field (each entry's, in the map of timings), the spec copy in a first comment line, a smoke
    run's predictions in an array "mode" (predictions.json, the map of their node ids to names, says it only
    through the directory's name), the report in its header and scores.csv in a column."""
    smoke = SMOKE_LINE if mode == "smoke" else ""
    try:
        write_text(directory / "spec.homog", smoke + text)
        _dump(directory / "resolved.json", {**json.loads(ir.canonical_json()), "mode": mode})
        _dump(directory / "graph.json", {**json.loads(graph.render_json()), "mode": mode})
        _dump(directory / "environment.json", {**environment(device), "mode": mode})
        _dump(directory / "timings.json", {k: {**v, "mode": mode} for k, v in timings.items()})
        _write_predictions(directory, graph, cache, mode)
        reports = graph.of_op("report")
        if reports and cache.has(reports[0].id):
            _dump(directory / "results.json", {**cache.load(reports[0].id).meta["results"], "mode": mode})
    except OSError as error:
        raise io_failure(error, directory, "write the run directory") from error


def finish(directory: Path, spec: Path, outcome: str, mode: str = "full") -> None:
    """The status, last of all the files: "complete" only once every other file is whole."""
    status = {"status": outcome, "spec": str(spec), "finished": time.time(), "pid": os.getpid(), "mode": mode}
    try:
        _dump(directory / STATUS, status)
    except OSError as error:
        raise io_failure(error, directory / STATUS) from error


def _write_predictions(directory: Path, graph: Graph, cache: Cache, mode: str = "full") -> None:
    index, arrays, layers = {}, {}, {}
    for node in graph.nodes.values():
        if node.op in ("predict", "late_fuse") and cache.has(node.id):
            found = cache.load(node.id).arrays
            index[node.short_id] = node.name
            for key in ("labels", "probabilities", "truth", "examples"):
                arrays[f"{node.short_id}.{key}"] = found[key]
            for key in found:
                if key.startswith("layer."):  # the representations the metrics compared
                    layers[f"{node.short_id}.{key.removeprefix('layer.')}"] = found[key]
    if arrays:
        if mode != "full":  # a full run's arrays are its predictions only
            arrays["mode"] = np.array(mode)
        _savez(directory / "predictions.npz", arrays)
        _dump(directory / "predictions.json", index)  # a map of node ids to names: its npz says the mode
    if layers:
        if mode != "full":
            layers["mode"] = np.array(mode)
        _savez(directory / "representations.npz", layers)


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            np.savez_compressed(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
