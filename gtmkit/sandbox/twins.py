"""Coverage and error profiles of the second wave of simulated providers (ZoomInfo, Lusha,
Findymail, LeadMagic), and how each one words an email's status.

``gtmkit.sandbox.oracle`` merges these into ``PROVIDER_PROFILES`` / ``VERIFIED_WORD`` and asks
:data:`STATUS` for the status word, so the draws (correlated findability, stale / wrong-person /
bad-guess answers, lognormal latency) are the same machinery as the first five providers'.

Calibration (``../shared/field-notes.md`` §4):

* **ZoomInfo** — "ZoomInfo ~75%" estimated coverage (astragtm) is a US-enterprise figure; the
  simulated base is 0.55 with an enterprise bonus (+10 points over 1,000 employees) and a weak
  small-company tail (−18 under 11), so its overall rate lands in the 40–65 % single-provider
  band. No email-status word (``contactAccuracyScore`` 75–99 is match confidence). Database
  latency (~0.6 s).
* **Lusha** — "Enterprise business: Lusha 52–58%" (per-persona fill, guitarandtone): base 0.46
  plus VP+ seniority and enterprise bonuses. ``emailConfidence`` grades ``A+`` / ``A`` / ``B``.
* **Findymail** — returns verified emails only ("under 5% invalid", vendor guarantee): most
  dead guesses are dropped instead of returned; no status word on the wire. Live lookup
  (~1.8 s).
* **LeadMagic** — "LeadMagic ~55% ($0.05)" (astragtm), vendor claim 60–70 %; its statuses
  ``valid`` (bounce < 1 %), ``valid_catch_all`` (3–5 %) and ``catch_all`` (leadmagic docs).
  The blueprint evaluation found it often returns the *previous* holder of a recently changed
  role: a high stale share. Latency ~1.5 s (blueprint: 1,491 ms).

Example:
    >>> from gtmkit.sandbox.oracle import PROVIDER_PROFILES
    >>> PROVIDER_PROFILES["zoominfo"].latency_median_s, HOSTS["api.zoominfo.com"]
    (0.6, ('zoominfo', '/gtm'))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: ``(verified, catch_all, deliverable, u_conf) -> (status word, confidence 0..1)``
StatusRule = Callable[[bool, bool, bool, float], tuple[str | None, float | None]]


def profiles(profile_class: type) -> dict[str, Any]:
    """The profiles, built with the oracle's ``ProviderProfile`` (passed in: no import cycle)."""
    built = [
        profile_class(
            name="zoominfo",
            base_hit=0.55,
            band_delta={
                "1-10": -0.18,
                "11-50": -0.10,
                "51-200": -0.02,
                "1001-5000": 0.08,
                "5001-10000": 0.10,
                "10001+": 0.10,
            },
            business_delta=0.02,
            technical_delta=-0.03,
            region_delta={
                "North America": 0.06,
                "Europe": -0.05,
                "APAC": -0.07,
                "Latin America": -0.07,
            },
            stale_share=0.35,
            wrong_person_share=0.03,
            bad_guess_share=0.03,
            verified_share=0.0,
            phone_share=0.55,
            latency_median_s=0.6,
            latency_sigma=0.4,
            company_coverage=0.97,
        ),
        profile_class(
            name="findymail",
            base_hit=0.52,
            band_delta={"1-10": 0.04, "11-50": 0.04, "51-200": 0.02, "5001-10000": -0.05,
                        "10001+": -0.06},
            region_delta={"North America": 0.03, "APAC": -0.05, "Latin America": -0.04},
            stale_share=0.20,
            wrong_person_share=0.03,
            bad_guess_share=0.05,
            verified_share=1.0,
            false_verified_share=1.0,
            drops_dead_share=0.9,  # verified before answering: dead guesses rarely come back
            phone_share=0.0,
            latency_median_s=1.8,
            latency_sigma=0.5,
            company_coverage=0.9,
        ),
        profile_class(
            name="leadmagic",
            base_hit=0.58,
            band_delta={"1-10": -0.03, "10001+": -0.03},
            region_delta={"North America": 0.03, "APAC": -0.04, "Latin America": -0.04},
            stale_share=0.60,  # the blueprint test: 9 of 13 recent roles gave the previous holder
            wrong_person_share=0.04,
            bad_guess_share=0.03,
            verified_share=0.97,
            false_verified_share=1.0,
            drops_dead_share=0.97,  # validated before answering: "valid" bounces under 1 %
            phone_share=0.0,
            latency_median_s=1.5,
            latency_sigma=0.45,
            company_coverage=0.92,
        ),
        profile_class(
            name="lusha",
            base_hit=0.46,
            band_delta={"1-10": -0.08, "11-50": -0.04, "1001-5000": 0.05, "5001-10000": 0.07,
                        "10001+": 0.07},
            seniority_delta={"c_suite": 0.08, "vp": 0.08, "director": 0.05, "entry": -0.05},
            region_delta={"North America": 0.04, "Europe": 0.02, "APAC": -0.05,
                          "Latin America": -0.05},
            stale_share=0.40,
            wrong_person_share=0.03,
            bad_guess_share=0.04,
            verified_share=0.75,
            false_verified_share=0.05,
            phone_share=0.5,
            latency_median_s=0.8,
            latency_sigma=0.45,
            company_coverage=0.93,
        ),
    ]  # fmt: skip
    return {p.name: p for p in built}


def _zoominfo(
    verified: bool, catch_all: bool, deliverable: bool, u: float
) -> tuple[str | None, float | None]:
    # contactAccuracyScore 75-99 as 0..1 on the wire's own scale (score = 75 + 24 * confidence)
    low, high = (0.55, 1.0) if deliverable else (0.0, 0.6)
    return None, round(low + (high - low) * u, 2)


def _lusha(
    verified: bool, catch_all: bool, deliverable: bool, u: float
) -> tuple[str | None, float | None]:
    if verified and not catch_all:
        return "A+", None
    return ("A" if catch_all or u < 0.5 else "B"), None


def _findymail(
    verified: bool, catch_all: bool, deliverable: bool, u: float
) -> tuple[str | None, float | None]:
    return None, None  # verified addresses only, no status word on the wire


def _leadmagic(
    verified: bool, catch_all: bool, deliverable: bool, u: float
) -> tuple[str | None, float | None]:
    if catch_all:  # engagement evidence mostly exists for live mailboxes
        return ("valid_catch_all" if u < (0.8 if deliverable else 0.35) else "catch_all"), None
    return "valid", None


#: Status word (and confidence) per provider, in its own vocabulary.
STATUS: Mapping[str, StatusRule] = {
    "zoominfo": _zoominfo,
    "lusha": _lusha,
    "findymail": _findymail,
    "leadmagic": _leadmagic,
}

#: Email-status vocabulary per provider (``contract.EMAIL_STATUS_VOCAB``); none for ZoomInfo.
VOCAB: Mapping[str, tuple[str, ...]] = {
    "zoominfo": (),
    "lusha": ("A+", "A", "B"),
    "findymail": (),
    "leadmagic": ("valid", "valid_catch_all", "catch_all"),
}

#: Confidence as shown on the wire (``contract.CONFIDENCE_SCALE``).
CONFIDENCE: Mapping[str, str] = {
    "zoominfo": "contactAccuracyScore = 75 + round(24 * confidence), 75-99 (match confidence)",
    "lusha": "none (confidence is None; emailConfidence is a grade word)",
    "findymail": "none (confidence is None)",
    "leadmagic": "none (confidence is None)",
}

#: The word meaning "verified deliverable", per provider that has one.
VERIFIED_WORD: Mapping[str, str] = {"lusha": "A+", "leadmagic": "valid"}

#: Providers whose answers carry no email-status word at all (like PDL).
NO_STATUS_WORD: frozenset[str] = frozenset({"zoominfo", "findymail"})

#: Real API hosts → (provider, path prefix), for ``contract.API_HOSTS``.
HOSTS: Mapping[str, tuple[str, str]] = {
    "api.zoominfo.com": ("zoominfo", "/gtm"),
    "api.lusha.com": ("lusha", ""),
    "app.findymail.com": ("findymail", "/api"),
    "api.leadmagic.io": ("leadmagic", ""),
}

#: Documented paid-plan request rates (``ratelimit.DEFAULT_RATES``).
RATES: Mapping[str, float] = {
    "zoominfo": 25.0,  # Standard plan: 25/s (docs.zoominfo.com/docs/rate-limits)
    "lusha": 10.0,  # plan-specific, unpublished: an assumption
    "findymail": 20.0,  # 300 concurrent requests (docs); no per-second figure: an assumption
    "leadmagic": 50.0,  # RateLimit-Limit 3,000 per minute (developer-experience page)
}

__all__ = [
    "CONFIDENCE",
    "HOSTS",
    "NO_STATUS_WORD",
    "RATES",
    "STATUS",
    "VERIFIED_WORD",
    "VOCAB",
    "profiles",
]
