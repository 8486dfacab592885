"""Bounds before work, and what `run` would refuse, found by `check` (issue 14).

Each case was an internal error (exit 3), a run that grew without bound, or a
spec accepted by `check` that fails (or silently misbehaves) after training.
Now each is a located error with a hint, found before anything is expanded.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import pytest

from homog.compiler import compile_text

from .conftest import run_cli

HEAD = """experiment "bounds" {
  seed = 0
}

dataset digits {
  source = sklearn.digits
  split  = holdout(test = 0.25)
}

modality pixels {
  from = digits.image
  type = image
}

model cnn {
  input = pixels
  arch  = cnn()
}
"""  # 18 lines


def check(tmp_path: Path, text: str) -> tuple[int, list[dict]]:
    path = tmp_path / "spec.homog"
    path.write_text(text)
    result = run_cli("--format", "json", "check", str(path))
    assert result.status != 3, result.stderr
    assert "internal error" not in result.stderr
    return result.status, [json.loads(line) for line in result.stdout.splitlines()]


def first(tmp_path: Path, text: str, code: str) -> dict:
    status, diagnostics = check(tmp_path, text)
    assert status == 1
    found = [d for d in diagnostics if d["code"] == code]
    assert found, diagnostics
    assert found[0]["hint"]
    return found[0]


def at(diagnostic: dict) -> tuple[int, int]:
    return diagnostic["line"], diagnostic["column"]


# --------------------------------------------------------------------------- nesting


@pytest.mark.parametrize("levels", [65, 300, 1000])
def test_deep_lists_are_a_located_error(tmp_path, levels):
    text = HEAD.replace("arch  = cnn()", "arch  = cnn(channels = " + "[" * levels + "8" + "]" * levels + ")")
    found = first(tmp_path, text, "E122")
    # model { is level 1, cnn( level 2: the 63rd '[' opens level 65, 62 columns after the first.
    assert at(found) == (17, 26 + 62)
    assert "flatten" in found["hint"]


@pytest.mark.parametrize("levels", [65, 500])
def test_deep_calls_are_a_located_error(tmp_path, levels):
    text = HEAD.replace("arch  = cnn()", "arch  = " + "f(" * levels + ")" * levels)
    found = first(tmp_path, text, "E122")
    assert at(found) == (17, 12 + 2 * 63)


@pytest.mark.parametrize("levels", [65, 500])
def test_deep_blocks_are_a_located_error(tmp_path, levels):
    text = HEAD + "\n" + "a {\n" * levels + "}\n" * levels
    found = first(tmp_path, text, "E122")
    assert at(found) == (20 + 64, 3)


def test_sixty_four_levels_compile(tmp_path):
    text = HEAD.replace("arch  = cnn()", "arch  = cnn(channels = " + "[" * 62 + "8" + "]" * 62 + ")")
    _, diagnostics = check(tmp_path, text)
    assert "E122" not in {d["code"] for d in diagnostics}
    fmt = tmp_path / "spec.homog"
    assert run_cli("fmt", "--check", str(fmt)).status in (0, 1)


# --------------------------------------------------------------------------- literals


def test_an_integer_of_5000_digits_is_a_located_error(tmp_path):
    found = first(tmp_path, HEAD.replace("seed = 0", "seed = " + "9" * 5000), "E123")
    assert at(found) == (2, 10)
    assert "smaller" in found["hint"]


def test_an_integer_beyond_64_bits_is_a_located_error(tmp_path):
    found = first(tmp_path, HEAD.replace("seed = 0", "seed = 9223372036854775808"), "E123")
    assert at(found) == (2, 10)


def test_a_float_overflowing_to_infinity_is_a_located_error(tmp_path):
    found = first(tmp_path, HEAD + "\nsweep {\n  seed = 0..1e309\n}\n", "E123")
    assert at(found) == (21, 13)
    assert "exponent" in found["hint"]


def test_huge_integers_on_a_float_axis_are_a_located_error(tmp_path):
    found = first(tmp_path, HEAD + "\nsweep {\n  width = [1, " + "9" * 400 + "]\n}\n", "E123")
    assert at(found) == (21, 15)


def test_a_long_string_is_a_located_error(tmp_path):
    text = HEAD.replace('"bounds" {', '"bounds" {\n  description = "' + "a" * 20_000 + '"')
    found = first(tmp_path, text, "E124")
    assert at(found) == (2, 17)
    assert "shorten" in found["hint"]


# --------------------------------------------------------------------------- ranges and sweeps


def _bounded(text: str) -> tuple[float, int, list]:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        compilation = compile_text(text)
        return time.perf_counter() - start, tracemalloc.get_traced_memory()[1], compilation.diagnostics
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("stop", ["100000", "2147483648", "9223372036854775807"])
def test_a_long_range_is_refused_before_it_is_expanded(tmp_path, stop):
    text = HEAD + f"\nsweep {{\n  seed = 0..{stop}\n}}\n"
    found = first(tmp_path, text, "E125")
    assert at(found) == (21, 10)
    assert "fewer" in found["hint"]
    seconds, peak, _ = _bounded(text)
    assert seconds < 1 and peak < 20e6


def test_a_sweep_giving_too_many_runs_is_refused_before_it_is_expanded(tmp_path):
    axes = "  seed = 0..9999\n  width = [1, 2, 4, 8]\n  data_fraction = [0.25, 0.5, 0.75, 1]\n"
    text = HEAD + "\nsweep {\n" + axes + "}\n"
    found = first(tmp_path, text, "E254")
    assert at(found) == (20, 1)
    assert "160,000 runs" in found["message"]
    assert "fewer" in found["hint"]
    seconds, peak, _ = _bounded(text)
    assert seconds < 1 and peak < 50e6


def test_a_sweep_at_the_bound_compiles(tmp_path):
    status, diagnostics = check(tmp_path, HEAD + "\nsweep {\n  seed = 0..999\n}\n")
    assert status == 0, diagnostics


# --------------------------------------------------------------------------- what run would refuse


def test_an_experiment_seed_above_32_bits_is_a_located_error(tmp_path):
    found = first(tmp_path, HEAD.replace("seed = 0", "seed = 4294967296"), "E213")
    assert at(found) == (2, 10)
    assert "4294967295" in found["hint"]


def test_a_swept_seed_above_32_bits_is_a_located_error(tmp_path):
    found = first(tmp_path, HEAD + "\nsweep {\n  seed = [0, 4294967296]\n}\n", "E213")
    assert at(found) == (21, 14)
    assert "4294967295" in found["message"] and found["hint"]


def test_the_largest_seed_is_accepted(tmp_path):
    status, diagnostics = check(tmp_path, HEAD.replace("seed = 0", "seed = 4294967295"))
    assert status == 0, diagnostics


CLUSTER = HEAD + "\nsweep {\n  seed = 0..2\n}\n\nmetrics {\n  agreement\n  CLUSTER\n}\n"


def test_cluster_k_zero_is_a_located_error(tmp_path):
    found = first(tmp_path, CLUSTER.replace("CLUSTER", "cluster(by = agreement, k = 0)"), "E213")
    assert at(found) == (26, 31)
    assert "auto" in found["hint"]


def test_kmeans_k_above_the_runs_is_a_located_error(tmp_path):
    text = CLUSTER.replace("CLUSTER", "cluster(by = agreement, method = kmeans, k = 4)")
    found = first(tmp_path, text, "E257")
    assert at(found) == (26, 48)
    assert "at most 3" in found["hint"]


def test_kmeans_k_of_the_runs_or_fewer_compiles(tmp_path):
    text = CLUSTER.replace("CLUSTER", "cluster(by = agreement, method = kmeans, k = 3)")
    status, diagnostics = check(tmp_path, text)
    assert status == 0, diagnostics


def test_kmeans_counts_runs_that_are_one_fit_once(tmp_path):
    text = CLUSTER.replace(
        "model cnn {",
        "model linear {\n  input = pixels\n  arch  = sklearn.logistic_regression()\n}\n\nmodel cnn {",
    )
    text = text.replace("arch  = cnn()", "arch  = mlp()")
    text = text.replace("type = image", "type      = vector\n  transform = [flatten]")
    kmeans = "cluster(by = agreement, method = kmeans, k = {})"
    # mlp: 3 seeds; the logistic regression ignores the seed: 1 run. 4 items.
    assert check(tmp_path, text.replace("CLUSTER", kmeans.format(4)))[0] == 0
    found = first(tmp_path, text.replace("CLUSTER", kmeans.format(5)), "E257")
    assert "4 distinct runs" in found["message"]


def test_early_stopping_without_a_validation_split_is_a_located_error(tmp_path):
    text = HEAD + "\ntrain {\n  early_stopping = patience(epochs = 3)\n}\n"
    found = first(tmp_path, text, "E256")
    assert at(found) == (21, 20)
    assert "validation = 0.2" in found["hint"]
    assert found["related"] and found["related"][0]["line"] == 7


def test_early_stopping_in_a_learners_own_train_block_without_a_split(tmp_path):
    text = HEAD.replace("  split  = holdout(test = 0.25)\n", "").replace(
        "  arch  = cnn()\n", "  arch  = cnn()\n\n  train {\n    early_stopping = patience\n  }\n"
    )
    found = first(tmp_path, text, "E256")
    assert at(found) == (19, 22)


def test_early_stopping_with_a_validation_split_compiles(tmp_path):
    text = HEAD.replace("holdout(test = 0.25)", "holdout(test = 0.25, validation = 0.2)")
    text += "\ntrain {\n  early_stopping = patience(epochs = 3)\n}\n"
    status, diagnostics = check(tmp_path, text)
    assert status == 0, diagnostics


def test_a_zip_axis_also_set_plainly_is_a_located_error(tmp_path):
    text = HEAD + "\nsweep {\n  seed  = 0..4\n  scale = zip(width = [1, 2], seed = [0, 1])\n}\n"
    found = first(tmp_path, text, "E255")
    assert at(found) == (22, 31)
    assert "once" in found["hint"]
    assert found["related"][0]["line"] == 21


def test_an_axis_in_two_zips_is_a_located_error(tmp_path):
    text = HEAD + (
        "\nsweep {\n  a = zip(width = [1, 2], seed = [0, 1])\n"
        "  b = zip(data_fraction = [0.5, 1], width = [1, 2])\n}\n"
    )
    found = first(tmp_path, text, "E255")
    assert at(found) == (22, 37)
