"""Counts in prose read as English: "1 row", "2 rows" — in the engagement report, its advice
and the waterfall panel's summaries (gtmkit.reports.wording is the one helper they share)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from gtmkit.reports.engagement import recommendation_texts
from gtmkit.reports.engagement.sections import method_note, not_enriched
from gtmkit.reports.wording import counted, plural
from gtmkit.waterfall import RunProgress
from tests._report_helpers import small_engagement


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def engagement() -> Any:
    return small_engagement()[2]


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "0 rows"), (1, "1 row"), (2, "2 rows"), (1921, "1,921 rows"), (-1, "-1 row")],
)
def test_counted_rows(n: int, expected: str) -> None:
    assert counted(n, "row") == expected


def test_irregular_plural_and_verbs() -> None:
    assert counted(1, "company", "companies") == "1 company"
    assert counted(3, "company", "companies") == "3 companies"
    assert plural(1, "was", "were") == "was" and plural(2, "was", "were") == "were"
    assert plural(1.0, "credit") == "credit" and plural(1.5, "credit") == "credits"
    assert plural(None, "row") == "rows"
    assert counted(1, "credit", number="1") == "1 credit"


@pytest.mark.parametrize("n", [1, 3])
def test_not_enriched_section_agrees_with_its_count(engagement: Any, n: int) -> None:
    e = dataclasses.replace(engagement, rejected=n, duplicates=n, duplicates_with_email=0)
    text = _text(not_enriched(e).html)
    if n == 1:
        assert "1 row could not be looked up at all" in text
        assert "1 row repeated a contact listed earlier. It was matched" in text
        assert "1 rows" not in text
    else:
        assert "3 rows could not be looked up at all" in text
        assert "3 rows repeated a contact listed earlier. Each was matched" in text
        assert "3 row " not in text


@pytest.mark.parametrize("n", [1, 4])
def test_method_note_and_advice_agree_with_their_counts(engagement: Any, n: int) -> None:
    e = dataclasses.replace(engagement, from_cache=n, rejected=n, manual=n)
    note = _text(method_note(e).html)
    advice = " ".join(recommendation_texts(e))
    if n == 1:
        assert "1 answer was reused" in note and "and was not charged again" in note
        assert "1 row could not be looked up" in advice and "that contact" in advice
        assert "1 contact is on the manual research list" in advice
        assert not re.search(r"\b1 (rows|answers|contacts)\b", note + advice)
    else:
        assert "4 answers were reused" in note and "and were not charged again" in note
        assert "4 rows could not be looked up" in advice and "those contacts" in advice
        assert "4 contacts are on the manual research list" in advice


def test_panel_summaries_use_the_singular_for_one() -> None:
    from gtmkit.panel.estimate import Budget
    from gtmkit.panel.runner import progress_line

    one = RunProgress(
        rows_done=1, rows_total=1, emails_found=1, credits=1.0, budget_credits=None,
        elapsed_s=0.5,
    )  # fmt: skip
    assert progress_line(one) == "1 / 1 row · 1 email · 1 credit · 0.5 s"
    assert Budget("credits", 1).describe() == "1 credit"
    assert Budget("credits", 60).describe() == "60 credits"
