"""Learners built on learners: `init = NAME` starts a model from another model's trained weights."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from .conftest import run_cli

SPEC = """
experiment "init" {
  seed = 0
}

dataset digits {
  source = sklearn.digits
}

dataset few {
  source = sklearn.digits
  split  = holdout(test = 0.9)
}

modality pixels {
  from      = digits.image
  type      = vector
  transform = [flatten, standardize]
}

modality scarce {
  from      = few.image
  type      = vector
  transform = [flatten, standardize]
}

model pretrained {
  input = pixels
  arch  = mlp(hidden = [32])
}

model adapted {
  input = scarce
  arch  = mlp(hidden = [32])
  init  = pretrained
}

model scratch {
  input = scarce
  arch  = mlp(hidden = [32])
}

train {
  epochs = 10
}

sweep {
  seed = 0..1
}

metrics {
  accuracy
}
"""


def test_a_model_adapted_from_a_pretrained_one_reads_its_fit_at_the_same_point(tmp_path):
    (tmp_path / "spec.homog").write_text(SPEC)
    from homog.runtime.run import compile_spec

    graph = compile_spec(tmp_path / "spec.homog", SPEC).compilation.graph
    fits = {n.name: n for n in graph.of_op("fit")}
    assert fits["adapted seed=0"].inputs["init"] == fits["pretrained seed=0"].id
    assert fits["adapted seed=1"].inputs["init"] == fits["pretrained seed=1"].id
    assert "init" not in fits["scratch seed=0"].inputs
    assert "init" not in fits["scratch seed=0"].params["learner"]  # ids of learners without init unchanged


@pytest.mark.slow
def test_a_model_adapted_from_a_pretrained_one_beats_one_trained_from_scratch(tmp_path):
    (tmp_path / "spec.homog").write_text(SPEC)
    ran = run_cli("run", "--quiet", "--cache", "cache", "--runs", "runs", "spec.homog", cwd=tmp_path)
    assert ran.status == 0, ran.stderr
    results = json.loads((tmp_path / ran.stdout.strip().splitlines()[-1] / "results.json").read_text())
    score = {(r["learner"], r["seed"]): r["value"] for r in results["metrics"]["accuracy"]["per_run"]}
    # 180 training examples: from scratch about 0.45 after 10 epochs; from the pretrained weights about 0.9
    for seed in (0, 1):
        assert score[("adapted", seed)] > score[("scratch", seed)] + 0.2


def test_initialise_copies_matching_weights_and_keeps_the_others():
    torch = pytest.importorskip("torch")
    from homog.compiler.ir import CallIR, LearnerIR
    from homog.runtime.learners.torch_backend import initialise, replica_model

    def learner(arch: str, params: dict) -> LearnerIR:
        call = CallIR(name=arch, params=params)
        return LearnerIR(name="m", kind="model", backend="torch", inputs=["x"], arch=call, strategy=None,
                         encoder=None, head=None, training=None, representations=[])  # fmt: skip

    mlp = {"hidden": [4], "dropout": 0.0, "activation": "relu"}
    source = replica_model(learner("mlp", mlp), [(3,)], 5, [7], torch.device("cpu"))
    target = replica_model(learner("mlp", mlp), [(3,)], 2, [1, 2], torch.device("cpu"))
    before = target.state_of(0)
    initialise(target, source.state_of(0))
    for r in (0, 1):
        after = target.state_of(r)
        assert np.array_equal(after["weight.0"], source.state_of(0)["weight.0"])  # the hidden layer
        assert after["weight.1"].shape == (4, 2)  # the output layer for 2 classes keeps its own
    assert np.array_equal(target.state_of(0)["weight.1"], before["weight.1"])


def _check(tmp_path, text: str):
    (tmp_path / "spec.homog").write_text(text)
    return run_cli("check", "spec.homog", cwd=tmp_path)


def test_init_from_another_architecture_or_in_a_cycle_is_a_located_error(tmp_path):
    checked = _check(tmp_path, SPEC.replace("init  = pretrained", "init  = scratch").replace(
        "model scratch {\n  input = scarce\n  arch  = mlp(hidden = [32])\n",
        "model scratch {\n  input = scarce\n  arch  = mlp(hidden = [32])\n  init  = adapted\n"))  # fmt: skip
    assert checked.status == 1
    found = re.search(r"spec\.homog:(\d+):\d+: error\[E276\]", checked.stderr)
    assert found and "hint:" in checked.stderr, checked.stderr
    assert (
        "init" in SPEC.replace("init  = pretrained", "init  = scratch").splitlines()[int(found.group(1)) - 1]
    )

    other = SPEC.replace("model pretrained {\n  input = pixels\n  arch  = mlp(hidden = [32])",
                         "model pretrained {\n  input = pixels\n  arch  = sklearn.knn")  # fmt: skip
    checked = _check(tmp_path, other)
    assert checked.status == 1
    found = re.search(r"spec\.homog:(\d+):(\d+): error\[E275\]", checked.stderr)
    assert found and "hint:" in checked.stderr, checked.stderr
    assert other.splitlines()[int(found.group(1)) - 1].strip() == "init  = pretrained"
