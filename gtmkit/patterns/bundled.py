"""The library's generated entry: data-source combinations measured on the bundled sample.

``patterns/data-source-combinations/sample-provider-combinations.md`` is not written by hand:
it is :func:`sample_combinations` — a sandbox comparison of the five registered finders on
``data/samples/leads_small.csv``, judged against the simulated world's truth and broken down by
company size — turned into an entry by :func:`gtmkit.patterns.from_comparison`. The simulated
world is deterministic, so regenerating it (``python -m gtmkit.patterns regenerate``) gives the
same bytes; ``tests/test_patterns_extract.py`` checks that the committed file still does.

Example:
    >>> ENTRY.parent.name, PROVIDERS
    ('data-source-combinations', ('apollo', 'hunter', 'pdl', 'prospeo', 'dropcontact'))
"""

from __future__ import annotations

from pathlib import Path

from gtmkit.patterns.edit import history_of
from gtmkit.patterns.model import Pattern, load

SAMPLE_LIST = Path("data/samples/leads_small.csv")
ENTRY = Path("patterns/data-source-combinations/sample-provider-combinations.md")
PROVIDERS = ("apollo", "hunter", "pdl", "prospeo", "dropcontact")
TARGET_COVERAGE = 0.85


def committed_date(path: Path = ENTRY) -> str | None:
    """The measurement date recorded in the committed entry (kept when regenerating)."""
    if not path.exists():
        return None
    history = history_of(load(path).document)
    return history[0].date if history else None


def sample_combinations(*, measured_on: str | None = None, root: Path = Path(".")) -> Pattern:
    """Run the comparison on the bundled sample and extract the entry (not saved).

    Args:
        measured_on: the date to record (default: the committed entry's, else today's).
        root: the repository root holding ``data/`` and ``patterns/``.
    """
    import gtmkit
    from gtmkit.patterns.extract import from_comparison
    from gtmkit.sandbox import default_world

    leads = gtmkit.load_list(root / SAMPLE_LIST)
    comparison = gtmkit.compare(
        leads,
        list(PROVIDERS),
        truth=default_world().truth(leads.records),
        segment_by="employee_band",
        ledger=None,
        mode="sandbox",
        echo=False,
        progress=False,
    )
    recommendation = comparison.recommend(target_coverage=TARGET_COVERAGE)
    return from_comparison(
        comparison,
        recommendation,
        name="Provider Combinations on the Bundled Sample",
        category="data-source-combinations",
        use_case="Choosing which finders to combine, and in which order, for a mixed B2B list",
        measured_on=measured_on or committed_date(root / ENTRY),
    )


__all__ = ["ENTRY", "PROVIDERS", "SAMPLE_LIST", "committed_date", "sample_combinations"]
