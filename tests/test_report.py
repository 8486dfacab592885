"""The report: its content and escaping, and in a real browser: offline, no errors, charts visible."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from homog.runtime.evaluation import evaluate
from homog.runtime.report.build import diff_runs, diff_text, key_numbers, scores_csv, write_report
from homog.runtime.report.verdict import verdict
from homog.runtime.results import Results, load_results

from .conftest import run_cli
from .test_evaluation import _metric, _outputs, _point, _runs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

SPEC = """
experiment "report" {{
  description = {description}
  seed        = 0
}}

dataset digits {{
  source = sklearn.digits
}}

modality flat {{
  from      = digits.image
  type      = vector
  transform = [flatten, standardize]
}}

model mlp {{
  input = flat
  arch  = mlp(hidden = [16])
}}

model linear {{
  input = flat
  arch  = sklearn.logistic_regression()
}}

sweep {{
  seed = 0..{last_seed}
}}

evaluate {{
  condition noisy {{
    flat = gaussian_noise(std = 1.0)
  }}
}}

metrics {{
  accuracy
  confusion
  spread(accuracy)
  agreement
  error_consistency
  cka(layer = logits)
  systemic_failure
  cluster(by = error_consistency)
  mcnemar(mlp, linear)
}}

report {{
  title = {title}
  path  = "reports/page.html"
}}
"""


def _run(
    tmp_path: Path, title: str = '"Seeds on digits"', description: str = '"a test"', seeds: int = 3
) -> Path:
    spec = tmp_path / "report.homog"
    spec.write_text(SPEC.format(title=title, description=description, last_seed=seeds - 1))
    result = subprocess.run(
        [sys.executable, "-m", "homog.runtime", "run", "--smoke", "--quiet", spec.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return tmp_path / result.stdout.strip()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("report"))


def test_run_writes_the_report_the_csv_and_the_spec_path(run_dir):
    page = (run_dir / "report.html").read_text()
    assert (run_dir.parent.parent / "reports" / "page.smoke.html").read_text() == page  # a smoke run's
    for section in (
        "Summary",
        "Task scores",
        "Spread",
        "Pairwise",
        "Clusters",
        "How many runs fail",
        "Confusion",
        "Training curves",
        "Statistical tests",
        "The spec",
        "Execution graph",
        "Provenance",
    ):
        assert section in page, section
    assert "Seed to seed, the 3 runs of mlp agree on" in page and "linear and mlp agree on" in page
    assert 'class="figure"' in page and "vegaEmbed" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched from elsewhere
    csv_text = (run_dir / "scores.csv").read_text()
    header = csv_text.splitlines()[0].split(",")
    assert (
        header[:3] == ["metric", "learner", "condition"]
        and "point.seed" in header
        and header[-2:] == ["value", "mode"]
    )
    assert len(csv_text.splitlines()) == 1 + 2 * 6  # accuracy: 2 learners x 3 seeds x 2 conditions


def test_report_command_renders_again_the_same_page(run_dir):
    before = (run_dir / "report.html").read_text()
    (run_dir / "report.html").unlink()
    assert run_cli("report", str(run_dir)).status == 0
    assert (run_dir / "report.html").read_text() == before


def test_diff_of_two_runs(tmp_path, run_dir):
    other = _run(tmp_path, title='"Seeds on digits, again"', seeds=2)
    diff = diff_runs(run_dir, other)
    text = diff_text(diff)
    assert '+  title = "Seeds on digits, again"' in text
    assert "accuracy | mlp | clean | mean" in text
    result = run_cli("diff", str(run_dir), str(other), "--html", str(tmp_path / "diff.html"))
    assert result.status == 0 and "key numbers that changed" in result.stdout
    assert "Seeds on digits, again" in (tmp_path / "diff.html").read_text()


def test_diff_of_two_specs_compares_their_latest_runs(tmp_path, run_dir):
    spec_a = run_dir.parent.parent / "report.homog"
    result = run_cli("diff", str(spec_a), str(spec_a), "--runs", str(run_dir.parent))
    assert result.status == 0, result.stderr
    assert "(the specs are the same)" in result.stdout and "no key number changed" in result.stdout
    unknown = tmp_path / "never-run.homog"
    unknown.write_text("train {}\n")
    result = run_cli("diff", str(spec_a), str(unknown), "--runs", str(run_dir.parent))
    assert result.status == 2 and "no run of" in result.stderr


def test_scores_csv_has_one_row_per_run_and_score(run_dir):
    rows = scores_csv(load_results(run_dir)).splitlines()
    assert all(row.count(",") == rows[0].count(",") for row in rows)


# --------------------------------------------------------------------------- a run directory, synthetic

METRICS = [
    ("accuracy", "run", {}, {}),
    ("confusion", "run", {}, {}),
    ("spread", "across", {"metric": "accuracy"}, {"metric": "accuracy"}),
    ("agreement", "pairwise", {}, {}),
    ("procrustes", "pairwise", {"layer": "logits"}, {}),
    ("cka", "pairwise", {"layer": "logits", "kernel": "linear", "threshold": 0.5}, {}),
    ("systemic_failure", "population", {}, {}),
    ("cluster", "cluster", {"by": "cka", "method": "average", "k": "auto"}, {"by": "cka"}),
    ("mcnemar", "test", {"a": "mlp", "b": "linear"}, {}),
    (
        "ttest",
        "test",
        {"a": "mlp", "b": "linear", "metric": "accuracy", "paired": True},
        {"metric": "accuracy"},
    ),
]


def _results(seeds: int = 3, title: str = "synthetic") -> Results:
    runs = _runs(seeds=seeds)
    outputs = _outputs(runs)
    done: dict[str, dict] = {}
    for name, scope, params, uses in METRICS:
        named = {param: done[label] for param, label in uses.items()}
        label = name if name != "spread" else "spread(accuracy)"
        done[label] = evaluate(_metric(name, scope, params, label, uses), runs, outputs, named, 0, None)
    fits = [
        {
            "node": f"fit{learner}{seed}",
            "name": f"{learner} seed={seed}",
            "learner": learner,
            "kind": "model",
            "dataset": "digits",
            "seed": seed,
            "fold": 0,
            "point": _point(seed),
            "curves": {"loss": [1.0, 0.5, 0.25]},
            "parameters": 10 if learner == "linear" else 100,
            "epochs": 3,
            "seconds": 0.1,
        }
        for learner in ("linear", "mlp")
        for seed in range(seeds)
    ]
    return Results.model_validate(
        {
            "experiment": {"name": "synthetic", "description": "", "seed": 0, "device": "cpu", "tags": []},
            "report": {"path": "reports/page.html", "title": title},
            "conditions": ["clean", "noisy"],
            "learners": [],
            "fits": fits,
            "metrics": done,
        }
    )


def _directory(path: Path, results: Results, spec: str = "experiment {}\n") -> Path:
    path.mkdir(parents=True)
    (path / "results.json").write_text(results.model_dump_json(indent=2))
    (path / "spec.homog").write_text(spec)
    (path / "graph.json").write_text(
        json.dumps({"nodes": [{"op": "fit", "name": "mlp", "id": "a" * 64, "deps": []}]})
    )
    (path / "environment.json").write_text(
        json.dumps({"device": "cpu", "cpus": 1, "python": "3", "platform": "x", "packages": {"numpy": "2"}})
    )
    (path / "timings.json").write_text(
        json.dumps({"a": {"op": "fit", "name": "mlp", "seconds": 1.0, "cached": False}})
    )
    (path / "status.json").write_text(json.dumps({"status": "complete"}))
    return path


def test_a_synthetic_run_renders_every_section(tmp_path):
    directory = _directory(tmp_path / "20240101-abc", _results())
    target = write_report(directory, tmp_path / "reports" / "page.html")
    page = target.read_text()
    assert (tmp_path / "reports" / "page.html").read_text() == page
    for text in ("Task scores", "Spread", "Clusters", "How many runs fail", "Confusion", "Statistical tests"):
        assert text in page, text
    assert "Seed to seed, the 3 runs of mlp agree on" in page and "rad apart (Procrustes angle)" in page
    assert "combined: paired sign-flip permutation test" in page and "figure-clusters-cluster" in page
    assert "mlp seed=2" in page  # fits by their display name
    rows = (directory / "scores.csv").read_text().splitlines()
    assert rows[0].split(",")[:3] == ["metric", "learner", "condition"] and rows[0].endswith(",value,mode")
    assert len(rows) == 1 + 2 * 3 * 2  # accuracy: 2 learners x 3 seeds x 2 conditions


def test_the_verdict_formats_what_evaluation_computed(tmp_path):
    results = _results()
    agreement = results.metrics["agreement"]
    clean = agreement.per_condition[0]
    within = next(w for w in clean.within_learners if w.learner == "mlp")
    within.mean, within.ci95 = 0.123, [0.1, 0.2]  # the verdict only formats: it shows what it is given
    sentences = verdict(results)
    assert (
        "Seed to seed, the 3 runs of mlp agree on 12.3% of test examples "
        "[95% CI 0.10, 0.20; n = 3 pairs of runs] (agreement)."
    ) in sentences
    assert sentences[0].startswith("linear and mlp agree on")  # the comparison between learners first
    assert any(sentence.startswith("Across learners, H = ") for sentence in sentences)


def test_diff_of_two_synthetic_runs(tmp_path):
    a = _directory(tmp_path / "a", _results(seeds=3), "title = 1\n")
    b = _directory(tmp_path / "b", _results(seeds=2), "title = 2\n")
    text = diff_text(diff_runs(a, b))
    assert "+title = 2" in text and "accuracy | mlp | clean | mean" in text
    numbers = key_numbers(load_results(a))
    assert "agreement | linear × mlp | digits | clean | fold 0" in numbers
    assert "systemic_failure | log10 H across learners | digits | clean | fold 0" in numbers


def _browser_check(page_path: Path, screenshot: Path) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors, requests, dialogs = [], [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        start = time.perf_counter()
        page.goto(page_path.as_uri(), wait_until="load")
        page.wait_for_function(
            "() => [...document.querySelectorAll('div.figure')].every(d => d.dataset.rendered)",
            timeout=60_000,
        )
        seconds = time.perf_counter() - start  # loaded, and every figure drawn
        visible = {"figures": page.locator("div.figure svg").count(), "title": page.title()}
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return {"errors": errors, "requests": requests, "dialogs": dialogs, "seconds": seconds, **visible}


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_text_from_a_spec_never_runs_as_script(tmp_path):
    pytest.importorskip("playwright")
    payload = '"<script>alert(1)</script>"'
    directory = _run(tmp_path, title=payload, description='"<img src=x onerror=alert(2)>"', seeds=2)
    page = (directory / "report.html").read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    seen = _browser_check(directory / "report.html", tmp_path / "escaped.png")
    assert seen["dialogs"] == [] and seen["errors"] == []
    assert seen["title"] == "<script>alert(1)</script>"  # shown as text


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_fifty_runs_and_five_metrics_stay_small_and_load_fast(tmp_path):
    pytest.importorskip("playwright")
    spec = (
        SPEC.replace("  confusion\n", "")
        .replace("  spread(accuracy)\n", "")
        .replace("  cluster(by = error_consistency)\n", "")
        .replace("  mcnemar(mlp, linear)\n", "")
    )
    (tmp_path / "fifty.homog").write_text(spec.format(title='"fifty"', description='"50 runs"', last_seed=24))
    result = subprocess.run(
        [sys.executable, "-m", "homog.runtime", "run", "--smoke", "--quiet", "fifty.homog"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    page = tmp_path / result.stdout.strip() / "report.html"
    size = page.stat().st_size
    seen = _browser_check(page, tmp_path / "fifty.png")
    print(f"\n50 runs x 5 metrics: report {size / 1e6:.2f} MB, loaded in {seen['seconds']:.2f} s")
    assert size < 5_000_000
    assert seen["errors"] == [] and seen["figures"] >= 6
