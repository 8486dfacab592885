"""Every registry entry, end to end (in the spirit of scikit-learn's `parametrize_with_checks`).

For each entry of the default registry a small spec that uses it is generated from a table keyed
by the entry's kind, so a new entry of a known kind is covered without touching this file, and an
entry of a kind the table lacks fails. Each spec must pass `homogc check`, run with `--smoke`, and
leave a run directory with a valid `results.json` and a `report.html` (which names the metric, for
a metric). Every entry must also have a runtime implementation.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from homog.compiler.registry import Entry, default_registry
from homog.runtime.registry import implementation

from .conftest import run_cli

ENTRIES = default_registry().entries()

# Arguments for entries whose defaults are too big, or which need some to mean anything. An entry
# missing here gets its defaults, with required numbers filled in (see `_call`).
ARGS: dict[tuple[str, str], str] = {
    ("split", "kfold"): "k = 2",
    ("split", "holdout"): "test = 0.3",
    ("transform", "pca"): "components = 2",
    ("transform", "crop"): "rows = [1, 7], columns = [1, 7]",
    ("transform", "hashed_ngrams"): "features = 32, n = 2",
    ("augment", "gaussian_noise"): "std = 0.1",
    ("augment", "feature_dropout"): "p = 0.1",
    ("architecture", "mlp"): "hidden = [8]",
    ("architecture", "cnn"): "channels = [4]",
    ("architecture", "cnn1d"): "channels = [4]",
    ("architecture", "gru"): "hidden = 8",
    ("architecture", "lstm"): "hidden = 8",
    ("architecture", "transformer"): "dim = 8, heads = 2, layers = 1",
    ("architecture", "sklearn.random_forest"): "trees = 5",
    ("architecture", "sklearn.gradient_boosting"): "trees = 5",
    ("architecture", "sklearn.logistic_regression"): "max_iter = 200",
    ("fusion", "sum"): "dim = 8",
    ("fusion", "product"): "dim = 8",
    ("fusion", "gated"): "dim = 8",
    ("fusion", "film"): "dim = 8",
    ("fusion", "attention"): "dim = 8, heads = 2",
    ("fusion", "tensor"): "dim = 4",
    ("fusion", "low_rank_tensor"): "rank = 2, dim = 8",
    ("stopping", "patience"): "epochs = 1",
    ("condition", "gaussian_noise"): "std = 0.5",
    ("condition", "feature_dropout"): "p = 0.3",
    ("condition", "occlusion"): "size = 3",
    # Pretrained backbones: tiny models written in the workspace (`_write_backbones`), as a user saves them
    ("architecture", "hf"): 'path = "tiny/vit", size = 16',
    ("architecture", "timm"): 'path = "tiny/resnet", size = 16',
    ("architecture", "torchvision"): 'path = "tiny/shufflenet", size = 16',
    ("source", "image_folder"): 'path = "folders/images", size = 8, grey = true',
    ("source", "text_files"): 'path = "folders/texts", per = line',
}
# Sources read from folders: the field a model reads, its type and transforms.
FOLDER_SOURCES = {
    "image_folder": ("image", "vector", "[flatten, standardize]"),
    "text_files": ("text", "vector", "[hashed_ngrams(features = 32)]"),
}


def _call(entry: Entry, extra: str = "") -> str:
    """The entry as a spec calls it: its ARGS, else its required numbers filled in; bare when none."""
    args = ARGS.get((entry.kind, entry.name))
    if args is None:
        filled = []
        given = {part.partition("=")[0].strip() for part in extra.split(",")}
        for name, info in entry.params.model_fields.items():
            if not info.is_required() or name in given:
                continue
            if info.annotation is int:
                filled.append(f"{name} = 1")
            elif info.annotation is float:
                filled.append(f"{name} = 0.5")
            else:
                pytest.fail(f"{entry.kind} {entry.name!r}: no value for its required parameter {name!r}")
        args = ", ".join(filled)
    args = ", ".join(part for part in (args, extra) if part)
    return f"{entry.name}({args})" if args else entry.name


# --------------------------------------------------------------------------- spec pieces

SEQUENCE_FILE, TABLE_FILE = "sequences.npz", "reviews"
MLP = "mlp(hidden = [8])"
LINEAR = "sklearn.logistic_regression(max_iter = 200)"


def _block(kind: str, label: str, *members: str) -> str:
    head = f"{kind} {label} " if label else f"{kind} "
    return head + "{\n" + "".join(f"  {member}\n" for member in members) + "}\n"


def _dataset(name: str, source: str, split: str = "holdout(test = 0.3)") -> str:
    return _block("dataset", name, f"source = {source}", f"split = {split}")


def _modality(name: str, from_: str, type_: str, transform: str = "[]", augment: str | None = None) -> str:
    members = [f"from = {from_}", f"type = {type_}", f"transform = {transform}"]
    if augment is not None:
        members.append(f"augment = {augment}")
    return _block("modality", name, *members)


def _model(name: str, input_: str, arch: str) -> str:
    return _block("model", name, f"input = {input_}", f"arch = {arch}")


def _iris(split: str = "holdout(test = 0.3)", transform: str = "[standardize]") -> list[str]:
    return [
        _dataset("iris", "sklearn.iris", split),
        _modality("features", "iris.features", "vector", transform),
    ]


def _digits_image(augment: str | None = None) -> list[str]:
    return [
        _dataset("digits", "sklearn.digits"),
        _modality("pixels", "digits.image", "image", "[standardize]", augment),
    ]


def _sequences(arch: str) -> list[str]:
    return [
        _dataset("seq", f'npz("{SEQUENCE_FILE}")'),
        _modality("series", "seq.series", "sequence"),
        _model("net", "series", arch),
    ]


def _spec(
    entry: Entry,
    blocks: list[str],
    *,
    train: tuple[str, ...] = (),
    evaluate: str = "",
    metrics: tuple[str, ...] = ("accuracy",),
    seeds: bool = False,
) -> str:
    parts = [_block("experiment", f'"{entry.kind}-{entry.name}"', "seed = 0"), *blocks]
    parts.append(_block("train", "", "epochs = 2", "batch_size = 64", *train))
    if seeds:
        parts.append(_block("sweep", "", "seed = 0..1"))
    if evaluate:
        parts.append(evaluate)
    parts.append(_block("metrics", "", *metrics))
    return "\n".join(parts)


# --------------------------------------------------------------------------- one generator per kind

# Sources read from a file: the file (written by `_write_data`), the field a model reads, its type.
FILE_SOURCES = {
    "npz": (SEQUENCE_FILE, "vector_field", "vector", "[standardize]"),
    "csv": (f"{TABLE_FILE}.csv", "text", "vector", "[hashed_ngrams(features = 32)]"),
    "parquet": (f"{TABLE_FILE}.parquet", "text", "vector", "[hashed_ngrams(features = 32)]"),
}


def source_spec(entry: Entry) -> str:
    if entry.name in FOLDER_SOURCES:
        field, type_, transform = FOLDER_SOURCES[entry.name]
        blocks = [
            _dataset("data", _call(entry)),
            _modality("view", f"data.{field}", type_, transform),
            _model("net", "view", MLP),
        ]
        return _spec(entry, blocks)
    if entry.fields is not None:  # the source says its fields: a model on its first vector field
        field = next(
            (n for n, f in entry.fields.items() if not f.is_label and f.shape and len(f.shape) == 1), None
        )
        assert field is not None, f"source {entry.name!r} has no vector field to learn from"
        blocks = [
            _dataset("data", entry.name),
            _modality("view", f"data.{field}", "vector", "[standardize]"),
            _model("net", "view", MLP),
        ]
        return _spec(entry, blocks)
    if entry.name not in FILE_SOURCES:
        pytest.fail(f"source {entry.name!r} names no fields and FILE_SOURCES has no file for it")
    if entry.name == "parquet":
        pytest.importorskip("pyarrow", reason="reading Parquet needs the optional package pyarrow")
    path, field, type_, transform = FILE_SOURCES[entry.name]
    blocks = [
        _dataset("data", f'{entry.name}(path = "{path}", label = "label")'),
        _modality("view", f"data.{field}", type_, transform),
        _model("net", "view", MLP),
    ]
    return _spec(entry, blocks)


def split_spec(entry: Entry) -> str:
    return _spec(entry, [*_iris(_call(entry)), _model("net", "features", MLP)])


TEXT_TRANSFORMS = {"hashed_ngrams"}


def transform_spec(entry: Entry) -> str:
    call = _call(entry)
    if entry.name in TEXT_TRANSFORMS:
        blocks = [
            _dataset("reviews", f'csv("{TABLE_FILE}.csv")'),
            _modality("words", "reviews.text", "vector", f"[{call}]"),
            _model("net", "words", MLP),
        ]
        return _spec(entry, blocks)
    params = _probe_params(entry)
    rule = entry.shape_rule
    if rule is None or not isinstance(rule((4,), params), str):  # takes a vector: iris
        return _spec(entry, [*_iris(transform=f"[{call}, standardize]"), _model("net", "features", MLP)])
    shape = rule((8, 8), params)
    assert not isinstance(shape, str), (
        f"transform {entry.name!r} takes neither a vector nor an image: {shape}"
    )
    transform = f"[{call}, standardize]" if len(shape) == 1 else f"[{call}, flatten, standardize]"
    blocks = [
        _dataset("digits", "sklearn.digits"),
        _modality("view", "digits.image", "vector", transform),
        _model("net", "view", MLP),
    ]
    return _spec(entry, blocks)


def _probe_params(entry: Entry):
    """The entry's parameters with every required number set to 1, to ask its shape rule."""
    required = {name: 1 for name, info in entry.params.model_fields.items() if info.is_required()}
    return entry.params.model_construct(**required)


def augment_spec(entry: Entry) -> str:
    call = _call(entry)
    if "vector" in entry.accepts:
        blocks = [
            _dataset("iris", "sklearn.iris"),
            _modality("features", "iris.features", "vector", "[standardize]", f"[{call}]"),
            _model("net", "features", MLP),
        ]
    else:
        assert "image" in entry.accepts, f"augmentation {entry.name!r} takes neither vectors nor images"
        blocks = [*_digits_image(f"[{call}]"), _model("net", "pixels", "cnn(channels = [4])")]
    return _spec(entry, blocks)


def architecture_spec(entry: Entry) -> str:
    call = _call(entry)
    if "vector" in entry.accepts:
        return _spec(entry, [*_iris(), _model("net", "features", call)])
    if "image" in entry.accepts:
        return _spec(entry, [*_digits_image(), _model("net", "pixels", call)])
    assert "sequence" in entry.accepts, f"architecture {entry.name!r} takes no vector, image or sequence"
    return _spec(entry, _sequences(call))


def fusion_spec(entry: Entry) -> str:
    call = _call(entry)
    if entry.late:  # combines two trained learners' outputs
        blocks = [
            *_iris(),
            _model("mlp", "features", MLP),
            _model("linear", "features", LINEAR),
            _block("fusion", "fused", "inputs = [mlp, linear]", f"strategy = {call}"),
        ]
    else:  # combines two modalities inside one network
        blocks = [
            *_iris(),
            _modality("scaled", "iris.features", "vector", "[minmax]"),
            _block(
                "fusion",
                "fused",
                "inputs = [features, scaled]",
                f"strategy = {call}",
                f"encoder = {MLP}",
                "head = mlp(hidden = [8])",
            ),
        ]
    return _spec(entry, blocks)


def _train_spec(key: str, validation: bool = False) -> Callable[[Entry], str]:
    def generate(entry: Entry) -> str:
        split = "holdout(test = 0.3, validation = 0.2)" if validation else "holdout(test = 0.3)"
        blocks = [*_iris(split), _model("net", "features", MLP)]
        return _spec(entry, blocks, train=(f"{key} = {_call(entry)}",))

    return generate


def condition_spec(entry: Entry) -> str:
    call = _call(entry)
    if "vector" in entry.accepts:
        blocks, view = [*_iris(), _model("net", "features", MLP)], "features"
    else:
        assert "image" in entry.accepts, f"condition {entry.name!r} takes neither vectors nor images"
        blocks, view = [*_digits_image(), _model("net", "pixels", "cnn(channels = [4])")], "pixels"
    evaluate = "evaluate {\n  condition shifted {\n" + f"    {view} = {call}\n" + "  }\n}\n"
    return _spec(entry, blocks, evaluate=evaluate)


# What a metric of each scope needs beside it in the metrics block, and how it is called.
METRIC_SCOPES: dict[str, Callable[[Entry], tuple[str, ...]]] = {
    "run": lambda entry: ("accuracy", _call(entry)) if entry.name != "accuracy" else ("accuracy",),
    "across": lambda entry: ("accuracy", _call(entry, "metric = accuracy")),
    "pairwise": lambda entry: (
        "accuracy",
        _call(entry, "layer = logits" if "layer" in entry.params.model_fields else ""),
    ),
    "population": lambda entry: ("accuracy", _call(entry)),
    "test": lambda entry: ("accuracy", _call(entry, "a = mlp, b = linear")),
    "cluster": lambda entry: ("accuracy", "error_consistency", _call(entry, "by = error_consistency")),
}


def metric_spec(entry: Entry) -> str:
    """Two learners over two seeds on iris (the same fits for every metric: cached after the first)."""
    if entry.scope not in METRIC_SCOPES:
        pytest.fail(f"metric {entry.name!r} has scope {entry.scope!r}, which METRIC_SCOPES lacks")
    blocks = [*_iris(), _model("mlp", "features", MLP), _model("linear", "features", LINEAR)]
    return _spec(entry, blocks, metrics=METRIC_SCOPES[entry.scope](entry), seeds=True)


def external_spec(entry: Entry) -> str:
    """An external source's shipped sample (specs/external), compared by agreement."""
    samples = Path(__file__).parent.parent / "specs" / "external"
    path = samples / ("table.csv" if entry.name == "table" else entry.name)
    return (
        f'experiment "every-{entry.name}" {{\n  seed = 0\n}}\n\n'
        f'external population {{\n  source = {entry.name}(path = "{path}")\n}}\n\n'
        "metrics {\n  accuracy\n  agreement\n}\n"
    )


GENERATORS: dict[str, Callable[[Entry], str]] = {
    "source": source_spec,
    "split": split_spec,
    "transform": transform_spec,
    "augment": augment_spec,
    "architecture": architecture_spec,
    "fusion": fusion_spec,
    "optimizer": _train_spec("optimizer"),
    "schedule": _train_spec("schedule"),
    "stopping": _train_spec("early_stopping", validation=True),
    "condition": condition_spec,
    "metric": metric_spec,
    "external": external_spec,
}


# --------------------------------------------------------------------------- data and tests


def _write_data(root: Path) -> None:
    rng = np.random.default_rng(0)
    n, steps, channels = 120, 6, 3
    labels = np.arange(n) % 3
    series = rng.normal(size=(n, steps, channels)).astype(np.float32)
    series[:, :, 0] += labels[:, None]  # learnable from the first channel
    vector = rng.normal(size=(n, 5)).astype(np.float32) + labels[:, None]
    group = (np.arange(n) // 3) % 2  # a field to break results down by
    np.savez(root / SEQUENCE_FILE, series=series, vector_field=vector, group=group, label=labels)
    words = {0: ["good", "great", "lovely"], 1: ["bad", "awful", "poor"]}
    rows = [
        (" ".join(rng.choice(words[i % 2], size=4)) + f" item {i}", i % 2) for i in range(80)
    ]  # fmt: skip
    with (root / f"{TABLE_FILE}.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return
    table = pa.table({"text": [text for text, _ in rows], "label": [label for _, label in rows]})
    pq.write_table(table, root / f"{TABLE_FILE}.parquet")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """One folder for every case: the data files, the specs, and a cache the cases share."""
    root = tmp_path_factory.mktemp("every_entry")
    _write_data(root)
    return root


def _write_folders(root: Path) -> None:
    """Folders of images and of text files, one subfolder per class."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, level in (("dark", 40), ("light", 200)):
        folder = root / "folders" / "images" / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(30):
            pixels = np.clip(rng.normal(level, 30, size=(9, 9, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")
    for label, words in (("pos", "good great fine"), ("neg", "bad awful poor")):
        folder = root / "folders" / "texts" / label
        folder.mkdir(parents=True, exist_ok=True)
        lines = [" ".join(rng.choice(words.split(), size=3)) for _ in range(30)]
        (folder / "notes.txt").write_text("\n".join(lines), encoding="utf-8")


def _write_backbones(root: Path) -> None:
    """Tiny randomly initialised models of each library, built from configurations (once)."""
    from .backbone_models import tiny_models

    if not (root / "tiny").exists():
        shutil.copytree(tiny_models(), root / "tiny")


def _id(entry: Entry) -> str:
    return f"{entry.kind}:{entry.name}"


def test_the_table_knows_every_kind():
    kinds = {entry.kind for entry in ENTRIES}
    assert kinds <= set(GENERATORS), f"no spec generator for {sorted(kinds - set(GENERATORS))}"


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_entry_has_an_implementation(entry):
    assert implementation(entry.kind, entry.name) is not None


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_entry_checks_runs_and_reports(entry, workspace):
    generate = GENERATORS.get(entry.kind)
    if generate is None:
        pytest.fail(f"no spec generator for the kind {entry.kind!r} of {entry.name!r}: add one to GENERATORS")
    if entry.kind == "source" and entry.name in FOLDER_SOURCES:
        pytest.importorskip("PIL")
        _write_folders(workspace)
    if entry.backbone:
        _write_backbones(workspace)
    text = generate(entry)
    spec = workspace / f"{entry.kind}-{entry.name.replace('.', '_')}.homog"
    spec.write_text(text, encoding="utf-8")

    checked = run_cli("check", spec.name, cwd=workspace)
    assert checked.status == 0, f"{text}\n{checked.stderr}"

    cache, runs = workspace / "cache", workspace / "runs"
    ran = run_cli("run", "--smoke", "--quiet", "--cache", str(cache), "--runs", str(runs), spec.name,
                  cwd=workspace)  # fmt: skip
    assert ran.status == 0, f"{text}\n{ran.stderr}"
    directory = workspace / ran.stdout.strip().splitlines()[-1]
    results = json.loads((directory / "results.json").read_text(encoding="utf-8"))
    assert results["fits"] or results.get("externals"), "the run trained (or read) nothing"
    assert results["metrics"], "the run measured nothing"
    resolved = (directory / "resolved.json").read_text(encoding="utf-8")
    assert f'"{entry.name}"' in resolved, f"{entry.name!r} is not in the resolved experiment"
    if entry.kind == "architecture":
        assert any((learner["arch"] or {}).get("name") == entry.name for learner in results["learners"])
    if entry.kind == "fusion":
        fused = [learner for learner in results["learners"] if learner["name"] == "fused"]
        assert fused and fused[0]["strategy"]["name"] == entry.name, results["learners"]
    if entry.kind == "condition":
        assert "shifted" in results["conditions"], results["conditions"]
    page = directory / "report.html"
    assert page.is_file(), "no report.html in the run directory"
    if entry.kind == "metric":
        found = [value for value in results["metrics"].values() if value.get("metric") == entry.name]
        assert found, f"results.json has no result of {entry.name!r}: {sorted(results['metrics'])}"
        rendered = page.read_text(encoding="utf-8")
        for result in found:
            label = result["label"]
            assert label in rendered or html.escape(label) in rendered, f"the report never names {label!r}"


def test_systemic_failure_by_groups(workspace):
    """`systemic_failure(groups = ...)` names a field of the dataset: its result is broken down by it."""
    blocks = [
        _dataset("data", f'npz("{SEQUENCE_FILE}")'),
        _modality("view", "data.vector_field", "vector", "[standardize]"),
        _model("mlp", "view", MLP),
        _model("linear", "view", LINEAR),
    ]
    entry = default_registry().get("metric", "systemic_failure")
    text = _spec(entry, blocks, metrics=("accuracy", "systemic_failure(groups = data.group)"), seeds=True)
    spec = workspace / "systemic_failure-groups.homog"
    spec.write_text(text, encoding="utf-8")
    assert run_cli("check", spec.name, cwd=workspace).status == 0
    ran = run_cli("run", "--smoke", "--quiet", "--cache", "cache", "--runs", "runs", spec.name, cwd=workspace)
    assert ran.status == 0, f"{text}\n{ran.stderr}"
    results = json.loads((workspace / ran.stdout.strip().splitlines()[-1] / "results.json").read_text())
    (found,) = [value for value in results["metrics"].values() if value["metric"] == "systemic_failure"]
    (clean,) = [entry for entry in found["per_condition"] if entry["condition"] == "clean"]
    for point in clean["across_learners"]:  # one run of each learner at each seed
        assert sorted(point["groups"]["per_group"]) == ["0", "1"], point
