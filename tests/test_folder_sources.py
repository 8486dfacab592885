"""Folders of image files and text files, one subfolder per class, as data sources."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from .conftest import run_cli

SPEC = """
experiment "folders" {
  seed = 0
}

dataset scans {
  source = image_folder(path = "images", size = 8, grey = true)
  split  = holdout(test = 0.3)
}

dataset notes {
  source = text_files(path = "texts", per = PER)
  split  = holdout(test = 0.3)
}

modality pixels {
  from      = scans.image
  type      = vector
  transform = [flatten, standardize]
}

modality words {
  from      = notes.text
  type      = vector
  transform = [hashed_ngrams(features = 64)]
}

model on_images {
  input = pixels
  arch  = sklearn.logistic_regression(max_iter = 200)
}

model on_text {
  input = words
  arch  = sklearn.logistic_regression(max_iter = 200)
}

metrics {
  accuracy
}
"""


def _write(root):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, level in (("dark", 40), ("light", 200)):
        folder = root / "images" / label
        folder.mkdir(parents=True)
        for i in range(20):  # various sizes: resized to 8 x 8
            side = 10 + i % 3
            pixels = np.clip(rng.normal(level, 20, size=(side, side, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")
    for label, words in (("pos", "good great fine"), ("neg", "bad awful poor")):
        folder = root / "texts" / label
        folder.mkdir(parents=True)
        for i in range(10):
            lines = [" ".join(rng.choice(words.split(), size=3)) for _ in range(5)]
            (folder / f"{i}.txt").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
        (folder / "ignored.md").write_text("not a .txt file")


@pytest.mark.parametrize(("per", "examples"), [("line", 100), ("file", 20)])
def test_image_and_text_folders_load_with_their_subfolders_as_labels(tmp_path, per, examples):
    pytest.importorskip("PIL")
    _write(tmp_path)
    (tmp_path / "spec.homog").write_text(SPEC.replace("PER", per), encoding="utf-8")
    ran = run_cli("run", "--quiet", "--cache", "cache", "--runs", "runs", "spec.homog", cwd=tmp_path)
    assert ran.status == 0, ran.stderr
    directory = tmp_path / ran.stdout.strip().splitlines()[-1]
    predictions = np.load(directory / "predictions.npz")
    results = json.loads((directory / "results.json").read_text())
    accuracy = {r["learner"]: r for r in results["metrics"]["accuracy"]["per_run"]}
    assert accuracy["on_images"]["value"] == 1.0  # dark and light images are told apart
    assert accuracy["on_text"]["value"] == 1.0  # the words give the class away
    sizes = {key: len(predictions[key]) for key in predictions.files if key.endswith("truth")}
    assert sorted(sizes.values()) == sorted([12, round(examples * 0.3)])


def test_a_missing_folder_is_a_located_error(tmp_path):
    (tmp_path / "spec.homog").write_text(SPEC.replace("PER", "file"), encoding="utf-8")
    ran = run_cli("run", "--quiet", "--cache", "cache", "--runs", "runs", "spec.homog", cwd=tmp_path)
    assert ran.status == 1
    found = re.search(r"spec\.homog:(\d+):\d+: error\[E301\]", ran.stderr)
    assert found and "hint:" in ran.stderr, ran.stderr
    assert "no data folder" in ran.stderr
    assert SPEC.splitlines()[int(found.group(1)) - 1].startswith("dataset ")  # at the dataset that reads it
