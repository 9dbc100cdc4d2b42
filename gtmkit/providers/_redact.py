"""Mask secrets in the log records of the HTTP stack (``httpx``, ``httpcore``, ``aiohttp``) and of
gtmkit.

httpcore's DEBUG trace prints every request and response header it handles, as the ``repr`` of
byte tuples (``receive_response_headers.complete return_value=(b'HTTP/1.1', 200, b'OK',
[(b'X-Echo', b'...')])``, see httpcore's ``_trace.py``), and httpx logs each request's URL at
INFO (``_client.py``). A hostile or careless server that echoes a key back in a header puts it
into those lines, outside any code of gtmkit's. :class:`SecretsLogFilter` masks, in every such
record, every secret value known when the record is made: the key variable of each registered
provider, each provider's other credentials (``credential_options``, ``*_ENV`` names), and the
``SECRET_ENV_VARS`` of the packages that hold secrets of their own (``gtmkit.sync``...), and
every value held as a :class:`~gtmkit.providers.credentials.Secret` in this process (keys given
as ``connect(api_keys=...)`` or read from a ``.env`` file, ZoomInfo's OAuth access token and
Basic credentials: none of them is in ``os.environ``). The
masking is :class:`~gtmkit.providers.credentials.Secret`'s, so every spelling an adapter's own
``redact`` removes (raw, backslash-escaped to any depth, ``\\xXX``, percent-encoded) is removed
here too — the ``repr`` of a bytes header included.

A logger's filters see only the records made on that logger, not those its children pass up,
so the filter is put on each logger of those packages by :func:`install_log_redaction`, which
adapters call before each request (idempotent: it rescans only when new loggers appeared).

Example:
    >>> import logging, os
    >>> os.environ["HUNTER_API_KEY"] = 'k"1\\\\x'
    >>> record = logging.LogRecord("httpcore.http11", logging.DEBUG, "", 0,
    ...     "headers=%r", ([(b"X-Echo", b'k"1\\\\x')],), None)
    >>> SecretsLogFilter().filter(record), record.getMessage()
    (True, "headers=[(b'X-Echo', b'***')]")
    >>> del os.environ["HUNTER_API_KEY"]
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import re
import sys

from gtmkit.providers.credentials import MAX_HELD, Secret, held_secrets

#: Packages whose ``SECRET_ENV_VARS`` tuple lists credential variables of their own.
SECRET_HOOKS = ("gtmkit.sync", "gtmkit.integrations", "gtmkit.webhooks")
#: Top-level loggers whose records (and their children's) are filtered. ``aiohttp``: the
#: transport of ``connect(http="aiohttp")`` (``aiohttp/log.py``: ``aiohttp.client``,
#: ``aiohttp.internal``...); ``asyncio``: where aiohttp reports an unclosed response, its URL
#: and headers printed (``ClientResponse.__del__`` in debug mode, the loop's exception handler).
FILTERED_LOGGERS = ("httpx", "httpcore", "gtmkit", "aiohttp", "asyncio")
#: httpcore's module loggers (``httpcore/_async/*.py``), made now so they are filtered at once.
_KNOWN_CHILDREN = ("connection", "http11", "http2", "proxy", "socks")
_VARIABLE_NAME = re.compile(r"[A-Z0-9_]+")


def secret_env_vars() -> tuple[str, ...]:
    """Every environment variable gtmkit reads a secret from, derived from the provider
    registry and the ``SECRET_ENV_VARS`` hooks (so a new provider is never forgotten)."""
    from gtmkit.providers.registry import provider_names

    return _variables(provider_names())


@functools.lru_cache(maxsize=4)
def _variables(names: tuple[str, ...]) -> tuple[str, ...]:
    # cached per registry content: a provider registered later changes the key
    from gtmkit.providers.registry import provider_class

    found: list[str] = []
    for name in names:
        cls = provider_class(name)
        if cls.env_var:
            found.append(cls.env_var)
        found += list(getattr(cls, "credential_options", {}).values())
        module = sys.modules.get(cls.__module__)
        found += [
            value
            for attr, value in vars(module or object()).items()
            if attr.endswith("_ENV") and isinstance(value, str) and _VARIABLE_NAME.fullmatch(value)
        ]
    for package in SECRET_HOOKS:
        try:
            hook = importlib.import_module(package)
        except ModuleNotFoundError:  # a package not on this install: nothing of it to mask
            continue
        found += list(getattr(hook, "SECRET_ENV_VARS", ()))
    return tuple(dict.fromkeys(found))


@functools.lru_cache(maxsize=MAX_HELD)
def _secret(value: str) -> Secret:
    # compiled once per value (a key's pattern is one regular expression per key)
    return Secret(value)


def known_secrets() -> tuple[Secret, ...]:
    """The secrets known now: those set in the environment, as sent (stripped: a key read from
    a file often ends in a newline, which gtmkit removes before sending it), and every value
    held as a :class:`Secret` — keys given as ``connect(api_keys=...)``, keys read from a
    ``.env`` file, OAuth tokens fetched at run time. Longest first, so a secret holding
    another is masked whole."""
    values = {os.environ.get(variable, "").strip() for variable in secret_env_vars()}
    values.update(held_secrets())
    return tuple(_secret(v) for v in sorted(values - {""}, key=lambda v: (-len(v), v)))


def redact_secrets(text: str, secrets: tuple[Secret, ...] | None = None) -> str:
    """``text`` with every spelling of every known secret replaced by ``***``."""
    for secret in known_secrets() if secrets is None else secrets:
        if secret.found_in(text):
            text = secret.redact(text)
    return text


class SecretsLogFilter(logging.Filter):
    """Masks known secrets in a record's message and arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = known_secrets()
        if not secrets:
            return True
        try:
            message = record.getMessage()  # the args rendered as the handler would (bytes: repr)
        except Exception:  # a malformed call: keep its parts, masked one by one
            message = f"{record.msg} {record.args!r}"
        clean = redact_secrets(message, secrets)
        if clean != message:
            # the masked text replaces message and args: an argument left behind would be
            # rendered again, key and all, by the next formatter
            record.msg, record.args = clean, ()
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text, secrets)
        return True


_FILTER = SecretsLogFilter()
_loggers_seen = -1


def install_log_redaction() -> None:
    """Put :class:`SecretsLogFilter` on every logger of :data:`FILTERED_LOGGERS` (idempotent;
    loggers made later are covered at the next call)."""
    global _loggers_seen
    registry = logging.Logger.manager.loggerDict
    if len(registry) == _loggers_seen:
        return
    for root in FILTERED_LOGGERS:
        logging.getLogger(root).addFilter(_FILTER)
    for child in _KNOWN_CHILDREN:
        logging.getLogger(f"httpcore.{child}").addFilter(_FILTER)
    for name, logger in list(registry.items()):
        if isinstance(logger, logging.Logger) and name.split(".")[0] in FILTERED_LOGGERS:
            logger.addFilter(_FILTER)  # addFilter ignores a filter already there
    _loggers_seen = len(registry)
