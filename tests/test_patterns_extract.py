"""Extracting an entry from a comparison, and the generated data-source-combinations entry."""

from __future__ import annotations

import polars as pl
import pytest
from _compare_helpers import synth_attempts, synth_costs, synth_records
from _patterns_helpers import REPO

from gtmkit.comparison import Comparison
from gtmkit.patterns import from_text, load
from gtmkit.patterns.bundled import ENTRY, sample_combinations
from gtmkit.patterns.extract import from_comparison


@pytest.fixture(scope="module")
def comparison():
    records = synth_records(600, seed=3)
    attempts, truth = synth_attempts(records, seed=3)
    return Comparison.from_attempts(
        attempts, synth_costs(), rows=records, truth=truth, segment_by="employee_band"
    )


def test_from_comparison_writes_an_experimental_entry_in_the_template(comparison, tmp_path):
    rec = comparison.recommend(target_coverage=0.65)
    p = from_comparison(comparison, rec, name="Synthetic Mix", category="data-source-combinations",
                        measured_on="2026-01-01")  # fmt: skip
    assert p.maturity == "Experimental" and p.category == "data-source-combinations"
    assert [s.name for s in p.sequence] == list(rec.order)  # unregistered: their own names
    titles = [t for t, _ in p.sections]
    for section in (
        "Architecture",
        "Data Source Combinations",
        "Performance Metrics",
        "Deployment Guide",
        "Failure Modes",
        "Lessons Learned",
        "Version History",
    ):
        assert section in titles  # fmt: skip
    combos = p.section("Data Source Combinations")
    for relation in (
        "Complementary (use together)",
        "Redundant (choose one)",
        "Conflicting (resolution strategy)",
    ):
        assert relation in combos  # fmt: skip
    assert "Conflicts:" in combos and "Cost against quality" in combos
    # the documented figures are the replayed measurement, so the check agrees with itself
    check = p.check(comparison)
    documented = check.filter(pl.col("documented").is_not_null())
    assert set(documented["verdict"]) == {"consistent"}
    # saved and read back, it is the same entry
    path = tmp_path / "data-source-combinations" / "synthetic-mix.md"
    path.parent.mkdir()
    assert p.save(path) is True
    back = load(path)
    assert back.to_bytes() == p.to_bytes() and back.latest.id == p.latest.id


def test_failure_modes_come_from_the_weak_segments(comparison):
    rec = comparison.recommend(target_coverage=0.65)
    p = from_comparison(comparison, rec, name="Weak", weak_gap=0.0, min_segment_rows=50)
    modes = [m for m in p.failure_modes if m.startswith("Doesn't work when: employee_band is")]
    assert modes, "with no gap allowed, every segment at or below the overall coverage is named"
    strict = from_comparison(comparison, rec, name="Strict", weak_gap=1.0)
    assert not any("employee_band is" in m for m in strict.failure_modes)


def test_a_recommended_order_runs_as_the_entry_documents(comparison):
    rec = comparison.recommend(target_coverage=0.65)
    p = from_text(from_comparison(comparison, rec, name="X").text, category="enrichment-waterfalls")
    # the synthetic providers are not registered adapters: the comparison vouches for them
    assert [s.provider for s in p.plan(available=comparison.providers)] == list(rec.order)


def test_the_committed_generated_entry_is_what_the_generator_writes():
    """Regenerating the data-source-combinations entry from the bundled sample (sandbox,
    deterministic) gives the committed bytes; if this fails after a deliberate change, run
    ``python -m gtmkit.patterns regenerate`` and commit the entry."""
    regenerated = sample_combinations(root=REPO)
    assert regenerated.to_bytes() == (REPO / ENTRY).read_bytes()
    assert regenerated.latest.kind == "comparison"
    assert regenerated.category == "data-source-combinations"
