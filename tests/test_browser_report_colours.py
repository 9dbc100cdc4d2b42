"""The client's HTML report in real headless Chromium: the waterfall chart and the by-segment
chart draw each source in the same colour. Read off the rendered images' pixels: the waterfall's
bars left to right are the sources in waterfall order; a segment's stacked bar left to right is
the same sources in the same order, so both must show the same colour sequence (a chart that
coloured sources alphabetically would not)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gtmkit import charts
from gtmkit.reports.engagement import run_report
from tests._lab_helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests._report_helpers import REPORT_NOTEBOOK, SMALL

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# In the page: every chart image's saturated-colour runs, per pixel column (the waterfall's
# vertical bars) and per pixel row (the stacked horizontal bars). Greys, black text and the
# white background are not "saturated"; runs shorter than 6 px are anti-aliased edges.
_RUNS_JS = """
els => els.map(img => {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  const at = (x, y) => { const i = (y * c.width + x) * 4;
    const r = d[i], gr = d[i + 1], b = d[i + 2];
    return Math.max(r, gr, b) - Math.min(r, gr, b) > 50 ? '#' + [r, gr, b].map(
      v => v.toString(16).padStart(2, '0')).join('') : null; };
  const runs = (len, pick) => { const out = []; let cur = null, n = 0;
    for (let k = 0; k <= len; k++) { const v = k < len ? pick(k) : null;
      if (v === cur) { n++; continue; }
      if (cur !== null && n >= 6) { if (out[out.length - 1] !== cur) out.push(cur); }
      cur = v; n = 1; }
    return out; };
  const dominant = x => { const seen = {}; let best = null;
    for (let y = 0; y < c.height; y++) { const v = at(x, y);
      if (v) { seen[v] = (seen[v] || 0) + 1; if (!best || seen[v] > seen[best]) best = v; } }
    return best && seen[best] >= 2 ? best : null; };
  const rows = [];
  for (let y = 0; y < c.height; y++) rows.push(runs(c.width, x => at(x, y)));
  return {alt: img.alt, columns: runs(c.width, dominant), rows: rows};
})
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_chromium()
    out = tmp_path_factory.mktemp("browser-report-colours")
    files = run_report(REPORT_NOTEBOOK, parameters=SMALL, out_dir=out, pdf=False)
    assert files.html is not None
    return files.html


def test_waterfall_and_segment_chart_share_colours_in_chromium(report: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = ARTIFACTS / "report-colours"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(report.as_uri(), wait_until="load")
            images: list[dict[str, Any]] = page.eval_on_selector_all("img.chart", _RUNS_JS)
            for i, element in enumerate(page.query_selector_all("img.chart")):
                element.screenshot(path=str(shots / f"chart-{i}.png"))
        finally:
            browser.close()
    assert len(images) == 2, [i["alt"] for i in images]
    waterfall, by_segment = images
    assert "waterfall" in waterfall["alt"].lower()
    bars = waterfall["columns"]
    palette = set(charts.PALETTE)
    assert len(bars) >= 3 and set(bars) <= palette, bars  # one bar per source, house colours
    assert len(set(bars)) == len(bars), bars  # no two sources share a colour
    # the fullest segment bar shows every source that found something there, in order
    stacked = max(by_segment["rows"], key=len)
    assert set(stacked) <= palette, stacked
    assert stacked == [c for c in bars if c in stacked] and len(stacked) >= 3, (stacked, bars)
