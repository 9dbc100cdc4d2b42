"""Live smoke tests against the real provider APIs.

Skipped unless the provider's key is in the environment (the only skips allowed). Each one
spends at most one real credit, on a person from the public documentation examples in
../shared/providers.md. Run with e.g.
``HUNTER_API_KEY=... .venv/bin/pytest -m live tests/test_providers_live.py``.
"""

from __future__ import annotations

import pytest
from _providers_helpers import run

from gtmkit.providers import connect

EXAMPLES = {
    "apollo": {"first_name": "Tim", "last_name": "Zheng", "company_domain": "apollo.io"},
    "hunter": {"first_name": "Alexis", "last_name": "Ohanian", "company_domain": "reddit.com"},
    "hunter_verifier": {"email": "patrick@stripe.com"},
    "pdl": {"first_name": "Sean", "last_name": "Thorne", "company_domain": "peopledatalabs.com"},
    "prospeo": {"first_name": "Tim", "last_name": "Zheng", "company_domain": "apollo.io"},
    "dropcontact": {"first_name": "Tim", "last_name": "Zheng", "company_domain": "apollo.io"},
    "zoominfo": {"first_name": "Henry", "last_name": "Schuck", "company_name": "ZoomInfo"},
    "lusha": {"first_name": "Yoni", "last_name": "Tserruya", "company_domain": "lusha.com"},
    "findymail": {"first_name": "Tim", "last_name": "Zheng", "company_domain": "apollo.io"},
    "leadmagic": {
        "first_name": "Jesse",
        "last_name": "Ouellette",
        "company_domain": "leadmagic.io",
    },
}


def _live_lookup(name: str, key: str):
    async def main():
        async with connect([name], mode="live") as conn:
            assert conn.mode_of(name) == "live"
            return await conn[name].lookup(EXAMPLES[name])

    finding = run(main())
    assert finding.outcome in ("hit", "miss"), finding.error
    assert finding.http_status == 200 or finding.outcome == "miss"
    assert key not in repr(finding)
    if finding.outcome == "hit":
        assert "@" in finding.email
        assert finding.email_status in ("valid", "catch_all", "risky", "invalid", "unknown")
    return finding


@pytest.mark.live("APOLLO_API_KEY")
def test_apollo_live(live_key: str) -> None:
    _live_lookup("apollo", live_key)


@pytest.mark.live("HUNTER_API_KEY")
def test_hunter_live(live_key: str) -> None:
    _live_lookup("hunter", live_key)


@pytest.mark.live("HUNTER_API_KEY")
def test_hunter_verifier_live(live_key: str) -> None:
    _live_lookup("hunter_verifier", live_key)


@pytest.mark.live("PDL_API_KEY")
def test_pdl_live(live_key: str) -> None:
    _live_lookup("pdl", live_key)


@pytest.mark.live("PROSPEO_API_KEY")
def test_prospeo_live(live_key: str) -> None:
    _live_lookup("prospeo", live_key)


@pytest.mark.live("DROPCONTACT_API_KEY")
def test_dropcontact_live(live_key: str) -> None:
    _live_lookup("dropcontact", live_key)


@pytest.mark.live("ZOOMINFO_CLIENT_SECRET")
def test_zoominfo_live(live_key: str) -> None:
    _live_lookup("zoominfo", live_key)


@pytest.mark.live("LUSHA_API_KEY")
def test_lusha_live(live_key: str) -> None:
    _live_lookup("lusha", live_key)


@pytest.mark.live("FINDYMAIL_API_KEY")
def test_findymail_live(live_key: str) -> None:
    _live_lookup("findymail", live_key)


@pytest.mark.live("LEADMAGIC_API_KEY")
def test_leadmagic_live(live_key: str) -> None:
    _live_lookup("leadmagic", live_key)
