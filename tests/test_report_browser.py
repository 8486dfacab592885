"""The report of every example spec in a real browser (Debian's Chromium through Playwright): no
console error, no request but the page itself, every section non-empty, every figure drawn and
visible, integer axes labelled with integers only, hover shows values. A full-page screenshot of
each report is saved under `reports/browser/` at the repository's root (ignored by git)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = ROOT / "reports" / "browser"
SPECS = sorted(path.stem for path in (ROOT / "specs").glob("*.homog") if path.is_file())
INTEGER = re.compile(r"^[−-]?\d{1,3}(,\d{3})*$|^[−-]?\d+$")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (installed by .ci/run)")

# What the page reports about itself once every figure is drawn.
INSPECT = """() => {
  const sections = [...document.querySelectorAll("section")].map(s => ({
    id: s.id,
    text: s.innerText.length - (s.querySelector("h2") || {innerText: ""}).innerText.length,
    figures: s.querySelectorAll("div.figure").length,
  }));
  const figures = [...document.querySelectorAll("div.figure")].map(d => {
    const svg = d.querySelector("svg");
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    const wanted = JSON.parse(d.dataset.integerAxes);
    const axes = [...d.querySelectorAll("g.role-axis")].map(a => ({
      title: (a.querySelector("g.role-axis-title text") || {textContent: null}).textContent,
      labels: [...a.querySelectorAll("g.role-axis-label text")].map(t => t.textContent),
    }));
    return {id: d.id, rendered: d.dataset.rendered === "yes", width: box.width, height: box.height,
            integer: axes.filter(a => wanted.includes(a.title))};
  });
  return {sections, figures};
}"""


def _spec_params() -> list:
    return [pytest.param(name, marks=() if name == "quickstart" else pytest.mark.slow) for name in SPECS]


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        found = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield found
        found.close()


def _smoke_run(name: str, folder: Path) -> Path:
    spec = folder / f"{name}.homog"
    shutil.copy(ROOT / "specs" / spec.name, spec)
    for support in ("external", "models"):  # the external runs' samples; the tiny backbones
        if (ROOT / "specs" / support).is_dir():
            shutil.copytree(ROOT / "specs" / support, folder / support, dirs_exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "homog.runtime", "run", "--smoke", "--quiet", spec.name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return folder / result.stdout.strip() / "report.html"


def look(browser, page_path: Path, screenshot: Path) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_function(
        "() => [...document.querySelectorAll('div.figure')].every(d => d.dataset.rendered)", timeout=60_000
    )
    seen = page.evaluate(INSPECT)
    seen["tooltip"] = _hover(page)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return {**seen, "errors": errors, "requests": requests}


def _hover(page) -> str | None:
    """The tooltip shown with the mouse over the first heatmap, if there is one: tried at a few
    points inside it (with long run names the cells start further right and lower)."""
    heatmap = page.locator("figure.heatmap-figure div.figure svg").first
    if heatmap.count() == 0:
        return None
    heatmap.scroll_into_view_if_needed()
    box = heatmap.bounding_box()
    tooltip = page.locator("#vg-tooltip-element")
    for x, y in ((0.35, 0.35), (0.6, 0.5), (0.8, 0.7), (0.7, 0.3)):
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
        try:
            tooltip.wait_for(state="visible", timeout=2_000)
        except Exception:
            continue
        return tooltip.inner_text()
    raise AssertionError("no tooltip over the first heatmap")


@pytest.mark.parametrize("name", _spec_params())
def test_the_report_of_every_example_spec_in_a_browser(name, browser, tmp_path):
    page = _smoke_run(name, tmp_path)
    screenshot = SCREENSHOTS / f"{name}.png"
    seen = look(browser, page, screenshot)
    assert seen["errors"] == []
    assert seen["requests"] == [page.as_uri()]  # the page itself, nothing else: one offline file
    for section in seen["sections"]:
        assert section["text"] > 20 or section["figures"], f"section {section['id']} is empty"
    assert seen["figures"], "the report has no figure"
    checked = 0
    for figure in seen["figures"]:
        assert figure["rendered"] and figure["width"] > 100 and figure["height"] > 60, figure["id"]
        for axis in figure["integer"]:
            assert axis["labels"], (figure["id"], axis["title"])
            assert all(INTEGER.match(label) for label in axis["labels"]), (figure["id"], axis)
            assert len(set(axis["labels"])) == len(axis["labels"]), (figure["id"], axis)  # no 2, 2
            checked += 1
    assert checked, "no integer axis was checked"
    if seen["tooltip"] is not None:
        assert re.search(r"\d\.\d{4}", seen["tooltip"]), seen["tooltip"]  # hover shows the value
    assert screenshot.stat().st_size > 10_000
    print(f"\n{name}: {len(seen['figures'])} figures, screenshot {screenshot}")


def test_sections_with_nothing_to_show_are_left_out(browser, tmp_path):
    """Only task scores: no pairwise, cluster, failure or test section, in the page or its nav."""
    from homog.runtime.report.build import write_report

    from .test_report import _directory, _results

    results = _results(seeds=2)
    results.metrics = {"accuracy": results.metrics["accuracy"]}
    spec = (ROOT / "specs" / "quickstart.homog").read_text()
    page = write_report(_directory(tmp_path / "run", results, spec))
    html = page.read_text()
    for gone in ("pairwise", "clusters", "failures", "confusion", "tests", "spread"):
        assert f'id="{gone}"' not in html and f'href="#{gone}"' not in html, gone
    seen = look(browser, page, SCREENSHOTS / "only-scores.png")
    assert seen["errors"] == []
    shown = [s["id"] for s in seen["sections"]]
    assert shown == ["summary", "scores", "curves", "robustness", "spec", "graph", "provenance"]
    assert all(s["text"] > 20 or s["figures"] for s in seen["sections"]), seen["sections"]
    assert seen["figures"][0]["integer"][0]["title"] == "epoch"
