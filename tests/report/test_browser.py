"""The run report as a person sees it: rendered by a real headless Chromium, measured in the page.

Why Playwright driving the OS Chromium (and not raw CDP, nor Playwright's own browser build):

* The checks are about layout (the size an image is drawn at, whether a table sticks out of its
  card), which only a browser engine computes; parsing the HTML cannot see a CSS rule that
  stretches a chart.
* Playwright's Python package is a registry package like any other dev tool, and its API waits for
  the page to load, collects console messages and evaluates JavaScript in a few lines. Driving
  Chromium over the DevTools protocol by hand would mean writing and maintaining a websocket
  client, message ids and event plumbing - code a well-kept library already has.
* ``playwright install`` downloads a browser build from Playwright's own host, which this
  project's machines and CI cannot reach, so the test launches the distribution's Chromium
  (``apt-get install chromium``, which ``make test`` runs when it is missing) through
  ``executable_path``. ``SMSSEG_CHROMIUM`` names another binary.

When no Chromium is found the test fails with the command that installs one: a skipped browser
test would let a broken layout pass unnoticed.
"""

from __future__ import annotations

import os
import shutil

import pytest

from smsseg.report import render_report
from tests.report.run_fixture import build_run

#: Sections every report has, in page order.
SECTION_IDS = ["contents", "data", "features", "models", "backtest", "tiers", "segments", "plan",
               "flows"]  # fmt: skip
#: Viewports: a laptop screen, and a narrow window where wide tables must scroll in their card.
VIEWPORTS = {"laptop": (1280, 900), "narrow": (760, 900)}
#: Tolerance when comparing a drawn size with the size its aspect ratio implies (pixel rounding).
PIXELS = 2.0

MEASURE = """() => {
  const box = (el) => el.getBoundingClientRect();
  const sections = [...document.querySelectorAll('main > section')].map((s) => ({
    id: s.id, title: s.querySelector('h2')?.innerText ?? '', height: box(s).height,
  }));
  const images = [...document.images].map((img) => ({
    alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth,
    naturalHeight: img.naturalHeight, width: img.clientWidth, height: img.clientHeight,
  }));
  // every element must end inside its section (its card), unless an ancestor inside the card
  // clips or scrolls it (computed overflow-x other than visible: the reader scrolls that box)
  const clipped = (el, section) => {
    for (let a = el.parentElement; a && a !== section; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const overflowing = [];
  for (const section of document.querySelectorAll('main > section')) {
    const card = box(section);
    for (const el of section.querySelectorAll('*')) {
      if (clipped(el, section)) continue;
      const r = box(el);
      if (r.width && (r.right > card.right + 1 || r.left < card.left - 1)) {
        overflowing.push(`${section.id}: <${el.tagName.toLowerCase()} class="${el.className}">`
          + ` ${Math.round(r.left)}..${Math.round(r.right)} outside the card `
          + `${Math.round(card.left)}..${Math.round(card.right)}`);
      }
    }
  }
  const scrolled = [...document.querySelectorAll('.scroll')]
    .filter((s) => s.scrollWidth > s.clientWidth + 1).length;
  const labels = [...document.querySelectorAll('th, .kpi span, nav a, h2, h3')]
    .map((el) => el.innerText).filter((t) => t.includes('_'));
  return {
    sections, images, overflowing, scrolled, labels,
    page: {scrollWidth: document.documentElement.scrollWidth,
           clientWidth: document.documentElement.clientWidth},
  };
}"""


def _chromium() -> str:
    path = os.environ.get("SMSSEG_CHROMIUM") or next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
    )
    if not path:
        pytest.fail(
            "no Chromium found for the browser test of the report: `make test` installs it "
            "(apt-get install -y chromium), or set SMSSEG_CHROMIUM to a Chromium binary"
        )
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    return render_report(build_run(root), root / "report.html")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        chromium = pw.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _seen(browser, report, viewport: tuple[int, int], css: str = "") -> tuple[dict, list[str]]:
    """Open the report at ``viewport`` (with extra ``css``, to break it on purpose); what the
    page measures, and every console error."""
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url[:80]}"))
    page.goto(report.as_uri(), wait_until="load")
    if css:
        page.add_style_tag(content=css)
    seen = page.evaluate(MEASURE)
    page.close()
    return seen, errors


def _stretched(images: list[dict]) -> list[str]:
    """Charts drawn at another aspect ratio than their own (beyond pixel rounding)."""
    return [
        f"chart {img['alt']!r} drawn {img['width']}x{img['height']}, natural "
        f"{img['naturalWidth']}x{img['naturalHeight']}"
        for img in images
        if abs(img["height"] - img["width"] * img["naturalHeight"] / img["naturalWidth"]) > PIXELS
    ]


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_a_person_sees_every_section_with_undistorted_charts_inside_the_page(
    browser, report, viewport
):
    seen, errors = _seen(browser, report, viewport)
    assert errors == []
    # every section, in order, with its title and something in it
    assert [s["id"] for s in seen["sections"]] == SECTION_IDS
    assert all(s["title"] and s["height"] > 60 for s in seen["sections"]), seen["sections"]
    # every chart decoded and drawn at its own aspect ratio (side-by-side charts not stretched)
    images = seen["images"]
    assert len(images) >= 15
    for img in images:
        assert img["complete"] and img["naturalWidth"] > 0, img
        assert img["width"] > 0 and img["width"] <= img["naturalWidth"] + PIXELS, img
    assert _stretched(images) == []
    # nothing wider than the page or its card; wide tables scroll inside their card instead
    assert seen["page"]["scrollWidth"] <= seen["page"]["clientWidth"], seen["page"]
    assert seen["overflowing"] == []
    # headers, tiles and titles are readable labels, not raw keys
    assert seen["labels"] == []


FLOWS_SECTION = """() => {
  const s = document.querySelector('section#flows');
  return {
    headings: [...s.querySelectorAll('h3')].map((h) => h.innerText),
    tiles: [...s.querySelectorAll('.kpi span')].map((k) => k.innerText),
    tables: [...s.querySelectorAll('table')].map((t) => ({
      headers: [...t.querySelectorAll('th')].map((h) => h.innerText),
      rows: t.querySelectorAll('tbody tr').length })),
    images: [...s.querySelectorAll('img')].map((i) => ({alt: i.alt, width: i.clientWidth})),
  };
}"""


def test_the_flows_backtest_is_shown_as_tables_and_plots(browser, report):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(report.as_uri(), wait_until="load")
    seen = page.evaluate(FLOWS_SECTION)
    page.close()
    assert seen["headings"] == ["Messages per customer per week by segment",
                                "What happened to each flow's SMS", "Expected opt-outs",
                                "Measured effect per flow"]  # fmt: skip
    assert {"share capped", "sent after a purchase or exit",
            "expected opt-outs from the flows"} <= set(seen["tiles"])  # fmt: skip
    by_header = {t["headers"][-1]: t for t in seen["tables"]}
    effect = next(t for t in seen["tables"] if "effect (treated − holdout)" in t["headers"])
    assert effect["rows"] == 2 and "95% CI low" in effect["headers"]  # two randomized flows
    flows = next(t for t in seen["tables"] if "share capped" in t["headers"])
    assert flows["rows"] == 9 and "sent after an exit" in flows["headers"]  # the nine flows
    assert any("flow SMS per customer per week" in t["headers"] for t in by_header.values())
    assert {i["alt"] for i in seen["images"]} == {"flow SMS by outcome", "SMS per customer-week",
                                                  "measured effect per flow"}  # fmt: skip
    assert all(i["width"] > 100 for i in seen["images"])


def test_on_a_narrow_window_wide_tables_scroll_inside_their_card(browser, report):
    seen, errors = _seen(browser, report, VIEWPORTS["narrow"])
    assert errors == []
    # the plan's campaign table is wider than a 760-pixel window: it scrolls in its box ...
    assert seen["scrolled"] >= 1
    # ... and neither it nor anything else sticks out of its card or widens the page
    assert seen["overflowing"] == []
    assert seen["page"]["scrollWidth"] <= seen["page"]["clientWidth"], seen["page"]


@pytest.mark.parametrize(
    ("broken_css", "viewport", "caught"),
    [
        # the report's CSS before the fix: flex items stretched to the tallest chart of the row
        (".figs{align-items:stretch !important}", "laptop", "stretched"),
        (".scroll{overflow:visible !important}", "narrow", "overflowing"),
    ],
    ids=["stretched-charts", "overflowing-table"],
)
def test_the_checks_catch_the_layout_bugs_they_guard_against(
    browser, report, broken_css, viewport, caught
):
    """The same page with one CSS rule broken on purpose: the measurements above must see it."""
    seen, _ = _seen(browser, report, VIEWPORTS[viewport], css=broken_css)
    found = _stretched(seen["images"]) if caught == "stretched" else seen["overflowing"]
    assert found, f"{broken_css} went unnoticed"
