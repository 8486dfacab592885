"""A plugin adds a registry entry through the `homog.registry` entry-point group.

A fake installed distribution (a package and its `.dist-info` folder on PYTHONPATH) declares an
architecture, `fake.tiny_net`, whose entry names the module implementing it as a torch `nn.Module`.
The registry is built once per process, so `homogc` runs in a subprocess that sees the plugin.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from homog.compiler.registry import ENTRY_POINT_GROUP

ENTRIES = '''
"""Registry entries of a fake plugin: an architecture implemented in `{implementation}`."""

from homog.compiler.fields import Schema
from homog.compiler.registry import Entry


class Params(Schema):
    hidden: int = 8


def entries():
    return [
        Entry(
            "architecture",
            "{name}",
            "a tiny network from a plugin",
            Params,
            accepts=frozenset({{"vector", "image", "sequence"}}),
            backend="torch",
            representations=("penultimate", "logits"),
            implementation="{implementation}",
        )
    ]
'''

NET = '''
"""The implementation of fake.tiny_net: registered when the runtime imports this module."""

import math

from torch import nn

from homog.runtime.registry import implements


@implements("architecture", "fake.tiny_net")
class TinyNet(nn.Module):
    def __init__(self, shape, out, hidden):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(math.prod(shape), hidden), nn.ReLU())
        self.head = nn.Linear(hidden, out)
        self.features = hidden

    def forward(self, x):
        h = self.body(x.flatten(1))
        return self.head(h), h
'''

SPEC = """
experiment "plugin" {
  seed = 0
}

dataset iris {
  source = sklearn.iris
  split  = holdout(test = 0.3)
}

modality features {
  from      = iris.features
  type      = vector
  transform = [standardize]
}

model tiny {
  input = features
  arch  = fake.tiny_net(hidden = 4)
}

train {
  epochs     = 2
  batch_size = 64
}

sweep {
  seed = 0..1
}

metrics {
  accuracy
  agreement
}
"""


def _install(root: Path, package: str, name: str, implementation: str, with_net: bool) -> None:
    """A package `package` and its dist-info, declaring its entries in the `homog.registry` group."""
    source = root / package
    source.mkdir()
    (source / "__init__.py").write_text("", encoding="utf-8")
    entries = ENTRIES.format(name=name, implementation=implementation)
    (source / "entries.py").write_text(entries, encoding="utf-8")
    if with_net:
        (source / "net.py").write_text(NET, encoding="utf-8")
    info = root / f"{package}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n{package} = {package}.entries:entries\n", encoding="utf-8"
    )


def _homogc(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "homog.runtime", *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, env=env, timeout=300)


def _run(root: Path, spec: str) -> subprocess.CompletedProcess:
    return _homogc(root, "run", "--smoke", "--quiet", "--cache", "cache", "--runs", "runs", spec)


@pytest.fixture
def plugin(tmp_path) -> Path:
    _install(tmp_path, "fake_homog_plugin", "fake.tiny_net", "fake_homog_plugin.net", with_net=True)
    (tmp_path / "spec.homog").write_text(SPEC, encoding="utf-8")
    return tmp_path


def test_a_plugin_architecture_checks_and_runs(plugin):
    checked = _homogc(plugin, "check", "spec.homog")
    assert checked.returncode == 0, checked.stderr

    ran = _run(plugin, "spec.homog")
    assert ran.returncode == 0, ran.stderr
    directory = plugin / ran.stdout.strip().splitlines()[-1]
    results = json.loads((directory / "results.json").read_text(encoding="utf-8"))

    (learner,) = results["learners"]
    assert learner["name"] == "tiny"
    assert learner["arch"] == {"name": "fake.tiny_net", "params": {"hidden": 4}}
    assert learner["backend"] == "torch"
    fits = [fit for fit in results["fits"] if fit["learner"] == "tiny"]
    assert sorted(fit["seed"] for fit in fits) == [0, 1]
    # hidden = 4 on iris's 4 features and 3 classes: (4 * 4 + 4) + (4 * 3 + 3) parameters
    assert {fit["parameters"] for fit in fits} == {35}
    runs = results["metrics"]["accuracy"]["per_run"]
    assert {run["learner"] for run in runs} == {"tiny"} and len(runs) == 2
    assert all(0 <= run["value"] <= 1 for run in runs)
    assert results["metrics"]["agreement"]["per_condition"]
    assert (directory / "report.html").is_file()


def test_a_plugin_whose_implementation_is_missing_gives_a_located_error(tmp_path):
    _install(tmp_path, "broken_homog_plugin", "fake.tiny_net", "broken_homog_plugin.nowhere", with_net=False)
    (tmp_path / "spec.homog").write_text(SPEC, encoding="utf-8")

    checked = _homogc(tmp_path, "check", "spec.homog")
    assert checked.returncode != 3, checked.stderr

    ran = _run(tmp_path, "spec.homog")
    assert ran.returncode not in (0, 3), ran.stderr  # 3 is a bug in homogc, not a spec or plugin error
    assert "internal error" not in ran.stderr, ran.stderr
    assert re.search(r"spec\.homog:\d+:\d+: error\[E321\]", ran.stderr), f"not located:\n{ran.stderr}"
    assert "broken_homog_plugin.nowhere" in ran.stderr, ran.stderr
    assert "hint: install the plugin" in ran.stderr, ran.stderr
    assert "bug in homogc" not in ran.stderr, ran.stderr


def test_the_plugin_is_not_seen_without_its_distribution(tmp_path):
    """Without the plugin on the path the same spec is a located spec error, not a crash."""
    (tmp_path / "spec.homog").write_text(SPEC, encoding="utf-8")
    checked = _homogc(tmp_path, "check", "spec.homog")
    assert checked.returncode == 1, checked.stderr
    assert "fake.tiny_net" in checked.stderr
    assert "spec.homog:" in checked.stderr
