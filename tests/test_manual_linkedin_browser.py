"""The report's summary with manual finds, in real headless Chromium: the "found by hand" line
reads right and agrees with the figures; a screenshot goes to ``artifacts/`` for a person."""

from __future__ import annotations

import datetime
from pathlib import Path

import nbformat
import pytest

import gtmkit
from gtmkit.integrations.linkedin_handoff import task_list
from gtmkit.reports import engagement as er
from gtmkit.reports.engagement import sections
from gtmkit.reports.engagement.export import report_html
from gtmkit.waterfall.manual import import_manual_finds
from tests._notebooks_helpers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"


def test_summary_with_manual_finds_in_chromium(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (install it: apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    pattern = er.find_pattern("enterprise-contact-enrichment")
    leads = gtmkit.load_list(ROOT / "data" / "samples" / "leads_small.csv")
    result = pattern.to_waterfall().run(leads, ledger=None, mode="sandbox", progress=False)
    ids = task_list(result)["row_id"].to_list()[:5]
    body = "row_id,found_email\n" + "".join(f"{i},p{i}@found.io\n" for i in ids)
    done = import_manual_finds(body.encode(), result)
    e = er.measure_engagement(
        done.result, pattern=pattern, check=pattern.check(done.result), client="Acme",
        report_date=datetime.date(2026, 1, 1), data_source="simulated",
    )  # fmt: skip
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", {"text/html": sections.summary(e).html})]
    nb.cells = [cell]
    page_file = tmp_path / "summary.html"
    page_file.write_text(report_html(nb, title="Acme"), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_file.as_uri(), wait_until="load")
            text = page.inner_text("body")
            shown = page.inner_text('[data-figure="found_manual"]')
            page.screenshot(path=str(ARTIFACTS / "report-manual-finds.png"), full_page=True)
        finally:
            browser.close()
    assert shown == "5"
    assert "5 of the emails found come from manual LinkedIn research" in text
    assert "None" not in text and "NaN" not in text
