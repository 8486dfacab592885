"""The execution graph: golden graphs of the shipped specs, and the properties of node ids."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from homog.compiler import compile_text
from homog.compiler import graph as graph_module
from homog.compiler.hashing import NotHashable, canonical_json, content_hash

from .conftest import run_cli
from .golden import GOLDEN, assert_golden

ROOT = Path(__file__).parent.parent
SPECS = sorted(p for p in (ROOT / "specs").glob("*.homog") if p.is_file())
QUICKSTART = (ROOT / "specs" / "quickstart.homog").read_text()


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_graph_of_each_shipped_spec_matches_golden(spec):
    result = run_cli("graph", "--format", "json", f"specs/{spec.name}", cwd=ROOT)
    assert result.status == 0, result.stderr
    assert_golden(result.stdout, GOLDEN / "graphs" / f"{spec.stem}.json")


def _graph(text: str):
    compilation = compile_text(text, "spec.homog")
    assert compilation.ok, compilation.diagnostics
    return compilation.graph


def _ids_by_op(text: str) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = {}
    for node in _graph(text).nodes.values():
        ids.setdefault(node.op, set()).add(node.id)
    return ids


def _changed(before: str, after: str) -> dict[str, int]:
    """How many nodes of each op got an id that the other graph does not have."""
    old, new = _graph(before), _graph(after)
    changed: dict[str, int] = {}
    for node in new.nodes.values():
        if node.id not in old.nodes:
            changed[node.op] = changed.get(node.op, 0) + 1
    return changed


def test_node_id_is_sha256_of_the_canonical_serialisation():
    for node in _graph(QUICKSTART).nodes.values():
        payload = {
            "op": node.op,
            "version": graph_module.OP_VERSIONS[node.op],
            "params": node.params,
            "deps": list(node.deps),
        }
        expected = hashlib.sha256(canonical_json(payload).encode()).hexdigest()
        assert node.id == expected


def test_comments_whitespace_and_declaration_order_change_no_id():
    blocks = QUICKSTART.split("\n\n")
    header, rest = blocks[0], blocks[1:]
    shuffled = "\n\n".join([header, *reversed(rest)])
    noisy = shuffled.replace("\n", "   # a comment\n").replace(" = ", "=")
    noisy = "# leading comment\n\n" + noisy
    assert set(_graph(noisy).nodes) == set(_graph(QUICKSTART).nodes)


def test_editing_a_metric_changes_only_metric_and_report_ids():
    edited = QUICKSTART.replace("cka(layer = logits)", "cka(layer = logits, kernel = rbf)")
    assert edited != QUICKSTART
    assert _changed(QUICKSTART, edited) == {"metric": 1, "report": 1}


def test_editing_one_learner_changes_only_its_nodes_and_what_depends_on_them():
    edited = QUICKSTART.replace("mlp(hidden = [64], dropout = 0.1)", "mlp(hidden = [64], dropout = 0.2)")
    assert edited != QUICKSTART
    before, after = _graph(QUICKSTART), _graph(edited)
    changed = {n.name for n in after.nodes.values() if n.id not in before.nodes}
    kept = {n.name for n in after.nodes.values() if n.id in before.nodes}
    assert {f"mlp seed={s}" for s in range(3)} <= changed
    assert {f"mlp seed={s} clean" for s in range(3)} <= changed
    assert not any(name.startswith("linear") for name in changed)
    # logistic regression does not use the seed: its three seeds are one fit
    assert {"linear", "linear clean", "digits", "pixels"} <= kept
    assert _changed(QUICKSTART, edited) == {"fit": 3, "predict": 3, "metric": 7, "report": 1}


def test_training_settings_do_not_touch_scikit_learn_fits():
    edited = QUICKSTART.replace("epochs     = 10", "epochs     = 12")
    changed = _changed(QUICKSTART, edited)
    assert changed["fit"] == 3  # the three mlp seeds, not the logistic regressions


def test_a_new_op_version_changes_that_op_and_everything_downstream(monkeypatch):
    before = _ids_by_op(QUICKSTART)
    monkeypatch.setitem(graph_module.OP_VERSIONS, "view", 2)
    after = _ids_by_op(QUICKSTART)
    assert after["load"] == before["load"]
    for op in ("view", "fit", "predict", "metric", "report"):
        assert not after[op] & before[op], op


@pytest.mark.parametrize("value", [object(), math.nan, math.inf, {1: "int key"}, {"x": {1, 2}}, b"bytes"])
def test_values_that_cannot_be_serialised_canonically_are_refused(value):
    with pytest.raises(NotHashable):
        content_hash({"params": value})


def test_canonical_json_is_independent_of_key_order():
    assert canonical_json({"b": 1, "a": [1.5, None, True]}) == canonical_json(
        {"a": [1.5, None, True], "b": 1}
    )
    assert canonical_json({"a": 1}) != canonical_json({"a": 1.0})


def test_identical_work_is_one_node():
    robustness = (ROOT / "specs" / "robustness.homog").read_text()
    untargeted = robustness.replace("    learners = [cnn]  # only the CNN reads the image\n", "")
    assert untargeted != robustness
    compilation = compile_text(untargeted, "spec.homog")
    assert compilation.ok and [d.code.id for d in compilation.diagnostics] == ["W206"]
    graph = compilation.graph
    # mlp sees only `flat`, which `occluded` does not shift: its occluded predictions are its clean ones.
    names = [n.name for n in graph.of_op("predict") if n.name.startswith("mlp seed=0")]
    assert sorted(names) == ["mlp seed=0 clean", "mlp seed=0 noisy"]
    # k-NN does not use the seed: one fit for the five seeds, one prediction per shift.
    assert [n.name for n in graph.of_op("fit") if n.name.startswith("knn")] == ["knn"]
    assert sorted(n.name for n in graph.of_op("predict") if n.name.startswith("knn")) == [
        "knn clean",
        "knn noisy",
    ]


@pytest.mark.parametrize("fmt", ["text", "dot", "mermaid", "json"])
def test_graph_formats(fmt):
    result = run_cli("graph", "--format", fmt, "specs/quickstart.homog", cwd=ROOT)
    assert result.status == 0
    graph = _graph(QUICKSTART)
    if fmt == "json":
        assert [n["id"] for n in json.loads(result.stdout)["nodes"]] == list(graph.nodes)
    elif fmt == "text":
        assert result.stdout.startswith("18 nodes: 1 load, 1 view, 4 fit, 4 predict, 7 metric, 1 report\n")
        assert result.stdout.splitlines()[1].startswith("report")
    elif fmt == "dot":
        assert result.stdout.startswith("digraph homog {")
        assert result.stdout.count("->") == sum(len(n.deps) for n in graph.nodes.values())
    else:
        assert result.stdout.startswith("flowchart BT")
        assert result.stdout.count("-->") == sum(len(n.deps) for n in graph.nodes.values())


def test_graph_of_a_wrong_spec_exits_1_with_diagnostics(tmp_path):
    path = tmp_path / "bad.homog"
    path.write_text(QUICKSTART.replace("input = pixels", "input = pixles", 1))
    result = run_cli("graph", str(path))
    assert result.status == 1
    assert "error[E230]: no modality is named 'pixles'" in result.stderr
    assert result.stdout == ""
