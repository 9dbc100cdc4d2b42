"""Simulated CRMs and sequencers (HubSpot, Salesforce, Outreach, Salesloft) on the vendors'
hosts, paths, auth and bodies, with their per-record errors and limits, served in process
through :class:`CrmTransport` (``gtmkit.sync.destination(name, transport=CrmTransport())``).

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> twin = CrmTransport()
    >>> hubspot = twin.app.apis["hubspot"]
    >>> hubspot.add("contacts", {"email": "ada@x.io"})
    '1'
"""

from __future__ import annotations

from gtmkit.sandbox.crm.app import CRM_HOSTS, CrmApp, CrmTransport, SimClock
from gtmkit.sandbox.crm.seed import seed_crm

__all__ = ["CRM_HOSTS", "CrmApp", "CrmTransport", "SimClock", "seed_crm"]
