"""The sections of the engagement report, as HTML a notebook cell displays.

Each function takes the :class:`~gtmkit.reports.engagement.measures.Engagement` and returns a
:class:`Section` (shown as HTML in a notebook and in the exported report). Wording is for the
client: no code, no column names, no raw frames. A figure that appears in several sections is
marked with :func:`~gtmkit.reports.engagement.numbers.figure_span` under one name each time.

Example:
    >>> from gtmkit.reports.engagement.sections import Section
    >>> Section("<h2>Summary</h2>", "Summary")._repr_html_()
    '<section class="report-section"><h2>Summary</h2></section>'
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import polars as pl

from gtmkit import charts
from gtmkit.integrations.slack_approvals import approvals_sentence
from gtmkit.reports.engagement.advice import recommendations as advice_for
from gtmkit.reports.engagement.images import chart_img
from gtmkit.reports.engagement.measures import FROM_LIST, Engagement, Share
from gtmkit.reports.engagement.naming import segment_label
from gtmkit.reports.engagement.numbers import (
    MISSING,
    count,
    figure_span,
    money,
    percent,
    share_range,
)
from gtmkit.reports.engagement.tables import cell, table_html
from gtmkit.reports.wording import counted, plural
from gtmkit.sync.summary import synced_sentence

__all__ = [
    "Section",
    "data_quality",
    "method_note",
    "not_enriched",
    "recommendations",
    "sources",
    "summary",
    "title",
]

_VERDICTS = {
    "consistent": "As documented",
    "better": "Better than documented",
    "worse": "Worse than documented",  # "below" misreads a figure where lower is better
    "not documented": "Not documented",
    "not measured": "Not measured",
}
_FIGURE_NAMES = {
    "coverage": "Coverage (contacts with an email)",
    "manual_share": "Handed to manual research",
    "avg_cost_usd": "Cost per record",
    "accuracy": "Accuracy (right, current person)",
    "verified_share": "Verified deliverable",
    "rows_per_minute": "Speed (contacts per minute)",
    "turnaround_s": "Turnaround",
}


class Section:
    """One part of the report: HTML for notebooks and exports, plain text for a terminal."""

    def __init__(self, html: str, text: str) -> None:
        self.html = html
        self.text = text

    def _repr_html_(self) -> str:
        return f'<section class="report-section">{self.html}</section>'

    def __repr__(self) -> str:
        return self.text


def _fig(name: str, text: str) -> str:
    return figure_span(name, text)


def _segment_label(e: Engagement) -> str:
    return segment_label(e.segment_by)


def _share_cell(share: Share) -> tuple[str, str, str]:
    """(value, interval, n) of a share, written for a table."""
    return percent(share.value), share_range(share.low, share.high), count(share.n)


def title(e: Engagement, *, prepared_by: str = "gtmkit") -> Section:
    """The report's title block: client, date, pattern, and whether the run was simulated."""
    day = f"{e.report_date.day} {e.report_date:%B %Y}"
    kind = "Simulated run" if e.data_source == "simulated" else "Live run"
    banner = ""
    if e.data_source == "simulated":
        banner = (
            '<p class="banner">Simulation: these figures come from simulated data providers. '
            "No real provider was called and nothing was charged; amounts are what the same "
            "lookups would cost at the providers' list prices.</p>"
        )
    html = (
        f'<header class="report-title"><p class="kicker">Email enrichment report</p>'
        f"<h1>{escape(e.client)}</h1>"
        f'<p class="subtitle">{escape(day)} · {escape(e.pattern_title)} · {kind} · prepared '
        f"with {escape(prepared_by)}</p>{banner}</header>"
    )
    return Section(html, f"Email enrichment report: {e.client} ({day})")


def _documented_rows(e: Engagement) -> pl.DataFrame:
    measured_of = {
        # the pattern's coverage is the report's: work emails at the end (gtmkit.patterns.measure)
        "coverage": percent(e.coverage.value),
        "avg_cost_usd": _fig("cost_per_record", money(e.cost_per_record)),
        "accuracy": _fig("accuracy", percent(e.accuracy.value)) if e.accuracy else MISSING,
        "verified_share": _fig("verified_share", percent(e.verified.value)),
        "manual_share": percent(e.manual / e.worked if e.worked else None),
    }
    rows = []
    for row in e.documented.filter(pl.col("step").is_null()).iter_rows(named=True):
        figure = row["figure"]
        unit = row["unit"]
        documented = row["documented"]
        if unit == "usd":
            doc_text = money(documented)
            interval = f"{money(row['low'])}–{money(row['high'])}" if row["low"] is not None else ""
        elif unit == "share":
            doc_text = percent(documented)
            interval = share_range(row["low"], row["high"])
        else:
            doc_text = MISSING if documented is None else f"{documented:,.0f} {unit}"
            interval = MISSING
        rows.append(
            {
                "Figure": cell(_FIGURE_NAMES.get(figure, row["label"])),
                "Documented": doc_text,
                "This run": measured_of.get(figure, cell(row["measured"])),
                "95% interval": interval or MISSING,
                "Verdict": cell(_VERDICTS.get(row["verdict"], row["verdict"])),
            }
        )
    return pl.DataFrame(rows)


def summary(
    e: Engagement,
    *,
    attachments: Sequence[str] = (),
    sync_ledger: str | None = None,
    approvals: str | None = None,
) -> Section:
    """The one-screen summary: what came in, what came back, what it cost, against the
    pattern's documented figures and the budget — and, when ``sync_ledger`` (a
    ``gtmkit.sync`` ledger) holds writes, what was synced where; when ``approvals`` (the
    approval store beside the run ledger) holds requests, what was sent to Slack and what was
    approved."""
    budget = ""
    if e.budget_usd:
        budget = (
            f'<span class="sub">of a {_fig("budget", money(e.budget_usd))} budget '
            f"({percent(e.budget_share)})</span>"
        )
    spend_label = "Spend (simulated)" if e.data_source == "simulated" else "Spend"
    cards = [
        (
            "Contacts received",
            _fig("received", count(e.received)),
            f'<span class="sub">{_fig("worked", count(e.worked))} unique contacts looked up</span>',
        ),
        (
            "With a work email",
            _fig("with_email", count(e.with_email)),
            f'<span class="sub">coverage {_fig("coverage", percent(e.coverage.value))} '
            f"({share_range(e.coverage.low, e.coverage.high)})</span>",
        ),
        (spend_label, _fig("spend", money(e.spend_usd)), budget),
        (
            "Cost per record",
            _fig("cost_per_record", money(e.cost_per_record)),
            '<span class="sub">spend ÷ contacts looked up</span>',
        ),
        (
            "Cost per usable record",
            _fig("cost_per_usable", money(e.cost_per_usable)),
            f'<span class="sub">{_fig("usable", count(e.usable))} verified deliverable</span>',
        ),
    ]
    card_html = "".join(
        f'<div class="card"><span class="label">{label}</span>'
        f'<span class="value">{value}</span>{sub}</div>'
        for label, value, sub in cards
    )
    lead = (
        f"<p>We received {_fig('received', count(e.received))} {plural(e.received, 'row')} and "
        f"looked up {_fig('worked', count(e.worked))} unique {plural(e.worked, 'contact')}. "
        f"{_fig('with_email', count(e.with_email))} of them now have a work email "
        f"({_fig('coverage', percent(e.coverage.value))}): "
        f"{_fig('found', count(e.found))} found by our sources and "
        f"{_fig('from_list', count(e.from_list))} already in your list. "
        f"{_fig('usable', count(e.usable))} of the emails found are verified deliverable.</p>"
    )
    if e.found_manual:
        lead += (
            f"<p>{_fig('found_manual', count(e.found_manual))} of the emails found come from "
            "manual LinkedIn research (found by hand, not verified).</p>"
        )
    documented = table_html(
        _documented_rows(e),
        table_id="documented",
        numeric=["Documented", "This run", "95% interval"],
        title=f"Against the pattern's documented figures ({e.pattern_title})",
        notes=[
            "Verdict: “As documented” when the documented figure lies inside this run's 95% "
            "interval.",
        ],
    )
    files = ""
    if attachments:
        names = ", ".join(f"<strong>{escape(a)}</strong>" for a in attachments)
        files = f'<p class="attachments">Delivered with this report: {names}.</p>'
    synced = synced_sentence(sync_ledger)
    if synced:
        files += f'<p class="attachments">{escape(synced)}</p>'
    asked = approvals_sentence(approvals)
    if asked:
        files += f'<p class="attachments" data-figure="slack_approvals">{escape(asked)}</p>'
    html = f'<h2>Summary</h2>{lead}<div class="cards">{card_html}</div>{documented}{files}'
    text = (
        f"{e.with_email:,} of {counted(e.worked, 'contact')} with a work email "
        f"({percent(e.coverage.value)}), spend {money(e.spend_usd)}"
    )
    return Section(html, text)


def _source_palette(e: Engagement) -> dict[str, str]:
    """One colour per source for every chart of the report, in waterfall order (the list's own
    emails first), so a source reads the same in the waterfall and the by-segment chart."""
    finders = e.sources.filter(pl.col("role") == "finder")["source"].to_list()
    return charts.source_colours([FROM_LIST, *finders])


def _coverage_chart(e: Engagement) -> str:
    finders = e.sources.filter(pl.col("role") == "finder")
    labels = [FROM_LIST, *finders["source"].to_list()]
    found = [e.from_list, *finders["found"].to_list()]
    incremental = [f / e.worked for f in found]
    cumulative = [sum(incremental[: i + 1]) for i in range(len(incremental))]
    frame = pl.DataFrame(
        {
            "step": list(range(len(labels))),
            "provider": labels,
            "incremental_coverage": incremental,
            "cumulative_coverage": cumulative,
        }
    )
    chart = charts.waterfall_steps(
        frame,
        title="Contacts with a work email, by source (in waterfall order)",
        x_title="Source, in the order they were asked",
        y_title="Contacts with a work email",
        palette=_source_palette(e),
    )
    return chart_img(chart, alt_text="Coverage added by each source, in waterfall order")


def sources(e: Engagement) -> Section:
    """Which sources worked: what each found and cost, overall and by segment."""
    rows = [
        {
            "Source": FROM_LIST,
            "Contacts tried": MISSING,
            "Emails": _fig("from_list", count(e.from_list)),
            "Share of contacts": percent(e.from_list / e.worked),
            "Spend": money(0.0),
            "Cost per email": MISSING,
        }
    ]
    for row in e.sources.iter_rows(named=True):
        name = row["source"]
        if row["documented_as"]:
            name = f"{name} (in place of {row['documented_as']})"
        verifier = row["role"] == "verifier"
        rows.append(
            {
                "Source": cell(f"{name} (checks the emails found)" if verifier else name),
                "Contacts tried": count(row["calls"] if verifier else row["rows_in"]),
                "Emails": MISSING if verifier else count(row["found"]),
                "Share of contacts": MISSING if verifier else percent(row["share_of_list"]),
                "Spend": money(row["spend_usd"]),
                "Cost per email": MISSING if verifier else money(row["cost_per_found"]),
            }
        )
    rows.append(
        {
            "Source": "<strong>All sources</strong>",
            "Contacts tried": _fig("worked", count(e.worked)),
            "Emails": _fig("with_email", count(e.with_email)),
            "Share of contacts": _fig("coverage", percent(e.coverage.value)),
            "Spend": _fig("spend", money(e.spend_usd)),
            "Cost per email": money(e.spend_usd / e.with_email if e.with_email else None),
        }
    )
    table = table_html(
        pl.DataFrame(rows),
        table_id="sources",
        numeric=["Contacts tried", "Emails", "Share of contacts", "Spend", "Cost per email"],
        notes=[
            "Each source only saw the contacts the sources before it left without an email. "
            "Emails: contacts whose final email came from that source. The verifier checks "
            "emails the sources found; its spend is part of the total."
        ],
    )
    html = (
        "<h2>Which sources worked</h2>"
        "<p>The sources ran in the pattern's order, top to bottom in the table; each one was "
        "asked only about the contacts still missing an email.</p>"
        f"{table}{_coverage_chart(e)}"
    )
    if e.segments is not None and e.segment_sources is not None:
        html += _by_segment(e)
    return Section(html, "Which sources worked")


def _by_segment(e: Engagement) -> str:
    assert e.segments is not None and e.segment_sources is not None
    label = _segment_label(e)
    order = charts._natural(e.segments["segment"].to_list())
    wide = e.segment_sources.pivot(on="source", index="segment", values="share")
    source_names = [c for c in wide.columns if c != "segment"]
    shares = {r["segment"]: r for r in wide.iter_rows(named=True)}
    rows = []
    for seg in e.segments.iter_rows(named=True):
        row = {
            label: cell(seg["segment"]),
            "Contacts": count(seg["rows"]),
            "With a work email": percent(seg["coverage"]),
            "95% interval": share_range(seg["low"], seg["high"]),
        }
        for name in source_names:
            row[cell(name)] = percent(shares[seg["segment"]][name])
        rows.append(row)
    frame = pl.DataFrame(rows)
    frame = frame.with_columns(
        pl.col(label).replace_strict({cell(s): i for i, s in enumerate(order)}).alias("_o")
    )
    frame = frame.sort("_o").drop("_o")
    table = table_html(
        frame,
        table_id="segments",
        numeric=[c for c in frame.columns if c != label],
        notes=[
            "Source columns: share of the segment's contacts whose email came from that "
            "source. Segments with few contacts have wide intervals: read them as a hint, "
            "not a measurement."
        ],
    )
    chart = charts.segment_sources(
        e.segment_sources, segment_title=label, palette=_source_palette(e)
    )
    img = chart_img(chart, alt_text=f"Where the emails came from, by {label.lower()}")
    return f"<h3>By {escape(label.lower())}</h3>{table}{img}"


def data_quality(e: Engagement) -> Section:
    """How good the emails are: verified, catch-all, and accuracy when the truth is known."""
    rows = [
        ("Verified deliverable", "verified_share", e.verified),
        ("On catch-all domains (cannot be fully verified)", "catch_all_share", e.catch_all),
    ]
    if e.accuracy is not None:
        rows.append(("Accuracy: the right, current person", "accuracy", e.accuracy))
    table_rows = []
    for name, figure, share in rows:
        value, interval, n = _share_cell(share)
        table_rows.append(
            {
                "Measure": cell(name),
                "Share": _fig(figure, value),
                "95% interval": interval,
                "Based on": counted(share.n, "email", number=n),
            }
        )
    overall = table_html(
        pl.DataFrame(table_rows),
        table_id="quality",
        numeric=["Share", "95% interval", "Based on"],
        notes=["Shares of the emails our sources found (emails already in your list excluded)."],
    )
    per_source = []
    for row in e.sources.filter(pl.col("role") == "finder").iter_rows(named=True):
        found = row["found"]
        per_source.append(
            {
                "Source": cell(row["source"]),
                "Emails": count(found),
                "Verified": percent(row["verified"] / found if found else None),
                "Catch-all": percent(row["catch_all"] / found if found else None),
                "Accuracy": percent(row["accuracy"]) if e.accuracy is not None else MISSING,
            }
        )
    by_source = table_html(
        pl.DataFrame(per_source),
        table_id="quality_by_source",
        numeric=["Emails", "Verified", "Catch-all", "Accuracy"],
    )
    accuracy = (
        "<p>Accuracy was measured against the known right answer for every contact (the "
        "person's current work email).</p>"
        if e.accuracy is not None
        else "<p>Accuracy is not measured: it needs the right answers, which come from "
        "delivery results (bounces) after the first send.</p>"
    )
    html = (
        "<h2>Data quality</h2>"
        f"<p>{_fig('verified_share', percent(e.verified.value))} of the "
        f"{_fig('found', count(e.found))} emails found are verified deliverable; "
        f"{_fig('catch_all_share', percent(e.catch_all.value))} are on catch-all domains, "
        "which accept every address, so a mailbox there cannot be confirmed.</p>"
        f"{accuracy}{overall}<h3>By source</h3>{by_source}"
    )
    return Section(html, "Data quality")


def not_enriched(e: Engagement) -> Section:
    """What was not enriched, and why (and the rows that could not be looked up at all)."""
    missing = e.not_enriched_rows
    rows = [
        {
            "Why": cell(r["reason"]),
            "Contacts": count(r["rows"]),
            "Share of contacts": percent(r["rows"] / e.worked),
        }
        for r in e.not_enriched.iter_rows(named=True)
    ]
    html = (
        "<h2>What was not enriched, and why</h2>"
        f"<p>{_fig('not_enriched', count(missing))} of the {_fig('worked', count(e.worked))} "
        f"contacts looked up ({percent(missing / e.worked)}) have no work email.</p>"
    )
    if rows:
        html += table_html(
            pl.DataFrame(rows), table_id="not_enriched", numeric=["Contacts", "Share of contacts"]
        )
    if e.rejected:
        html += (
            f"<p>{_fig('rejected', count(e.rejected))} {plural(e.rejected, 'row')} could "
            "not be looked up at all:</p>"
        )
        html += table_html(
            pl.DataFrame(
                [
                    {"Why": cell(r["reason"]), "Rows": count(r["rows"])}
                    for r in e.rejected_reasons.iter_rows(named=True)
                ]
            ),
            table_id="rejected",
            numeric=["Rows"],
        )
    if e.duplicates:
        html += (
            f"<p>{_fig('duplicates', count(e.duplicates))} {plural(e.duplicates, 'row')} "
            f"repeated a contact listed earlier. {plural(e.duplicates, 'It', 'Each')} was "
            "matched to the first one and given its result "
            f"({count(e.duplicates_with_email)} with an email), and was not paid for twice.</p>"
        )
    return Section(html, "What was not enriched, and why")


def recommendations(e: Engagement) -> Section:
    """Recommendations for next time (see :mod:`~gtmkit.reports.engagement.advice`)."""
    items = advice_for(e)
    body = "".join(f"<li>{escape(text)}</li>" for text in items) or (
        "<li>Nothing to change: the run met the pattern's documented figures within budget.</li>"
    )
    return Section(f"<h2>Recommendations for next time</h2><ol>{body}</ol>", "Recommendations")


def method_note(e: Engagement) -> Section:
    """A short note on how the figures were made: data source, sample sizes, intervals."""
    source = (
        "The providers were gtmkit's simulated providers: the same requests as the real "
        "services, answered from a simulated world of companies and people whose right "
        "answers are known. Spend is what the lookups would cost at list prices."
        if e.data_source == "simulated"
        else "The providers were called live with the client's accounts; spend is what they "
        "charged, as recorded call by call."
    )
    ordered = e.sources.sort("position")
    steps = ", then ".join(ordered.filter(pl.col("role") != "verifier")["source"].to_list())
    checker = ordered.filter(pl.col("role") == "verifier")["source"].to_list()
    if checker:
        steps += f"; {checker[0]} checked the emails they found"
    substituted = ""
    if e.substitutions:
        pairs = "; ".join(f"{doc} ran as {used}" for doc, used in e.substitutions.items())
        substituted = f" Substituted steps: {escape(pairs)} (no connector for the original yet)."
    cache = ""
    if e.from_cache:
        was = plural(e.from_cache, "was", "were")
        cache = (
            f"<li>{counted(e.from_cache, 'answer')} {was} reused from lookups already made "
            f"(the same person asked twice, or an earlier run) and {was} not charged again.</li>"
        )
    accuracy_n = f", accuracy on {count(e.accuracy.n)}" if e.accuracy is not None else ""
    html = (
        "<h2>How this report was made</h2><ul>"
        f"<li>{escape(source)}</li>"
        f"<li>Pattern: {escape(e.pattern_title)} ({escape(e.pattern_maturity)}), run in this "
        f"order: {escape(steps)}.{substituted}</li>"
        f"<li>Sample sizes: {counted(e.received, 'row')} received, {count(e.worked)} unique "
        f"{plural(e.worked, 'contact')} looked up (coverage and cost per record are shares "
        "of these), "
        f"{counted(e.found, 'email')} found (quality shares{accuracy_n}).</li>"
        "<li>Ranges are 95% intervals (Wilson score): with this many contacts, the rate "
        "for lists like this one would fall inside the range 95 times out of 100. Small "
        "segments give wide ranges.</li>"
        f"{cache}</ul>"
    )
    return Section(html, "How this report was made")
