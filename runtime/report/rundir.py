"""A finished run directory as the report reads it: the typed results and the files beside them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..results import Results, load_results


@dataclass(frozen=True)
class RunDirectory:
    results: Results
    spec: str
    graph: dict[str, Any]
    environment: dict[str, Any]
    timings: dict[str, dict[str, Any]]
    status: dict[str, Any]
    directory: str  # its name: "<UTC time>-<spec hash>"


def load_run(directory: Path) -> RunDirectory:
    directory = Path(directory)

    def read(name: str) -> Any:
        return json.loads((directory / name).read_text(encoding="utf-8"))

    return RunDirectory(
        results=load_results(directory),
        spec=(directory / "spec.homog").read_text(encoding="utf-8"),
        graph=read("graph.json"),
        environment=read("environment.json"),
        timings=read("timings.json"),
        status=read("status.json"),
        directory=directory.name,
    )


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("homog.runtime.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
