"""What the two sequencers (Outreach, Salesloft) share: create or update the person, then add
them to a sequence (cadence) — and refuse, at plan time, a person already in an active one
(two sequences at once is how prospects get double-emailed). Someone active in another
sequence is not touched at all (a rep is working them); someone active in the sync's own
sequence (added by an earlier sync) still gets field updates, and is not added again. A
person with no email address is not created (no sequence can reach them).

Adding someone to the sequence is part of the dry run like any field: the plan shows
``sequence: ∅ → '7'`` (``cadence`` for Salesloft) for each person who will be added, so a
person already written but not yet enrolled is an ``update`` with only that change. Someone
who was ever in that sequence (finished it, or was taken out by a rep) is not added again. A
refused enrollment fails the record (kept for retry) while the person it wrote is recorded
with their id, so the retry only enrolls.

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> from gtmkit.sync.dedupe import Existing
    >>> from gtmkit.sync.destinations.salesloft import Salesloft
    >>> sl = Salesloft(transport=CrmTransport(), sequence_id=9)
    >>> sl.plan_notes(None, Existing("1", {}, active_sequence="4"))
    'already in an active cadence (cadence 4): not touched until it ends'
    >>> sl.followups(None), sl.followups(Existing("2", {}, sequences={"9"}))
    ({'cadence': (None, '9')}, {})
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from gtmkit.sync.dedupe import Existing
from gtmkit.sync.destinations.base import Destination, Item, Outcome, Session
from gtmkit.sync.errors import DestinationError
from gtmkit.sync.merge import is_empty

__all__ = ["Sequencer"]


class Sequencer(Destination):
    """A destination whose people can be enrolled in a sequence.

    Args:
        sequence_id: the sequence (cadence) to add each written person to; ``None`` writes
            the people only.
        **options: see :class:`~gtmkit.sync.destinations.base.Destination`.
    """

    batch_size = 25  # one call per person: a batch is only the ledger's unit of commit
    #: what the vendor calls a sequence; also the dry run's name for the enrollment change
    sequence_word: ClassVar[str] = "sequence"

    def __init__(self, *, sequence_id: int | str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.sequence_id = None if sequence_id is None else str(sequence_id)
        self.enrolled: list[str] = []

    def plan_notes(self, item: Item, existing: Existing | None) -> str | None:
        word = self.sequence_word
        if existing is None and is_empty(item.record.get("email")):
            return f"no email address: a {word} cannot reach them (not created)"
        active = existing.active_sequence if existing is not None else None
        if active and active != self.sequence_id:  # a rep's sequence: hands off
            return f"already in an active {word} ({word} {active}): not touched until it ends"
        return None

    def followups(self, existing: Existing | None) -> dict[str, tuple[Any, Any]]:
        if self.sequence_id is None:
            return {}
        if existing is not None and self.sequence_id in existing.sequences:
            return {}  # in it before (finished, or taken out by a rep): never added twice
        return {self.sequence_word: (None, self.sequence_id)}

    def person_fields(self, item: Item) -> dict[str, Any]:
        """The item's properties without the enrollment pseudo-property."""
        return {k: v for k, v in item.properties.items() if k != self.sequence_word}

    async def after_write(self, session: Session, written: list[tuple[Item, Outcome]]) -> None:
        pending = [(i, o) for i, o in written if self.sequence_word in i.properties]
        for n, (item, outcome) in enumerate(pending):
            try:
                problem = await self.enroll(session, str(outcome.dest_id))
            except DestinationError as exc:  # a limit or a refused token: none of the rest
                for later, out in pending[n:]:
                    self._not_enrolled(later, out, str(exc))
                raise
            if problem is None:
                self.enrolled.append(str(outcome.dest_id))
            else:
                self._not_enrolled(item, outcome, problem)

    def _not_enrolled(self, item: Item, outcome: Outcome, problem: str) -> None:
        """The person is written (their id is kept); the enrollment failed (kept for retry)."""
        outcome.ok = False
        outcome.kind = "not_enrolled"
        outcome.reason = f"written, not added to the {self.sequence_word}: {problem}"
        outcome.landed = self.person_fields(item)

    @abstractmethod
    def person_request(
        self, item: Item, fields: dict[str, Any], *, creating: bool
    ) -> tuple[str, str, Any, str | None]:
        """(method, URL, JSON body, content type) that creates or updates one person."""

    async def _write_person(self, session: Session, item: Item, creating: bool) -> Outcome:
        fields = self.person_fields(item)
        if not creating and not fields:  # only the enrollment changes
            return Outcome(item.record_key, True, dest_id=item.dest_id)
        method, url, body, content_type = self.person_request(item, fields, creating=creating)
        resp = await session.request(method, url, json=body, content_type=content_type)
        if resp.status_code >= 400:
            return Outcome(item.record_key, False, kind="rejected", reason=self.error_text(resp))
        person_id = str(resp.json()["data"]["id"])
        return Outcome(item.record_key, True, dest_id=person_id, created=creating)

    async def create(self, session: Session, items: list[Item]) -> list[Outcome]:
        return [await self._write_person(session, i, True) for i in items]

    async def update(self, session: Session, items: list[Item]) -> list[Outcome]:
        return [await self._write_person(session, i, False) for i in items]

    @abstractmethod
    async def enroll(self, session: Session, person_id: str) -> str | None:
        """Add one person to ``sequence_id``; ``None`` on success, else the vendor's reason."""
