"""Recommendations for the client's next engagement, drawn from this run's figures.

Each rule looks at one thing (the budget, the pattern's documented figures, catch-all domains,
the weakest segment, a source that cost much for little, rows that could not be looked up, a
simulated run) and says what to do about it, with the figure that prompted it.

Example:
    >>> from gtmkit.reports.engagement.advice import catch_all_advice
    >>> catch_all_advice(0.415, 1541)[:40]
    '41.5% of the emails found are on catch-a'
"""

from __future__ import annotations

from gtmkit.reports.engagement.measures import Engagement
from gtmkit.reports.engagement.naming import segment_label
from gtmkit.reports.engagement.numbers import count, money, percent
from gtmkit.reports.wording import plural

__all__ = ["CATCH_ALL_WARN", "catch_all_advice", "recommendations"]

#: Above this share of catch-all addresses, sending needs care (their bounce rate is 3–5 %).
CATCH_ALL_WARN = 0.30
#: A segment is called out when its coverage is this far below the list's.
SEGMENT_GAP = 0.05
#: Fewest contacts in a segment for its coverage to be worth acting on.
MIN_SEGMENT_ROWS = 30


def catch_all_advice(share: float, found: int) -> str:
    """The advice for a high catch-all share (``share`` of ``found`` emails)."""
    return (
        f"{percent(share)} of the emails found are on catch-all domains, which accept any "
        "address, so they cannot be fully verified; expect 3–5% of them to bounce. Send them "
        "in a separate, slower sequence, or check them with a second verifier first."
    )


def _budget(e: Engagement) -> str | None:
    if e.budget_stopped and e.cost_per_record is not None:
        more = e.budget_stopped * e.cost_per_record
        return (
            f"The budget ran out with {count(e.budget_stopped)} "
            f"{plural(e.budget_stopped, 'contact')} not yet looked up. "
            f"At this run's {money(e.cost_per_record)} per contact, about {money(more)} more "
            "would finish them; rerunning the same list picks up where it stopped and pays "
            "nothing twice."
        )
    if e.budget_usd and e.budget_share is not None and e.budget_share < 0.8:
        return (
            f"The run used {percent(e.budget_share)} of the {money(e.budget_usd)} budget. For a "
            f"list like this one, a budget of about {money(e.spend_usd * 1.2)} (the spend plus "
            "a 20% margin) is enough."
        )
    return None


def _documented(e: Engagement) -> str | None:
    rows = e.documented.filter(e.documented["step"].is_null())
    worse = [r for r in rows.iter_rows(named=True) if r["verdict"] == "worse"]
    if not worse:
        return None
    what = ", ".join(str(r["label"]).split(" (")[0].lower() for r in worse)
    alternative = next(
        (m for m in e.failure_modes if m.lower().startswith("alternative pattern")), None
    )
    tail = f" {alternative.rstrip('.')}." if alternative else ""
    return (
        f"This list came in below the pattern's documented figures on {what}. Check the "
        f"pattern's failure modes against the list before the next run.{tail}"
    )


def _weakest_segment(e: Engagement) -> str | None:
    if e.segments is None or e.coverage.value is None:
        return None
    big = e.segments.filter(e.segments["rows"] >= MIN_SEGMENT_ROWS).sort("coverage")
    if big.height < 2:
        return None
    worst = big.row(0, named=True)
    if worst["high"] is None or worst["high"] >= e.coverage.value - SEGMENT_GAP / 2:
        return None
    if e.coverage.value - worst["coverage"] < SEGMENT_GAP:
        return None
    label = segment_label(e.segment_by).lower()
    return (
        f"Coverage was lowest for {label} {worst['segment']}: {percent(worst['coverage'])} of "
        f"{count(worst['rows'])} {plural(worst['rows'], 'contact')}, against "
        f"{percent(e.coverage.value)} overall. A "
        "provider comparison on that segment would show which source to add for it."
    )


def _costly_source(e: Engagement) -> str | None:
    if e.spend_usd <= 0:
        return None
    finders = e.sources.filter(e.sources["role"] == "finder")
    for row in finders.iter_rows(named=True):
        share = row["share_of_list"] or 0.0
        spend_share = row["spend_usd"] / e.spend_usd
        if spend_share >= 0.15 and share < spend_share / 3:
            return (
                f"{row['source']} took {percent(spend_share)} of the spend "
                f"({money(row['spend_usd'])}) for {percent(share)} of the contacts. Moving it "
                "later in the order, or routing only the segments where it finds most, would "
                "cut the cost per record."
            )
    return None


def _rejected(e: Engagement) -> str | None:
    if not e.rejected:
        return None
    one = e.rejected == 1
    return (
        f"{count(e.rejected)} {plural(e.rejected, 'row')} could not be looked up (no name "
        "with a company, and no LinkedIn profile or work email). Send "
        f"{'that contact' if one else 'those contacts'} with a full name and company, or a "
        "LinkedIn profile URL, next time."
    )


def _manual(e: Engagement) -> str | None:
    if not e.manual:
        return None
    one = e.manual == 1
    return (
        f"{count(e.manual)} {plural(e.manual, 'contact is', 'contacts are')} on the manual "
        "research list delivered with this report: no source found "
        f"{'it' if one else 'them'}, so a researcher picks {'it' if one else 'them'} up from "
        "there."
    )


def _simulated(e: Engagement) -> str | None:
    if e.data_source != "simulated":
        return None
    return (
        "These figures come from gtmkit's simulated providers. Before committing the full "
        "budget, run the same pattern live on a slice of the list (200 contacts is enough "
        "to tell coverage within about ±5 points) and compare."
    )


def recommendations(e: Engagement) -> list[str]:
    """What to do next time, most pressing first (each a sentence or two)."""
    rules = (_budget, _documented, _manual, _weakest_segment, _costly_source)
    advice = [text for rule in rules if (text := rule(e))]
    if e.catch_all.value is not None and e.catch_all.value > CATCH_ALL_WARN:
        advice.append(catch_all_advice(e.catch_all.value, e.found))
    advice += [text for rule in (_rejected, _simulated) if (text := rule(e))]
    return advice
