"""The simulated world's true phone numbers, and which numbers each provider sells for a person.

Every person has a mobile (their own, it follows them from job to job); some have a direct
dial at their desk (more often the senior and those at larger companies); every company has
an office line (its switchboard). All numbers are E.164. The world's ``phone`` column, which
lead lists carry, stays what it was; ``direct_phone`` is that number for the people who have a
direct line, ``mobile_phone`` is new — both derived from a hash of (seed, person), so adding
them changes no other draw of the world.

What a provider returns for a person it found (:func:`phones_for`), calibrated on
``../shared/field-notes.md``:

* **Mobiles are scarcer than emails.** A provider returns a mobile for 35–65 % of the people it
  finds (so 15–35 % of a list), a direct dial for 10–65 %, the office line for 0–90 %. A
  partner's figure for a full waterfall is phones ~65 % vs emails ~80 % (FullEnrich via
  leadbay, §4.1); Clay prices a mobile at 2–25 credits against 2 for an email (§4.4).
* **Wrong numbers.** Phone data turns over ~42.9 % a year, ~3.5 % a month (§4.3, §4.5): a
  database refreshed every few months holds 8–18 % numbers that no longer reach the person
  (``wrong_number_share``, replaced by a dead number). A stale record (a job changer's old
  employer) gives the old desk and switchboard, not the current ones — the mobile still
  reaches them. A wrong-person record gives the colleague's numbers.
* **Dearer.** Apollo bills 8 credits on top of 1 when a mobile is returned (OAS "Endpoint
  essentials", ``../shared/providers.md`` §1); Prospeo 10 credits for a match with a mobile
  (§7); Lusha, ZoomInfo and PDL bill per contact or record returned, phone or not.

Example:
    >>> from gtmkit.sandbox.world import World
    >>> world = World.generate(seed=1, companies=30)
    >>> row = world.people.row(0, named=True)
    >>> row["mobile_phone"].startswith("+"), row["mobile_phone"] != row["phone"]
    (True, True)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

PhoneType = Literal["mobile", "direct", "office"]
PHONE_TYPES: tuple[str, ...] = ("mobile", "direct", "office")

#: National significant-number length and the leading digits a mobile starts with, per country.
_MOBILE_FORMAT: Mapping[str, tuple[int, str]] = {
    "US": (10, "2345678"), "CA": (10, "2345678"), "GB": (10, "7"), "DE": (11, "1"),
    "FR": (9, "67"), "NL": (9, "6"), "ES": (9, "67"), "IT": (10, "3"), "SE": (9, "7"),
    "PL": (9, "5678"), "IE": (9, "8"), "BR": (11, "1"), "MX": (10, "5"), "IN": (10, "9876"),
    "SG": (8, "89"), "AU": (9, "4"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PhoneAnswer:
    """One number a provider returns: E.164, its type, and whether it reaches the person the
    lookup asked for (ground truth for tests and scoring; the HTTP layer never shows it)."""

    number: str
    type: str
    reaches_person: bool


@dataclass(frozen=True, slots=True)
class PhoneProfile:
    """Which numbers a provider has for a person it found (shares of found people)."""

    mobile_share: float = 0.0
    direct_share: float = 0.0
    office_share: float = 0.0
    #: P(a returned number no longer reaches anyone it should: churned, reassigned)
    wrong_number_share: float = 0.12


#: Per provider (figures: module docstring). Providers that sell no phones have none.
PHONE_PROFILES: Mapping[str, PhoneProfile] = {
    # Apollo: mobiles and direct dials only through the asynchronous phone reveal
    "apollo": PhoneProfile(
        mobile_share=0.5, direct_share=0.35, office_share=0.6, wrong_number_share=0.12
    ),
    # ZoomInfo: known for direct dials and switchboards, fewer mobiles
    "zoominfo": PhoneProfile(
        mobile_share=0.45, direct_share=0.65, office_share=0.9, wrong_number_share=0.10
    ),
    # Lusha: the mobile specialist
    "lusha": PhoneProfile(
        mobile_share=0.65, direct_share=0.3, office_share=0.2, wrong_number_share=0.08
    ),
    # PDL: mobiles from aggregated profiles, often out of date
    "pdl": PhoneProfile(mobile_share=0.4, direct_share=0.1, wrong_number_share=0.18),
    # Prospeo: a mobile only when asked (enrich_mobile)
    "prospeo": PhoneProfile(mobile_share=0.5, wrong_number_share=0.10),
}


def _unit(*parts: object) -> float:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _number(country: str, calling_code: str, *parts: object, mobile: bool) -> str:
    digits, leads = _MOBILE_FORMAT.get(country, (10, "23456789"))
    lead = leads[int(_unit(*parts, "lead") * len(leads))] if mobile else ""
    body_digits = digits - len(lead)
    low = 10 ** (body_digits - 1) * (1 if lead else 2)
    body = low + int(_unit(*parts, "body") * (10**body_digits - low))
    return f"{calling_code}{lead}{body}"


def add_true_phones(
    seed: int, people: list[dict[str, Any]], calling_codes: Mapping[str, str]
) -> None:
    """Give every person a ``mobile_phone`` and, for some, a ``direct_phone`` (in place).

    A direct line is likelier for the senior and at larger companies (45 % base).
    """
    senior = {"founder": 0.15, "c_suite": 0.2, "vp": 0.2, "director": 0.15, "head": 0.1}
    for row in people:
        pid, country = row["person_id"], row["country"]
        row["mobile_phone"] = _number(
            country, calling_codes[country], seed, pid, "mobile", mobile=True
        )
        chance = 0.45 + senior.get(row["seniority"], 0.0)
        chance += 0.1 if row["employee_count"] > 200 else 0.0
        has_direct = _unit(seed, pid, "direct") < chance
        row["direct_phone"] = row["phone"] if has_direct else None


def phones_for(
    provider: str,
    *,
    seed: int,
    asked: Mapping[str, Any],
    subject: Mapping[str, Any],
    company: Mapping[str, Any],
    true_office: str | None,
    stale: bool,
    calling_codes: Mapping[str, str],
) -> tuple[PhoneAnswer, ...]:
    """The numbers ``provider`` returns when it found ``subject`` for the person ``asked``.

    ``company`` is the employer the record shows (the old one for a ``stale`` record);
    ``true_office`` is the asked person's current switchboard.
    """
    profile = PHONE_PROFILES.get(provider)
    if profile is None:
        return ()
    truth = {asked.get("mobile_phone"), asked.get("direct_phone"), true_office} - {None}
    pid = subject["person_id"]
    country = subject["country"]
    candidates: list[tuple[str, str | None, float]] = [
        ("mobile", subject.get("mobile_phone"), profile.mobile_share),
        (
            "direct",
            _number(country, calling_codes[country], seed, pid, "old-desk", mobile=False)
            if stale and subject.get("direct_phone")
            else subject.get("direct_phone"),
            profile.direct_share,
        ),
        ("office", company.get("phone"), profile.office_share),
    ]
    found: list[PhoneAnswer] = []
    for kind, number, share in candidates:
        if not number or _unit(seed, provider, pid, kind, "has") >= share:
            continue
        if _unit(seed, provider, pid, kind, "wrong") < profile.wrong_number_share:
            number = _number(
                country, calling_codes[country], seed, provider, pid, kind, "dead",
                mobile=kind == "mobile",
            )  # fmt: skip
        found.append(PhoneAnswer(number, kind, number in truth))
    return tuple(found)


__all__ = [
    "PHONE_PROFILES",
    "PHONE_TYPES",
    "PhoneAnswer",
    "PhoneProfile",
    "PhoneType",
    "add_true_phones",
    "phones_for",
]
