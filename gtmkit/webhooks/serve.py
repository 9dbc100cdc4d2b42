"""``gtmkit serve-webhooks``: the receiver (``receiver.py``) under uvicorn.

Secrets come from the environment only (:data:`gtmkit.webhooks.SECRET_ENV_VARS`); an endpoint
whose secret is unset answers 404. uvicorn's access log is off: it prints request paths, and
the Apollo path holds a secret; the app logs each delivery's route, status and reason instead.

It also serves the integrations' routes (:mod:`gtmkit.webhooks.integration_routes`): Slack's
approval clicks on ``/slack/interactions`` (``SLACK_SIGNING_SECRET``, the approvals beside
``--ledger``) and Clay's callbacks on ``/webhooks/clay`` (``CLAY_CALLBACK_TOKEN``,
``--clay-store``); at start-up it logs which of them are on, and why any is off.

Example:
    >>> parser().parse_args([]).port
    8787
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.webhooks.integration_routes import IntegrationRoutes


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gtmkit serve-webhooks",
        description="Receive signed webhooks (leads, HubSpot, Clay, Apollo phones) into "
        "Redis Streams. Secrets: GTMKIT_WEBHOOK_SECRET, HUBSPOT_CLIENT_SECRET, "
        "CLAY_WEBHOOK_TOKEN, APOLLO_WEBHOOK_TOKEN; Slack clicks and Clay callbacks: "
        "SLACK_SIGNING_SECRET, CLAY_CALLBACK_TOKEN.",
    )
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    p.add_argument("--host", default="127.0.0.1", help="interface (default loopback)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787)")
    p.add_argument("--public-url", default=None,
                   help="the URL HubSpot calls (https://host), when behind a proxy")  # fmt: skip
    p.add_argument("--phone-inbox", default=None, help="the Apollo adapter's phone inbox file")
    p.add_argument("--max-body-bytes", type=int, default=None, help="refuse larger bodies")
    p.add_argument("--log-level", default="info", help="the receiver's log level")
    p.add_argument("--ledger", default=None,
                   help="the run ledger whose approvals Slack clicks answer (default "
                        "data/ledger.sqlite, as gated_run)")  # fmt: skip
    p.add_argument(
        "--clay-store", default=None, help="the Clay store push() wrote; Clay callbacks land in it"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from gtmkit.webhooks.receiver import MAX_BODY_BYTES, ReceiverConfig, create_app

    args = parser().parse_args(argv)
    config = ReceiverConfig.from_env(
        args.redis, public_url=args.public_url, phone_inbox=args.phone_inbox,
        max_body_bytes=args.max_body_bytes or MAX_BODY_BYTES,
    )  # fmt: skip
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(message)s")
    mounted = _integration_routes(args)
    uvicorn.run(create_app(config, extra_routes=mounted.routes), host=args.host,
                port=args.port, access_log=False, log_level=args.log_level)  # fmt: skip
    return 0


def _integration_routes(args: argparse.Namespace) -> IntegrationRoutes:
    from pathlib import Path

    from gtmkit.integrations.slack_approvals import approvals_path
    from gtmkit.waterfall.options import DEFAULT_LEDGER_PATH
    from gtmkit.webhooks.integration_routes import IntegrationConfig, integration_routes

    mounted = integration_routes(IntegrationConfig.from_env(
        approvals=approvals_path(args.ledger or DEFAULT_LEDGER_PATH),
        clay_store=Path(args.clay_store) if args.clay_store else None,
    ))  # fmt: skip
    log = logging.getLogger("gtmkit.webhooks")
    for line in mounted.describe():
        (log.warning if " off: " in line else log.info)("route %s", line)
    return mounted


__all__ = ["main", "parser"]
