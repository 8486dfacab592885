"""What the compiler knows about populations (issue 13): identical fits are one run, comparisons are
made only on the same test examples, and a condition applies to the learners it names.

Each user-facing diagnostic is asserted with its code, its location (line:column) and its hint.
"""

from __future__ import annotations

import json

import pytest

from homog.compiler import compile_text

from .conftest import run_cli

HEADER = """experiment "t" {
  seed = 0
}

dataset digits {
  source = sklearn.digits
}

modality flat {
  from      = digits.image
  type      = vector
  transform = [flatten]
}
"""

IRIS = """
dataset iris {
  source = sklearn.iris
}

modality petals {
  from = iris.features
  type = vector
}
"""

PIXELS = """
modality pixels {
  from = digits.image
  type = image
}
"""


def _model(name: str, modality: str, arch: str) -> str:
    return f"\nmodel {name} {{\n  input = {modality}\n  arch  = {arch}\n}}\n"


def _block(kind: str, *lines: str) -> str:
    return f"\n{kind} {{\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


SEEDS = _block("sweep", "seed = 0..2")


def _compiled(text: str):
    compilation = compile_text(text, "t.homog")
    assert compilation.ok, [f"{d.code.id} {d.message}" for d in compilation.diagnostics]
    return compilation


def _check(tmp_path, text: str, strict: bool = False) -> tuple[int, list[dict]]:
    path = tmp_path / "spec.homog"
    path.write_text(text)
    result = run_cli("--format", "json", "check", *(["--strict"] if strict else []), str(path))
    return result.status, [json.loads(line) for line in result.stdout.splitlines()]


def _at(text: str, marker: str, offset: int = 0) -> tuple[int, int]:
    """Line and column (from 1) of the `offset`-th character of the only occurrence of `marker`."""
    assert text.count(marker) == 1, marker
    before = text[: text.index(marker) + offset]
    return before.count("\n") + 1, len(before) - before.rfind("\n")


def _one(diagnostics: list[dict], code: str) -> dict:
    found = [d for d in diagnostics if d["code"] == code]
    assert len(found) == 1, diagnostics
    return found[0]


def _assert_located(diagnostic: dict, text: str, marker: str, offset: int = 0) -> None:
    assert (diagnostic["line"], diagnostic["column"]) == _at(text, marker, offset)
    assert diagnostic["hint"]


# --------------------------------------------------------------------------- identical fits


def test_seeds_of_a_logistic_regression_are_one_fit_and_three_runs():
    text = (
        HEADER
        + _model("linear", "flat", "sklearn.logistic_regression()")
        + _model("forest", "flat", "sklearn.random_forest(trees = 5)")
        + SEEDS
        + _block("metrics", "agreement")
    )
    compilation = _compiled(text)
    learners = {learner.name: learner for learner in compilation.ir.learners}
    assert (learners["linear"].seeded, learners["forest"].seeded) == (False, True)
    graph = compilation.graph
    fits = [node for node in graph.of_op("fit") if node.name.startswith("linear")]
    assert [node.name for node in fits] == ["linear"] and fits[0].params["seed"] == 0
    assert sorted(n.name for n in graph.of_op("fit") if n.name.startswith("forest")) == [
        f"forest seed={s}" for s in range(3)
    ]
    (predict,) = [node for node in graph.of_op("predict") if node.name.startswith("linear")]
    (metric,) = graph.of_op("metric")
    runs = [run for run in metric.params["runs"] if run["learner"] == "linear"]
    assert [run["seed"] for run in runs] == [0, 1, 2]
    assert [run["point"]["seed"] for run in runs] == [0, 1, 2]
    assert {run["node"] for run in runs} == {predict.id}
    assert not any(run["seeded"] for run in runs)
    assert all(run["seeded"] for run in metric.params["runs"] if run["learner"] == "forest")


def test_knn_and_a_late_fusion_of_deterministic_learners_ignore_the_seed():
    text = (
        HEADER
        + _model("linear", "flat", "sklearn.logistic_regression()")
        + _model("knn", "flat", "sklearn.knn()")
        + "\nfusion both {\n  inputs   = [linear, knn]\n  strategy = mean\n}\n"
        + SEEDS
    )
    compilation = _compiled(text)
    assert not any(learner.seeded for learner in compilation.ir.learners)
    graph = compilation.graph
    assert sorted(n.name for n in graph.of_op("fit")) == ["knn", "linear"]
    assert [n.name for n in graph.of_op("late_fuse")] == ["both clean"]


def test_a_data_fraction_below_one_subsamples_by_seed_so_each_seed_is_a_fit():
    text = HEADER + _model("linear", "flat", "sklearn.logistic_regression()")
    text += _block("sweep", "seed          = 0..2", "data_fraction = [0.5, 1.0]")
    graph = _compiled(text).graph
    fits = sorted(node.name for node in graph.of_op("fit"))
    assert fits == ["linear data=1", *(f"linear seed={s} data=0.5" for s in range(3))]


def test_a_comparison_of_one_learners_identical_fits_is_refused(tmp_path):
    text = HEADER + _model("linear", "flat", "sklearn.logistic_regression()") + SEEDS
    text += _block("metrics", "accuracy", "agreement")
    status, diagnostics = _check(tmp_path, text)
    assert status == 1
    found = _one(diagnostics, "E247")
    assert "one fit" in found["message"]
    _assert_located(found, text, "  agreement", 2)


# --------------------------------------------------------------------------- same examples


def test_a_fusion_of_modalities_of_two_datasets_is_an_error(tmp_path):
    text = HEADER + IRIS + "\nfusion both {\n  inputs   = [flat, petals]\n  strategy = concat\n}\n"
    status, diagnostics = _check(tmp_path, text)
    assert status == 1
    found = _one(diagnostics, "E248")
    assert "'flat' views 'digits'" in found["message"] and "'petals' views 'iris'" in found["message"]
    _assert_located(found, text, "petals]")
    assert found["related"][0]["column"] == _at(text, "[flat,", 1)[1]


def test_a_late_fusion_of_learners_on_two_datasets_is_an_error(tmp_path):
    text = (
        HEADER + IRIS + _model("mlp", "flat", "mlp()") + _model("forest", "petals", "sklearn.random_forest()")
    )
    text += "\nfusion both {\n  inputs   = [mlp, forest]\n  strategy = mean\n}\n"
    status, diagnostics = _check(tmp_path, text)
    assert status == 1
    _assert_located(_one(diagnostics, "E248"), text, "forest]")


def test_a_test_between_learners_on_two_datasets_is_an_error(tmp_path):
    text = (
        HEADER + IRIS + _model("mlp", "flat", "mlp()") + _model("forest", "petals", "sklearn.random_forest()")
    )
    text += SEEDS + _block("metrics", "mcnemar(mlp, forest)")
    status, diagnostics = _check(tmp_path, text)
    assert status == 1
    found = _one(diagnostics, "E249")
    assert "'mlp' (tested on 'digits')" in found["message"]
    _assert_located(found, text, "mcnemar(")


def test_a_pairwise_metric_with_no_two_runs_on_one_dataset_is_an_error(tmp_path):
    text = HEADER + IRIS + _model("mlp", "flat", "mlp()") + _model("linear", "petals", "sklearn.svm()")
    text += _block("metrics", "accuracy", "error_consistency")
    status, diagnostics = _check(tmp_path, text)
    assert status == 1
    found = _one(diagnostics, "E249")
    assert "'mlp' on 'digits'; 'linear' on 'iris'" in found["message"]
    _assert_located(found, text, "error_consistency")


def test_learners_on_two_datasets_are_compared_separately_with_a_warning(tmp_path):
    text = (
        HEADER
        + IRIS
        + _model("mlp", "flat", "mlp()")
        + _model("forest", "flat", "sklearn.random_forest()")
        + _model("linear", "petals", "sklearn.logistic_regression()")
        + SEEDS
        + _block("metrics", "agreement")
    )
    status, diagnostics = _check(tmp_path, text)
    assert status == 0
    found = _one(diagnostics, "W205")
    assert found["severity"] == "warning"
    assert "'mlp' and 'forest' on 'digits'; 'linear' on 'iris'" in found["message"]
    assert "'linear' has no run to compare with" in found["message"]  # its three seeds are one fit
    _assert_located(found, text, "agreement")
    assert _check(tmp_path, text, strict=True)[0] == 1


def test_learners_on_one_dataset_get_no_population_diagnostic():
    text = HEADER + _model("mlp", "flat", "mlp()") + _model("forest", "flat", "sklearn.random_forest()")
    compilation = _compiled(text + SEEDS + _block("metrics", "agreement", "mcnemar(mlp, forest)"))
    assert compilation.diagnostics == []


# --------------------------------------------------------------------------- conditions

CONDITIONED = HEADER + PIXELS + _model("cnn", "pixels", "cnn()") + _model("mlp", "flat", "mlp()")


def _occluded(*extra: str) -> str:
    return (
        CONDITIONED
        + SEEDS
        + "\nevaluate {\n  condition occluded {\n    pixels   = occlusion(size = 3)\n"
        + "".join(f"    {line}\n" for line in extra)
        + "  }\n}\n"
        + _block("metrics", "accuracy")
    )


def test_a_condition_that_shifts_nothing_a_learner_reads_is_a_warning(tmp_path):
    text = _occluded()
    status, diagnostics = _check(tmp_path, text)
    assert status == 0
    found = _one(diagnostics, "W206")
    assert "'occluded'" in found["message"] and "'mlp'" in found["message"]
    assert "learners = [cnn]" in found["hint"]
    _assert_located(found, text, "occluded {")
    assert _check(tmp_path, text, strict=True)[0] == 1


def test_a_named_learner_the_condition_does_not_shift_is_a_warning_at_its_name(tmp_path):
    text = _occluded("learners = [cnn, mlp]")
    status, diagnostics = _check(tmp_path, text)
    assert status == 0
    found = _one(diagnostics, "W206")
    assert "'mlp'" in found["message"] and "'cnn'" not in found["message"]
    assert "remove it from 'learners'" in found["hint"]
    _assert_located(found, text, "mlp]")


def test_a_condition_applies_only_to_the_learners_it_names():
    compilation = _compiled(_occluded("learners = [cnn]"))
    assert compilation.diagnostics == []
    occluded = next(c for c in compilation.ir.conditions if c.name == "occluded")
    assert (occluded.learners, occluded.shifted) == (["cnn"], ["cnn"])
    clean = compilation.ir.conditions[0]
    assert (clean.learners, clean.shifted) == (["cnn", "mlp"], [])
    graph = compilation.graph
    predicts = sorted(n.name for n in graph.of_op("predict") if n.name.endswith("seed=0 occluded"))
    assert predicts == ["cnn seed=0 occluded"]
    assert not [n for n in graph.of_op("predict") if n.name.startswith("mlp") and "occluded" in n.name]
    (metric,) = graph.of_op("metric")
    under = [
        (run["learner"], run["shifted"]) for run in metric.params["runs"] if run["condition"] == "occluded"
    ]
    assert under == [("cnn", True)] * 3
    assert {run["shifted"] for run in metric.params["runs"] if run["condition"] == "clean"} == {False}


def test_an_untargeted_condition_marks_the_runs_it_does_not_shift():
    compilation = compile_text(_occluded(), "t.homog")
    assert compilation.ok
    occluded = next(c for c in compilation.ir.conditions if c.name == "occluded")
    assert (occluded.learners, occluded.shifted) == (["cnn", "mlp"], ["cnn"])
    (metric,) = compilation.graph.of_op("metric")
    mlp = [run for run in metric.params["runs"] if run["condition"] == "occluded" and run["learner"] == "mlp"]
    clean = {run["node"] for run in metric.params["runs"] if run["condition"] == "clean"}
    assert len(mlp) == 3 and not any(run["shifted"] for run in mlp)
    assert {run["node"] for run in mlp} <= clean  # evaluated on clean data: the clean prediction


def test_a_late_fusion_named_by_a_condition_predicts_its_learners_under_it():
    text = CONDITIONED + "\nfusion both {\n  inputs   = [cnn, mlp]\n  strategy = mean\n}\n"
    text += "\nevaluate {\n  condition occluded {\n    pixels   = occlusion(size = 3)\n"
    text += "    learners = [both]\n  }\n}\n" + _block("metrics", "accuracy")
    compilation = _compiled(text)
    assert [c.shifted for c in compilation.ir.conditions if c.name == "occluded"] == [["both"]]
    graph = compilation.graph
    assert [n.name for n in graph.of_op("late_fuse") if n.name.endswith("occluded")] == ["both occluded"]
    (metric,) = graph.of_op("metric")
    assert [r["learner"] for r in metric.params["runs"] if r["condition"] == "occluded"] == ["both"]


def test_a_domain_shift_shifts_every_learner():
    text = CONDITIONED.replace(
        "dataset digits {", "dataset other {\n  source = sklearn.digits\n}\n\ndataset digits {"
    )
    text += "\nevaluate {\n  condition scanner {\n    dataset = other\n  }\n}\n"
    compilation = _compiled(text)
    assert compilation.diagnostics == []
    assert [c.shifted for c in compilation.ir.conditions if c.name == "scanner"] == [["cnn", "mlp"]]


@pytest.mark.parametrize(
    ("line", "code", "marker"),
    [
        ("learners = [cnn, mpl]", "E230", "mpl]"),
        ('learners = ["cnn"]', "E212", '["cnn"]'),
        ("learners = []", "E213", "[]"),
        ("learners = [flat]", "E232", "flat]"),
    ],
)
def test_wrong_learners_of_a_condition_are_located_errors(tmp_path, line, code, marker):
    text = _occluded(line)
    status, diagnostics = _check(tmp_path, text)
    assert status == 1
    _assert_located(_one(diagnostics, code), text, marker)
