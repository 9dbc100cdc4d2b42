"""Normalization of the inputs a lookup is keyed on: emails, domains, names, LinkedIn URLs.

Two records that ask a provider the same question must give the same ``lookup_key`` (so the
engine pays once); these helpers decide what "the same" means.

Example:
    >>> normalize_domain("https://www.Acme.com/about")
    'acme.com'
    >>> normalize_linkedin("HTTP://www.linkedin.com/in/Tim-Zheng-677ba010/?trk=x")
    'linkedin.com/in/tim-zheng-677ba010'
    >>> normalize_name("  José   DE la Cruz ")
    'josé de la cruz'
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

_SPACES = re.compile(r"\s+")


def text(value: Any) -> str:
    """A record value as stripped text (``None`` → ``""``)."""
    if value is None:
        return ""
    return str(value).strip()


def normalize_email(value: Any) -> str:
    """Lowercased, trimmed email (``""`` when missing or without ``@``)."""
    email = text(value).lower()
    if email.startswith("mailto:"):
        email = email[7:]
    return email if "@" in email else ""


def normalize_domain(value: Any) -> str:
    """Bare lowercase host of a domain, URL or email (no scheme, ``www.``, path, port, dot)."""
    return _domain_of(text(value))


# The string normalizers are pure and see the same few values again and again (every step
# and every key of a lookup re-reads the record's domain): ``urlsplit`` and IDNA run once each.
_MEMO_SIZE = 1 << 16


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _domain_of(raw: str) -> str:
    raw = raw.lower()
    if not raw:
        return ""
    if "@" in raw and "/" not in raw:
        raw = raw.rsplit("@", 1)[1]
    if "//" not in raw:
        raw = "//" + raw
    host = urlsplit(raw).hostname or ""
    host = host.strip(".")
    if host.startswith("www."):
        host = host[4:]
    # Internationalised domains are compared in their ASCII (punycode) form.
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    return host


def normalize_name(value: Any) -> str:
    """Trimmed, NFC-normalized, casefolded name with single spaces."""
    return _name_of(text(value))


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _name_of(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw)
    return _SPACES.sub(" ", name).casefold()


def normalize_linkedin(value: Any) -> str:
    """Canonical ``linkedin.com/in/<slug>`` (or ``/company/<slug>``) form of a LinkedIn URL."""
    return _linkedin_of(text(value))


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _linkedin_of(raw: str) -> str:
    if not raw:
        return ""
    if "//" not in raw:
        raw = "//" + raw
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if host.startswith("www.") or re.match(r"^[a-z]{2}\.linkedin\.com$", host):
        host = host.split(".", 1)[1]
    path = unquote(parts.path).rstrip("/").lower()
    segments = [s for s in path.split("/") if s]
    if len(segments) >= 2 and segments[0] in ("in", "pub", "company", "school"):
        path = "/" + "/".join(segments[:2])
    else:
        path = "/" + "/".join(segments)
    return f"{host}{path}" if host else path.lstrip("/")


def record_domain(record: Mapping[str, Any]) -> str:
    """The company domain of a record: ``company_domain``, else the ``website``'s host."""
    return normalize_domain(record.get("company_domain")) or normalize_domain(record.get("website"))


def split_full_name(value: Any) -> tuple[str, str]:
    """(first, last) from a full name: the first word, and the rest."""
    words = text(value).split()
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], ""
    return words[0], " ".join(words[1:])


def record_names(record: Mapping[str, Any]) -> tuple[str, str]:
    """(first, last) as given, falling back to splitting ``full_name``."""
    first, last = text(record.get("first_name")), text(record.get("last_name"))
    if first and last:
        return first, last
    split_first, split_last = split_full_name(record.get("full_name"))
    return first or split_first, last or split_last


def person_key(
    record: Mapping[str, Any],
    *,
    use_email: bool = False,
    linkedin: bool = True,
    company_always: bool = False,
) -> str:
    """A lookup key for person finders: the email, LinkedIn, name and domain (or company) sent.

    The key lists exactly the inputs the adapter sends, normalized, so that the same person
    asked the same way always maps to the same key — and a field the request leaves out never
    splits one paid lookup into two. ``linkedin=False`` for an adapter that does not send the
    profile; ``company_always=True`` for one that sends the company name next to the domain.
    With the defaults this is the key every person finder used before keys followed the request
    (``Provider.legacy_lookup_key`` reads old cache entries with it).

    Example:
        >>> row = {"full_name": "Ada Lovelace", "company_domain": "engines.io",
        ...        "linkedin_url": "linkedin.com/in/ada"}
        >>> person_key(row)
        'li=linkedin.com/in/ada;name=ada|lovelace;domain=engines.io'
        >>> person_key(row, linkedin=False)
        'name=ada|lovelace;domain=engines.io'
    """
    parts: list[str] = []
    if use_email and normalize_email(record.get("email")):
        parts.append("email=" + normalize_email(record.get("email")))
    profile = normalize_linkedin(record.get("linkedin_url")) if linkedin else ""
    if profile:
        parts.append("li=" + profile)
    first, last = record_names(record)
    if first or last:
        parts.append("name=" + normalize_name(first) + "|" + normalize_name(last))
    domain = record_domain(record)
    if domain:
        parts.append("domain=" + domain)
    company = text(record.get("company_name"))
    if company and (company_always or not domain):
        parts.append("company=" + normalize_name(company))
    return ";".join(parts)


#: Best first: a mobile reaches the person wherever they are, a direct dial at their desk, an
#: office line only the switchboard.
PHONE_RANK: Mapping[str, int] = {"mobile": 0, "direct": 1, "office": 2}


def phone_e164(value: Any, country: Any = None) -> str | None:
    """A provider's number in E.164 (``+14155550100``), via ``phonenumbers`` (the library
    that owns the numbering plans; ``gtmkit.lists.phones``), ``None`` if it cannot be placed.

    Example:
        >>> phone_e164("+1 (415) 555-0100"), phone_e164("020 7946 0958", "GB"), phone_e164("x")
        ('+14155550100', '+442079460958', None)
    """
    from gtmkit.lists.phones import phone_to_e164

    raw = text(value)
    if not raw:
        return None
    region = text(country).upper()
    return phone_to_e164(f"{raw}|{region if len(region) == 2 else ''}")


def best_phone(numbers: Any, country: Any = None) -> dict[str, Any]:
    """``{"phone": E.164, "phone_type": mobile | direct | office}`` for the best of
    ``(number, type)`` pairs (mobile first), ``{}`` when none can be placed.

    Example:
        >>> best_phone([("+1 415 555 0100", "office"), ("+1 415 555 0111", "mobile")])
        {'phone': '+14155550111', 'phone_type': 'mobile'}
    """
    placed = [
        (PHONE_RANK.get(kind, 3), e164, kind)
        for number, kind in numbers
        if (e164 := phone_e164(number, country))
    ]
    if not placed:
        return {}
    _, e164, kind = min(placed, key=lambda item: item[0])
    return {"phone": e164, "phone_type": kind if kind in PHONE_RANK else None}
