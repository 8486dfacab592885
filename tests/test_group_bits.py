"""Results depend only on their node id: a replica's bits depend on the replicas it is stacked with,
so a vectorised group's seeds are part of its fits' ids, and a group always trains whole."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from homog.compiler import compile_text

from .conftest import run_cli

SPEC = """
experiment "bits" {
  seed = 0
}

dataset iris {
  source = sklearn.iris
}

modality x {
  from      = iris.features
  type      = vector
  transform = [standardize]
}

model mlp { input = x, arch = mlp(hidden = [16], dropout = 0.1) }

train {
  epochs = 3
}

sweep {
  seed = SEEDS
}

metrics {
  accuracy
}
"""


def _spec(seeds: str) -> str:
    return SPEC.replace("SEEDS", seeds)


def _fits(text: str) -> dict[int, str]:
    graph = compile_text(text, "spec.homog").graph
    return {node.params["seed"]: node.id for node in graph.of_op("fit")}


def _run(folder: Path, text: str, cache: Path) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.homog").write_text(text, encoding="utf-8")
    ran = run_cli(
        "run", "--quiet", "--cache", str(cache), "--runs", str(folder / "runs"), "spec.homog", cwd=folder
    )
    assert ran.status == 0, ran.stderr
    directory = Path(ran.stdout.strip().splitlines()[-1])
    directory = directory if directory.is_absolute() else folder / directory
    with np.load(directory / "predictions.npz") as found:
        return {key: found[key] for key in found.files if key.endswith(".probabilities")}


def test_the_seeds_a_fit_is_stacked_with_are_part_of_its_id():
    alone, together = _fits(_spec("1..2")), _fits(_spec("0..2"))
    assert alone[1] != together[1] and alone[2] != together[2]
    (group,) = _groups(_spec("0..2"))  # one group: seeds 0, 1 and 2
    (other,) = _groups(_spec("1..2"))
    assert group and other and group != other


def _groups(text: str) -> set[str]:
    return {node.params["group"] for node in compile_text(text, "spec.homog").graph.of_op("fit")}


def test_a_cache_with_another_history_gives_the_same_bits(tmp_path):
    cold = _run(tmp_path / "cold", _spec("0..2"), tmp_path / "cold-cache")
    _run(tmp_path / "warm", _spec("1..2"), tmp_path / "warm-cache")  # seeds 1 and 2 first, then 0..2
    warm = _run(tmp_path / "warm", _spec("0..2"), tmp_path / "warm-cache")
    assert cold.keys() == warm.keys()
    for key in cold:
        np.testing.assert_array_equal(cold[key], warm[key])


def test_a_group_missing_one_member_retrains_whole_and_gives_the_same_bits(tmp_path):
    cache = tmp_path / "cache"
    first = _run(tmp_path / "spec", _spec("0..2"), cache)
    fit = _fits(_spec("0..2"))[1]
    shutil.rmtree(cache / "objects" / fit[:2] / fit)  # one replica of the group is gone
    predictions = compile_text(_spec("0..2"), "spec.homog").graph.of_op("predict")
    for node in predictions:  # and every prediction, so that the run must use the retrained weights
        shutil.rmtree(cache / "objects" / node.id[:2] / node.id)
    again = _run(tmp_path / "spec", _spec("0..2"), cache)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
