"""The ``manual`` step: a hand-off to a person, not a provider call.

A pattern such as "4. Manual LinkedIn (final 2%)" ends with people doing the research by hand.
In a waterfall, ``Step("manual", label="Manual LinkedIn")`` is where rows that are still
missing an email stop: they end with status ``manual`` and a reason naming the hand-off, are
never dropped, and ``WaterfallResult.manual_tasks()`` lists them as a task list. Nothing is
sent and nothing is billed.

Example:
    >>> import asyncio
    >>> f = asyncio.run(ManualHandoff().lookup({"full_name": "Ada Lovelace"}))
    >>> f.outcome, f.credits
    ('miss', 0.0)
"""

from __future__ import annotations

from typing import ClassVar

from gtmkit.providers.base import Finding, Provider, Record
from gtmkit.providers.normalize import person_key


class ManualHandoff(Provider):
    """A person finishes what the providers could not (0 credits, no HTTP)."""

    name: ClassVar[str] = "manual"
    kind = "manual"
    endpoint: ClassVar[str] = "handoff"
    default_base_url: ClassVar[str] = "local://manual"
    #: a person needs something to search by: a name, a profile or an email
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("full_name",),
        ("first_name", "last_name"),
        ("linkedin_url",),
    )
    returns: ClassVar[frozenset[str]] = frozenset({"email", "phone", "title", "linkedin_url"})
    billing = "per_call"
    credits_per_lookup: ClassVar[float] = 0.0
    max_credits: ClassVar[float] = 0.0
    price_per_credit: ClassVar[float] = 0.0
    listing_order: ClassVar[int] = 1000

    def lookup_key(self, record: Record) -> str:
        return person_key(record)

    async def _lookup(self, record: Record) -> Finding:
        return Finding(provider=self.name, endpoint=self.endpoint, outcome="miss")


__all__ = ["ManualHandoff"]
