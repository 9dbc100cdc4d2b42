"""Finding entries: the index frame, staleness, and search by use case and by the list's profile."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from datetime import date

import polars as pl
import pytest
from _patterns_helpers import HAND_EDITED, LIBRARY, copy_library, fake_result

import gtmkit
import gtmkit.patterns
from gtmkit.patterns import PatternError, load
from gtmkit.patterns.index import index
from gtmkit.patterns.search import profile, search


def test_index_lists_every_entry_with_its_measurements():
    frame = index(LIBRARY, today=date(2026, 12, 2))
    assert frame.height == len(list(LIBRARY.rglob("*.md"))) - 2  # README and TEMPLATE
    enterprise = frame.filter(pl.col("name") == "enterprise-contact-enrichment").row(0, named=True)
    assert enterprise["category"] == "enrichment-waterfalls"
    assert enterprise["steps"] == ["apollo", "zoominfo", "hunter", "manual"]
    assert enterprise["measured"] and not enterprise["measured_live"]
    assert enterprise["coverage"] is not None and enterprise["cost_per_record"] is not None
    queue = frame.filter(pl.col("name") == "queue-based-pipeline").row(0, named=True)
    assert (queue["measured"], queue["stale"], queue["coverage"]) == (False, None, None)


def test_stale_follows_the_configured_age(tmp_path):
    lib = copy_library(tmp_path)
    measured = index(lib).filter(pl.col("measured"))
    day = measured["measured_on"].max()
    fresh = index(lib, today=day, stale_after_days=30).filter(pl.col("measured"))
    assert not any(fresh["stale"])
    later = date.fromordinal(day.toordinal() + 31)
    old = index(lib, today=later, stale_after_days=30).filter(pl.col("measured"))
    assert all(old["stale"])


def test_a_malformed_entry_raises_or_is_reported(tmp_path):
    lib = copy_library(tmp_path)
    bad = lib / "enrichment-waterfalls" / "broken.md"
    bad.write_text("no heading at all\n")
    with pytest.raises(PatternError, match=r"broken\.md, line 1"):
        index(lib)
    frame = index(lib, on_error="report")
    row = frame.filter(pl.col("name") == "broken").row(0, named=True)
    assert "no '# Title' heading" in row["error"]
    assert frame.filter(pl.col("error").is_null()).height == frame.height - 1


def test_a_documented_failure_mode_counts_against_an_entry_for_a_list_it_breaks_on():
    small = pl.DataFrame({"employee_count": [20] * 40, "industry": ["computer software"] * 40})
    large = pl.DataFrame({"employee_count": [2000] * 40, "industry": ["computer software"] * 40})
    query = "decision-makers at Series B SaaS companies"
    on_small = search(query=query, records=small, patterns_dir=LIBRARY)
    on_large = search(query=query, records=large, patterns_dir=LIBRARY)
    row = on_small.filter(pl.col("name") == "enterprise-contact-enrichment").row(0, named=True)
    assert row["fit_score"] < 0
    assert any("under 50 employees: a documented failure mode" in n for n in row["fit_notes"])
    big = on_large.filter(pl.col("name") == "enterprise-contact-enrichment").row(0, named=True)
    assert big["fit_score"] > row["fit_score"] and big["text_score"] == row["text_score"]
    # the text alone ranks the enterprise entry first; for 20-person companies it drops below
    # the SMB entry, whose documented range (1-200 employees) holds the whole list
    assert search(query=query, patterns_dir=LIBRARY)["name"][0] == "enterprise-contact-enrichment"
    names = on_small["name"].to_list()
    assert names.index("smb-verified-guess-waterfall") < names.index(
        "enterprise-contact-enrichment"
    )


def test_text_search_ranks_by_use_case():
    ranked = search(query="queue workers redis CRM 10K enrichments a day", patterns_dir=LIBRARY)
    assert ranked["name"][0] == "queue-based-pipeline"
    assert ranked["text_score"][0] == 1.0 and ranked["text_score"].min() >= 0.0
    assert search(query="funding round notify sales", patterns_dir=LIBRARY, limit=1)["name"][0] == (
        "funding-event-enrich-notify"
    )


def test_profile_reads_bands_counts_industries_and_countries():
    leads = gtmkit.load_list(LIBRARY.parent / "data" / "samples" / "leads_small.csv")
    prof = profile(leads)
    assert prof.columns.get("region") == "country_code" and prof.regions
    bands = profile(pl.DataFrame({"employee_band": ["1-10", "10001+", None, "51-200"]}))
    assert bands.sizes == (5.5, 125.5, 10001.0)  # sorted


def test_index_sees_a_new_benchmark(tmp_path):
    lib = copy_library(tmp_path)
    path = lib / "enrichment-waterfalls" / "hand.md"
    path.write_text(HAND_EDITED)
    assert not index(lib).filter(pl.col("name") == "hand")["measured"][0]
    p = load(path)
    p.record_benchmark(fake_result(["hunter", "pdl", "manual"], seed=4))
    p.save()
    row = index(lib).filter(pl.col("name") == "hand").row(0, named=True)
    assert row["measured"] and row["coverage"] == pytest.approx(p.latest.measured("coverage"))


def test_every_patterns_module_documents_itself_by_example():
    names = [m.name for m in pkgutil.iter_modules(gtmkit.patterns.__path__, "gtmkit.patterns.")]
    names = [n for n in names if not n.endswith("__main__")]
    attempted = {
        n: doctest.testmod(importlib.import_module(n), optionflags=doctest.ELLIPSIS, report=False)
        for n in names
    }
    assert all(r.failed == 0 for r in attempted.values())
    missing = [n for n, r in attempted.items() if r.attempted == 0 and not n.endswith("bundled")]
    assert not missing, f"modules without a runnable example: {missing}"
