"""The run-summary body: figures, failures and report path land in the blocks."""

from __future__ import annotations

from gtmkit.integrations.slack_summary import RunSummary, summary_payload


def test_summary_blocks_carry_the_figures() -> None:
    body = summary_payload(
        RunSummary("r9", 40, 30, 3.0, 10.0, failures=("pdl: 429",), report_path="out/r9.html")
    )
    fields = [f["text"] for f in body["blocks"][1]["fields"]]
    assert fields == ["*Rows*\n40", "*Coverage*\n75.0%", "*Spend*\n$3.00 of $10.00", "*Failed*\n1"]
    assert body["blocks"][2]["text"]["text"] == "• pdl: 429"
    assert "out/r9.html" in body["blocks"][3]["elements"][0]["text"]


def test_empty_run_has_no_failure_or_report_block() -> None:
    body = summary_payload(RunSummary("r0", 0, 0, 0.0, 5.0))
    assert [b["type"] for b in body["blocks"]] == ["header", "section"]
    assert "0.0%" in body["text"]
