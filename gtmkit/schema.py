"""Shared vocabulary: canonical record fields, outcomes and the common email-status scale.

Every module speaks these names, so a lead list, a provider finding, a waterfall result and a
comparison line up without translation tables.

Example:
    >>> from gtmkit.schema import BILLING_MODELS, EMAIL_STATUSES, ROW_ID
    >>> ROW_ID, EMAIL_STATUSES
    ('row_id', ('valid', 'catch_all', 'risky', 'invalid', 'unknown'))
    >>> BILLING_MODELS
    ('per_call', 'per_hit', 'refund_on_miss')
"""

from __future__ import annotations

from typing import Literal, get_args

#: Canonical person/company fields a lead list is mapped onto (in display order).
CANONICAL_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "company_name",
    "company_domain",
    "website",
    "linkedin_url",
    "title",
    "phone",
    "country",
)

#: Column every accepted and rejected row carries: its 0-based position among the source's
#: data rows. It is the join key through everything downstream.
ROW_ID = "row_id"

Outcome = Literal["hit", "miss", "error"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)

#: One scale for every provider's email status. ``valid``: the mailbox exists (SMTP accepted
#: it on a domain that is not catch-all). ``catch_all``: the domain accepts everything, so the
#: address cannot be confirmed. ``risky``: found but unverified or low confidence. ``invalid``:
#: known not to deliver. ``unknown``: nothing could be said.
EmailStatus = Literal["valid", "catch_all", "risky", "invalid", "unknown"]
EMAIL_STATUSES: tuple[str, ...] = get_args(EmailStatus)

#: How a provider bills a lookup.
#: ``per_call``: every answered request costs its credits, hit or miss.
#: ``per_hit``: only a hit costs credits.
#: ``refund_on_miss``: credits are taken when the request is sent and given back on a miss
#: (the worst case must still be reserved up front).
BillingModel = Literal["per_call", "per_hit", "refund_on_miss"]
BILLING_MODELS: tuple[str, ...] = get_args(BillingModel)
