"""The assembled panel without a browser: a list in by upload or from the server, corrected,
run and downloaded; the state the widgets show after each step."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import gtmkit
from gtmkit.panel import PanelError, WaterfallPanel
from gtmkit.panel.mapping import counts_line
from tests._notebooks_helpers import ROOT
from tests.test_panel_upload import Recorder, _send_file

SAMPLE = ROOT / "data/samples/leads_small.csv"


def _client_list() -> bytes:
    """The sample with its company column under a name intake does not recognize."""
    frame = pl.read_csv(SAMPLE, infer_schema_length=0).select(
        pl.col("First Name").alias("First"), pl.col("Last Name").alias("Last"),
        pl.col("Website").alias("Org URL"), pl.col("Email").alias("Work Email"),
    )  # fmt: skip
    buffer = io.BytesIO()
    frame.write_csv(buffer)
    return buffer.getvalue()


def test_an_empty_panel_says_what_to_do_first(tmp_path: Path) -> None:
    panel = WaterfallPanel(budget_credits=10, out_dir=tmp_path)
    assert panel.loaded is None and not panel.can_run and panel.run_button.disabled
    assert "Load a list" in panel.estimate_view.value
    with pytest.raises(PanelError):
        panel.run()
    assert not panel.downloads.enabled
    assert "no list loaded" in repr(panel)
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("<WaterfallPanel")  # what a static page shows


def test_upload_correct_run_download(tmp_path: Path) -> None:
    panel = WaterfallPanel(budget_credits=150, out_dir=tmp_path, confirm_above_usd=1_000)
    channel = Recorder(panel.upload)
    data = _client_list()
    _send_file(panel.upload, channel, "client.csv", data)
    assert panel.upload.status == "done" and "client.csv uploaded" in panel.upload.message
    auto = gtmkit.load_list(data, filename="client.csv")
    assert counts_line(panel.loaded) == counts_line(auto)
    assert counts_line(auto) in panel.list_status.value and panel.can_run

    panel.mapping.set("Org URL", "website")  # the dropdown: reload with mapping=
    fixed = gtmkit.load_list(data, filename="client.csv", mapping={"Org URL": "website"})
    assert panel.loaded.records.height == fixed.records.height > auto.records.height
    assert counts_line(fixed) in panel.mapping.counts.value
    assert panel.table.equals(panel.waterfall().estimate(fixed))  # estimate follows the list

    panel.set_steps(["prospeo", "hunter", "apollo"])
    panel.run_button.click()
    panel.runner.wait(timeout=120)
    result = panel.result
    assert panel.runner.state == "finished" and result.records.height == auto.source_info.data_rows
    assert f"Showing 50 of {result.records.height} rows" in panel.preview.value
    assert panel.downloads.enabled and panel.downloads.basename == "client.enriched"
    sent: list[Any] = []
    panel.downloads.send = lambda content, buffers=None: sent.extend(buffers or [])
    panel.downloads.download("csv")
    table = pl.read_csv(io.BytesIO(b"".join(sent)), infer_schema_length=0)
    assert table.height == result.records.height
    assert table["credits"].cast(pl.Float64).sum() == pytest.approx(result.totals["credits"])

    # a new list: corrections and the result belong to the old one
    panel.load_path(SAMPLE, trusted=True)
    assert panel.mapping.corrections == {} and not panel.downloads.enabled
    assert panel.preview.value == "" and panel.source.name == "leads_small.csv"


def test_over_the_limit_then_a_normal_upload(tmp_path: Path) -> None:
    panel = WaterfallPanel(budget_credits=10, out_dir=tmp_path, upload_limit_bytes=2048)
    channel = Recorder(panel.upload)
    _send_file(panel.upload, channel, "big.csv", _client_list())
    assert panel.upload.status == "refused" and panel.loaded is None
    assert "over the 2 KB upload limit" in panel.upload.message
    _send_file(panel.upload, channel, "small.csv", b"Email\nann@acme.io\nbob@beta.io\n")
    assert panel.upload.status == "done" and panel.loaded.records.height == 2
    _send_file(panel.upload, channel, "junk.csv", bytes(range(256)))
    assert panel.upload.status == "failed" and "Could not load junk.csv" in panel.upload.message
    assert panel.loaded.records.height == 2  # the previous list stays loaded
    assert "Could not load junk.csv" in panel.list_status.value


def test_server_files_are_picked_under_the_data_folder(tmp_path: Path) -> None:
    panel = WaterfallPanel(budget_credits=10, out_dir=tmp_path)
    labels = dict((v, k) for k, v in panel.server_files.options)
    assert "samples/leads_small.csv" in labels and "samples/leads_small.truth.csv" not in labels
    panel.server_load.click()
    assert "Pick a file" in panel.list_status.value and panel.loaded is None
    panel.server_files.value = "samples/leads_crm_export_fr.csv"
    panel.server_load.click()
    assert panel.source.name == "leads_crm_export_fr.csv" and panel.can_run
    with pytest.raises(gtmkit.ListError, match="outside the data folder"):
        panel.load_path("../pyproject.toml")


def test_a_recommendation_panel_estimates_from_the_comparison(tmp_path: Path) -> None:
    leads = gtmkit.load_list(SAMPLE)
    cmp = gtmkit.compare(leads, ["hunter", "apollo", "pdl"], sample=120, mode="sandbox",
                         truth=ROOT / "data/samples/leads_small.truth.csv", ledger=None,
                         echo=False, progress=False)  # fmt: skip
    rec = cmp.recommend(target_coverage=0.6)
    panel = WaterfallPanel.from_recommendation(
        rec, comparison=cmp, path=SAMPLE, budget_credits=50, out_dir=tmp_path
    )
    assert panel.plan.order == list(rec.order) and panel.plan.source == "recommendation"
    bases = panel.table["basis"].to_list()[: len(rec.order)]
    assert all(b.startswith("comparison (") for b in bases), bases
    assert panel.table.equals(rec.waterfall.estimate(panel.loaded, history=cmp))
