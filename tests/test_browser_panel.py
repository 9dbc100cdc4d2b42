"""The waterfall panel end to end in a real browser: JupyterLab in Debian's Chromium, driven by
Playwright, on a temporary copy of ``notebooks/02-run-waterfall.ipynb``.

Upload a list in chunks, correct one column mapping (the counts change), tick and drag three
steps into order, set a budget, read the estimate, Run (confirming: the run could spend more
than the threshold), watch progress reach the end, check the preview's row count, download the
CSV and check its rows; reload the page and restart the kernel (the panel comes back, no
"model not found"); then a file over the 200 MB limit gets the message and a normal upload
after it still works. Screenshots of each stage go to ``artifacts/panel/``. The browser may
only talk to the loopback server: every other request is aborted and counted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import polars as pl
import pytest

from gtmkit.panel.chunks import DEFAULT_UPLOAD_LIMIT_BYTES
from tests._lab_helpers import CHROMIUM, CHROMIUM_ARGS, Lab, open_and_run_all, serve_lab
from tests._notebooks_helpers import NOTEBOOKS_DIR, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "02-run-waterfall.ipynb"
SHOTS = ROOT / "artifacts" / "panel"
BUDGET = 300  # credits: the run could spend more than the panel's $25 threshold → confirm
ORDER = ["prospeo", "hunter", "apollo"]


def _upload_list(folder: Path) -> tuple[Path, int]:
    """A client list whose company column the automatic mapping does not recognize
    ("Org URL"): until it is mapped, rows with a name and no email are rejected."""
    source = pl.read_csv(ROOT / "data/samples/leads_small.csv", infer_schema_length=0)
    frame = source.select(
        pl.col("First Name").alias("First"),
        pl.col("Last Name").alias("Last"),
        pl.col("Website").alias("Org URL"),
        pl.col("Job Title").alias("Role"),
        pl.col("Email").alias("Work Email"),
    )
    path = folder / "client-list.csv"
    frame.write_csv(path)
    return path, frame.height


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("panel-lab")
    root = base / "root"
    (root / "runs").mkdir(parents=True)
    # A copy (JupyterLab marks opened notebooks dirty); its ledger and exports go to runs/.
    nb = nbformat.read(NOTEBOOKS_DIR / NOTEBOOK, as_version=4)
    (params,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    params.source = params.source.replace('"data/runs/waterfall"', '"runs"')
    assert '"runs"' in params.source
    nbformat.write(nb, root / NOTEBOOK)
    with serve_lab(root, base) as server:
        yield server


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _panel_shot(panel: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(SHOTS / f"{name}.png"))


def _counts(text: str) -> list[int]:
    found = re.search(r"([\d,]+) rows: ([\d,]+) accepted, ([\d,]+) rejected, ([\d,]+) dup", text)
    assert found, text
    return [int(n.replace(",", "")) for n in found.groups()]


def test_the_panel_runs_a_waterfall_in_jupyterlab(lab: Lab, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    upload, rows = _upload_list(tmp_path)
    too_big = tmp_path / "too-big.csv"
    with too_big.open("wb") as handle:  # sparse: the browser knows the size without reading
        handle.truncate(DEFAULT_UPLOAD_LIMIT_BYTES + 1024**2)
    lab.fresh_kernel()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 2600},
                                          accept_downloads=True)  # fmt: skip
            page = context.new_page()
            page.route("**/*", lab.only_loopback)
            notebook = open_and_run_all(page, lab, NOTEBOOK)
            panel = notebook.locator(".gtmkit-panel")
            expect(panel).to_be_visible(timeout=30_000)
            # The batch route ran nothing: the panel starts with the sample, nothing spent.
            expect(notebook).to_contain_text("Nothing spent")
            _panel_shot(panel, "01-panel-opened")

            # -- upload, in chunks
            panel.locator("input.gtmkit-upload-input").set_input_files(str(upload))
            message = panel.locator(".gtmkit-upload-message")
            expect(message).to_contain_text("client-list.csv uploaded", timeout=60_000)
            before = _counts(panel.locator(".gtmkit-counts").inner_text())
            assert before[0] == rows

            # -- correct one mapping: the company column; the counts follow
            org = panel.locator(".gtmkit-mapping", has_text="Org URL").locator("select")
            expect(org).to_have_value("(not used)")  # ipywidgets: option values are labels
            org.select_option("website")
            expect(panel.locator(".gtmkit-counts")).not_to_have_text(
                panel.locator(".gtmkit-counts").inner_text(), timeout=30_000
            )
            after = _counts(panel.locator(".gtmkit-counts").inner_text())
            assert after[0] == rows and after[1] > before[1] and after[2] < before[2]
            _panel_shot(panel, "02-uploaded-and-mapped")

            # -- three steps: tick prospeo, untick pdl, drag prospeo to the top
            steps = panel.locator(".gtmkit-step")
            panel.locator(".gtmkit-step[data-provider='prospeo'] input.gtmkit-step-use").check()
            panel.locator(".gtmkit-step[data-provider='pdl'] input.gtmkit-step-use").uncheck()
            panel.locator(".gtmkit-step[data-provider='prospeo'] .gtmkit-step-handle").drag_to(
                panel.locator(".gtmkit-step[data-provider='hunter']")
            )
            ticked = panel.locator(".gtmkit-step[data-enabled='true']")
            expect(ticked).to_have_count(3)
            expect(ticked.first).to_have_attribute("data-provider", "prospeo", timeout=10_000)
            assert [ticked.nth(i).get_attribute("data-provider") for i in range(3)] == ORDER
            assert steps.count() > 3  # the other providers stay offered, unticked

            # -- budget, and the estimate that follows it
            amount = panel.locator(".gtmkit-amount input")
            amount.fill(str(BUDGET))
            amount.press("Tab")
            estimate = panel.locator(".gtmkit-estimate-view")
            expect(estimate).to_contain_text(f"The budget ({BUDGET} credits)", timeout=30_000)
            providers_in_estimate = estimate.locator("tr.gtmkit-step-row td:nth-child(2)")
            expect(providers_in_estimate).to_have_count(4)  # three steps + the verifier
            assert providers_in_estimate.all_inner_texts()[:3] == ORDER
            expect(estimate).to_contain_text("default prior")  # what the rates rest on
            ceiling = re.search(r"can spend is \$([\d,]+\.\d\d)", estimate.inner_text())
            assert ceiling and float(ceiling.group(1).replace(",", "")) > 25
            _panel_shot(panel, "03-steps-budget-estimate")

            # -- Run: it asks first (the run could spend more than $25)
            run = panel.locator("button.gtmkit-run")
            expect(run).to_be_enabled()
            run.click()
            expect(panel.locator(".gtmkit-confirm")).to_contain_text("could spend up to")
            _panel_shot(panel, "04-confirm")
            panel.locator("button.gtmkit-confirm-yes").click()
            progress = panel.locator(".gtmkit-progress-text")
            walked = after[1]  # the engine walks accepted rows; rejected ones come back as such
            expect(progress).to_contain_text(f"{walked} / {walked} rows", timeout=120_000)
            status = panel.locator(".gtmkit-run-status")
            expect(status).to_contain_text("Finished", timeout=60_000)
            spent = re.search(r"([\d.]+) credits of (\d+)", progress.inner_text())
            assert spent and float(spent.group(1)) <= BUDGET

            # -- preview: every row of the list once
            preview = panel.locator(".gtmkit-preview-view")
            expect(preview).to_contain_text(f"Showing 50 of {rows} rows")
            expect(preview.locator(".gtmkit-status").first).to_be_visible()
            counts = dict(
                (name, int(n.replace(",", "")))
                for name, n in re.findall(r"([a-z_]+) ([\d,]+)", preview.locator(
                    ".gtmkit-preview-counts").inner_text())
            )  # fmt: skip
            assert sum(counts.values()) == rows
            _panel_shot(panel, "05-finished-preview")

            # -- download the CSV in the browser and read it back
            with page.expect_download() as download:
                panel.locator(".gtmkit-download-button[data-format='csv']").click()
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            assert saved.name == "client-list.enriched.csv"
            table = pl.read_csv(saved, infer_schema_length=0)
            assert table.height == rows and table["row_id"].n_unique() == rows
            assert dict(table.group_by("status").len().iter_rows()) == counts
            assert table["credits"].cast(pl.Float64).sum() == pytest.approx(float(spent.group(1)))

            # -- a page reload keeps the live panel (the kernel still has it): save, reload
            page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
            page.locator("li.lm-Menu-item[data-command='docmanager:save']").click()
            expect(page.locator(".jp-mod-dirty")).to_have_count(0, timeout=30_000)
            page.reload()
            notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
            panel = notebook.locator(".gtmkit-panel")
            expect(panel.locator(".gtmkit-preview-view")).to_contain_text(
                f"Showing 50 of {rows} rows", timeout=60_000
            )
            expect(notebook).not_to_contain_text("model not found")
            _panel_shot(panel, "06-after-reload")

            # -- a kernel restart: run again, a fresh panel works
            page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
            page.locator("li.lm-Menu-item[data-command='runmenu:restart-and-run-all']").click()
            page.locator(".jp-Dialog-button.jp-mod-accept").click()
            panel = notebook.locator(".gtmkit-panel")
            expect(notebook.locator(".gtmkit-preview-view")).to_have_text("", timeout=90_000)
            expect(panel.locator(".gtmkit-counts")).to_contain_text("accepted", timeout=90_000)
            expect(notebook).not_to_contain_text("model not found")

            # -- over the limit: the message says what to do, and the next upload works
            chooser = panel.locator("input.gtmkit-upload-input")
            chooser.set_input_files(str(too_big))
            message = panel.locator(".gtmkit-upload-message")
            expect(message).to_contain_text("over the 200 MB upload limit", timeout=30_000)
            expect(message).to_contain_text("Server file")
            _panel_shot(panel, "07-over-the-limit")
            chooser.set_input_files(str(upload))
            expect(message).to_contain_text("client-list.csv uploaded", timeout=60_000)
            assert _counts(panel.locator(".gtmkit-counts").inner_text())[0] == rows
            _panel_shot(panel, "08-next-upload-works")
            _shot(page, "09-page")
        finally:
            browser.close()

    assert lab.blocked == [], f"the browser tried to leave loopback: {lab.blocked}"
    assert os.path.getsize(too_big) > DEFAULT_UPLOAD_LIMIT_BYTES
