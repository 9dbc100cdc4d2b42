"""One row's bad input fails that row, and every failure says whether its charge is known.

``Provider.lookup`` never raises: transport failures, unreadable answers and requests that
cannot be built become typed error findings. ``Finding.charge_known`` is ``False`` exactly when
the provider may have processed (and billed) the request without an answer saying so.
Checked with ``httpx.MockTransport`` handlers and the in-process sandbox, whose own credit
counter is the independent meter.
"""

from __future__ import annotations

import httpx
import pytest
from _providers_helpers import (
    DROPCONTACT_RESULT_HIT,
    DROPCONTACT_SUBMIT,
    HIT_BODIES,
    RECORD,
    make,
    run,
)
from _sandbox_http_helpers import ADA, TinyOracle

from gtmkit.providers import errors, provider_class
from gtmkit.providers.base import Finding
from gtmkit.providers.inputs import MAX_FIELD_CHARS
from gtmkit.sandbox import FaultConfig, SandboxTransport

SIX = ("apollo", "hunter", "hunter_verifier", "pdl", "prospeo", "dropcontact")
FAST = {"dropcontact": {"poll_interval_s": 0.0, "max_poll_wait_s": 0.0}}
LOOKUP = dict(RECORD, email="olivia.martin@acme.com")
#: The field of each provider a huge value is put into (one every adapter sends).
SENT_FIELD = {name: "company_domain" for name in SIX} | {"hunter_verifier": "email"}


def _request(method: str = "GET") -> httpx.Request:
    return httpx.Request(method, "https://example.test/")


#: exception raised by the transport → (error class, retryable, charge known)
TRANSPORT_FAULTS = {
    "connect error": (httpx.ConnectError("refused"), errors.ProviderDown, True, True),
    "connect timeout": (httpx.ConnectTimeout("slow dns"), errors.ProviderTimeout, True, True),
    "pool timeout": (httpx.PoolTimeout("no free connection"), errors.ProviderTimeout, True, True),
    "proxy error": (httpx.ProxyError("proxy said no"), errors.ProviderDown, True, True),
    "read timeout": (httpx.ReadTimeout("no answer"), errors.ProviderTimeout, True, False),
    "write timeout": (httpx.WriteTimeout("stuck sending"), errors.ProviderTimeout, True, False),
    "reset": (httpx.ReadError("[Errno 104] reset by peer"), errors.ProviderDown, True, False),
    "write error": (httpx.WriteError("broken pipe"), errors.ProviderDown, True, False),
    "remote protocol": (
        httpx.RemoteProtocolError("peer closed connection without sending a response"),
        errors.ProviderDown,
        True,
        False,
    ),
    "decoding": (httpx.DecodingError("bad gzip"), errors.MalformedResponse, True, False),
    "bare timeout": (TimeoutError("custom transport gave up"), errors.ProviderTimeout, True, False),
    "bare os error": (ConnectionResetError(104, "reset"), errors.ProviderDown, True, False),
    "local protocol": (
        httpx.LocalProtocolError("Illegal header value"),
        errors.BadRequest,
        False,
        True,
    ),
    "unsupported protocol": (
        httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'"),
        errors.BadRequest,
        False,
        True,
    ),
    "invalid url": (
        httpx.InvalidURL("URL component 'query' too long"),
        errors.BadRequest,
        False,
        True,
    ),
    "unencodable": (
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
        errors.BadRequest,
        False,
        True,
    ),
}


def _raise(exc: BaseException):
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc

    return answer


@pytest.mark.parametrize("fault", sorted(TRANSPORT_FAULTS))
@pytest.mark.parametrize("name", SIX)
def test_every_exception_becomes_a_typed_finding(name: str, fault: str) -> None:
    exc, kind, retryable, known = TRANSPORT_FAULTS[fault]
    adapter, rec = make(provider_class(name), _raise(exc), **FAST.get(name, {}))
    record = dict(LOOKUP, company_name="Acme Incorporated International Holdings")
    finding = run(adapter.lookup(record))  # never raises
    assert finding.outcome == "error"
    assert type(finding.error) is kind, finding.error
    assert finding.error.retryable is retryable
    assert finding.charge_known is known and finding.error.charge_known is known
    assert finding.credits == 0.0
    assert len(rec.requests) == 1
    if kind is errors.BadRequest:
        # the request could not be built: the longest field sent is named as the likely cause
        assert finding.error.field == ("email" if name == "hunter_verifier" else "company_name")


@pytest.mark.parametrize(
    ("what", "answer"),
    [
        ("html page", lambda r: httpx.Response(200, text="<html>gateway</html>")),
        ("truncated json", lambda r: httpx.Response(200, text='{"data": {"email": "ol')),
        ("json list", lambda r: httpx.Response(200, json=["not", "an", "object"])),
    ],
)
@pytest.mark.parametrize("name", SIX)
def test_an_unreadable_2xx_body_has_an_unknown_charge(name: str, what: str, answer) -> None:
    # (Dropcontact: the submit's answer is the unreadable one, so it may have taken a credit)
    adapter, _ = make(provider_class(name), answer, **FAST.get(name, {}))
    finding = run(adapter.lookup(LOOKUP))
    assert isinstance(finding.error, errors.MalformedResponse), (what, finding.error)
    assert finding.charge_known is False
    assert finding.error.retryable


@pytest.mark.parametrize("status", [400, 401, 402, 404, 422, 429, 500, 502, 503])
@pytest.mark.parametrize("name", SIX)
def test_http_error_statuses_cost_nothing_and_are_known(name: str, status: int) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": True, "message": "no"})

    adapter, _ = make(provider_class(name), answer, **FAST.get(name, {}))
    finding = run(adapter.lookup(LOOKUP))
    if finding.outcome == "error":
        assert (finding.credits, finding.charge_known) == (0.0, True), finding.error
    else:  # PDL's bare 404 is its documented miss
        assert (name, status, finding.outcome, finding.credits) == ("pdl", 404, "miss", 0.0)


def test_a_successful_lookup_knows_its_charge() -> None:
    for name, body in HIT_BODIES.items():
        adapter, _ = make(provider_class(name), lambda r, body=body: httpx.Response(200, json=body))
        finding = run(adapter.lookup(LOOKUP))
        assert (finding.outcome, finding.charge_known) == ("hit", True), name
    assert Finding(provider="x", endpoint="y", outcome="miss").charge_known  # the default


# -- the input guard: nothing is sent for a value that cannot be ---------------------------


@pytest.mark.parametrize("name", SIX)
@pytest.mark.parametrize("size", [MAX_FIELD_CHARS + 1, 70_000])
def test_an_oversize_value_fails_the_row_before_sending(name: str, size: int) -> None:
    field = SENT_FIELD[name]
    record = dict(LOOKUP, **{field: "x" * (size - 6) + "@x.com"})
    adapter, rec = make(provider_class(name), lambda r: httpx.Response(200, json={}))
    finding = run(adapter.lookup(record))
    assert finding.outcome == "error" and type(finding.error) is errors.BadRequest
    assert not finding.error.retryable and finding.charge_known
    assert finding.error.field == field
    assert f"field {field!r} is {size:,} characters long" in str(finding.error)
    assert rec.requests == []


@pytest.mark.parametrize("name", SIX)
def test_a_value_at_the_limit_is_sent(name: str) -> None:
    field = SENT_FIELD[name]
    record = dict(LOOKUP, **{field: "x" * (MAX_FIELD_CHARS - 6) + "@x.com"})
    adapter, rec = make(provider_class(name), lambda r: httpx.Response(500), **FAST.get(name, {}))
    run(adapter.lookup(record))
    assert len(rec.requests) >= 1


@pytest.mark.parametrize("name", SIX)
def test_text_that_is_not_valid_unicode_fails_the_row_before_sending(name: str) -> None:
    record = dict(LOOKUP, first_name="Ol\ud800ivia")  # a lone surrogate: a bad decode
    if name == "hunter_verifier":
        record["email"] = "ol\udcffivia@acme.com"
    adapter, rec = make(provider_class(name), lambda r: httpx.Response(200, json={}))
    finding = run(adapter.lookup(record))
    assert type(finding.error) is errors.BadRequest
    assert finding.error.field == ("email" if name == "hunter_verifier" else "first_name")
    assert "not valid Unicode" in str(finding.error)
    assert rec.requests == []


def test_fields_a_provider_never_sends_are_not_checked() -> None:
    record = dict(LOOKUP, notes="x" * 70_000)  # not an input of any adapter
    hunter, rec = make(
        provider_class("hunter"), lambda r: httpx.Response(200, json=HIT_BODIES["hunter"])
    )
    assert run(hunter.lookup(record)).outcome == "hit"
    assert len(rec.requests) == 1


def test_a_huge_value_through_the_sandbox_fails_only_its_row() -> None:
    """Without the guard httpx raises InvalidURL (GET) out of the adapter for such a row."""
    transport = SandboxTransport(oracle=TinyOracle(), verifier_pending_rate=0.0)
    ada = {k: ADA[k] for k in ("first_name", "last_name", "company_domain", "email")}
    huge = dict(ada, company_domain="a" * 70_000 + ".example", email="a" * 70_000 + "@x.example")

    async def main():
        async with httpx.AsyncClient(transport=transport) as client:
            out = {}
            for name in SIX:
                adapter = provider_class(name)(client, api_key="sandbox", **FAST.get(name, {}))
                out[name] = (await adapter.lookup(ada), await adapter.lookup(huge))
            return out

    found = run(main())
    for name, (good, bad) in found.items():
        assert good.outcome == "hit", (name, good.error)
        assert type(bad.error) is errors.BadRequest and bad.error.field, name
    # the provider's own meter billed the good lookups only, exactly as they reported
    billed = transport.app.ledger.totals()
    for name in ("apollo", "pdl", "prospeo", "dropcontact"):
        assert billed[name] == found[name][0].credits == 1.0
    assert billed["hunter"] == found["hunter"][0].credits + found["hunter_verifier"][0].credits


# -- the sandbox as the meter: its faults and what the findings say ---------------------------

#: sandbox fault kind → whether the adapter can know the charge
SANDBOX_FAULTS = {"timeout": False, "reset": False, "malformed": False, "5xx": True, "429": True}


@pytest.mark.parametrize("kind", sorted(SANDBOX_FAULTS))
@pytest.mark.parametrize("name", ["apollo", "hunter", "pdl", "prospeo"])
def test_sandbox_faults_are_reported_with_the_right_charge_certainty(name: str, kind: str) -> None:
    transport = SandboxTransport(faults=FaultConfig(rate=1.0, kinds=(kind,)))

    async def main():
        async with httpx.AsyncClient(transport=transport) as client:
            return await provider_class(name)(client, api_key="sandbox").lookup(dict(RECORD))

    finding = run(main())
    assert finding.outcome == "error"
    assert finding.charge_known is SANDBOX_FAULTS[kind], finding.error
    assert finding.credits == 0.0
    assert transport.app.ledger.used(name) == 0.0  # the sandbox billed nothing either


def test_dropcontact_submit_lost_after_sending_is_an_unknown_charge() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("the submit's answer never came")
        return httpx.Response(200, json=DROPCONTACT_RESULT_HIT)

    drop, rec = make(provider_class("dropcontact"), answer, **FAST["dropcontact"])
    finding = run(drop.lookup(LOOKUP))
    assert isinstance(finding.error, errors.ProviderTimeout)
    assert finding.charge_known is False
    assert len(rec.requests) == 1  # no request id: nothing to poll
    assert DROPCONTACT_SUBMIT["request_id"] not in str(finding.error)
