"""Pretrained backbones: check-time errors, one extraction per backbone, adaptation modes, counts.

Models are tiny and randomly initialised, built from configurations (transformers, timm,
torchvision), saved to a temporary folder and loaded through the path a user's spec takes.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from .backbone_models import configs_only, reviews, tiny_models
from .conftest import run_cli

HEAD = """
experiment "backbones" {
  seed = 0
}

dataset digits {
  source = sklearn.digits
}

modality pixels {
  from = digits.image
  type = image
}

train {
  epochs = 1
  batch_size = 64
}
"""


def _check(root: Path, body: str, name: str = "spec.homog"):
    (root / name).write_text(HEAD + body, encoding="utf-8")
    return run_cli("check", name, cwd=root)


def _located(stderr: str, code: str) -> tuple[int, int]:
    found = re.search(rf"spec\.homog:(\d+):(\d+): error\[{code}\]", stderr)
    assert found, f"no located {code}:\n{stderr}"
    assert "hint:" in stderr, stderr
    return int(found.group(1)), int(found.group(2))


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def configs(tmp_path) -> Path:
    return configs_only(tmp_path / "models").parent


def test_a_missing_backbone_is_a_located_error_at_its_path(configs):
    body = 'model probe {\n  input = pixels\n  arch  = timm(path = "models/nowhere")\n}\n'
    checked = _check(configs, body)
    assert checked.status == 1
    line, column = _located(checked.stderr, "E270")
    assert line == _line_of(HEAD + body, "models/nowhere")
    assert column == (HEAD + body).splitlines()[line - 1].index('"models/nowhere"') + 1
    assert "save_for_hf" in checked.stderr


def test_a_layer_the_backbone_lacks_is_a_located_error_with_the_layers_it_has(configs):
    body = 'model probe {\n  input = pixels\n  arch  = hf(path = "models/vit", layer = "hidden.9")\n}\n'
    checked = _check(configs, body)
    assert checked.status == 1
    line, _ = _located(checked.stderr, "E271")
    assert line == _line_of(HEAD + body, "hidden.9")
    assert "hidden.3" in checked.stderr  # a layer it has, proposed in the hint


def test_a_text_backbone_on_an_image_modality_is_a_located_error(configs):
    body = 'model probe {\n  input = pixels\n  arch  = hf(path = "models/bert")\n}\n'
    checked = _check(configs, body)
    assert checked.status == 1
    line, _ = _located(checked.stderr, "E272")
    assert line == _line_of(HEAD + body, "models/bert")
    assert "text model" in checked.stderr


def test_a_condition_on_a_backbones_input_and_a_backbone_in_a_fusion_are_refused(configs):
    body = """
model probe {
  input = pixels
  arch  = timm(path = "models/resnet")
}

fusion both {
  inputs   = [pixels, pixels]
  strategy = concat
  encoder  = timm(path = "models/resnet")
}

evaluate {
  condition noisy {
    pixels = gaussian_noise(std = 0.5)
  }
}
"""
    checked = _check(configs, body)
    assert checked.status == 1
    assert _located(checked.stderr, "E273")[0] == _line_of(HEAD + body, "gaussian_noise")
    assert _located(checked.stderr, "E274")[0] == _line_of(HEAD + body, "encoder")


def test_probes_of_one_backbone_share_one_extraction_keyed_by_its_weights(configs):
    from homog.runtime.run import compile_spec

    body = """
model linear {
  input = pixels
  arch  = timm(path = "models/resnet", layer = "block.2", head = linear)
}

model deep {
  input = pixels
  arch  = timm(path = "models/resnet", layer = "block.2", head = mlp, hidden = 16)
}

model other_layer {
  input = pixels
  arch  = timm(path = "models/resnet", layer = "block.3")
}

model tuned {
  input = pixels
  arch  = timm(path = "models/resnet", mode = finetune, blocks = 1)
}
"""
    spec = configs / "spec.homog"
    spec.write_text(HEAD + body, encoding="utf-8")
    graph = compile_spec(spec, spec.read_text()).compilation.graph
    extracts = graph.of_op("extract")
    outputs = sorted((n.params["output"], n.params["params"].get("layer", "")) for n in extracts)
    assert outputs == [("features", "block.2"), ("features", "block.3"), ("inputs", "")]
    shared = next(n for n in extracts if n.params["params"].get("layer") == "block.2")
    readers = [n for n in graph.of_op("fit") if shared.id in n.deps]
    assert len(readers) == 2  # the linear and the MLP probe
    # An edit of the weights changes the extraction's id, and every fit built on it.
    (configs / "models" / "resnet" / "model.safetensors").write_bytes(b"other weights")
    again = compile_spec(spec, spec.read_text()).compilation.graph
    assert {n.id for n in again.of_op("extract")}.isdisjoint({n.id for n in extracts})


# --------------------------------------------------------------------------- runs (torch)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    from homog.runtime.backbones.common import import_vision_libraries

    import_vision_libraries()  # torchvision (which timm imports) even where its compiled operators fail
    pytest.importorskip("timm")
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("backbones")
    shutil.copytree(tiny_models(), root / "models")
    reviews(root / "reviews.csv")
    return root


def _run(root: Path, name: str, *extra: str):
    return run_cli("run", "--smoke", "--quiet", "--cache", "cache", "--runs", "runs", *extra, name, cwd=root)


def _results(root: Path, stdout: str) -> tuple[Path, dict]:
    directory = root / stdout.strip().splitlines()[-1]
    return directory, json.loads((directory / "results.json").read_text(encoding="utf-8"))


def test_two_probes_cost_one_forward_pass_and_count_the_backbone_as_frozen(models):
    body = """
model linear {
  input = pixels
  arch  = timm(path = "models/resnet", layer = "block.2", size = 16)
}

model deep {
  input = pixels
  arch  = timm(path = "models/resnet", layer = "block.2", size = 16, head = mlp, hidden = 8)
}

model tuned {
  input = pixels
  arch  = timm(path = "models/resnet", size = 16, mode = finetune, blocks = 1)
}

metrics {
  accuracy
  cka(layer = penultimate)
}
"""
    (models / "probes.homog").write_text(HEAD + body, encoding="utf-8")
    ran = _run(models, "probes.homog")
    assert ran.status == 0, ran.stderr
    directory, results = _results(models, ran.stdout)
    timings = json.loads((directory / "timings.json").read_text(encoding="utf-8"))
    extracts = [t for t in timings.values() if t["op"] == "extract"]
    assert sorted(t["name"].split()[2] for t in extracts) == ["features", "inputs"]
    fits = {f["learner"]: f for f in results["fits"]}
    backbone = fits["linear"]["frozen"]
    assert backbone > 0 and fits["deep"]["frozen"] == backbone
    # block.2 of timm's test_resnet (its layer2) has 48 channels, spatially averaged; 10 classes
    assert fits["linear"]["parameters"] == (48 + 1) * 10
    assert fits["deep"]["parameters"] == (48 + 1) * 8 + (8 + 1) * 10
    # fine-tuning the last block: part of the backbone trains, the rest is frozen
    assert 0 < fits["tuned"]["frozen"] < backbone
    assert fits["tuned"]["parameters"] + fits["tuned"]["frozen"] > backbone

    explained = run_cli("run", "--smoke", "--explain", "--cache", "cache", "--runs", "runs", "probes.homog",
                        cwd=models)  # fmt: skip
    assert explained.status == 0, explained.stderr
    said = explained.stdout.splitlines() + explained.stderr.splitlines()
    lines = [line for line in said if "extract" in line]
    assert len(lines) == 2, lines


def test_a_text_backbone_reads_text_through_its_tokenizer(models):
    body = """
dataset reviews {
  source = csv("reviews.csv")
}

modality words {
  from = reviews.text
  type = text
}

model probe {
  input = words
  arch  = hf(path = "models/bert", layer = "hidden.2", pooling = mean, max_length = 12)
}

model adapted {
  input = words
  arch  = hf(path = "models/bert", mode = lora, rank = 2, max_length = 12)
}

metrics {
  accuracy
}
"""
    text = HEAD.replace("modality pixels {\n  from = digits.image\n  type = image\n}\n", "")
    text = text.replace("dataset digits {\n  source = sklearn.digits\n}\n", "")
    (models / "text.homog").write_text(text + body, encoding="utf-8")
    ran = _run(models, "text.homog")
    assert ran.status == 0, ran.stderr
    _, results = _results(models, ran.stdout)
    fits = {f["learner"]: f for f in results["fits"]}
    assert fits["probe"]["parameters"] == (32 + 1) * 2  # the tiny BERT's width, two classes
    assert 0 < fits["adapted"]["parameters"] < fits["adapted"]["frozen"]  # adapters and head only


# --------------------------------------------------------------------------- a plugin's own module

PLUGIN_ENTRIES = """
from homog.compiler.backbones import module_entry
from homog.compiler.fields import Schema


class Params(Schema):
    width: int = 8


def entries():
    return [module_entry("acme.encoder", "an encoder of our own", Params, "acme_backbone.net")]
"""

PLUGIN_NET = """
from torch import nn

from homog.runtime.registry import implements


class Encoder(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(4, width), nn.ReLU())
        self.blocks = nn.ModuleList([nn.Linear(width, width), nn.Linear(width, width)])

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            h = block(h).relu()
        return h


@implements("architecture", "acme.encoder")
def build(width):
    return Encoder(width)
"""

PLUGIN_SPEC = """
experiment "own-module" {
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

model probe_stem {
  input = features
  arch  = acme.encoder(width = 8, layer = "stem")
}

model probe_last {
  input = features
  arch  = acme.encoder(width = 8)
}

model tuned {
  input = features
  arch  = acme.encoder(width = 8, mode = finetune, blocks = 1)
}

train {
  epochs     = 2
  batch_size = 32
}

sweep {
  seed = 0..1
}

metrics {
  accuracy
  cka(layer = penultimate)
}
"""


def install_plugin(root: Path) -> dict[str, str]:
    """A package `acme_backbone` and its dist-info declaring its entry in `homog.registry`; the
    environment a subprocess needs to see it."""
    import os

    from homog.compiler.registry import ENTRY_POINT_GROUP

    package = root / "acme_backbone"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "entries.py").write_text(PLUGIN_ENTRIES)
    (package / "net.py").write_text(PLUGIN_NET)
    info = root / "acme_backbone-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme_backbone\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nacme = acme_backbone.entries:entries\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    return env


def test_a_plugins_own_module_is_probed_at_a_named_layer_and_fine_tuned(tmp_path):
    import subprocess
    import sys

    env = install_plugin(tmp_path)
    (tmp_path / "spec.homog").write_text(PLUGIN_SPEC)
    command = [sys.executable, "-m", "homog.runtime", "run", "--smoke", "--quiet", "--cache", "cache"]
    ran = subprocess.run([*command, "--runs", "runs", "spec.homog"], cwd=tmp_path, capture_output=True,
                         text=True, env=env, timeout=600)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    _, results = _results(tmp_path, ran.stdout)
    fits = {(f["learner"], f["seed"]): f for f in results["fits"]}
    backbone = (4 * 8 + 8) + 2 * (8 * 8 + 8)  # stem and two blocks
    assert fits[("probe_stem", 0)]["frozen"] == backbone
    assert fits[("probe_stem", 0)]["parameters"] == (8 + 1) * 3  # a linear head on the stem's 8 units
    # fine-tuning the last of its `blocks`: that block and the head train
    assert fits[("tuned", 0)]["parameters"] == (8 * 8 + 8) + (8 + 1) * 3
    assert fits[("tuned", 0)]["frozen"] == backbone - (8 * 8 + 8)
    assert len(results["metrics"]["accuracy"]["per_run"]) == 6


# --------------------------------------------------------------------------- the acceptance spec

ACCEPTANCE = """
experiment "four-backbones" {
  seed = 0
}

dataset reviews {
  source = csv("reviews.csv")
}

dataset digits {
  source = sklearn.digits
}

dataset iris {
  source = sklearn.iris
}

modality words {
  from = reviews.text
  type = text
}

modality pixels {
  from = digits.image
  type = image
}

modality features {
  from      = iris.features
  type      = vector
  transform = [standardize]
}

model bert_l1 {
  input = words
  arch  = hf(path = "models/bert", layer = "hidden.1", pooling = cls, max_length = 12)
}

model bert_l2 {
  input = words
  arch  = hf(path = "models/bert", layer = "hidden.2", max_length = 12)
}

model bert_tuned {
  input = words
  arch  = hf(path = "models/bert", mode = finetune, blocks = 1, max_length = 12)
}

model resnet_b2 {
  input = pixels
  arch  = timm(path = "models/resnet", layer = "block.2", size = 16)
}

model resnet_b4 {
  input = pixels
  arch  = timm(path = "models/resnet", layer = "block.4", size = 16)
}

model resnet_tuned {
  input = pixels
  arch  = timm(path = "models/resnet", mode = finetune, blocks = 1, size = 16)
}

model shufflenet_stage3 {
  input = pixels
  arch  = torchvision(path = "models/shufflenet", layer = "stage3", size = 32)
}

model shufflenet_conv5 {
  input = pixels
  arch  = torchvision(path = "models/shufflenet", layer = "conv5", size = 32)
}

model shufflenet_tuned {
  input = pixels
  arch  = torchvision(path = "models/shufflenet", mode = full, size = 32)
}

model own_stem {
  input = features
  arch  = acme.encoder(width = 8, layer = "stem")
}

model own_last {
  input = features
  arch  = acme.encoder(width = 8)
}

model own_tuned {
  input = features
  arch  = acme.encoder(width = 8, mode = finetune)
}

train {
  epochs     = 2
  batch_size = 64
}

sweep {
  seed = 0..2
}

metrics {
  accuracy
  cka(layer = penultimate)
  cka(layer = logits)
}
"""


@pytest.mark.slow
def test_four_kinds_of_backbone_probed_at_two_layers_and_fine_tuned_run_end_to_end(models, tmp_path):
    import shutil
    import subprocess
    import sys

    env = install_plugin(tmp_path)
    shutil.copytree(models / "models", tmp_path / "models")
    shutil.copy(models / "reviews.csv", tmp_path / "reviews.csv")
    (tmp_path / "spec.homog").write_text(ACCEPTANCE)
    command = [sys.executable, "-m", "homog.runtime", "run", "--smoke", "--quiet", "--cache", "cache"]
    ran = subprocess.run([*command, "--runs", "runs", "spec.homog"], cwd=tmp_path, capture_output=True,
                         text=True, env=env, timeout=1800)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    directory, results = _results(tmp_path, ran.stdout)
    learners = {f["learner"] for f in results["fits"]}
    assert len(learners) == 12 and len(results["fits"]) == 36
    for fit in results["fits"]:  # every one reads a pretrained backbone; mode = full trains all of it
        full = fit["learner"] == "shufflenet_tuned"
        assert (fit["frozen"] == 0) if full else (fit["frozen"] > 0), fit["name"]
    timings = json.loads((directory / "timings.json").read_text())
    extracts = sorted(t["name"] for t in timings.values() if t["op"] == "extract")
    # one per (backbone, layer) for the probes, one per backbone's prepared inputs for the tuned
    assert len(extracts) == 12, extracts
    for label in ("cka(layer=penultimate)", "cka(layer=logits)"):
        assert results["metrics"][label]["per_condition"], label


def test_a_layer_only_the_loaded_model_lacks_is_a_located_run_error(models):
    arch = 'torchvision(path = "models/shufflenet", layer = "stage9")'
    body = f"model probe {{\n  input = pixels\n  arch  = {arch}\n}}\n"
    (models / "layer.homog").write_text(HEAD + body, encoding="utf-8")
    ran = _run(models, "layer.homog")
    assert ran.status == 1, ran.stderr
    found = re.search(r"layer\.homog:(\d+):\d+: error\[E350\]", ran.stderr)
    assert found and "hint:" in ran.stderr, ran.stderr
    assert "stage3" in ran.stderr or "stage4" in ran.stderr  # the closest layers it has
    assert (HEAD + body).splitlines()[int(found.group(1)) - 1].startswith("model probe")
