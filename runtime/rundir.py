"""The run directory: what a run read, computed and concluded, written once at its end."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from homog.compiler.graph import Graph
from homog.compiler.ir import ExperimentIR

from .cache import Cache


def make(root: Path, text: str) -> Path:
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


def _dump(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True))


def write(
    directory: Path,
    spec: Path,
    text: str,
    ir: ExperimentIR,
    graph: Graph,
    cache: Cache,
    timings: dict[str, dict[str, Any]],
    device: str,
    outcome: str,
) -> None:
    (directory / "spec.homog").write_text(text)
    _dump(directory / "resolved.json", json.loads(ir.canonical_json()))
    (directory / "graph.json").write_text(graph.render_json())
    _dump(directory / "environment.json", environment(device))
    _dump(directory / "timings.json", timings)
    _write_predictions(directory, graph, cache)
    reports = graph.of_op("report")
    if reports and cache.has(reports[0].id):
        _dump(directory / "results.json", cache.load(reports[0].id).meta["results"])
    _dump(directory / "status.json", {"status": outcome, "spec": str(spec), "finished": time.time()})


def _write_predictions(directory: Path, graph: Graph, cache: Cache) -> None:
    index, arrays = {}, {}
    for node in graph.nodes.values():
        if node.op in ("predict", "late_fuse") and cache.has(node.id):
            found = cache.load(node.id).arrays
            index[node.short_id] = node.name
            for key in ("labels", "probabilities", "truth", "examples"):
                arrays[f"{node.short_id}.{key}"] = found[key]
    if arrays:
        np.savez_compressed(directory / "predictions.npz", **arrays)
        _dump(directory / "predictions.json", index)
