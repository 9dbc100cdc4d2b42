"""What people call providers in prose, mapped to gtmkit's provider names.

A pattern entry says "Hunter.io", "People Data Labs" or "Manual LinkedIn"; the registry says
``hunter``, ``pdl`` and ``manual``. This table is the one place that translation lives, next to
the registry, so the pattern library, reports and notebooks agree on it. A name can also belong
to a provider gtmkit knows of but has no adapter for yet (Clearbit): :func:`resolve_alias`
returns its key and :func:`has_adapter` says it cannot run.

Matching ignores case, accents, punctuation and extra spaces ("Hunter.io" = "hunter io"), and
falls back to the longest alias that starts the text ("Manual LinkedIn research" → ``manual``).

Example:
    >>> resolve_alias("Hunter.io"), resolve_alias("People Data Labs"), resolve_alias("PDL")
    ('hunter', 'pdl', 'pdl')
    >>> resolve_alias("  manual   LinkedIn research "), resolve_alias("ZoomInfo")
    ('manual', 'zoominfo')
    >>> has_adapter("zoominfo"), has_adapter("clearbit"), resolve_alias("Clearbitz")
    (True, False, None)
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from gtmkit.providers.registry import provider_names

#: Display name → provider key. Keys are registered adapters or :data:`WITHOUT_ADAPTER`.
ALIASES: dict[str, str] = {
    "Apollo": "apollo",
    "Apollo.io": "apollo",
    "Apollo io": "apollo",
    "Hunter": "hunter",
    "Hunter.io": "hunter",
    "Hunter email finder": "hunter",
    "Hunter finder": "hunter",
    "Hunter verifier": "hunter_verifier",
    "Hunter.io verifier": "hunter_verifier",
    "Hunter email verifier": "hunter_verifier",
    "Hunter verification": "hunter_verifier",
    "Hunter.io verification": "hunter_verifier",
    "Hunter_verifier": "hunter_verifier",
    "People Data Labs": "pdl",
    "PeopleDataLabs": "pdl",
    "PDL": "pdl",
    "Prospeo": "prospeo",
    "Prospeo.io": "prospeo",
    "Dropcontact": "dropcontact",
    "Drop contact": "dropcontact",
    "Pattern": "pattern",
    "Pattern guess": "pattern",
    "Email pattern guess": "pattern",
    "Email pattern": "pattern",
    "Free pattern guess": "pattern",
    "Manual": "manual",
    "Manual LinkedIn": "manual",
    "Manual LinkedIn research": "manual",
    "Manual research": "manual",
    "LinkedIn manual research": "manual",
    "Manual lookup": "manual",
    "Human research": "manual",
    "ZoomInfo": "zoominfo",
    "Zoom Info": "zoominfo",
    "Lusha": "lusha",
    "Clearbit": "clearbit",
    "Findymail": "findymail",
    "LeadMagic": "leadmagic",
    "RocketReach": "rocketreach",
    "Snov.io": "snov",
    "Snov": "snov",
    "Kaspr": "kaspr",
    "ContactOut": "contactout",
    "FullEnrich": "fullenrich",
}

#: Provider keys gtmkit knows of but has no adapter for yet, with their display names.
WITHOUT_ADAPTER: dict[str, str] = {
    "zoominfo": "ZoomInfo",
    "lusha": "Lusha",
    "clearbit": "Clearbit",
    "findymail": "Findymail",
    "leadmagic": "LeadMagic",
    "rocketreach": "RocketReach",
    "snov": "Snov.io",
    "kaspr": "Kaspr",
    "contactout": "ContactOut",
    "fullenrich": "FullEnrich",
}

#: How reports name a registered provider.
DISPLAY_NAMES: dict[str, str] = {
    "apollo": "Apollo",
    "hunter": "Hunter",
    "hunter_verifier": "Hunter verifier",
    "pdl": "People Data Labs",
    "prospeo": "Prospeo",
    "dropcontact": "Dropcontact",
    "pattern": "Pattern guess",
    "manual": "Manual research",
    **WITHOUT_ADAPTER,
}

_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalize_alias(text: str) -> str:
    """Lowercase, accents and punctuation removed, single spaces.

    Example:
        >>> normalize_alias("  Hunter.IO  ")
        'hunter io'
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_WORD.sub(" ", folded.lower()).strip()


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    table = {normalize_alias(alias): key for alias, key in ALIASES.items()}
    for name in provider_names():  # every registered name is its own alias
        table.setdefault(normalize_alias(name), name)
    return table


@lru_cache(maxsize=4096)
def resolve_alias(text: str) -> str | None:
    """The provider key a prose name means, or ``None`` when it names nothing gtmkit knows.

    The key may be one without an adapter (see :func:`has_adapter`).
    """
    wanted = normalize_alias(text)
    if not wanted:
        return None
    table = _table()
    if wanted in table:
        return table[wanted]
    # "Manual LinkedIn research team" → the longest alias that starts the text, at a word end
    best: tuple[int, str] | None = None
    for alias, key in table.items():
        if wanted.startswith(alias + " ") and (best is None or len(alias) > best[0]):
            best = (len(alias), key)
    return best[1] if best else None


def has_adapter(key: str) -> bool:
    """Whether ``key`` is a registered provider that gtmkit can call."""
    return key in provider_names()


def display_name(key: str) -> str:
    """How a report names provider ``key`` ("pdl" → "People Data Labs")."""
    return DISPLAY_NAMES.get(key, key)


__all__ = [
    "ALIASES",
    "DISPLAY_NAMES",
    "WITHOUT_ADAPTER",
    "display_name",
    "has_adapter",
    "normalize_alias",
    "resolve_alias",
]
