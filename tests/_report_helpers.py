"""Shared bits of the engagement-report tests: the small run they share, and reading the HTML
report back (figures marked with data-figure, visible text)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

REPORT_NOTEBOOK = "notebooks/05-engagement-report.ipynb"
SMALL = {
    "client": "Globex Testing",
    "list_path": "data/samples/leads_small.csv",
    "truth_path": "data/samples/leads_small.truth.csv",
    "pattern": "smb-verified-guess-waterfall",
    "budget_usd": 25.0,
    "segment_by": "employee_band",
    "mode": "sandbox",
    "report_date": "2026-12-03",
}
SMALL_DAY = date(2026, 12, 3)


class ReportPage(HTMLParser):
    """The figures a report marks (``data-figure``) and its visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, list[str]] = defaultdict(list)
        self.text: list[str] = []
        self._open: list[tuple[str, list[str]]] = []
        self._skip = 0
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in ("style", "script"):
            self._skip += 1
        name = dict(attrs).get("data-figure")
        if name:
            self._open.append((name, []))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        if tag == "span" and self._open:
            name, parts = self._open.pop()
            self.figures[name].append("".join(parts).strip())

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        for _, parts in self._open:
            parts.append(data)


def read_report(path: Path) -> ReportPage:
    page = ReportPage()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def small_engagement() -> Any:
    """The SMALL run computed in this process by the package itself (no notebook)."""
    import gtmkit
    from gtmkit.comparison import load_truth
    from gtmkit.paths import resolve_path
    from gtmkit.reports import engagement as er

    entry = er.find_pattern(str(SMALL["pattern"]))
    leads = gtmkit.load_list(resolve_path(str(SMALL["list_path"])))
    truth = load_truth(resolve_path(str(SMALL["truth_path"])))
    result = entry.to_waterfall().run(
        leads, budget_usd=SMALL["budget_usd"], ledger=None, mode="sandbox", progress=False
    )
    check = entry.check(result, truth=truth)
    return (
        result,
        check,
        er.measure_engagement(
            result,
            pattern=entry,
            check=check,
            client=str(SMALL["client"]),
            report_date=SMALL_DAY,
            data_source="simulated",
            budget_usd=float(str(SMALL["budget_usd"])),
            truth=truth,
            segment_by=str(SMALL["segment_by"]),
        ),
    )
