"""Every Redis key the queue tier writes, in one place (prefix ``gtmkit:``).

Shared across runs (a provider account and what was bought are not one run's):

* ``gtmkit:cache:{provider}|{endpoint}|{key}`` — the answer bought (JSON, with ``fetched_at``)
* ``gtmkit:claim:{provider}|{endpoint}|{key}`` — who is paying for that lookup right now
  (the owner's token; expires unless its owner's heartbeat refreshes it)
* ``gtmkit:limit:{account}:slots`` / ``:next`` — a provider account's calls in flight (a sorted
  set of leases) and the time of its next token

One run's (``gtmkit:run:{run_id}:...``): ``meta`` (spec, options, chunk count), ``budget``,
``reservations`` and ``lost`` (the budget account; holds of calls in flight; holds of calls a
dead worker had sent), ``inflight`` (intents of calls not answered yet), ``attempts`` (every
attempt of every worker, a list), ``chunks`` (each chunk's result), ``jobs`` (a resumed
chunk's current RQ job id) and ``resume_lock``.

Example:
    >>> cache_key(("hunter", "email-finder", "ada|acme.io"))
    'gtmkit:cache:hunter|email-finder|ada|acme.io'
    >>> run_key("r1", "budget")
    'gtmkit:run:r1:budget'
"""

from __future__ import annotations

PREFIX = "gtmkit"


def _lookup(key: tuple[str, str, str]) -> str:
    return "|".join(key)


def cache_key(key: tuple[str, str, str]) -> str:
    return f"{PREFIX}:cache:{_lookup(key)}"


def claim_key(key: tuple[str, str, str]) -> str:
    return f"{PREFIX}:claim:{_lookup(key)}"


def limit_key(account: str, part: str) -> str:
    return f"{PREFIX}:limit:{account}:{part}"


def run_key(run_id: str, part: str) -> str:
    return f"{PREFIX}:run:{run_id}:{part}"
