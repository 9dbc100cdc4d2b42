"""The shared HTTP plumbing's fast paths send and read exactly what the plain httpx calls do."""

from __future__ import annotations

import httpx
from _providers_helpers import FAKE_KEY, Recorder, make, reply, run
from hypothesis import given, settings
from hypothesis import strategies as st

from gtmkit.providers.hunter import HunterProvider

_values = st.one_of(
    st.text(max_size=12),
    st.integers(-1000, 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
)
_params = st.dictionaries(st.text(min_size=1, max_size=8), _values, max_size=5)


@settings(max_examples=60, deadline=None)
@given(params=_params)
def test_query_string_is_the_one_httpx_builds_from_params(params) -> None:
    hunter, rec = make(HunterProvider, reply(200, {"data": {}}))
    run(hunter._send("GET", "email-finder", params=params))
    kept = {k: v for k, v in params.items() if v not in (None, "", [], ())}
    expected = httpx.Request("GET", f"{hunter.base_url}/email-finder", params=kept or None)
    assert rec.last.url == expected.url
    assert rec.last.url.raw_path == expected.url.raw_path


def test_client_default_params_are_still_merged() -> None:
    recorder = Recorder(reply(200, {"data": {}}))
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder), params={"src": "gtm"})
    hunter = HunterProvider(client, api_key=FAKE_KEY)
    run(hunter._send("GET", "email-finder", params={"domain": "acme.com"}))
    assert dict(recorder.last.url.params) == {"src": "gtm", "domain": "acme.com"}


def test_reply_headers_join_repeats_and_feed_the_throttle() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        headers = [
            ("X-RateLimit-Remaining", "7"),
            ("X-RateLimit-Limit", "15"),
            ("Vary", "Accept"),
            ("Vary", "Origin"),
        ]
        return httpx.Response(200, json={"data": {}}, headers=headers)

    hunter, _ = make(HunterProvider, answer)
    got = run(hunter._send("GET", "email-finder", params={"domain": "acme.com"}))
    assert got.headers["vary"] == "Accept, Origin"
    assert got.headers["x-ratelimit-remaining"] == "7"
    assert got.throttle is not None and got.throttle.remaining == 7


def test_key_echoed_in_a_body_is_still_scrubbed() -> None:
    echo = {"data": {"email": None, "params": {"api_key": FAKE_KEY}, "note": [f"key={FAKE_KEY}"]}}
    hunter, _ = make(HunterProvider, reply(200, echo))
    got = run(hunter._send("GET", "email-finder", params={"domain": "acme.com"}))
    assert FAKE_KEY not in repr(got.body) and FAKE_KEY not in got.text
    assert got.body["data"]["params"]["api_key"] == "***"
