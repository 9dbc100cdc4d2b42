"""Wire-level pieces shared by every simulated provider: the parsed request, the reply, and the
small normalizers that turn request parameters into the oracle's canonical query.

Kept dependency-free and cheap: the in-process transport must answer thousands of lookups a
second, so nothing here scans the world or builds more than one JSON string per reply.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl

#: What the front end (transport or server) must do instead of sending the reply normally.
#: ``hang`` holds the request until the client gives up (its own read timeout).
Action = Literal["timeout", "reset", "disconnect", "hang", "refuse"]

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON (what the providers send; non-ASCII names stay readable)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Reply:
    """One HTTP answer: status, headers (without content-type/length), body bytes.

    ``delay_s`` is how long to wait before answering (simulated latency); ``action`` asks the
    front end to time out or reset the connection instead of answering.
    """

    __slots__ = ("action", "body", "content_type", "delay_s", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        *,
        headers: list[tuple[str, str]] | None = None,
        content_type: str = JSON_TYPE,
        delay_s: float = 0.0,
        action: Action | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else []
        self.content_type = content_type
        self.delay_s = delay_s
        self.action = action

    def json(self) -> Any:
        return json.loads(self.body)

    def all_headers(self) -> list[tuple[str, str]]:
        """Headers as sent on the wire, content-type and content-length included."""
        return [
            ("content-type", self.content_type),
            ("content-length", str(len(self.body))),
            *self.headers,
        ]

    def __repr__(self) -> str:  # no body: it can hold personal data
        return f"Reply(status={self.status}, bytes={len(self.body)}, action={self.action!r})"


def json_reply(status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, dumps(obj), headers=headers)


class BadBody(ValueError):
    """The request body is not the JSON the endpoint needs (answered with the provider's 400)."""


class Exchange:
    """One parsed request to one simulated provider.

    Attributes:
        provider: provider name (``"apollo"``...).
        method: upper-case HTTP method.
        path: the path *below* the provider's API prefix (``"/people/match"``).
        query: query parameters, last value wins; ``query_lists`` keeps repeated ones.
        headers: lower-case header name → value.
        body: raw request body.
        key_id: a short one-way digest of the API key (the key itself is never kept).
        dry: when true the answer is computed without side effects (no credits, no jobs):
            used to build the body a "malformed" fault then truncates.
    """

    __slots__ = (
        "_fingerprint",
        "_json",
        "body",
        "dry",
        "headers",
        "key_id",
        "method",
        "path",
        "provider",
        "query",
        "query_lists",
        "raw_query",
    )

    def __init__(
        self,
        provider: str,
        method: str,
        path: str,
        raw_query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        self.provider = provider
        self.method = method.upper()
        self.path = path
        self.raw_query = raw_query
        pairs = parse_qsl(raw_query, keep_blank_values=True) if raw_query else []
        self.query: dict[str, str] = dict(pairs)
        self.query_lists: dict[str, list[str]] = {}
        for name, value in pairs:
            self.query_lists.setdefault(name, []).append(value)
        self.headers = headers
        self.body = body
        self.key_id: str | None = None
        self.dry = False
        self._json: Any = _UNSET
        self._fingerprint: bytes | None = None

    def json(self) -> Any:
        """The JSON body (``None`` when empty); raises :class:`BadBody` when unparsable."""
        if self._json is _UNSET:
            try:
                self._json = json.loads(self.body) if self.body.strip() else None
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                raise BadBody("request body is not valid JSON") from exc
        return self._json

    def fingerprint(self) -> bytes:
        """Identity of the request for fault decisions and jitter (the key is left out, so the
        same lookup made with another key is the same request)."""
        if self._fingerprint is None:
            query = sorted(self.query.items())
            items = "&".join(f"{k}={v}" for k, v in query if k != "api_key")
            raw = f"{self.provider}|{self.method}|{self.path}|{items}|".encode() + self.body
            self._fingerprint = hashlib.blake2b(raw, digest_size=16).digest()
        return self._fingerprint


_UNSET: Any = object()


@functools.lru_cache(maxsize=64)  # a run uses a handful of keys; hashing each call adds up
def key_digest(key: str) -> str:
    """One-way short id of an API key, for per-key credit counters (never the key itself)."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


def stable_id(*parts: object, size: int = 12) -> str:
    """A deterministic hex id (Apollo-style ids, PDL ids, request ids)."""
    raw = "|".join(str(p) for p in parts).encode("utf-8")
    return hashlib.blake2b(raw, digest_size=size).hexdigest()


def unit_float(*parts: object) -> float:
    """A deterministic number in [0, 1) from its parts (seeded draws without global state)."""
    raw = "|".join(str(p) for p in parts).encode("utf-8")
    value = int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")
    return value / 2**64


# -- request normalizers ---------------------------------------------------------------------


def clean(value: Any) -> str | None:
    """Trimmed string or ``None`` for missing/blank values (numbers and bools become text)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def normalize_domain(value: Any) -> str | None:
    """``https://www.Acme.com/about`` → ``acme.com``; an email's domain part is accepted too."""
    text = clean(value)
    if text is None:
        return None
    text = text.lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0]
    if text.startswith("www."):
        text = text[4:]
    return text.strip(".") or None


def normalize_linkedin(value: Any) -> str | None:
    """Any LinkedIn profile spelling → ``https://www.linkedin.com/in/<handle>``."""
    text = clean(value)
    if text is None:
        return None
    lowered = text.lower()
    if "/in/" in lowered:
        handle = lowered.split("/in/", 1)[1].strip("/").split("/", 1)[0].split("?", 1)[0]
    elif "linkedin.com" in lowered:
        return lowered
    else:
        handle = lowered.strip("/")
    return f"https://www.linkedin.com/in/{handle}" if handle else None


def build_query(**fields: Any) -> dict[str, str]:
    """Canonical oracle query from provider parameters (missing values dropped, normalized)."""
    query: dict[str, str] = {}
    for name, value in fields.items():
        if name in ("company_domain", "website"):
            text = normalize_domain(value)
        elif name == "linkedin_url":
            text = normalize_linkedin(value)
        elif name == "email":
            text = clean(value)
            text = text.lower() if text else None
        else:
            text = clean(value)
        if text is not None:
            query[name] = text
    return query


def looks_like_domain(value: str) -> bool:
    text = value.strip().lower()
    return "." in text and " " not in text and not text.endswith(".")
