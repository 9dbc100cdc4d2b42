"""``gtmkit.sync``: enriched records into a CRM or a sequencer, with one interface for all of
them — HubSpot contacts, Salesforce Leads or Contacts, Outreach prospects (+ sequences),
Salesloft people (+ cadences).

The flow::

    from gtmkit import sync
    from gtmkit.sandbox.crm import CrmTransport

    twin = CrmTransport()                                   # offline; live: no transport
    hubspot = sync.destination("hubspot", transport=twin)
    plan = sync.plan(result.records, hubspot, ledger="data/runs/acme.sync.sqlite")
    plan.frame                                              # create / update / skip, from → to
    done = sync.write(plan)                                 # only a plan that was made
    sync.plan(result.records, hubspot, ledger=...).counts() # again: nothing left to write

* Mapping (:class:`FieldMap`): records columns (canonical fields and their ``_source``,
  ``email_status``, ``cost_usd``) → destination properties, checked against the destination's
  schema before any write; an unknown property lists the close matches.
* De-duplication: email, then LinkedIn URL, then name + company domain
  (:mod:`gtmkit.sync.dedupe`); HubSpot contacts are associated with their domain's company.
* Merge policy (:mod:`gtmkit.sync.merge`): never an empty or a worse-graded value over a
  better one unless ``overwrite=True``.
* Dry run (:func:`plan`) first; :func:`write` takes that plan; :func:`run` with
  ``confirm=True`` for unattended batch runs.
* Sync ledger (:class:`SyncLedger`, SQLite beside the run's ledger): destination ids and what
  was written; a second identical sync writes nothing; failures kept with their reason for a
  retry (``plan(..., only_failed=True)``). :func:`summary` says what was synced where.

Why small httpx clients and not the vendors' SDKs: ``hubspot-api-client`` and
``simple-salesforce`` are synchronous (urllib3 / requests), so they would block the event loop
the rest of gtmkit runs on and could not be served by the in-process twins
(``httpx.MockTransport``-style transports) the tests and notebooks use; the Outreach and
Salesloft APIs have no official Python SDK. Each client is a few hundred lines on the
vendor's documented REST paths (cited in each module), with pacing and retries in one place
(:class:`~gtmkit.sync.destinations.base.Session`).

Credentials come from the environment only (:data:`SECRET_ENV_VARS`) and never appear in a
repr, a message, a log line, the sync ledger or a plan frame.

Example:
    >>> from gtmkit import sync
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> import polars as pl
    >>> twin = CrmTransport()
    >>> hs = sync.destination("hubspot", transport=twin)
    >>> rows = pl.DataFrame({"email": ["ada@x.io"], "first_name": ["Ada"]})
    >>> import tempfile, pathlib
    >>> led = pathlib.Path(tempfile.mkdtemp()) / "s.sqlite"
    >>> p = sync.plan(rows, hs, ledger=led)
    >>> p.counts()
    {'create': 1, 'update': 0, 'skip': 0}
    >>> sync.write(p).counts()
    {'created': 1, 'updated': 0, 'failed': 0, 'skipped': 0}
    >>> sync.plan(rows, hs, ledger=led).counts()
    {'create': 0, 'update': 0, 'skip': 1}
"""

from __future__ import annotations

from typing import Any

from gtmkit.sync.dedupe import Existing
from gtmkit.sync.destinations.base import Destination
from gtmkit.sync.errors import (
    DestinationError,
    MappingError,
    MissingDestinationCredentials,
    PlanNotSeen,
    SyncError,
)
from gtmkit.sync.ledger import SyncLedger, sync_ledger_path
from gtmkit.sync.mapping import FieldMap
from gtmkit.sync.plan import DEFAULT_SYNC_LEDGER, SyncPlan, plan
from gtmkit.sync.summary import summary, synced_sentence
from gtmkit.sync.view import Table
from gtmkit.sync.write import SyncResult, run, write

__all__ = [
    "DEFAULT_SYNC_LEDGER",
    "DESTINATIONS",
    "SECRET_ENV_VARS",
    "Destination",
    "DestinationError",
    "Existing",
    "FieldMap",
    "MappingError",
    "MissingDestinationCredentials",
    "PlanNotSeen",
    "SyncError",
    "SyncLedger",
    "SyncPlan",
    "SyncResult",
    "Table",
    "destination",
    "plan",
    "run",
    "summary",
    "sync_ledger_path",
    "synced_sentence",
    "write",
]

#: Every credential variable the destinations read (the canary test plants each one).
SECRET_ENV_VARS: tuple[str, ...] = (
    "HUBSPOT_ACCESS_TOKEN",
    "SALESFORCE_ACCESS_TOKEN",
    "SALESFORCE_CLIENT_ID",
    "SALESFORCE_CLIENT_SECRET",
    "SALESFORCE_REFRESH_TOKEN",
    "OUTREACH_ACCESS_TOKEN",
    "SALESLOFT_API_KEY",
)

#: destination name → "module:Class"
DESTINATIONS: dict[str, str] = {
    "hubspot": "gtmkit.sync.destinations.hubspot:HubSpot",
    "salesforce": "gtmkit.sync.destinations.salesforce:Salesforce",
    "outreach": "gtmkit.sync.destinations.outreach:Outreach",
    "salesloft": "gtmkit.sync.destinations.salesloft:Salesloft",
}


def destination(name: str, **options: Any) -> Destination:
    """A destination by name: ``hubspot``, ``salesforce``, ``outreach``, ``salesloft``.

    ``transport=`` a twin's ``CrmTransport`` runs offline; without it the client goes live and
    reads its credential from the environment. Other options are the destination's own
    (``object_type="Contact"`` for Salesforce, ``sequence_id=`` for Outreach...).
    """
    import importlib

    target = DESTINATIONS.get(str(name).strip().lower())
    if target is None:
        import difflib

        close = difflib.get_close_matches(str(name).lower(), list(DESTINATIONS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise MappingError(f"unknown destination {name!r}{hint}; known: {list(DESTINATIONS)}")
    module, cls = target.split(":")
    made: Destination = getattr(importlib.import_module(module), cls)(**options)
    return made
