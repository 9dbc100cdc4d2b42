"""What a queued run (or an event pipeline) ships to its workers: the run options as data a
worker rebuilds, never live objects of the caller's process.

A run's options are pickled into Redis, but some values are handles on the caller's process:
an Apollo :class:`~gtmkit.providers.apollo_phone.PhoneInbox` (a lock and a SQLite file, e.g.
the one in ``sim.adapter_options["apollo"]``) is shipped as its file's path and reopened by
each worker; an httpx transport (``sim.connect_options["transport"]``, the in-process
sandbox) serves only the process that made it, so it is refused with what to pass instead.
Anything else that cannot be pickled is refused with the option's name, before anything is
queued.

Example:
    >>> unpack(pack({"mode": "sandbox", "rate_limits": {"hunter": 5}}))
    {'mode': 'sandbox', 'rate_limits': {'hunter': 5}}
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gtmkit.errors import GtmkitError


class ShippingError(GtmkitError, ValueError):
    """A run option cannot be shipped to the workers (the message names it and says why)."""


@dataclass(frozen=True)
class PhoneInboxAt:
    """A :class:`~gtmkit.providers.apollo_phone.PhoneInbox` as shipped: its file, reopened
    by the worker (deliveries are in the file, so every worker reads the same inbox)."""

    path: str

    def rebuild(self) -> Any:
        from gtmkit.providers.apollo_phone import PhoneInbox

        return PhoneInbox(self.path)


def pack(options: Mapping[str, Any]) -> bytes:
    """``options`` as bytes a worker can :func:`unpack` (raises :class:`ShippingError`)."""
    described = {str(k): _describe(v, k) for k, v in options.items()}
    return pickle.dumps(described)


def unpack(raw: bytes) -> dict[str, Any]:
    """The options :func:`pack` shipped, with their live objects rebuilt in this process."""
    options = pickle.loads(raw)
    if not isinstance(options, dict):
        raise ShippingError(f"the shipped options are a {type(options).__name__}, not a dict")
    return {k: _rebuild(v) for k, v in options.items()}


def _describe(value: Any, where: str) -> Any:
    import httpx

    from gtmkit.providers.apollo_phone import PhoneInbox

    if isinstance(value, PhoneInbox):
        return PhoneInboxAt(str(value.path))
    if isinstance(value, httpx.BaseTransport | httpx.AsyncBaseTransport):
        raise ShippingError(
            f"option {where} is an httpx transport ({type(value).__name__}): it serves only "
            "this process, a worker cannot use it. For the sandbox, serve it on loopback "
            "(`with sim.serve() as srv:`) and pass connect_options={'base_urls': "
            "srv.base_urls, 'options': sim.adapter_options} instead."
        )
    if isinstance(value, Mapping):
        return {k: _describe(v, f"{where}[{k!r}]") for k, v in value.items()}
    if type(value) in (list, tuple):  # exactly: a named tuple is pickled whole
        items = [_describe(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    try:
        pickle.dumps(value)
    except Exception as exc:  # pickle raises TypeError, AttributeError, PicklingError...
        raise ShippingError(
            f"option {where} ({type(value).__name__}) cannot be shipped to the workers: "
            f"{exc}. Pass plain values (numbers, text, dicts, lists) or a picklable object "
            "the workers can import."
        ) from exc
    return value


def _rebuild(value: Any) -> Any:
    if isinstance(value, PhoneInboxAt):
        return value.rebuild()
    if isinstance(value, dict):
        return {k: _rebuild(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        items = [_rebuild(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


__all__ = ["PhoneInboxAt", "ShippingError", "pack", "unpack"]
