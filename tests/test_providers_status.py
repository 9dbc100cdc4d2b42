"""Each provider's email-status vocabulary → the common scale (the whole table)."""

from __future__ import annotations

import pytest

from gtmkit.providers.status import common_status, found_status
from gtmkit.sandbox.contract import EMAIL_STATUS_VOCAB
from gtmkit.schema import EMAIL_STATUSES

TABLE = [
    ("apollo", "verified", "valid"),
    ("apollo", "guessed", "risky"),
    ("apollo", "extrapolated", "risky"),
    ("apollo", "unavailable", "unknown"),
    ("apollo", "pending_manual_fulfillment", "unknown"),
    ("apollo", "bounced", "invalid"),
    ("hunter", "valid", "valid"),
    ("hunter", "accept_all", "catch_all"),
    ("hunter", "unknown", "unknown"),
    ("hunter_verifier", "valid", "valid"),
    ("hunter_verifier", "invalid", "invalid"),
    ("hunter_verifier", "accept_all", "catch_all"),
    ("hunter_verifier", "webmail", "risky"),
    ("hunter_verifier", "disposable", "invalid"),
    ("hunter_verifier", "unknown", "unknown"),
    ("hunter_verifier", "deliverable", "valid"),
    ("hunter_verifier", "undeliverable", "invalid"),
    ("hunter_verifier", "risky", "risky"),
    ("prospeo", "VERIFIED", "valid"),
    ("prospeo", "UNVERIFIED", "risky"),
    ("prospeo", "verified", "valid"),
    ("dropcontact", "nominative@pro", "valid"),
    ("dropcontact", "nominatif@pro", "valid"),
    ("dropcontact", "catch_all@pro", "catch_all"),
    ("dropcontact", "catch-all@pro", "catch_all"),
    ("dropcontact", "generic@pro", "risky"),
    ("dropcontact", "invalid@pro", "invalid"),
    ("dropcontact", "nominative@perso", "valid"),
    ("dropcontact", "nominative@invalid", "invalid"),
    ("dropcontact", "generic@invalid", "invalid"),
    ("dropcontact", "non_confirm@pro", "catch_all"),
    ("dropcontact", "random@pro", "invalid"),
    ("pdl", "likelihood=9", "risky"),
]


@pytest.mark.parametrize(("provider", "word", "expected"), TABLE)
def test_status_table(provider: str, word: str, expected: str) -> None:
    assert common_status(provider, word) == expected


def test_every_simulated_vocabulary_word_is_mapped_to_a_definite_status() -> None:
    for provider, words in EMAIL_STATUS_VOCAB.items():
        for word in words:
            status = common_status(provider, word)
            assert status in EMAIL_STATUSES
            if word != "unknown":
                assert status != "unknown", (provider, word)


@pytest.mark.parametrize("provider", ["apollo", "hunter", "prospeo", "dropcontact", "nobody"])
def test_unmapped_words_are_unknown_and_a_found_email_without_a_word_is_risky(provider) -> None:
    assert common_status(provider, "some-new-word") == "unknown"
    assert common_status(provider, None) == "unknown"
    assert found_status(provider, None) == "risky"
    assert found_status(provider, "  ") == "risky"


def test_an_adapter_can_bring_its_own_table() -> None:
    table = {"deliverable": "valid", "catchall": "catch_all"}
    assert common_status("newprovider", "catchall", table=table) == "catch_all"
    assert found_status("newprovider", "deliverable", table=table) == "valid"
    assert found_status("newprovider", "weird", table=table) == "unknown"
