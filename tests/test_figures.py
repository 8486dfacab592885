"""The report's figures as Vega-Lite specs (axes, colour scales, ordering) and `homogc figures`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from homog.runtime.report import figures, sections
from homog.runtime.results import Results

from .conftest import run_cli
from .test_report import _directory, _results


def _find(spec: Any, key: str) -> list[Any]:
    """Every value under `key` anywhere in a spec."""
    found = []
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k == key:
                found.append(v)
            found += _find(v, key)
    elif isinstance(spec, list):
        for v in spec:
            found += _find(v, key)
    return found


@pytest.fixture(scope="module")
def results() -> Results:
    return _results()


@pytest.fixture(scope="module")
def by_section(results) -> dict[str, list[dict]]:
    return {section.id: items for section, items in sections.built(results)}


def test_every_panel_of_a_metric_shares_one_colour_scale(by_section):
    charts = [item["figure"] for item in by_section["pairwise"]]
    by_metric: dict[str, set] = {}
    for figure in charts:
        scales = [c["scale"] for c in _find(figure.spec, "color") if isinstance(c, dict) and "scale" in c]
        by_metric.setdefault(figure.title.split(",")[0], set()).add(str(scales[0]["domain"]))
    assert by_metric["agreement"] == {"[0.0, 1.0]"}  # agreement's own range, both conditions
    assert all(len(domains) == 1 for domains in by_metric.values()), by_metric


def test_small_matrices_show_their_values_and_conditions_are_categories(by_section):
    heatmap = by_section["pairwise"][0]["figure"].spec
    assert any(mark == "text" or (isinstance(mark, dict) and mark.get("type") == "text")
               for mark in _find(heatmap, "mark"))  # fmt: skip
    robustness = by_section["robustness"][0]["figure"].spec
    x = [e for e in _find(robustness, "x") if isinstance(e, dict) and e.get("field") == "x"]
    assert x and all(e["type"] == "nominal" and e["sort"] == ["clean", "noisy"] for e in x)
    assert _find(robustness, "y2")  # intervals as error bars


def test_integer_axes_tick_at_integers_only(by_section):
    figure = by_section["curves"][0]["figure"]
    assert figure.integer_axes == ("epoch",)
    axis = next(
        e["axis"] for e in _find(figure.spec, "x") if isinstance(e, dict) and e.get("field") == "epoch"
    )
    assert axis["values"] == [1, 2, 3] and axis["format"] == "d"
    failure = by_section["failures"][0]["figure"]
    assert "number of runs that fail an example" in failure.integer_axes
    x = next(e for e in _find(failure.spec, "x") if isinstance(e, dict) and e.get("field") == "runs")
    assert x["type"] == "ordinal"  # one bar per count, the tail included


def test_large_matrices_are_ordered_by_clustering():
    rng = np.random.default_rng(0)
    blocks = np.repeat(np.arange(2), 8)
    rng.shuffle(blocks)
    similar = np.where(blocks[:, None] == blocks[None, :], 0.9, 0.1) + rng.normal(0, 0.01, (16, 16))
    similar = (similar + similar.T) / 2
    order = sections.cluster_order(similar.tolist())
    assert sorted(order) == list(range(16))
    grouped = blocks[order]
    assert (np.diff(grouped) != 0).sum() == 1  # one block, then the other


def test_figure_names_are_unique_and_slugs_are_file_names(by_section):
    names = [item["figure"].name for items in by_section.values() for item in items if item.get("figure")]
    assert len(names) == len(set(names)) and all(figures.slug(n) == n for n in names)
    assert figures.slug("cka(layer=logits)", "digits", "clean", 0) == "cka-layer-logits-digits-clean-0"


def test_figures_command_exports_every_figure(tmp_path, results, by_section):
    directory = _directory(tmp_path / "run", results)
    expected = [item["figure"].name for items in by_section.values() for item in items if item.get("figure")]
    result = run_cli("figures", str(directory), "--format", "pdf")
    assert result.status == 0, result.stderr
    written = sorted((directory / "figures").iterdir())
    assert sorted(p.stem for p in written) == sorted(expected) and len(expected) >= 10
    assert all(p.read_bytes().startswith(b"%PDF") for p in written)
    svg = figures.export(by_section["curves"][0]["figure"], "svg").decode()
    assert svg.startswith("<svg") and ">epoch<" in svg
    assert figures.export(by_section["curves"][0]["figure"], "png").startswith(b"\x89PNG")
    missing = run_cli("figures", str(tmp_path / "nowhere"))
    assert missing.status == 2 and "not a finished run directory" in missing.stderr
    assert run_cli("figures", str(directory), "--format", "gif").status == 2
