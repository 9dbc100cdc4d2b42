"""Where an adaptive run starts: the twin's posterior when the ledger has history, else the
field-notes priors the twin itself shrinks towards.

History is every answered lookup in the ledger outside the run's own chain of resumes (its own
rows are what it learns from as it goes, and a resume must start from the same prior as the
run it continues — the prior is recorded with the chain, see ``adaptive_log.py``). The twin is
fitted per provider and, where earlier adaptive runs recorded the segments of their rows on the
same ``segment_by`` column, per segment (``gtmkit.twin``: Bayesian shrinkage towards the field
notes, dependence between providers). Each of its estimates becomes a Beta with the twin's
mean, worth as many lookups as it rests on, at most
:data:`~gtmkit.waterfall.adaptive_model.MAX_PRIOR_WEIGHT`.

Providers the history never saw start from the field notes (``gtmkit.twin.priors``: published
ranges of ``../shared/field-notes.md``, weak on purpose).

Example:
    >>> seed_priors(None, chain_id="c", providers=["hunter"], segment_by=()).basis
    'field notes (no ledger)'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from gtmkit.twin.observe import UNKNOWN_SEGMENT
from gtmkit.waterfall.adaptive_log import previous_segments
from gtmkit.waterfall.adaptive_model import MAX_PRIOR_WEIGHT, Beta, Priors, ProviderPrior

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.twin import Twin
    from gtmkit.waterfall.ledger import Ledger


def _history(ledger: Ledger, chain_id: str, providers: Sequence[str]) -> pl.DataFrame:
    """Answered lookups of ``providers`` in every chain but ``chain_id``, with a ``chain``
    column."""
    from gtmkit.twin.observe import ledger_attempts

    attempts = ledger_attempts(ledger)
    return attempts.filter(
        (pl.col("chain") != chain_id)
        & (pl.col("state") == "done")
        & pl.col("row_id").is_not_null()
        & pl.col("provider").is_in(list(providers))
    )


def _fit(history: pl.DataFrame, segments: pl.DataFrame | None) -> Twin | None:
    from gtmkit.twin import Twin, TwinError

    try:
        if segments is not None and segments.height:
            return Twin.fit(history, records=segments, segment_by="segment")
        return Twin.fit(history)
    except TwinError:
        return None


def _weighted(mean: float, lookups: float) -> Beta:
    return Beta.of(mean, max(1.0, min(float(lookups), MAX_PRIOR_WEIGHT)))


def _from_twin(
    twin: Twin, name: str, segment: str | None, fallback: ProviderPrior
) -> ProviderPrior:
    """The twin's hit and usable rates of ``name`` (in ``segment``, or over all of them); a
    rate the twin has nothing on stays at ``fallback``'s."""
    from gtmkit.twin.latent import cdf

    hits = twin.hits
    weights = hits.rho_weights
    if segment is None:
        hit = sum(w * cdf(hits.overall[k].t[name]) for k, w in enumerate(weights))
        seen = sum(hits.seen[name].values())
        a, b, judged = twin.usable.overall.get(name, (1.0, 1.0, 0))
    else:
        hit = sum(w * hits.marginal(name, segment, k) for k, w in enumerate(weights))
        seen = hits.seen[name].get(segment, 0)
        a, b, judged = 1.0, 1.0, 0  # a provider that never found anyone: no usable rate yet
        if name in twin.usable.overall:
            a, b, judged, _ = twin.usable.beta(name, segment)
    where = f"segment {segment}" if segment is not None else "all segments"
    basis = f"twin: {seen} lookups, {judged} found emails ({where})"
    usable = _weighted(a / (a + b), judged) if judged else fallback.usable
    return ProviderPrior(_weighted(hit, seen), usable, basis)


def seed_priors(
    ledger: Ledger | None,
    *,
    chain_id: str,
    providers: Sequence[str],
    segment_by: Sequence[str],
) -> Priors:
    """The priors of a new adaptive chain (see the module docstring)."""
    if ledger is None:
        return Priors.field_notes(providers, "field notes (no ledger)")
    history = _history(ledger, chain_id, providers)
    if history.height == 0:
        return Priors.field_notes(providers, "field notes (no history in the ledger)")
    segments = previous_segments(ledger, exclude_chain=chain_id, segment_by=segment_by)
    twin = _fit(history, segments)
    if twin is None:
        return Priors.field_notes(providers, "field notes (no answered lookups in the ledger)")
    base = Priors.field_notes(providers)
    seen = [p for p in providers if p in twin.hits.seen]
    pooled: dict[str, ProviderPrior] = dict(base.pooled)
    by_segment: dict[str, dict[str, ProviderPrior]] = {}
    for name in seen:
        pooled[name] = _from_twin(twin, name, None, base.pooled[name])
        if twin.segment_by:
            for segment in twin.hits.seen[name]:
                if segment == UNKNOWN_SEGMENT:
                    continue  # rows of runs that recorded no segment: not one of ours
                prior = _from_twin(twin, name, segment, pooled[name])
                by_segment.setdefault(segment, {})[name] = prior
    unseen = [p for p in providers if p not in twin.hits.seen]
    basis = twin.basis + (f"; field notes for {', '.join(unseen)}" if unseen else "")
    return Priors(pooled, by_segment, basis)


def describe(priors: Priors) -> dict[str, Any]:
    """A short JSON-able view of where the run started (for ``result.totals``)."""
    return {"basis": priors.basis, "segments_from_history": sorted(priors.segments)}


__all__ = ["describe", "seed_priors"]
