"""``gtmkit.sandbox.simulate``: the knobs the money attacks need, each on its own, served in
process (``sim.transport``) and on loopback (``sim.serve()``), with the provider-side meter, and
``connect()`` taking live options only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping

import httpx
import pytest

from gtmkit.providers import connect
from gtmkit.providers.connect import Connection
from gtmkit.providers.throttle import read_throttle
from gtmkit.sandbox import FaultConfig, simulate
from gtmkit.sandbox.http.faults import FAULT_KINDS
from tests._sandbox_http_helpers import (
    ADA_APOLLO,
    ADA_HUNTER,
    ADA_PDL,
    APOLLO,
    DROPCONTACT,
    HUNTER,
    KEY,
    NOBODY,
    PDL,
    TinyOracle,
)

ADA_DROPCONTACT = {"first_name": "Ada", "last_name": "Lovelace", "website": "engines.example"}
NOBODY_DROPCONTACT = {"first_name": "No", "last_name": "Body", "website": "engines.example"}


def sim_with(**options):
    options.setdefault("verifier_pending_rate", 0.0)
    return simulate(oracle=TinyOracle(), **options)


def always(kind: str, **options) -> FaultConfig:
    return FaultConfig(rate=1.0, kinds=(kind,), seed=1, **options)


async def _send(transport, method: str, url: str, *, timeout: float = 5.0, **kwargs):
    async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
        response = await client.request(method, url, **kwargs)
        await response.aread()
        return response


def send(transport, method: str, url: str, **kwargs) -> httpx.Response:
    """One request through ``transport`` (the in-process simulation)."""
    return asyncio.run(_send(transport, method, url, **kwargs))


def hunter_finder(who: Mapping[str, str] = ADA_HUNTER) -> tuple[str, str, dict]:
    return "GET", f"{HUNTER}/email-finder", {"params": {**who, "api_key": KEY}}


def apollo_match() -> tuple[str, str, dict]:
    return "POST", f"{APOLLO}/people/match", {"json": ADA_APOLLO, "headers": {"x-api-key": KEY}}


def pdl_enrich(who: Mapping[str, str] = ADA_PDL) -> tuple[str, str, dict]:
    return "GET", f"{PDL}/person/enrich", {"params": who, "headers": {"X-Api-Key": KEY}}


def loopback_url(srv, url: str) -> str:
    """The loopback server's spelling of a real API URL."""
    for name, base in (("apollo", APOLLO), ("hunter", HUNTER), ("pdl", PDL)):
        if url.startswith(base):
            return srv.base_urls[name] + url[len(base) :]
    if url.startswith(DROPCONTACT):
        return srv.base_urls["dropcontact"] + url[len(DROPCONTACT) :]
    raise AssertionError(url)


# -- late: processed and billed, the answer arrives after the client's timeout --------------


def test_late_fault_bills_then_times_out_in_process():
    sim = sim_with(faults=always("late", timeout_s=30.0))
    method, url, kwargs = hunter_finder()
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        send(sim.transport, method, url, timeout=0.2, **kwargs)
    waited = time.perf_counter() - started
    assert 0.2 <= waited < 5.0  # the client's read timeout, not timeout_s
    assert sim.billed() == {"hunter": 1.0}
    assert len(sim.billed_calls("hunter")) == 1


def test_late_fault_bills_only_what_the_provider_would_bill():
    sim = sim_with(faults=always("late", timeout_s=0.0))
    method, url, kwargs = hunter_finder(NOBODY)  # a miss: Hunter does not charge it
    with pytest.raises(httpx.ReadTimeout):
        send(sim.transport, method, url, **kwargs)
    assert sim.billed() == {}


def test_late_fault_bills_then_holds_the_answer_on_loopback():
    sim = sim_with(faults=always("late", hold_s=30.0))
    method, url, kwargs = hunter_finder()
    with sim.serve() as srv, httpx.Client(timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.request(method, loopback_url(srv, url), **kwargs)
        assert sim.billed() == {"hunter": 1.0}


# -- hang: accepted, never answered ----------------------------------------------------------


def test_hang_waits_the_whole_client_read_timeout_in_process():
    sim = sim_with(faults=always("hang", timeout_s=0.0))  # timeout_s does not shorten a hang
    method, url, kwargs = pdl_enrich()
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        send(sim.transport, method, url, timeout=0.3, **kwargs)
    assert time.perf_counter() - started >= 0.3
    assert sim.billed() == {}
    assert sim.requests() == {"pdl": 1}


def test_hang_without_a_client_timeout_never_answers():
    sim = sim_with(faults=always("hang"))
    method, url, kwargs = pdl_enrich()

    async def go():
        return await asyncio.wait_for(
            _send(sim.transport, method, url, timeout=None, **kwargs), 0.3
        )

    with pytest.raises(TimeoutError):
        asyncio.run(go())
    assert sim.billed() == {}


def test_hang_holds_the_connection_on_loopback_until_the_client_gives_up():
    sim = sim_with(faults=always("hang"))
    method, url, kwargs = pdl_enrich()
    with sim.serve() as srv, httpx.Client(timeout=0.3) as client:
        started = time.perf_counter()
        with pytest.raises(httpx.ReadTimeout):
            client.request(method, loopback_url(srv, url), **kwargs)
        assert time.perf_counter() - started >= 0.3
        assert sim.billed() == {}
    # leaving the block stopped the server although a request had been held


def test_refuse_is_a_connection_refused_in_process_and_an_abort_on_loopback():
    sim = sim_with(faults=always("refuse"))
    method, url, kwargs = hunter_finder()
    with pytest.raises(httpx.ConnectError):
        send(sim.transport, method, url, **kwargs)
    with sim.serve() as srv, httpx.Client() as client, pytest.raises(httpx.TransportError):
        client.request(method, loopback_url(srv, url), **kwargs)
    assert sim.billed() == {} and sim.requests() == {"hunter": 2}


# -- the Retry-After a 429 carries, and refusing every first try -----------------------------


@pytest.mark.parametrize(
    "retry_after, header", [(0, "0"), (1e9, "1000000000"), (-5, "-5"), (2.5, "2.5"), (None, None)]
)
def test_injected_429_carries_the_retry_after_asked_for(retry_after, header):
    sim = sim_with(faults=always("429", retry_after_s=retry_after))
    method, url, kwargs = apollo_match()
    in_process = send(sim.transport, method, url, **kwargs)
    with sim.serve() as srv, httpx.Client() as client:
        over_loopback = client.request(method, loopback_url(srv, url), **kwargs)
    for response in (in_process, over_loopback):
        assert response.status_code == 429
        assert response.headers.get("retry-after") == header
    assert sim.billed() == {}


def test_default_429_still_says_one_second():
    sim = sim_with(faults=always("429"))
    assert (
        send(sim.transport, *apollo_match()[:2], **apollo_match()[2]).headers["retry-after"] == "1"
    )


def test_first_tries_mode_refuses_each_first_try_and_answers_its_retry():
    sim = sim_with(faults=always("429", first_tries=True))
    ada, nobody = hunter_finder(), hunter_finder(NOBODY)
    statuses = [
        send(sim.transport, method, url, **kwargs).status_code
        for method, url, kwargs in (ada, ada, ada, nobody, nobody)
    ]
    assert statuses == [403, 200, 200, 403, 200]  # Hunter's throttle answer is a 403
    with sim.serve() as srv, httpx.Client() as client:
        pdl = pdl_enrich()
        first = client.request(pdl[0], loopback_url(srv, pdl[1]), **pdl[2])
        retry = client.request(pdl[0], loopback_url(srv, pdl[1]), **pdl[2])
    assert (first.status_code, retry.status_code) == (429, 200)
    # only the answered tries are billed: Ada's two (hits), Nobody's none (a miss), PDL's retry
    assert sim.billed() == {"hunter": 2.0, "pdl": 1.0}


def test_faults_can_be_restricted_to_a_path():
    sim = sim_with(faults=always("5xx", providers=("dropcontact",), paths=("/enrich/all/",)))
    body = {"json": {"data": [ADA_DROPCONTACT]}, "headers": {"X-Access-Token": KEY}}
    submit = send(sim.transport, "POST", f"{DROPCONTACT}/enrich/all", **body)
    assert submit.status_code == 200  # the submit is not faulted...
    poll = send(
        sim.transport,
        "GET",
        f"{DROPCONTACT}/enrich/all/{submit.json()['request_id']}",
        headers={"X-Access-Token": KEY},
    )
    assert poll.status_code >= 500  # ...its poll is
    assert sim.injected_faults == {"5xx": 1}


def test_fault_options_are_validated():
    assert {"late", "hang"} <= set(FAULT_KINDS)
    with pytest.raises(ValueError, match="NaN"):
        FaultConfig(rate=1.0, kinds=("429",), retry_after_s=float("nan"))
    with pytest.raises(ValueError, match="timeout_s"):
        FaultConfig(rate=1.0, timeout_s=float("nan"))
    assert FaultConfig(paths="/enrich/all/").paths == ("/enrich/all/",)


# -- billing of faulted requests is what a real provider does -------------------------------

UNBILLED = ("429", "5xx", "timeout", "reset", "malformed", "401", "402", "hang", "refuse")


@pytest.mark.parametrize("kind", UNBILLED)
def test_a_faulted_request_is_not_billed(kind):
    sim = sim_with(faults=always(kind, timeout_s=0.0))
    method, url, kwargs = hunter_finder()
    with contextlib.suppress(httpx.TransportError):  # timeout, reset, hang: raised
        send(sim.transport, method, url, timeout=0.05, **kwargs)
    assert sim.billed() == {} and sim.billed_calls() == []


@pytest.mark.parametrize("kind", ["slow", "late"])
def test_a_processed_request_is_billed_even_if_faulted(kind):
    sim = sim_with(faults=always(kind, slow_s=0.0, timeout_s=0.0))
    method, url, kwargs = hunter_finder()
    try:
        send(sim.transport, method, url, **kwargs)
    except httpx.ReadTimeout:
        assert kind == "late"
    assert sim.billed() == {"hunter": 1.0}


def test_dropcontact_submit_is_billed_even_when_its_poll_fails():
    sim = sim_with(faults=always("5xx", providers=("dropcontact",), paths=("/enrich/all/",)))
    token = {"X-Access-Token": KEY}
    submit = send(
        sim.transport,
        "POST",
        f"{DROPCONTACT}/enrich/all",
        json={"data": [NOBODY_DROPCONTACT]},
        headers=token,
    )
    assert submit.status_code == 200
    poll = send(
        sim.transport,
        "GET",
        f"{DROPCONTACT}/enrich/all/{submit.json()['request_id']}",
        headers=token,
    )
    assert poll.status_code >= 500
    # a miss is refunded only when its batch is fetched: the failed poll leaves it charged
    assert sim.billed() == {"dropcontact": 1.0}


# -- over-charging: a provider billing more than its adapter declares -----------------------


def test_charge_credits_bills_more_and_says_so_in_the_billing_signal():
    sim = sim_with(charge_credits={"pdl": 5})
    method, url, kwargs = pdl_enrich()
    hit = send(sim.transport, method, url, **kwargs)
    assert hit.status_code == 200
    assert hit.headers["x-call-credits-spent"] == "5"
    miss = send(sim.transport, method, url, **{**kwargs, "params": {**ADA_PDL, "first_name": "No"}})
    assert miss.status_code == 404 and miss.headers["x-call-credits-spent"] == "0"
    assert sim.billed() == {"pdl": 5.0}
    assert [c.credits for c in sim.billed_calls()] == [5.0]
    # other providers keep charging 1
    send(sim.transport, *hunter_finder()[:2], **hunter_finder()[2])
    assert sim.billed() == {"pdl": 5.0, "hunter": 1.0}


def test_charge_credits_over_loopback_and_through_the_real_adapter():
    sim = sim_with(charge_credits={"pdl": 5})

    async def lookup(**connect_options):
        async with sim.connect(["pdl"], **connect_options) as conn:
            return await conn["pdl"].lookup(
                {"first_name": "Ada", "last_name": "Lovelace", "company_domain": "engines.example"}
            )

    in_process = asyncio.run(lookup())
    with sim.serve() as srv:
        over_loopback = asyncio.run(lookup(base_urls=srv.base_urls))
    for finding in (in_process, over_loopback):
        assert finding.outcome == "hit" and finding.credits == 5.0
    assert sim.billed() == {"pdl": 10.0}


def test_charge_credits_on_dropcontact_bills_and_refunds_at_that_price():
    sim = sim_with(charge_credits={"dropcontact": 3}, allowance=100)
    token = {"X-Access-Token": KEY}
    submit = send(
        sim.transport,
        "POST",
        f"{DROPCONTACT}/enrich/all",
        json={"data": [NOBODY_DROPCONTACT]},
        headers=token,
    )
    assert submit.json()["credits_left"] == 97
    done = send(
        sim.transport,
        "GET",
        f"{DROPCONTACT}/enrich/all/{submit.json()['request_id']}",
        headers=token,
    )
    assert done.json()["success"] is True and done.json()["credits_left"] == 100  # miss refunded
    assert sim.billed() == {} and sim.billed_calls() == []


def test_charge_credits_is_validated():
    with pytest.raises(ValueError, match="unknown provider"):
        simulate(oracle=TinyOracle(), charge_credits={"clearbit": 2})
    for bad in (0, -1, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="finite number > 0"):
            simulate(oracle=TinyOracle(), charge_credits={"pdl": bad})


# -- a plan limit below the adapter's default, announced by the headers ---------------------


def test_plan_limit_is_enforced_and_announced_in_process_and_on_loopback():
    sim = sim_with(rate_limits={"apollo": 20})
    method, url, kwargs = apollo_match()

    async def burst(client_url: str, transport=None) -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport) as client:
            return list(
                await asyncio.gather(
                    *(client.request(method, client_url, **kwargs) for _ in range(40))
                )
            )

    answers = asyncio.run(burst(url, sim.transport))
    statuses = [r.status_code for r in answers]
    assert 20 <= statuses.count(200) < 40 and 429 in statuses
    accepted = next(r for r in answers if r.status_code == 200)
    throttle = read_throttle(accepted.headers)
    assert throttle is not None and throttle.limit_per_second == pytest.approx(20.0)
    assert sim.refused() == {"apollo": statuses.count(429)}
    assert sim.requests() == {"apollo": 40}

    time.sleep(1.1)  # the bucket refills
    with sim.serve() as srv:
        over_loopback = asyncio.run(burst(loopback_url(srv, url)))
    assert 429 in [r.status_code for r in over_loopback]
    assert read_throttle(over_loopback[0].headers).limit_per_second == pytest.approx(20.0)
    assert sim.requests() == {"apollo": 80}


# -- the meter: what the provider side billed, per request ----------------------------------


def test_the_meter_counts_a_request_billed_twice_and_nothing_else():
    sim = sim_with()
    ada, charles = (
        hunter_finder(),
        hunter_finder({**ADA_HUNTER, "first_name": "Charles", "last_name": "Babbage"}),
    )
    for method, url, kwargs in (ada, charles, ada, hunter_finder(NOBODY), hunter_finder(NOBODY)):
        send(sim.transport, method, url, **kwargs)
    assert sim.billed() == {"hunter": 3.0}
    counts = sorted(sim.billed_requests().values())
    assert counts == [1, 2]  # Ada twice, Charles once; the misses were never billed
    assert sim.repeated_lookups() == 1 and sim.repeated_lookups("pdl") == 0
    # the same lookup sent with another key is the same request (a key is never kept)
    other_key = {**ada[2], "params": {**ada[2]["params"], "api_key": "another-key"}}
    send(sim.transport, ada[0], ada[1], **other_key)
    assert sim.repeated_lookups("hunter") == 2


def test_the_meter_is_shared_with_the_loopback_server():
    sim = sim_with()
    method, url, kwargs = hunter_finder()
    send(sim.transport, method, url, **kwargs)
    with sim.serve() as srv, httpx.Client() as client:
        client.request(method, loopback_url(srv, url), **kwargs)
    assert sim.billed() == {"hunter": 2.0} and sim.repeated_lookups() == 1


# -- adapter options and the connect() surface -----------------------------------------------


def test_adapter_options_follow_the_simulated_latency():
    assert simulate(oracle=TinyOracle()).adapter_options["dropcontact"]["poll_interval_s"] == 0
    scaled = simulate(oracle=TinyOracle(), latency_scale=1.0).adapter_options
    assert scaled["dropcontact"]["poll_interval_s"] == pytest.approx(0.05)
    assert scaled["hunter_verifier"]["pending_wait_s"] == pytest.approx(0.05)
    by_median = simulate(oracle=TinyOracle(), latency_ms=2000).adapter_options
    assert by_median["dropcontact"]["max_poll_wait_s"] == pytest.approx(1.0)


def test_sim_connect_hands_over_transport_and_options_and_merges_overrides():
    sim = simulate(oracle=TinyOracle(), latency_scale=1.0)

    async def main():
        async with sim.connect(
            ["dropcontact", "hunter_verifier"], options={"dropcontact": {"max_polls": 7}}
        ) as conn:
            return conn

    conn = asyncio.run(main())
    dropcontact = conn["dropcontact"]
    assert dropcontact.max_polls == 7 and dropcontact.poll_interval_s == pytest.approx(0.05)
    assert conn["hunter_verifier"].pending_wait_s == pytest.approx(0.05)
    assert conn.sandbox_transport is sim.transport
    assert sim.connect_options["transport"] is sim.transport
    assert sim.connect_options["options"] == sim.adapter_options


def test_connect_takes_live_options_only():
    for sandbox_option in ("world", "latency_scale", "faults", "rate_limits", "sandbox_transport"):
        with pytest.raises(TypeError):
            connect(["hunter"], mode="sandbox", **{sandbox_option: None})


def test_connection_is_a_mapping():
    async def main():
        async with connect(["hunter", "pattern"], mode="sandbox") as conn:
            return conn

    conn = asyncio.run(main())
    assert isinstance(conn, Mapping) and isinstance(conn, Connection)
    assert list(conn) == ["hunter", "pattern"] == list(conn.keys()) == list(conn.names)
    assert dict(conn) == {"hunter": conn["hunter"], "pattern": conn["pattern"]}
    assert conn.get("apollo") is None and "apollo" not in conn
    assert [name for name, _ in conn.items()] == ["hunter", "pattern"]
    assert conn == conn and hash(conn) == hash(conn)
    assert conn.mode_of("hunter") == "sandbox" and conn.client.is_closed


def test_live_mode_requests_go_through_the_given_transport():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"email": None}})

    async def main():
        async with connect(
            ["hunter"],
            mode="live",
            api_keys={"hunter": "live-key-for-a-mock"},
            transport=httpx.MockTransport(answer),
            env_file=None,
        ) as conn:
            return await conn["hunter"].lookup(
                {"first_name": "Ada", "last_name": "Lovelace", "company_domain": "acme.io"}
            )

    finding = asyncio.run(main())
    assert finding.outcome == "miss"
    assert [r.url.host for r in seen] == ["api.hunter.io"]
