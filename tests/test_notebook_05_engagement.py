"""Notebook 05 under papermill on the small sample, through the report command's rules: the
figures it records equal the package's own computation on the same input, and the HTML the
client gets has no code, no raw frame and no JSON, and says each repeated figure the same way."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from gtmkit.reports import find_leaks, read_figures
from gtmkit.reports.engagement import run_report
from tests._report_helpers import REPORT_NOTEBOOK, SMALL, read_report, small_engagement

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    out = tmp_path_factory.mktemp("report")
    files = run_report(REPORT_NOTEBOOK, parameters=SMALL, out_dir=out, pdf=False)
    return files, out


def test_files_are_named_for_the_client_and_date(report: tuple) -> None:
    files, out = report
    assert files.stem == "globex-testing-2026-12-03"
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "globex-testing-2026-12-03.enriched.csv",
        "globex-testing-2026-12-03.figures.json",
        "globex-testing-2026-12-03.html",
        "globex-testing-2026-12-03.ipynb",
    ]
    assert json.loads(files.figures_path.read_text()) == files.figures


def test_recorded_figures_match_the_package_computation(report: tuple) -> None:
    from gtmkit.reports import figures_data

    files, _ = report
    _, check, engagement = small_engagement()
    expected = figures_data({**engagement.figures(), "delivered": [
        "globex-testing-2026-12-03.enriched.csv"]})  # fmt: skip
    assert files.figures == expected
    # ...and the package's figures are the pattern check's where both measure the same thing
    measured = dict(zip(check["figure"], check["measured"], strict=False))
    assert engagement.cost_per_record == pytest.approx(measured["avg_cost_usd"])
    assert engagement.accuracy.value == pytest.approx(measured["accuracy"])
    assert engagement.verified.value == pytest.approx(measured["verified_share"])
    assert engagement.coverage.value == pytest.approx(measured["coverage"])
    f = files.figures
    assert f["received"] == f["worked"] + f["rejected"] + f["duplicates"]
    assert f["with_email"] == f["found"] + f["from_list"]
    assert f["worked"] - f["with_email"] == sum(f["not_enriched"].values())
    assert 0 < f["spend_usd"] <= f["budget_usd"]


def test_the_notebook_is_scrubbed_and_keeps_no_secret(report: tuple) -> None:
    files, _ = report
    nb = nbformat.read(files.notebook, as_version=4)
    assert "papermill" not in nb.metadata
    assert not [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert find_leaks(nb) == []
    assert read_figures(nb) == files.figures


def test_html_is_for_the_client(report: tuple) -> None:
    files, _ = report
    text = files.html.read_text(encoding="utf-8")
    page = read_report(files.html)
    visible = " ".join(" ".join(page.text).split())
    assert "<title>Globex Testing — report, 2026-12-03</title>" in text
    assert "Globex Testing" in visible and "3 December 2026" in visible
    for section in ("Summary", "Which sources worked", "Data quality",
                    "What was not enriched, and why", "Recommendations for next time",
                    "How this report was made"):  # fmt: skip
        assert section in visible
    # no code, no raw frame, no JSON, no developer words
    for bad in ("shape:", "import ", "er.summary", "engagement)", "record_figures", "{\"",
                "mode=", "sandbox", "papermill", "None", "NaN", "null"):  # fmt: skip
        assert bad not in visible, bad
    assert not re.search(r"\d\.\d{4,}", visible)  # raw floats such as 0.482759
    assert "<script" not in text and "http://" not in text and "https://" not in text
    assert text.count("data:image/png;base64,") == 2  # the charts, inline
    assert "gt_table" in text  # tables by Great Tables


def test_repeated_figures_agree_wherever_they_appear(report: tuple) -> None:
    files, _ = report
    page = read_report(files.html)
    f = files.figures
    for name in ("received", "worked", "with_email", "coverage", "spend", "cost_per_record",
                 "usable", "found", "from_list", "verified_share"):  # fmt: skip
        shown = page.figures[name]
        assert len(shown) >= 2, (name, shown)
        assert len(set(shown)) == 1, (name, shown)
    assert page.figures["received"][0] == f"{f['received']:,}"
    assert page.figures["coverage"][0] == f"{f['coverage'] * 100:.1f}%"
    assert page.figures["spend"][0] == f"${f['spend_usd']:,.2f}"
    assert page.figures["cost_per_record"][0] == f"${f['cost_per_record']:,.3f}"


def test_enterprise_pattern_with_a_substitute_hands_rows_to_a_person(tmp_path: Path) -> None:
    params = {**SMALL, "pattern": "enterprise-contact-enrichment",
              "substitute": {"zoominfo": "pdl"}, "client": "Initech"}  # fmt: skip
    files = run_report(REPORT_NOTEBOOK, parameters=params, out_dir=tmp_path, pdf=False)
    f = files.figures
    assert f["manual"] > 0 and f["found_by_source"]["pdl"] > 0
    assert "Handed to manual research (no source found an email)" in f["not_enriched"]
    assert (tmp_path / "initech-2026-12-03.manual-research.csv").is_file()
    visible = " ".join(read_report(files.html).text)
    assert "People Data Labs (in place of ZoomInfo)" in visible
    assert "manual research list" in visible
