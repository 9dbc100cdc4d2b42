"""What the two sequencers (Outreach, Salesloft) share: create or update the person, then add
them to a sequence (cadence) — and refuse, at plan time, a person already in an active one
(two sequences at once is how prospects get double-emailed).

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> from gtmkit.sync.dedupe import Existing
    >>> from gtmkit.sync.destinations.salesloft import Salesloft
    >>> sl = Salesloft(transport=CrmTransport())
    >>> sl.plan_notes(None, Existing("1", {}, active_sequence="cadence 9"))
    'already in an active cadence (cadence 9): not touched until it ends'
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from gtmkit.sync.dedupe import Existing
from gtmkit.sync.destinations.base import Destination, Item, Outcome, Session

__all__ = ["Sequencer"]


class Sequencer(Destination):
    """A destination whose people can be enrolled in a sequence.

    Args:
        sequence_id: the sequence (cadence) to add each written person to; ``None`` writes
            the people only.
        **options: see :class:`~gtmkit.sync.destinations.base.Destination`.
    """

    batch_size = 25  # one call per person: a batch is only the ledger's unit of commit

    def __init__(self, *, sequence_id: int | str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.sequence_id = sequence_id
        self.enrolled: list[str] = []

    def plan_notes(self, item: Item, existing: Existing | None) -> str | None:
        if existing is not None and existing.active_sequence:
            return (
                f"already in an active {self.sequence_word} ({existing.active_sequence}): "
                "not touched until it ends"
            )
        return None

    sequence_word = "sequence"

    async def after_write(self, session: Session, written: list[tuple[Item, Outcome]]) -> None:
        if self.sequence_id is None:
            return
        for _item, outcome in written:
            problem = await self.enroll(session, str(outcome.dest_id))
            if problem is None:
                self.enrolled.append(str(outcome.dest_id))
            else:  # the person is written (ledger), the enrollment is what failed: say so
                outcome.reason = f"written, not added to the {self.sequence_word}: {problem}"

    @abstractmethod
    def person_request(self, item: Item, *, creating: bool) -> tuple[str, str, Any, str | None]:
        """(method, URL, JSON body, content type) that creates or updates one person."""

    async def _write_person(self, session: Session, item: Item, creating: bool) -> Outcome:
        method, url, body, content_type = self.person_request(item, creating=creating)
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
