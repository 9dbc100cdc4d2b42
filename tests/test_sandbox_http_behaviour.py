"""Rate limits answered each provider's way, seeded faults, latency and determinism of the
simulated providers (in process)."""

from __future__ import annotations

import asyncio
import json
import statistics

import httpx
import pytest

from gtmkit.sandbox.http.faults import FaultConfig
from gtmkit.sandbox.http.ratelimit import DEFAULT_RATES, RateLimiter, parse_rate_limits
from tests._sandbox_http_helpers import (
    ADA_APOLLO,
    ADA_HUNTER,
    ADA_PDL,
    ADA_PROSPEO,
    APOLLO,
    DROPCONTACT,
    HUNTER,
    KEY,
    PDL,
    PROSPEO,
    request,
    requests,
    transport,
)

CALLS = {
    "apollo": (
        "POST",
        f"{APOLLO}/people/match",
        {"json": ADA_APOLLO, "headers": {"x-api-key": KEY}},
    ),
    "hunter": ("GET", f"{HUNTER}/email-finder", {"params": {**ADA_HUNTER, "api_key": KEY}}),
    "pdl": ("GET", f"{PDL}/person/enrich", {"params": ADA_PDL, "headers": {"X-Api-Key": KEY}}),
    "prospeo": (
        "POST",
        f"{PROSPEO}/enrich-person",
        {"json": ADA_PROSPEO, "headers": {"X-KEY": KEY}},
    ),
    "dropcontact": (
        "POST",
        f"{DROPCONTACT}/enrich/all",
        {
            "json": {
                "data": [
                    {"first_name": "Ada", "last_name": "Lovelace", "website": "engines.example"}
                ]
            },
            "headers": {"X-Access-Token": KEY},
        },
    ),
}


def limited(provider: str, rate: float = 1.0):
    """A transport whose ``provider`` allows ``rate`` requests/s, on a hand-driven clock."""
    t = transport()
    now = [1_000_000.0]
    t.app.limiter = RateLimiter({provider: rate}, clock=lambda: now[0])
    return t, now


# -- rate limits -------------------------------------------------------------------------------


def test_parse_rate_limits_forms():
    assert parse_rate_limits(True) == dict(DEFAULT_RATES)
    assert parse_rate_limits(False) == {} and parse_rate_limits(None) == {}
    assert parse_rate_limits("apollo=20,hunter=40,pdl=80") == {
        "apollo": 20.0,
        "hunter": 40.0,
        "pdl": 80.0,
    }
    assert parse_rate_limits({"hunter": True, "pdl": False}) == {"hunter": DEFAULT_RATES["hunter"]}
    for bad in ("apollo", "nobody=3", "apollo=0", {"apollo": -1}):
        with pytest.raises(ValueError):
            parse_rate_limits(bad)


def test_apollo_rate_limit_is_429_with_message_and_retry_after():
    t, now = limited("apollo")
    ok, refused = requests(t, [CALLS["apollo"]] * 2)
    assert ok.status_code == 200
    assert refused.status_code == 429
    assert (
        "maximum number of api calls allowed for api/v1/people/match" in refused.json()["message"]
    )
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-minute-requests-left"].isdigit()
    now[0] += 1.0
    assert request(t, *CALLS["apollo"][:2], **CALLS["apollo"][2]).status_code == 200
    assert t.app.ledger.totals() == {"apollo": 2.0}  # the refused call was not billed


def test_hunter_rate_limit_is_403_errors_envelope():
    t, _ = limited("hunter")
    ok, refused = requests(t, [CALLS["hunter"]] * 2)
    assert ok.status_code == 200
    assert refused.status_code == 403
    error = refused.json()["errors"][0]
    assert error["code"] == 403 and "rate limit" in error["details"]
    assert "retry-after" not in refused.headers


def test_pdl_rate_limit_is_429_with_json_headers_and_no_retry_after():
    t, _ = limited("pdl", rate=2.0)
    answers = requests(t, [CALLS["pdl"]] * 3)
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert json.loads(refused.headers["x-ratelimit-remaining"]) == {"minute": 0}
    assert json.loads(refused.headers["x-ratelimit-limit"]) == {
        "minute": 120,
        "day": None,
        "month": None,
    }
    assert refused.headers["x-ratelimit-reset"].endswith("Z")
    assert "retry-after" not in refused.headers


def test_prospeo_rate_limit_body_and_headers():
    t, _ = limited("prospeo")
    _, refused = requests(t, [CALLS["prospeo"]] * 2)
    assert refused.status_code == 429
    assert refused.json() == {"error": True, "error_code": "RATE_LIMITED"}
    assert refused.headers["x-minute-request-left"] == "0"
    assert 0 < int(refused.headers["x-minute-reset-seconds"]) <= 60


def test_dropcontact_rate_limit_is_429():
    t, _ = limited("dropcontact")
    _, refused = requests(t, [CALLS["dropcontact"]] * 2)
    assert refused.status_code == 429 and refused.json()["success"] is False


def test_rate_limit_is_per_provider():
    t, _ = limited("apollo")
    answers = requests(t, [CALLS["apollo"], CALLS["hunter"], CALLS["hunter"], CALLS["apollo"]])
    assert [a.status_code for a in answers] == [200, 200, 200, 429]


# -- faults ------------------------------------------------------------------------------------


def test_fault_config_validation():
    with pytest.raises(ValueError):
        FaultConfig(rate=1.5)
    with pytest.raises(ValueError):
        FaultConfig(rate=0.1, kinds=("teapot",))
    with pytest.raises(ValueError):
        FaultConfig(rate=0.1, kinds=())
    assert FaultConfig(rate=0.1, kinds="5xx").kinds == ("5xx",)


def always(kind: str, **options) -> FaultConfig:
    return FaultConfig(rate=1.0, kinds=(kind,), seed=1, **options)


@pytest.mark.parametrize("provider", sorted(CALLS))
def test_5xx_fault_is_unbilled_server_error(provider):
    t = transport(faults=always("5xx"))
    method, url, kwargs = CALLS[provider]
    r = request(t, method, url, **kwargs)
    assert r.status_code in (500, 502, 503)
    assert t.app.ledger.totals() == {}


def test_5xx_fault_uses_all_three_statuses_and_provider_bodies():
    t = transport(faults=always("5xx"))
    seen: dict[int, httpx.Response] = {}
    for i in range(40):
        params = {**ADA_HUNTER, "api_key": KEY, "n": str(i)}
        r = request(t, "GET", f"{HUNTER}/email-finder", params=params)
        seen.setdefault(r.status_code, r)
    assert set(seen) == {500, 502, 503}
    assert seen[500].json()["errors"][0]["code"] == 500
    assert "Bad Gateway" in seen[502].text


def test_timeout_fault_raises_read_timeout_capped_by_client_timeout():
    t = transport(faults=always("timeout", timeout_s=30.0))

    async def go():
        async with httpx.AsyncClient(transport=t, timeout=0.01) as client:
            await client.get(f"{HUNTER}/email-finder", params={**ADA_HUNTER, "api_key": KEY})

    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(go())
    assert t.app.ledger.totals() == {}


def test_reset_fault_raises_transport_errors_of_both_flavours():
    t = transport(faults=always("reset"))
    kinds = set()
    for i in range(20):
        with pytest.raises(httpx.TransportError) as caught:
            request(
                t,
                "GET",
                f"{HUNTER}/email-finder",
                params={**ADA_HUNTER, "api_key": KEY, "n": str(i)},
            )
        kinds.add(type(caught.value))
    assert kinds == {httpx.ReadError, httpx.RemoteProtocolError}


def test_malformed_fault_is_truncated_json_with_200_and_unbilled():
    t = transport(faults=always("malformed"))
    r = request(t, "POST", f"{APOLLO}/people/match", json=ADA_APOLLO, headers={"x-api-key": KEY})
    assert r.status_code == 200
    assert r.text.startswith('{"person":')
    with pytest.raises(ValueError):
        r.json()
    assert t.app.ledger.totals() == {}


@pytest.mark.parametrize(
    "kind, provider, status",
    [
        ("401", "apollo", 401),
        ("401", "prospeo", 401),
        ("402", "pdl", 402),
        ("402", "hunter", 402),
        ("402", "dropcontact", 403),
        ("429", "hunter", 403),
        ("429", "apollo", 429),
    ],
)
def test_auth_credit_and_throttle_faults_speak_the_provider(kind, provider, status):
    t = transport(faults=always(kind))
    method, url, kwargs = CALLS[provider]
    r = request(t, method, url, **kwargs)
    assert r.status_code == status
    if (kind, provider) == ("429", "apollo"):
        assert r.headers["retry-after"] == "1"


def test_slow_fault_answers_normally_but_late_and_is_billed():
    t = transport(faults=always("slow", slow_s=0.25))
    reply = t.app.respond(
        "hunter",
        "GET",
        "/email-finder",
        "first_name=Ada&last_name=Lovelace&domain=engines.example",
        {"x-api-key": KEY},
        b"",
    )
    assert reply.status == 200 and json.loads(reply.body)["data"]["email"]
    assert reply.delay_s == pytest.approx(0.25)
    assert t.app.ledger.totals() == {"hunter": 1.0}


def _outcomes(faults: FaultConfig, n: int = 30) -> list[str]:
    t = transport(faults=faults)
    out = []
    for i in range(n):
        params = {**ADA_HUNTER, "api_key": KEY, "n": str(i % 10)}
        try:
            r = request(t, "GET", f"{HUNTER}/email-finder", params=params)
            out.append(f"{r.status_code}:{r.text[:40]}")
        except httpx.HTTPError as exc:
            out.append(type(exc).__name__)
    return out


def test_faults_are_reproducible_and_depend_on_the_seed():
    config = FaultConfig(rate=0.4, kinds=("5xx", "reset", "429", "malformed"), seed=11)
    first, second = _outcomes(config), _outcomes(config)
    assert first == second
    assert any(o.startswith("200:") for o in first) and any(not o.startswith("200:") for o in first)
    other = _outcomes(FaultConfig(rate=0.4, kinds=("5xx", "reset", "429", "malformed"), seed=12))
    assert other != first


def test_a_retry_of_the_same_request_can_succeed():
    t = transport(faults=FaultConfig(rate=0.5, kinds=("5xx",), seed=3))
    statuses_by_request = []
    for i in range(10):
        params = {**ADA_HUNTER, "api_key": KEY, "n": str(i)}
        statuses = [
            request(t, "GET", f"{HUNTER}/email-finder", params=params).status_code
            for _ in range(12)
        ]
        statuses_by_request.append(statuses)
    # every request eventually succeeded, and some needed more than one attempt
    assert all(200 in s for s in statuses_by_request)
    assert any(s[0] != 200 for s in statuses_by_request)


def test_max_consecutive_guarantees_progress():
    t = transport(faults=FaultConfig(rate=1.0, kinds=("5xx",), max_consecutive=2))
    statuses = [
        request(t, *CALLS["hunter"][:2], **CALLS["hunter"][2]).status_code for _ in range(6)
    ]
    assert statuses == [statuses[0], statuses[1], 200, statuses[3], statuses[4], 200]
    assert all(s >= 500 for i, s in enumerate(statuses) if i not in (2, 5))


def test_faults_can_be_restricted_to_providers():
    t = transport(faults=FaultConfig(rate=1.0, kinds=("5xx",), providers=("pdl",)))
    assert request(t, *CALLS["hunter"][:2], **CALLS["hunter"][2]).status_code == 200
    assert request(t, *CALLS["pdl"][:2], **CALLS["pdl"][2]).status_code >= 500
    assert t.app.injected_faults == {"5xx": 1}


# -- latency, routing, determinism -------------------------------------------------------------


def test_latency_scale_multiplies_the_oracle_latency():
    t = transport(latency_scale=0.1)
    reply = t.app.respond(
        "pdl",
        "GET",
        "/person/enrich",
        "first_name=Ada&last_name=Lovelace&company=engines.example",
        {"x-api-key": KEY},
        b"",
    )
    assert reply.delay_s == pytest.approx(0.05)  # TinyOracle says 0.5 s for a hit
    assert (
        transport()
        .app.respond(
            "pdl",
            "GET",
            "/person/enrich",
            "first_name=Ada&last_name=Lovelace&company=engines.example",
            {"x-api-key": KEY},
            b"",
        )
        .delay_s
        == 0.0
    )


def test_latency_ms_override_is_lognormal_around_the_median():
    t = transport(latency_ms=300)
    delays = [
        t.app.respond(
            "hunter",
            "GET",
            "/email-verifier",
            f"email=a{i}@engines.example",
            {"x-api-key": KEY},
            b"",
        ).delay_s
        for i in range(1500)
    ]
    assert statistics.median(delays) == pytest.approx(0.3, rel=0.08)
    assert min(delays) < 0.2 < 0.45 < max(delays)  # spread, not a constant


def test_loopback_style_paths_are_served_in_process_too():
    t = transport()
    real = request(t, "GET", f"{HUNTER}/email-finder", params={**ADA_HUNTER, "api_key": KEY})
    loop = request(
        t,
        "GET",
        "http://sandbox.local/hunter/v2/email-finder",
        params={**ADA_HUNTER, "api_key": KEY},
    )
    assert loop.json() == real.json()
    assert request(t, "GET", "http://sandbox.local/nobody/v1/x").status_code == 404
    assert (
        request(
            t, "GET", "https://api.hunter.io/v9/email-finder", params={"api_key": KEY}
        ).status_code
        == 404
    )


def test_same_request_same_body_across_transports():
    calls = [CALLS[p] for p in sorted(CALLS)]
    first = [r.content for r in requests(transport(), calls)]
    second = [r.content for r in requests(transport(), calls)]
    assert first == second


def test_bad_json_is_the_providers_400_and_an_oracle_failure_a_counted_500(capsys):
    t = transport()
    bad = {"content": b"{oops", "headers": {"x-api-key": KEY, "content-type": "application/json"}}
    apollo = request(t, "POST", f"{APOLLO}/people/match", **bad)
    assert apollo.status_code == 400 and apollo.json()["error_code"] == "INVALID_REQUEST"
    dropcontact = request(
        t, "POST", f"{DROPCONTACT}/enrich/all", content=b"[1,", headers={"X-Access-Token": KEY}
    )
    assert dropcontact.status_code == 400 and dropcontact.json()["reason"] == "Missing data in JSON"
    assert t.app.internal_errors == 0

    def broken(provider, query):
        raise ValueError("oracle bug")

    t.app.oracle.person = broken
    r = request(t, *CALLS["pdl"][:2], **CALLS["pdl"][2])
    assert r.status_code == 500 and r.json()["error"]["type"] == "api_error"
    assert t.app.internal_errors == 1
    assert "oracle bug" in capsys.readouterr().err


def test_docstring_examples_run():
    import doctest

    from gtmkit.sandbox.http import billing, faults, ratelimit

    for module in (billing, faults, ratelimit):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_unenforced_limits_never_report_an_exhausted_window():
    """With limits off, the headers must not tell a client to pause (the engine obeys them)."""
    now = [1_000_000.0]
    limiter = RateLimiter({}, clock=lambda: now[0])
    nominal = round(DEFAULT_RATES["prospeo"] * 60)
    infos = [limiter.admit("prospeo") for _ in range(nominal * 3)]
    assert all(info.allowed for info in infos)
    assert min(info.minute_left for info in infos) == nominal
    enforced = RateLimiter({"prospeo": DEFAULT_RATES["prospeo"]}, clock=lambda: now[0])
    assert not all(enforced.admit("prospeo").allowed for _ in range(nominal))
