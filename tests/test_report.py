"""The report: its content and escaping, and in a real browser: offline, no errors, charts visible."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from homog.runtime.report.build import diff_runs, diff_text, scores_csv

from .conftest import run_cli

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
    assert (run_dir.parent.parent / "reports" / "page.html").read_text() == page
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
    assert "The 3 runs of mlp agree on" in page
    assert "<svg" in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    csv_text = (run_dir / "scores.csv").read_text()
    header = csv_text.splitlines()[0].split(",")
    assert (
        header[:3] == ["metric", "learner", "condition"] and "point.seed" in header and header[-1] == "value"
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
    results = json.loads((run_dir / "results.json").read_text())
    rows = scores_csv(results).splitlines()
    assert all(row.count(",") == rows[0].count(",") for row in rows)


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
        seconds = time.perf_counter() - start
        visible = {
            "heatmaps": page.locator("svg.heatmap").count(),
            "heatmap_visible": page.locator("svg.heatmap").first.is_visible(),
            "dendrogram_visible": page.locator("svg.dendrogram").first.is_visible(),
            "title": page.title(),
        }
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return {"errors": errors, "requests": requests, "dialogs": dialogs, "seconds": seconds, **visible}


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_quickstart_report_in_a_browser_is_offline_and_shows_its_charts(tmp_path):
    pytest.importorskip("playwright")
    root = Path(__file__).parent.parent
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "homog.runtime",
            "run",
            "--smoke",
            "--quiet",
            str(root / "specs" / "quickstart.homog"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    page = tmp_path / result.stdout.strip() / "report.html"
    screenshot = tmp_path / "report.png"
    seen = _browser_check(page, screenshot)
    assert seen["errors"] == []
    assert seen["requests"] == [page.as_uri()]  # the page itself, nothing else
    assert seen["heatmaps"] >= 3 and seen["heatmap_visible"] and seen["dendrogram_visible"]
    assert screenshot.stat().st_size > 10_000
    print(f"\nreport screenshot: {screenshot}")


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
    assert seen["errors"] == []
