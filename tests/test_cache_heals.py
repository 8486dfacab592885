"""A damaged cache entry is reported, recomputed, and the run ends as a clean run would.

Each entry records the size and SHA-256 of its files; a flipped bit, a truncated file, a missing
or garbled `meta.json`, an empty entry folder or a hand-edited value makes the entry not whole:
the next run warns, naming the node, recomputes it and writes the same results.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import run_cli

SPEC = """
experiment "heal" {
  seed = 0
}

dataset iris {
  source = sklearn.iris
}

modality flat {
  from = iris.features
  type = vector
}

model mlp {
  input = flat
  arch  = mlp(hidden = [8])
}

model linear {
  input = flat
  arch  = sklearn.logistic_regression()
}

train {
  epochs = 1
}

sweep {
  seed = 0..1
}

metrics {
  agreement
}
"""

# One node of each kind: (op, name).
NODES = [
    ("load", "iris"),
    ("view", "flat"),
    ("fit", "mlp seed=0"),
    ("predict", "mlp seed=0 clean"),
    ("metric", "agreement"),
    ("report", "heal"),
]


def _run(spec: Path, *extra: str):
    result = run_cli("run", "--quiet", *extra, str(spec))
    assert result.status == 0, result.stderr
    return result, Path(result.stdout.strip())


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """A folder with the spec and a complete cache (and the results of a clean run)."""
    folder = tmp_path_factory.mktemp("reference")
    spec = folder / "heal.homog"
    spec.write_text(SPEC)
    _run(spec)
    return folder


def _copy(reference: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(reference, folder, symlinks=True)
    return folder / "heal.homog"


def _nodes(run: Path) -> dict[tuple[str, str], dict]:
    return {(n["op"], n["name"]): n for n in json.loads((run / "graph.json").read_text())["nodes"]}


def _entry(spec: Path, node: dict) -> Path:
    return spec.parent / ".homog" / "objects" / node["id"][:2] / node["id"]


def _largest(entry: Path) -> Path:
    """The entry's arrays where it has some, else its meta.json."""
    return entry / "arrays.npz" if (entry / "arrays.npz").exists() else entry / "meta.json"


def _flip(entry: Path) -> None:
    path = _largest(entry)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def _truncate(entry: Path) -> None:
    path = _largest(entry)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _remove_meta(entry: Path) -> None:
    (entry / "meta.json").unlink()


def _garble_meta(entry: Path) -> None:
    (entry / "meta.json").write_text("{not json")


def _empty_folder(entry: Path) -> None:
    for file in entry.iterdir():
        file.unlink()


def _edit_value(entry: Path) -> None:
    meta = json.loads((entry / "meta.json").read_text())
    meta["edited by hand"] = 1
    (entry / "meta.json").write_text(json.dumps(meta, sort_keys=True))


DAMAGES = {"bit-flip": _flip, "truncation": _truncate, "missing-meta": _remove_meta}


def _assert_heals(reference: Path, spec: Path, op: str, name: str, stderr: str, run: Path) -> None:
    node = _nodes(run)[(op, name)]
    assert f"warning: cache entry of {op} '{name}' [{node['id'][:8]}] is damaged (" in stderr
    assert "recomputing" in stderr
    assert json.loads((run / "status.json").read_text())["status"] == "complete"
    expected = next((reference / "runs").iterdir()) / "results.json"
    assert json.loads((run / "results.json").read_text()) == json.loads(expected.read_text())
    timings = json.loads((run / "timings.json").read_text())
    assert timings[node["id"]]["how"] == "computed"
    assert {t["how"] for i, t in timings.items() if i != node["id"] and t["op"] in ("load", "view")} <= {
        "cached"
    }
    verified = run_cli("cache", "verify", str(spec))
    assert verified.status == 0, verified.stderr


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize(("op", "name"), NODES, ids=[op for op, _ in NODES])
def test_a_damaged_entry_is_reported_recomputed_and_the_results_are_a_clean_runs(
    reference, tmp_path, op, name, damage
):
    spec = _copy(reference, tmp_path)
    first = next((spec.parent / "runs").iterdir())
    DAMAGES[damage](_entry(spec, _nodes(first)[(op, name)]))
    result, run = _run(spec)
    assert run.resolve() != first.resolve()
    _assert_heals(reference, spec, op, name, result.stderr, run)


@pytest.mark.parametrize("damage", [_garble_meta, _empty_folder, _edit_value], ids=lambda f: f.__name__[1:])
def test_garbage_an_empty_folder_and_an_edited_value_are_recomputed(reference, tmp_path, damage):
    spec = _copy(reference, tmp_path)
    first = next((spec.parent / "runs").iterdir())
    damage(_entry(spec, _nodes(first)[("predict", "mlp seed=0 clean")]))
    result, run = _run(spec)
    _assert_heals(reference, spec, "predict", "mlp seed=0 clean", result.stderr, run)
    with __import__("numpy").load(run / "predictions.npz") as arrays:
        assert len(arrays.files) == 4 * 3  # every prediction whole: labels, probabilities, truth, examples


def test_a_damaged_entry_is_not_hidden_by_an_up_to_date_run(reference, tmp_path):
    """The same folder, the same spec: the re-run does not answer "up to date" over a damaged cache."""
    spec = _copy(reference, tmp_path)
    first, _ = _run(spec)  # the record of a complete run in this folder
    assert "up to date" in first.stderr or "run directory" not in first.stderr
    run = Path(first.stdout.strip())
    _flip(_entry(spec, _nodes(run)[("fit", "mlp seed=0")]))
    result, again = _run(spec)
    assert "up to date" not in result.stderr
    _assert_heals(reference, spec, "fit", "mlp seed=0", result.stderr, again)


def test_cache_verify_reports_damage_and_repair_removes_it(reference, tmp_path):
    spec = _copy(reference, tmp_path)
    run = next((spec.parent / "runs").iterdir())
    nodes = _nodes(run)
    _flip(_entry(spec, nodes[("fit", "mlp seed=0")]))
    _truncate(_entry(spec, nodes[("load", "iris")]))
    checked = run_cli("cache", "verify", str(spec))
    assert checked.status == 1
    assert f"damaged: fit 'mlp seed=0' [{nodes[('fit', 'mlp seed=0')]['id'][:8]}]" in checked.stderr
    assert "load 'iris'" in checked.stderr and "2 damaged" in checked.stderr
    repaired = run_cli("cache", "verify", "--repair", str(spec))
    assert repaired.status == 0
    assert not _entry(spec, nodes[("fit", "mlp seed=0")]).exists()
    assert run_cli("cache", "verify", "--cache", str(spec.parent / ".homog")).status == 0
    result, again = _run(spec)
    assert "warning" not in result.stderr
    expected = next((reference / "runs").iterdir())
    assert json.loads((again / "results.json").read_text()) == json.loads(
        (expected / "results.json").read_text()
    )
    assert run_cli("clean", str(spec)).status == 0
    assert not (spec.parent / ".homog").exists()
