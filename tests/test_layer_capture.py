"""Representations at named layers: capture by forward hooks, selection, a spec compared layer by layer."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import homog.runtime.architectures  # noqa: F401  (registers the architectures)
from homog.compiler.ir import CallIR, LearnerIR
from homog.runtime.learners.capture import UnknownLayer, capture, representations
from homog.runtime.learners.torch_backend import network, replica_model

from .conftest import run_cli


def _mlp(hidden: list[int]) -> CallIR:
    return CallIR(name="mlp", params={"hidden": hidden, "dropout": 0.1, "activation": "relu"})


def _learner(kind: str, **calls) -> LearnerIR:
    inputs = ["a", "b"] if kind == "fusion" else ["a"]
    fields = {"arch": None, "strategy": None, "encoder": None, "head": None, **calls}
    return LearnerIR(
        name="x", kind=kind, backend="torch", inputs=inputs, training=None, representations=[], **fields
    )


@pytest.mark.parametrize(
    "learner",
    [
        _learner("model", arch=_mlp([8, 6])),
        _learner("fusion", strategy=CallIR(name="concat", params={}), encoder=_mlp([7]), head=_mlp([5])),
    ],
    ids=["mlp", "concat-fusion"],
)
def test_a_group_trained_replica_is_captured_with_its_own_weights(learner):
    shapes = [(4,)] * len(learner.inputs)
    group = replica_model(learner, shapes, 3, [1, 2], torch.device("cpu"))
    x = [np.random.default_rng(i).standard_normal((10, 4)).astype(np.float32) for i in range(len(shapes))]
    group.eval()
    with torch.no_grad():
        logits, penultimate = group([torch.from_numpy(v).unsqueeze(0).expand(2, -1, -1) for v in x])
    found = representations(learner, shapes, 3, group.state_of(1), x, ["all", "penultimate", "logits"])
    np.testing.assert_allclose(found["logits"], logits[1].numpy(), atol=1e-5)
    np.testing.assert_allclose(found["penultimate"], penultimate[1].numpy(), atol=1e-5)
    assert not any(name.endswith(".2") and "body" in name for name in found)  # dropout is skipped
    assert list(found)[-2:] == ["penultimate", "logits"]


def test_selectors_all_names_patterns_and_unknown_names():
    torch.manual_seed(0)
    cnn = network(
        _learner("model", arch=CallIR(name="cnn", params={"channels": [4, 6], "kernel": 3, "dropout": 0.0})),
        [(8, 8)],
        3,
    )
    x = [torch.randn(5, 8, 8)]
    every = capture(cnn, x, ["all"])
    assert list(every) == ["body.0", "body.1", "body.2", "body.3", "body.4", "body.5", "out"]  # call order
    assert every["body.0"].shape == (5, 4 * 8 * 8)  # (n, C, H, W) flattened, examples as rows
    assert list(capture(cnn, x, ["body.*"])) == [f"body.{i}" for i in range(6)]
    assert list(capture(cnn, x, ["out", "penultimate"])) == ["out", "penultimate"]
    with pytest.raises(UnknownLayer) as raised:
        capture(cnn, x, ["body.9"])
    assert raised.value.selector == "body.9" and "body.0" in raised.value.available


def test_a_transformer_layer_s_submodules_are_captured():
    torch.manual_seed(0)
    params = {"dim": 8, "heads": 2, "layers": 2, "dropout": 0.0}
    encoder = network(_learner("model", arch=CallIR(name="transformer", params=params)), [(5, 3)], 3)
    found = capture(encoder, [torch.randn(6, 5, 3)], ["all"])
    assert "layers.1.linear1" in found and "layers.0.attention" in found
    assert found["layers.0"].shape == (6, 5 * 8)


SPEC = """experiment "layers" {
  seed = 0
}

dataset digits {
  source = sklearn.digits
  split  = holdout(test = 0.25)
}

modality pixels {
  from      = digits.image
  type      = vector
  transform = [flatten, standardize]
}

model wide {
  input = pixels
  arch  = mlp(hidden = [32, 16])
}

model narrow {
  input = pixels
  arch  = mlp(hidden = [12])
}

train {
  epochs     = 2
  batch_size = 128
}

sweep {
  seed = 0..1
}

metrics {
  METRIC
}

report {
  path  = "report.html"
  title = "layers"
}
"""


def _run(tmp_path, metric: str):
    path = tmp_path / "spec.homog"
    path.write_text(SPEC.replace("METRIC", metric))
    return path, run_cli(
        "run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(path)
    )


def test_a_spec_compares_every_layer_pair_with_calibration(tmp_path):
    metric = "cka(kernel = debiased, layers = all, storage = float16, examples = 120, permutations = 19)"
    _, result = _run(tmp_path, metric)
    assert result.status == 0, result.stderr
    results = json.loads((tmp_path / result.stdout.strip() / "results.json").read_text())
    (entry,) = results["metrics"][metric.replace(" = ", "=")]["per_condition"]
    layers = entry["layers"]
    assert layers["examples"] == 120 and layers["storage"] == "float16"
    blocks = {(b["a"], b["b"]): b for b in layers["blocks"]}
    assert set(blocks) == {("narrow", "narrow"), ("narrow", "wide"), ("wide", "wide")}
    pair = blocks[("narrow", "wide")]
    assert pair["layers_a"] == ["body.0", "body.1", "out"]
    assert pair["layers_b"] == ["body.0", "body.1", "body.3", "body.4", "out"]
    assert np.array(pair["matrix"]).shape == (3, 5) and pair["pairs"] == 2
    null = pair["null"]
    assert null["permutations"] == 19 and 0 < null["best_p"] <= 1
    assert null["best_null_mean"] is not None and null["best_calibrated"] <= 1
    link = layers["prediction_link"]
    assert link["pairs"] == 6 and set(link) >= {"disagreement", "accuracy_difference", "method"}
    page = (tmp_path / result.stdout.strip() / "report.html").read_text()
    section = page[page.index('<section id="layers">') :]
    assert "narrow × wide: mean over 2 pair(s) of runs" in section
    assert "layer correspondence" in section and "Spearman" in section and "19 permutations" in section


def test_an_unknown_layer_is_found_at_check_time_where_the_registry_knows_the_layers(tmp_path):
    path = tmp_path / "spec.homog"
    path.write_text(SPEC.replace("METRIC", 'mutual_knn(layers = ["body.0", "body.7"])'))
    result = run_cli("check", str(path))
    assert result.status == 1
    assert f"{path}:36:3: error[E290]: 'wide' (mlp) has no layer 'body.7'" in result.stderr
    assert "hint: its layers are: penultimate, logits, body.0, body.1, body.2, body.3" in result.stderr


def test_an_unknown_layer_of_another_network_is_a_located_error_before_training(tmp_path):
    path = tmp_path / "spec.homog"
    text = SPEC.replace("METRIC", 'cka(layers = ["body.0", "body.9"])').replace(
        "epochs     = 2", "epochs     = 1"
    )
    text = text.replace("type      = vector\n  transform = [flatten, standardize]", "type      = image")
    text = text.replace("arch  = mlp(hidden = [32, 16])", "arch  = cnn(channels = [4])")
    text = text.replace("arch  = mlp(hidden = [12])", "arch  = cnn(channels = [3])")
    path.write_text(text)
    result = run_cli(
        "run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(path)
    )
    assert result.status == 1
    assert f"{path}:20:7: error[E370]: learner 'narrow' has no layer 'body.9'" in result.stderr
    assert "hint: its layers are: penultimate, logits, body, body.0, body.1, body.2" in result.stderr
    fits = [p for p in (tmp_path / "c").rglob("meta.json") if '"curves"' in p.read_text()]
    assert not fits  # found from the network's module tree, before any training


def test_plan_estimates_the_metric_memory_and_a_run_refuses_before_training(tmp_path, monkeypatch):
    metric = "cka(kernel = debiased, layers = all, permutations = 9)"
    path = tmp_path / "spec.homog"
    path.write_text(SPEC.replace("METRIC", metric))
    where = ("--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"))
    planned = run_cli("run", "--plan", *where, str(path))
    assert planned.status == 0, planned.stderr
    assert "layer-by-layer metric" in planned.stdout and "(feature form)" in planned.stdout
    monkeypatch.setenv("HOMOG_MEMORY_LIMIT", "100000")
    for args in (("--plan",), ("--quiet",)):
        refused = run_cli("run", *args, *where, str(path))
        assert refused.status == 1
        assert f"{path}:36:3: error[E371]: '{metric.replace(' = ', '=')}' needs about" in refused.stderr
        assert "hint: declare fewer examples" in refused.stderr
    fits = [p for p in (tmp_path / "c").rglob("meta.json") if '"curves"' in p.read_text()]
    assert not fits  # nothing was trained
