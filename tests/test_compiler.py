"""The compiler's meaning: defaults, overrides, sweeps, the IR and the registry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from homog.compiler import compile_text
from homog.compiler import registry as registry_module
from homog.compiler.catalog import builtin_entries
from homog.compiler.registry import Entry, Registry, default_registry

from .conftest import run_cli

ROOT = Path(__file__).parent.parent

BASE = """
experiment "t" {
  seed = 7
}

dataset digits {
  source = sklearn.digits
}

modality flat {
  from      = digits.image
  type      = vector
  transform = [flatten]
}

model mlp {
  input = flat
  arch  = mlp()
}

model forest {
  input = flat
  arch  = sklearn.random_forest(trees = 10)
}
"""


def _ir(extra: str = "", base: str = BASE):
    compilation = compile_text(base + extra, "t.homog")
    assert compilation.ok, compilation.diagnostics
    return compilation


def test_defaults_are_filled_in():
    ir = _ir().ir
    (dataset,) = ir.datasets
    assert dataset.split.model_dump() == {
        "name": "holdout",
        "params": {"test": 0.25, "stratify": True, "validation": 0.0},
    }
    mlp = next(learner for learner in ir.learners if learner.name == "mlp")
    assert mlp.arch.params == {"hidden": [128], "dropout": 0.0, "activation": "relu"}
    assert mlp.training.optimizer.model_dump() == {
        "name": "adam",
        "params": {"lr": 0.001, "weight_decay": 0.0},
    }
    assert mlp.training.schedule.name == "constant"
    assert mlp.training.epochs == 10
    assert ir.report.path == "reports/t.html" and ir.report.title == "t"
    assert [c.name for c in ir.conditions] == ["clean"]
    # Without a sweep, each learner runs once with the experiment's seed.
    assert [p.model_dump() for p in ir.sweep] == [
        {"seed": 7, "width": 1.0, "data_fraction": 1.0, "fold": 0, "lr": None, "epochs": None, "depth": None}
    ]


def test_a_learner_train_block_overrides_the_shared_one_key_by_key():
    spec = BASE.replace("  arch  = mlp()\n}", "  arch  = mlp()\n\n  train {\n    epochs = 3\n  }\n}")
    ir = _ir("\ntrain {\n  epochs     = 20\n  batch_size = 32\n}\n", base=spec).ir
    mlp = next(learner for learner in ir.learners if learner.name == "mlp")
    assert (mlp.training.epochs, mlp.training.batch_size) == (3, 32)
    forest = next(learner for learner in ir.learners if learner.name == "forest")
    assert forest.training is None  # scikit-learn learners do not train by epochs


def test_sweep_is_a_cross_product_with_zip_for_paired_axes():
    sweep = "\nsweep {\n  seed  = 0..2\n  scale = zip(width = [1, 2], data_fraction = [0.5, 1])\n}\n"
    points = [(p.seed, p.width, p.data_fraction) for p in _ir(sweep).ir.sweep]
    assert points == [
        (0, 1.0, 0.5),
        (0, 2.0, 1.0),
        (1, 1.0, 0.5),
        (1, 2.0, 1.0),
        (2, 1.0, 0.5),
        (2, 2.0, 1.0),
    ]


def test_kfold_repeats_every_run_per_fold():
    spec = BASE.replace("  source = sklearn.digits\n", "  source = sklearn.digits\n  split  = kfold(k = 3)\n")
    points = _ir(base=spec).ir.sweep
    assert [(p.seed, p.fold) for p in points] == [(7, 0), (7, 1), (7, 2)]


def test_width_changes_networks_but_not_forests():
    graph = _ir("\nsweep {\n  width = [1, 2, 4]\n}\n").graph
    fits = [node.name for node in graph.of_op("fit")]
    assert sorted(fits) == ["forest", "mlp width=1", "mlp width=2", "mlp width=4"]


def test_late_fusion_follows_the_learners_it_combines():
    fusion = "\nfusion both {\n  inputs   = [mlp, forest]\n  strategy = mean\n}\n"
    compilation = _ir(fusion)
    both = next(learner for learner in compilation.ir.learners if learner.name == "both")
    assert (both.backend, both.training, both.representations) == ("late", None, [])
    late = compilation.graph.of_op("late_fuse")
    assert len(late) == 1
    inputs = [compilation.graph.nodes[dep].name for dep in late[0].deps]
    assert inputs == ["mlp clean", "forest clean"]


def test_show_resolved_prints_the_canonical_ir():
    result = run_cli("show", "--resolved", "specs/quickstart.homog", cwd=ROOT)
    assert result.status == 0
    data = json.loads(result.stdout)
    assert data["experiment"]["name"] == "quickstart"
    assert [learner["name"] for learner in data["learners"]] == ["linear", "mlp"]
    assert len(data["sweep"]) == 3
    compiled = compile_text((ROOT / "specs" / "quickstart.homog").read_text(), "q").ir
    assert json.loads(compiled.canonical_json()) == data


def test_check_reports_errors_of_all_passes_together_sorted(tmp_path):
    spec = BASE.replace("type      = vector", "type      = vectr").replace(
        "input = flat\n  arch  = mlp()", "input = flt\n  arch  = mlp()"
    )
    spec += "\nmetrics {\n  acuracy\n}\n"
    path = tmp_path / "many.homog"
    path.write_text(spec)
    result = run_cli("--format", "json", "check", str(path))
    found = [(d["code"], d["line"]) for d in map(json.loads, result.stdout.splitlines())]
    assert found == sorted(found, key=lambda item: item[1])
    assert {code for code, _ in found} >= {"E214", "E230", "E220"}


@pytest.mark.parametrize("command", [["check"], ["graph"], ["show", "--resolved"]])
def test_compiling_commands_import_no_torch(command):
    code = (
        "import sys\n"
        "from homog.runtime.cli import main\n"
        f"status = main({command!r} + ['specs/fusion.homog'])\n"
        "assert status == 0, status\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_entry_has_a_summary_and_instantiable_defaults():
    for entry in builtin_entries():
        assert entry.summary, entry.name
        required = [name for name, f in entry.params.model_fields.items() if f.is_required()]
        if not required:
            entry.params()


def test_registry_refuses_an_entry_registered_twice():
    entry = builtin_entries()[0]
    with pytest.raises(ValueError, match="registered twice"):
        Registry([entry, entry])


def test_plugins_add_entries_through_entry_points(monkeypatch):
    plugin_entry = Entry("metric", "plugin_score", "a plugin's score", scope="run")

    class FakePoint:
        def load(self):
            return lambda: [plugin_entry]

    monkeypatch.setattr(registry_module, "entry_points", lambda group: [FakePoint()] if group else [])
    default_registry.cache_clear()
    spec = BASE + "\nmetrics {\n  plugin_score\n}\n"
    try:
        assert compile_text(spec, "p.homog").ok
    finally:
        monkeypatch.undo()
        default_registry.cache_clear()
    assert not compile_text(spec, "p.homog").ok  # without the plugin, the name is unknown
