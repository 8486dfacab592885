"""External runs: each format read from its shipped sample (specs/external, real layouts), a malformed
file per format as a located data error (code, the spec's line, the file/line/field, hint), the join
reporting what it dropped, and the example spec running end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from homog.runtime.external import join, readers

from .conftest import run_cli

SPECS = Path(__file__).parent.parent / "specs"
SAMPLES = SPECS / "external"


@pytest.mark.parametrize(
    ("fmt", "args", "models", "shared"),
    [
        ("lm_eval", ("external/lm_eval",), 3, 11),
        ("helm", ("external/helm",), 2, 12),
        ("leaderboard", ("external/leaderboard",), 2, 12),
        ("table", ("external/table.csv", "model", "id", "prediction", "label", "subject"), 3, 12),
    ],
)
def test_each_format_reads_its_sample(fmt, args, models, shared):
    joined = join.join(readers.READERS[fmt](SPECS, *args))
    assert len(joined.models) == models
    assert joined.labels.shape == (models, shared)
    assert joined.probabilities.shape[:2] == (models, shared)
    assert (abs(joined.probabilities.sum(axis=2) - 1) < 1e-5).all()


def test_the_join_reports_what_it_dropped():
    joined = join.join(readers.lm_eval(SPECS, "external/lm_eval"))
    assert joined.dropped["answered_by_any"] == 12 and joined.dropped["shared"] == 11
    assert joined.dropped["missing_per_model"] == [
        {"model": "EleutherAI/pythia-160m", "missing": 1, "examples": ["11"]}
    ]
    answers = readers.table(SPECS, "external/table.csv", "model", "id", "prediction", "label", None)
    answers[1].gold[0] = "Z" if answers[1].gold[0] != "Z" else "Y"  # two labels for one example
    joined = join.join(answers)
    assert joined.dropped["labels_disagree"]["count"] == 1
    assert joined.dropped["shared"] == 11


def test_attributes_and_embeddings_in_every_format():
    table = readers.attributes(SPECS, "external/models.csv")
    assert table["Qwen/Qwen2.5-0.5B"] == {
        "family": "qwen",
        "provider": "Alibaba",
        "size": 0.5,
        "release_date": "2024-09-19",
    }
    found = readers.embeddings(SPECS, "external/embeddings")
    assert {m: v.shape for m, (_, v) in found.items()} == {
        "EleutherAI/pythia-160m": (12, 8),  # .npz
        "Qwen/Qwen2.5-0.5B": (12, 8),  # .npy + ids.txt
        "meta-llama/Llama-3.2-1B": (12, 8),  # .safetensors
    }


SPEC = """experiment "broken" {{
  seed = 0
}}

external population {{
  source = {source}
}}

metrics {{
  agreement
}}
"""


def _copy(tmp_path: Path, sample: str) -> Path:
    target = tmp_path / sample
    if (SAMPLES / sample).is_dir():
        shutil.copytree(SAMPLES / sample, target)
    else:
        shutil.copy(SAMPLES / sample, target)
    return target


def _break_lm_eval(tmp_path):
    folder = _copy(tmp_path, "lm_eval") / "Qwen__Qwen2.5-0.5B"
    file = next(folder.glob("*.jsonl"))
    lines = file.read_text().splitlines()
    row = json.loads(lines[2])
    del row["doc_id"]
    lines[2] = json.dumps(row)
    file.write_text("\n".join(lines) + "\n")
    return 'lm_eval(path = "lm_eval")', f"{file.name}, line 3, field 'doc_id': is missing"


def _break_helm(tmp_path):
    run = next(p for p in _copy(tmp_path, "helm").iterdir() if "Qwen" in p.name)
    state = json.loads((run / "scenario_state.json").read_text())
    del state["request_states"][4]["output_mapping"]
    (run / "scenario_state.json").write_text(json.dumps(state))
    return 'helm(path = "helm")', "scenario_state.json, request_states[4], field 'output_mapping': is missing"


def _break_leaderboard(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = _copy(tmp_path, "leaderboard") / "Qwen__Qwen2.5-0.5B-details"
    file = next(folder.glob("*.parquet"))
    rows = pq.read_table(file).to_pylist()
    rows[5]["target"] = "Q"  # not one of the options' letters
    pq.write_table(pa.Table.from_pylist(rows), file)
    return 'leaderboard(path = "leaderboard")', f"{file.name}, row 5, field 'target': is 'Q'"


def _break_table(tmp_path):
    file = _copy(tmp_path, "table.csv")
    lines = file.read_text().splitlines()
    cells = lines[7].split(",")
    cells[6] = "n/a"
    lines[7] = ",".join(cells)
    file.write_text("\n".join(lines) + "\n")
    return 'table(path = "table.csv")', "table.csv, line 8, field 'prob_B': is 'n/a', not a number"


@pytest.mark.parametrize("broken", [_break_lm_eval, _break_helm, _break_leaderboard, _break_table])
def test_a_malformed_file_is_a_located_data_error(tmp_path, broken):
    source, message = broken(tmp_path)
    spec = tmp_path / "broken.homog"
    spec.write_text(SPEC.format(source=source))
    result = run_cli(
        "run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec)
    )
    assert result.status == 1, result.stderr
    assert "broken.homog:5:10: error[E361]: " in result.stderr, result.stderr
    assert message in result.stderr, result.stderr
    assert "hint: " in result.stderr
    assert "E320" not in result.stderr and "Traceback" not in result.stderr


def test_a_missing_source_is_located(tmp_path):
    spec = tmp_path / "broken.homog"
    spec.write_text(SPEC.format(source='lm_eval(path = "nowhere")'))
    result = run_cli(
        "run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec)
    )
    assert result.status == 1
    assert "broken.homog:5:10: error[E360]: no lm-evaluation-harness output folder 'nowhere'" in result.stderr
    assert "hint: paths are relative to the spec's folder" in result.stderr


def test_the_example_spec_runs_every_format(tmp_path):
    spec = tmp_path / "external.homog"
    shutil.copy(SPECS / "external.homog", spec)
    shutil.copytree(SAMPLES, tmp_path / "external")
    result = run_cli(
        "run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec)
    )
    assert result.status == 0, result.stderr
    found = json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())
    assert sorted(found["externals"]) == ["harness", "helm_runs", "leaderboard_details", "table"]
    harness = found["externals"]["harness"]
    assert harness["dropped"]["missing_per_model"][0]["model"] == "EleutherAI/pythia-160m"
    capa = found["metrics"]["capa"]["per_condition"]
    assert {entry["dataset"] for entry in capa} == {"harness", "helm_runs", "leaderboard_details", "table"}
    assert all(row["kind"] == "external" for entry in capa for row in entry["runs"])
    wrong = found["metrics"]["agreement_when_wrong"]["per_condition"][0]
    assert wrong["chance"]["value"] == pytest.approx(1 / 3)
    assert found["metrics"]["cka(layer=penultimate)"]["per_condition"][0]["dataset"] == "harness"


def test_external_and_trained_runs_are_compared_on_the_same_examples(tmp_path):
    spec = tmp_path / "joined.homog"
    shutil.copy(SPECS / "external_beside_trained.homog", spec)
    (tmp_path / "external").mkdir()
    lines = (SAMPLES / "iris_models.csv").read_text().splitlines()
    # The logistic model never answered iris rows 0-29: every run is compared without them.
    kept = [line for line in lines if not (line.startswith("zoo/logistic,") and int(line.split(",")[1]) < 30)]
    (tmp_path / "external" / "iris_models.csv").write_text("\n".join(kept) + "\n")
    result = run_cli(
        "run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec)
    )
    assert result.status == 0, result.stderr
    found = json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())
    (entry,) = found["metrics"]["agreement"]["per_condition"]
    assert entry["dataset"] == "iris"
    kinds = {row["run"]: row["kind"] for row in entry["runs"]}
    assert kinds["zoo/tree"] == "external" and kinds["linear"] == "model"
    dropped = found["externals"]["zoo"]["dropped"]
    missing = {row["model"]: row["missing"] for row in dropped["missing_per_model"]}
    assert missing == {"zoo/tree": 1, "zoo/logistic": 30}
    (fold,) = dropped["dataset"]["folds"]
    assert fold["test_examples"] == 60 and 0 < fold["answered"] < 60
    # Trained and external runs alike are scored on the test examples every external model answered.
    (population,) = found["metrics"]["systemic_failure"]["per_condition"]
    for point in population["across_learners"]:  # one per seed
        assert {"linear", "mlp", "zoo/tree"} <= set(point["learners"])
        assert sum(point["failure_counts"]) == fold["answered"]


def test_answers_with_classes_the_dataset_lacks_are_a_located_error(tmp_path):
    text = (SPECS / "external_beside_trained.homog").read_text()
    spec = tmp_path / "joined.homog"
    spec.write_text(text)
    (tmp_path / "external").mkdir()
    rows = (SAMPLES / "iris_models.csv").read_text().splitlines()
    cells = rows[3].split(",")
    cells[2] = "setosa"  # a class name iris's integer classes do not have
    rows[3] = ",".join(cells)
    (tmp_path / "external" / "iris_models.csv").write_text("\n".join(rows) + "\n")
    result = run_cli(
        "run", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec)
    )
    assert result.status == 1
    line = next(n for n, t in enumerate(text.splitlines(), start=1) if t.startswith("external zoo"))
    assert f"joined.homog:{line}:10: error[E365]: " in result.stderr, result.stderr
    assert "predict classes dataset 'iris' does not have: ['setosa']" in result.stderr
    assert "hint: write the predictions with the dataset's class names" in result.stderr


def test_a_smoke_sample_joins_external_answers_by_their_rows_in_the_source(tmp_path):
    """Under --smoke a dataset is a sample of its rows, renumbered: the external answers still join by
    each example's row in the source (none of their labels differs from the dataset's)."""
    from sklearn.datasets import load_digits

    y = load_digits().target  # 1,797 rows, more than --smoke's 300
    lines = ["model,id,prediction,label"]
    for model, shift in (("a", 0), ("b", 1)):
        lines += [
            f"{model},{row},{(label + (row % 7 == 0) * shift) % 10},{label}" for row, label in enumerate(y)
        ]
    (tmp_path / "answers.csv").write_text("\n".join(lines) + "\n")
    spec = tmp_path / "smoke.homog"
    spec.write_text(
        'experiment "smoke" {\n  seed = 0\n}\n\ndataset digits {\n  source = sklearn.digits\n}\n\n'
        "modality pixels {\n  from = digits.features\n  type = vector\n}\n\n"
        "model linear {\n  input = pixels\n  arch  = sklearn.logistic_regression()\n}\n\n"
        'external outside {\n  source  = table(path = "answers.csv")\n  dataset = digits\n}\n\n'
        "metrics {\n  agreement\n}\n"
    )
    result = run_cli(
        "run", "--smoke", "--quiet", "--cache", str(tmp_path / "c"), "--runs", str(tmp_path / "r"), str(spec)
    )
    assert result.status == 0, result.stderr
    found = json.loads(next((tmp_path / "r").glob("*/results.json")).read_text())
    dataset = found["externals"]["outside"]["dropped"]["dataset"]
    assert dataset["labels_differ_from_dataset"]["count"] == 0
    (fold,) = dataset["folds"]
    assert fold["answered"] == fold["test_examples"]
    (entry,) = found["metrics"]["agreement"]["per_condition"]
    assert {row["run"] for row in entry["runs"]} == {"linear", "a", "b"}
