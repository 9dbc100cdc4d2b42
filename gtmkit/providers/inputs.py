"""What a lookup may send: the guard that fails one row's bad input before it reaches HTTP.

A lead list is client data: a cell can hold a pasted page, a whole CSV line, or text a broken
decode left unencodable. Sent as is, such a value makes httpx raise (``InvalidURL`` for a URL
over 65,536 characters, ``UnicodeEncodeError`` for a lone surrogate) or earns a 414 — for every
rerun alike. The guard checks each field an adapter sends before anything is sent and names
the field that is wrong, so that row fails with its reason and the run goes on.

Why :data:`MAX_FIELD_CHARS` is 1,000: no legitimate value of a field a lookup sends comes
near it — an email has at most 254 characters (RFC 5321 §4.5.3.1.3), a domain at most 253
(RFC 1035), a LinkedIn profile URL about 100, a company name rarely 200 — and 1,000 ASCII
characters percent-encode to at most 3,000, well inside the 8 KB request line that common
servers accept (Apache ``LimitRequestLine`` 8,190 bytes, nginx's 8 KB header buffers) and the
15 kB Dropcontact accepts per record (``../shared/providers.md`` §8).

Example:
    >>> input_problem({"first_name": "Ada", "company_name": "x" * 70_000}, ("first_name",
    ...     "company_name"))
    ('company_name', 'is 70,000 characters long; a lookup sends at most 1,000 per field')
    >>> input_problem({"first_name": "Ada"}, ("first_name", "last_name")) is None
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

#: Most characters a text field of a lookup may hold (see the module docstring for why).
MAX_FIELD_CHARS = 1_000


def input_problem(record: Mapping[str, Any], fields: Iterable[str]) -> tuple[str, str] | None:
    """The first of ``fields`` whose value cannot be sent, and what is wrong with it.

    Returns:
        ``(field, reason)``, or ``None`` when every field can be sent.
    """
    for name in fields:
        value = record.get(name)
        if not isinstance(value, str):
            continue
        if len(value) > MAX_FIELD_CHARS:
            return name, (
                f"is {len(value):,} characters long; a lookup sends at most "
                f"{MAX_FIELD_CHARS:,} per field"
            )
        if not value.isascii() and not _encodable(value):
            return name, (
                "holds text that is not valid Unicode (a lone surrogate, usually left by "
                "reading the file with the wrong encoding)"
            )
    return None


def blame(record: Mapping[str, Any], fields: Iterable[str], exc: BaseException) -> str | None:
    """The field most likely behind an exception raised while a request was being built.

    Unencodable text is found exactly; otherwise (a URL too long, a value the HTTP library
    refused) the longest text field is named.
    """
    texts: dict[str, str] = {}
    for name in fields:
        value = record.get(name)
        if isinstance(value, str):
            texts[name] = value
    if isinstance(exc, UnicodeError):
        for name, value in texts.items():
            if not _encodable(value):
                return name
    if not texts:
        return None
    return max(texts, key=lambda name: len(texts[name]))


@cache
def fields_sent(needs: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """Every field named in an adapter's ``needs`` (the fields its requests are built from)."""
    return tuple(dict.fromkeys(name for group in needs for name in group))


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


__all__ = ["MAX_FIELD_CHARS", "blame", "fields_sent", "input_problem"]
