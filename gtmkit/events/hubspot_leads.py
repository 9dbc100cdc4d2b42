"""``gtmkit hubspot-leads``: HubSpot's new contacts become leads of the event tier.

The seed's queue and event tiers start at "CRM webhook → queue → workers → CRM update". The
webhook receiver puts HubSpot's deliveries on ``crm.hubspot`` as they came, and HubSpot's
webhook events carry ids only, no contact fields (developers.hubspot.com/docs/api/webhooks).
This bridge, a consumer of the group ``hubspot-leads`` on ``crm.hubspot`` (run one or more),
turns each ``contact.creation`` event into a lead on ``leads.new`` for ``gtmkit consume``:

* a batch of events is resolved with one ``POST /crm/v3/objects/contacts/batch/read`` (100
  ids a call) through the HubSpot destination's session — the private-app token from
  ``HUBSPOT_ACCESS_TOKEN``, its pacing by the rate-limit headers and its retries on 429/5xx;
* the lead holds the contact's fields under gtmkit's names (:data:`LEAD_FIELDS`), plus
  ``crm`` and ``crm_id`` so its results can be synced back to the same record;
* the lead's event id is ``hubspot:contact:<id>``: a contact announced twice (HubSpot resends
  a delivery it saw fail; a merge sends a second creation) is one lead, which the enrichment
  consumer runs — and pays for — once;
* publishing the lead, marking the HubSpot event done and acknowledging it are one Lua script
  (:meth:`gtmkit.events.bus.Bus.forward`), so a bridge killed mid-batch repeats nothing: its
  events stay pending and another bridge reclaims them;
* a contact HubSpot no longer has (deleted or merged away since the event) →
  ``dlq.enrichment``, kind ``invalid``, with the reason; other subscription types
  (``contact.propertyChange``, ``contact.deletion``...) go to ``crm.hubspot.ignored``
  and are counted ``ignored``;
* HubSpot unreachable, or its daily limit spent: the batch's events stay pending and are
  retried on a later turn; after ``max_deliveries`` deliveries an event goes to the DLQ, kind
  ``deliveries``. A refused token stops the bridge with the reason (retrying cannot help).

Example:
    >>> lead_from_contact("901", {"firstname": "Ana", "lastname": "Ruiz", "email": None,
    ...                           "website": "https://acme.io", "hs_object_id": "901"})
    {'first_name': 'Ana', 'last_name': 'Ruiz', 'website': 'https://acme.io', 'crm': 'hubspot', 'crm_id': '901'}
"""  # noqa: E501

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gtmkit.events.bus import DLQ_STREAM, LEADS_STREAM, Bus, Message, take
from gtmkit.events.consumer import CLAIM_IDLE_S, MAX_DELIVERIES, run_turns
from gtmkit.events.pipeline import done_key, lead_fields
from gtmkit.sync.errors import DestinationError
from gtmkit.webhooks.receiver import HUBSPOT_STREAM

if TYPE_CHECKING:  # pragma: no cover
    import redis

    from gtmkit.sync.destinations.hubspot import HubSpot

log = logging.getLogger("gtmkit.events")

GROUP = "hubspot-leads"
#: the HubSpot events that make a lead
CREATION = "contact.creation"
#: where the events that make no lead are kept (a record of what was skipped, and why not)
IGNORED_STREAM = "crm.hubspot.ignored"
#: HubSpot contact property → gtmkit's lead field (the HubSpot sync's mapping, read back)
LEAD_FIELDS: Mapping[str, str] = {
    "firstname": "first_name",
    "lastname": "last_name",
    "email": "email",
    "jobtitle": "title",
    "company": "company_name",
    "website": "website",
    "hs_linkedin_url": "linkedin_url",
    "phone": "phone",
    "country": "country",
}


def lead_from_contact(contact_id: str, properties: Mapping[str, Any]) -> dict[str, str]:
    """A lead from a HubSpot contact's properties: gtmkit's field names, empty values left out."""
    lead = {
        field: str(properties[prop]).strip()
        for prop, field in LEAD_FIELDS.items()
        if properties.get(prop) is not None and str(properties[prop]).strip()
    }
    return {**lead, "crm": "hubspot", "crm_id": str(contact_id)}


def lead_event_id(contact_id: str) -> str:
    """One lead per contact, however many events announce it."""
    return f"hubspot:contact:{contact_id}"


class _Refused(DestinationError):
    """HubSpot refused the token: the bridge stops (the events stay pending)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, destination="hubspot", kind="auth")


class HubSpotLeadBridge:
    """One consumer ``name`` of :data:`GROUP` on ``crm.hubspot`` (see the module doc)."""

    def __init__(
        self,
        bus: Bus,
        hubspot: HubSpot,
        *,
        name: str,
        batch_size: int = 100,
        block_ms: int = 1000,
        claim_idle_s: float = CLAIM_IDLE_S,
        max_deliveries: int = MAX_DELIVERIES,
        source: str = HUBSPOT_STREAM,
        to: str = LEADS_STREAM,
        dlq: str = DLQ_STREAM,
    ) -> None:
        self.bus, self.hubspot, self.name = bus, hubspot, name
        self.batch_size, self.block_ms = batch_size, block_ms
        self.claim_idle_ms = int(claim_idle_s * 1000)
        self.max_deliveries = max_deliveries
        self.source, self.to, self.dlq = source, to, dlq
        self.done_key = done_key(GROUP)
        self.counts = {"leads": 0, "dlq": 0, "ignored": 0, "already_done": 0, "retry_later": 0}
        self.stopping = threading.Event()
        bus.ensure_group(source, GROUP)

    def step(self) -> int:
        """One turn: reclaim events left by a dead bridge, then read new ones; returns the
        events taken (settled, or left pending for a later turn when HubSpot failed)."""
        messages = take(self.bus, self.source, GROUP, self.name, count=self.batch_size,
                        min_idle_ms=self.claim_idle_ms, block_ms=self.block_ms)  # fmt: skip
        if messages:
            self.handle(messages)
        return len(messages)

    def run(self, *, burst: bool = False) -> dict[str, int]:
        """Turns until :attr:`stopping` is set (SIGTERM) — or, with ``burst``, until a turn
        finds nothing to do."""
        run_turns(self.step, self.stopping, name=self.name, burst=burst, fatal=(_Refused,))
        return dict(self.counts)

    def handle(self, messages: Sequence[Message]) -> None:
        """Settle each message one way, or leave a batch HubSpot could not answer pending."""
        wanted: list[Message] = []
        for message in messages:
            if message.deliveries > self.max_deliveries:
                self._dead(message, "deliveries", f"delivered {message.deliveries} times and "
                           f"never settled (limit {self.max_deliveries}): HubSpot failed on it "
                           "every time, or every bridge that took it crashed")  # fmt: skip
            elif message.fields.get("type") != CREATION:
                fields = {k: message.fields.get(k, "") for k in ("event_id", "type", "object_id")}
                self._settle(message, fields, "ignored", to=IGNORED_STREAM)
            elif not message.fields.get("object_id", "").strip():
                self._dead(message, "invalid", "a contact.creation event without an objectId")
            else:
                wanted.append(message)
        if not wanted:
            return
        ids = sorted({m.fields["object_id"].strip() for m in wanted})
        try:
            found, missing = asyncio.run(self._read(ids))
        except DestinationError as exc:
            if exc.kind == "auth":
                raise _Refused(str(exc)) from None  # every retry would be refused too
            # pending, not acknowledged: reclaimed once idle, and counted as a delivery
            self.counts["retry_later"] += len(wanted)
            log.warning("hubspot-leads %s: HubSpot failed (%s); %d events will be retried",
                        self.name, exc.kind, len(wanted))  # fmt: skip
            return
        for message in wanted:
            contact_id = message.fields["object_id"].strip()
            if contact_id in found:
                lead = lead_from_contact(contact_id, found[contact_id])
                fields = lead_fields(lead, event_id=lead_event_id(contact_id), source="hubspot")
                fields["hubspot_event_id"] = message.event_id
                self._settle(message, fields, "leads", to=self.to)
            else:
                why = "missing from HubSpot's answer" if contact_id not in missing else (
                    "not in HubSpot any more (deleted, or merged into another contact)"
                )  # fmt: skip
                self._dead(message, "invalid", f"contact {contact_id} is {why}")

    async def _read(self, ids: list[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
        async with self.hubspot.client() as client:
            session = self.hubspot.session(client)
            return await self.hubspot.read(session, ids, sorted(LEAD_FIELDS))

    def _dead(self, message: Message, kind: str, reason: str) -> None:
        fields = {"event_id": message.event_id, "kind": kind, "reason": reason,
                  "source": "hubspot", "source_id": message.id,
                  "deliveries": str(message.deliveries),
                  "event": message.fields.get("event", ""), "pipeline": GROUP}  # fmt: skip
        self._settle(message, fields, "dlq", to=self.dlq)

    def _settle(self, message: Message, fields: dict[str, str], counter: str, *, to: str) -> None:
        published = self.bus.forward(message, GROUP, to=to, fields=fields,
                                     done_key=self.done_key)  # fmt: skip
        self.counts[counter if published else "already_done"] += 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gtmkit hubspot-leads",
        description="Turn HubSpot contact.creation events (crm.hubspot) into leads on "
        "leads.new. The token comes from HUBSPOT_ACCESS_TOKEN.",
    )
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    p.add_argument("--name", default=None, help="consumer name, unique in the group")
    p.add_argument("--batch-size", type=int, default=100, help="events resolved together")
    p.add_argument("--max-deliveries", type=int, default=MAX_DELIVERIES,
                   help="deliveries before an event goes to the DLQ")  # fmt: skip
    p.add_argument("--burst", action="store_true", help="exit once there is nothing to do")
    return p


def main(argv: list[str] | None = None) -> int:
    from gtmkit.events.bus import RedisStreamsBus
    from gtmkit.queue.jobs import connection
    from gtmkit.sync.destinations.hubspot import HubSpot
    from gtmkit.sync.errors import MissingDestinationCredentials

    args = parser().parse_args(argv)
    try:
        hubspot = HubSpot(associate_companies=False)
    except MissingDestinationCredentials as exc:
        print(f"gtmkit hubspot-leads: {exc}")
        return 2
    conn: redis.Redis = connection(args.redis)
    name = args.name or f"hubspot-leads-{uuid.uuid4().hex[:8]}"
    bridge = HubSpotLeadBridge(RedisStreamsBus(conn), hubspot, name=name,
                               batch_size=args.batch_size,
                               max_deliveries=args.max_deliveries)  # fmt: skip
    for sig in (signal.SIGTERM, signal.SIGINT):  # finish the batch in hand, then stop
        signal.signal(sig, lambda *_: bridge.stopping.set())
    try:
        counts = bridge.run(burst=args.burst)
    except DestinationError as exc:
        print(f"gtmkit hubspot-leads: {hubspot.redact(str(exc))}")
        return 1
    print(json.dumps({"consumer": name, **counts}))
    return 0


__all__ = [
    "CREATION",
    "GROUP",
    "IGNORED_STREAM",
    "LEAD_FIELDS",
    "HubSpotLeadBridge",
    "lead_event_id",
    "lead_from_contact",
    "main",
    "parser",
]
