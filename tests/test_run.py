"""`homogc run`: the run directory, the cache (re-runs, edits, kills), determinism, devices, data errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from homog.compiler.registry import default_registry
from homog.runtime.registry import implementation

from .conftest import run_cli

ROOT = Path(__file__).parent.parent

SPEC = """
experiment "small" {
  seed = 0
}

dataset digits {
  source = sklearn.digits
  split  = holdout(test = 0.3, validation = 0.1)
}

modality flat {
  from      = digits.image
  type      = vector
  transform = [flatten, standardize]
}

modality pixels {
  from      = digits.image
  type      = image
  transform = [standardize]
}

model mlp {
  input = flat
  arch  = mlp(hidden = [32], dropout = 0.1)
}

model cnn {
  input = pixels
  arch  = cnn(channels = [4])
}

model linear {
  input = flat
  arch  = sklearn.logistic_regression(c = 1.0)
}

train {
  epochs     = 3
  batch_size = 64
  optimizer  = adam(lr = 1e-2)
}

sweep {
  seed = 0..2
}

evaluate {
  condition noisy {
    flat     = gaussian_noise(std = 0.5)
    learners = [mlp, linear]
  }
}

metrics {
  accuracy
  error_consistency
  cka(layer = logits)
  systemic_failure
  mcnemar(mlp, linear)
}
"""


def _homogc(tmp: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "homog.runtime", *args]
    return subprocess.run(command, cwd=tmp, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "small.homog"
    path.write_text(SPEC)
    return path


def _explain(tmp: Path, spec: Path) -> dict[str, str]:
    result = _homogc(tmp, "run", "--explain", "--quiet", spec.name)
    assert result.returncode == 0, result.stderr
    status = {}
    for line in result.stderr.splitlines():
        if "[" in line and "]" in line:
            head, reason = line.rsplit("]  ", 1)
            status[head.split("  [")[0].strip()] = reason
    return status


def _recomputed(status: dict[str, str]) -> set[str]:
    return {name for name, reason in status.items() if reason != "cached"}


def test_run_writes_a_run_directory(tmp_path, spec):
    result = _homogc(tmp_path, "run", "--quiet", spec.name)
    assert result.returncode == 0, result.stderr
    directory = tmp_path / result.stdout.strip()
    for name in ("spec.homog", "resolved.json", "graph.json", "environment.json", "timings.json",
                 "predictions.npz", "results.json", "status.json"):  # fmt: skip
        assert (directory / name).is_file(), name
    assert json.loads((directory / "status.json").read_text())["status"] == "complete"
    results = json.loads((directory / "results.json").read_text())
    accuracy = results["metrics"]["accuracy"]["summary"]
    assert {row["learner"] for row in accuracy} == {"mlp", "cnn", "linear"}
    assert all(0.5 < row["mean"] <= 1.0 for row in accuracy if row["condition"] == "clean")
    environment = json.loads((directory / "environment.json").read_text())
    assert environment["device"] == "cpu" and environment["packages"]["torch"]


def test_rerun_recomputes_nothing_and_imports_no_torch(tmp_path, spec):
    assert _homogc(tmp_path, "run", "--quiet", spec.name).returncode == 0
    assert _recomputed(_explain(tmp_path, spec)) == set()
    code = (
        "import sys\n"
        "from homog.runtime.cli import main\n"
        f"assert main(['run', '--quiet', {spec.name!r}]) == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    check = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_editing_a_metric_recomputes_only_metric_and_report(tmp_path, spec):
    assert _homogc(tmp_path, "run", "--quiet", spec.name).returncode == 0
    spec.write_text(SPEC.replace("cka(layer = logits)", "cka(layer = logits, kernel = rbf)"))
    status = _explain(tmp_path, spec)
    assert _recomputed(status) == {"metric    cka(layer=logits, kernel=rbf)", "report    small"}
    assert status["metric    cka(layer=logits, kernel=rbf)"] == "new"


def test_editing_a_learner_recomputes_only_its_nodes_and_dependants(tmp_path, spec):
    assert _homogc(tmp_path, "run", "--quiet", spec.name).returncode == 0
    spec.write_text(SPEC.replace("dropout = 0.1", "dropout = 0.2"))
    status = _explain(tmp_path, spec)
    recomputed = _recomputed(status)
    ops = {name.split()[0] for name in recomputed}
    assert ops == {"fit", "predict", "metric", "report"}
    learners = {name.split()[1] for name in recomputed if name.split()[0] in ("fit", "predict")}
    assert learners == {"mlp"}
    assert status["fit       mlp seed=0"] == "a parameter changed: learner.arch.params.dropout: 0.1 → 0.2"
    assert status["predict   mlp seed=0 clean"] == "an input changed"
    assert _recomputed(_explain(tmp_path, spec)) == set()  # and the explained run computed them


def _predictions(directory: Path) -> dict[str, np.ndarray]:
    with np.load(directory / "predictions.npz") as data:
        return {key: data[key] for key in data.files}


def test_same_seeds_give_identical_predictions(tmp_path, spec):
    first = _homogc(tmp_path, "run", "--quiet", "--cache", "cache-a", spec.name)
    second = _homogc(tmp_path, "run", "--quiet", "--cache", "cache-b", spec.name)
    a, b = _predictions(tmp_path / first.stdout.strip()), _predictions(tmp_path / second.stdout.strip())
    assert a.keys() == b.keys() and len(a) > 0
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_a_killed_run_resumes_to_the_same_predictions(tmp_path, spec):
    reference = _homogc(tmp_path, "run", "--quiet", "--cache", "reference", spec.name)
    expected = _predictions(tmp_path / reference.stdout.strip())
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for lines_before_kill in (1, 4, 9, 14):
        process = subprocess.Popen(
            [sys.executable, "-m", "homog.runtime", "run", "--cache", "killed", spec.name],
            cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        seen = 0
        deadline = time.time() + 120
        while seen < lines_before_kill and time.time() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            seen += "/" in line  # a progress line
        process.send_signal(signal.SIGKILL)
        process.wait()
    for entry in (tmp_path / "killed" / "objects").glob("*/*"):
        assert (entry / "meta.json").is_file(), f"half-written cache entry {entry}"
        json.loads((entry / "meta.json").read_text())
        if (entry / "arrays.npz").exists():
            with np.load(entry / "arrays.npz", allow_pickle=False) as data:
                [data[key] for key in data.files]
    resumed = _homogc(tmp_path, "run", "--quiet", "--cache", "killed", spec.name)
    assert resumed.returncode == 0, resumed.stderr
    actual = _predictions(tmp_path / resumed.stdout.strip())
    assert actual.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key])


@pytest.mark.skipif("torch" in sys.modules and __import__("torch").cuda.is_available(), reason="has CUDA")
def test_cuda_without_cuda_is_a_located_error(tmp_path, spec):
    spec.write_text(SPEC.replace("  seed = 0\n", "  seed   = 0\n  device = cuda\n", 1))
    result = run_cli(
        "run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec)
    )
    assert result.status == 1
    assert (
        f"{spec}:4:12: error[E310]: the spec asks for device 'cuda', and this machine has no CUDA device"
        in (result.stderr)
    )
    assert "hint: use device = auto" in result.stderr
    assert not (tmp_path / "c" / "objects").exists() or not any((tmp_path / "c" / "objects").iterdir())


@pytest.mark.gpu
def test_quickstart_runs_on_cuda(tmp_path):
    result = _homogc(
        tmp_path, "run", "--quiet", "--device", "cuda", "--smoke", str(ROOT / "specs" / "quickstart.homog")
    )
    assert result.returncode == 0, result.stderr
    environment = json.loads((tmp_path / result.stdout.strip() / "environment.json").read_text())
    assert environment["device"] == "cuda"


def test_every_shipped_spec_runs_in_smoke_mode(tmp_path):
    shutil.copytree(ROOT / "specs" / "external", tmp_path / "external")  # the external runs' samples
    for shipped in sorted(p for p in (ROOT / "specs").glob("*.homog") if p.is_file()):
        spec_path = tmp_path / shipped.name  # a copy: the run's cache, runs and report go beside it
        shutil.copy(shipped, spec_path)
        if (ROOT / "specs" / "models").is_dir():  # the tiny backbones a spec reads (foundation.homog)
            shutil.copytree(ROOT / "specs" / "models", tmp_path / "models", dirs_exist_ok=True)
        result = _homogc(tmp_path, "run", "--smoke", "--quiet", spec_path.name)
        assert result.returncode == 0, f"{spec_path.name}: {result.stderr}"
        results = json.loads((tmp_path / result.stdout.strip() / "results.json").read_text())
        assert results["metrics"], spec_path.name


def test_every_registry_entry_has_an_implementation():
    for entry in default_registry().entries():
        assert implementation(entry.kind, entry.name) is not None, (entry.kind, entry.name)


def test_clean_empties_the_cache(tmp_path, spec):
    assert _homogc(tmp_path, "run", "--quiet", spec.name).returncode == 0
    result = _homogc(tmp_path, "clean")
    assert result.returncode == 0
    assert "removed" in result.stderr
    assert not (tmp_path / ".homog").exists()


def test_swept_hyper_parameters_and_a_domain_shift(tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    noise = np.random.default_rng(0).normal(0, 4, digits.images.shape)
    np.savez(tmp_path / "noisy.npz", image=(digits.images + noise).astype("float32"), target=digits.target)
    spec = tmp_path / "axes.homog"
    spec.write_text(
        SPEC.replace(
            "sweep {\n  seed = 0..2\n}", "sweep {\n  seed   = 0..1\n  depth  = [1, 2]\n  epochs = [1, 2]\n}"
        )
        .replace("model cnn {\n  input = pixels\n  arch  = cnn(channels = [4])\n}\n", "")
        .replace(
            "modality pixels {\n  from      = digits.image\n  type      = image\n"
            "  transform = [standardize]\n}\n",
            "",
        )
        .replace(
            "dataset digits {",
            'dataset noisy {\n  source = npz("noisy.npz", label = "target")\n}\n\ndataset digits {',
        )
        .replace(
            "  condition noisy {", "  condition shifted {\n    dataset = noisy\n  }\n\n  condition noisy {"
        )
    )
    result = _homogc(tmp_path, "run", "--quiet", spec.name)
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / result.stdout.strip() / "results.json").read_text())
    fits = {(f["learner"], f["seed"], f["point"]["epochs"], f["point"]["depth"]): f for f in results["fits"]}
    assert fits[("mlp", 0, 1, 1)]["epochs"] == 1
    assert fits[("mlp", 0, 2, 2)]["epochs"] == 2
    assert fits[("mlp", 0, 1, 2)]["parameters"] > fits[("mlp", 0, 1, 1)]["parameters"]
    # A scikit-learn learner is the same at every depth and epoch count: one fit node.
    assert len({f["node"] for f in results["fits"] if f["learner"] == "linear" and f["seed"] == 0}) == 1
    accuracy = {(r["learner"], r["condition"]): r["mean"] for r in results["metrics"]["accuracy"]["summary"]}
    assert accuracy[("linear", "shifted")] < accuracy[("linear", "clean")] - 0.2
