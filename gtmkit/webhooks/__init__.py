"""The webhook receiver (``receiver.py``, served by ``gtmkit serve-webhooks``) and its signature
checks (``signatures.py``). The receiver needs the ``webhooks`` extra (Starlette, uvicorn).

Example:
    >>> from gtmkit.webhooks import signatures
    >>> signatures.MAX_AGE_SECONDS
    300.0
    >>> "HUBSPOT_CLIENT_SECRET" in SECRET_ENV_VARS
    True
"""

from __future__ import annotations

#: Every secret the receiver reads (the canary tests plant each one).
SECRET_ENV_VARS: tuple[str, ...] = (
    "GTMKIT_WEBHOOK_SECRET",
    "HUBSPOT_CLIENT_SECRET",
    "CLAY_WEBHOOK_TOKEN",
    "APOLLO_WEBHOOK_TOKEN",
    # the integration routes' (integration_routes.py), also listed by gtmkit.integrations
    "SLACK_SIGNING_SECRET",
    "CLAY_CALLBACK_TOKEN",
)
