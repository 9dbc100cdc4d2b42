"""The declarative HTTP provider: a spec (TOML or dict) becomes an adapter that runs in the same
engine, ledger, budget and comparison as a built-in one; spec errors name the field; answers
that do not match the spec are typed errors with the body kept and the key scrubbed."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import httpx
import polars as pl
import pytest
from _providers_helpers import FAKE_KEY, make, reply, run

import gtmkit
from gtmkit.providers import errors, provider_class, provider_names
from gtmkit.providers.declarative import (
    DeclarativeProvider,
    NoSimulation,
    SpecMismatch,
    provider_from_spec,
    register_spec,
    template_values,
    unregister_spec,
)
from gtmkit.providers.http_spec import SpecError, load_spec
from gtmkit.waterfall import Ledger, Step, Waterfall

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "notebooks" / "providers" / "example-finder.toml"

ADA = {"first_name": "Ada", "last_name": "Lovelace", "company_domain": "engines.example"}
HIT = {
    "data": {
        "email": "Ada.Lovelace@engines.example",
        "verification": "verified",
        "score": 92,
        "position": "Head of Engineering",
        "linkedin": "https://www.linkedin.com/in/ada",
    },
    "meta": {"credits_charged": 1},
}
MISS = {"data": {"email": None, "verification": None, "score": None}, "meta": {}}


def spec(**overrides: Any) -> dict[str, Any]:
    """The example spec as a dict, with sections replaced."""
    import tomllib

    data = tomllib.loads(EXAMPLE.read_text("utf-8"))
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


@pytest.fixture
def registered() -> Iterator[type[DeclarativeProvider]]:
    cls = register_spec(EXAMPLE)
    yield cls
    unregister_spec(cls.name)


# -- the spec -------------------------------------------------------------------------------
def test_the_example_spec_loads_and_says_what_a_built_in_adapter_says() -> None:
    cls = provider_from_spec(EXAMPLE)
    assert (cls.name, cls.kind, cls.endpoint) == ("example_finder", "finder", "GET /v1/email/find")
    assert cls.default_base_url == "https://api.example-finder.com"
    assert cls.env_var == "EXAMPLE_FINDER_API_KEY"
    assert (cls.billing, cls.credits_per_lookup, cls.max_credits) == ("per_hit", 1.0, 1.0)
    assert cls.price_per_credit == 0.06
    assert (cls.rate_limit.per_second, cls.rate_limit.max_in_flight) == (5.0, 5)
    # "domain" in needs is met by the company domain or the website
    assert cls.needs == (
        ("first_name", "last_name", "company_domain"),
        ("first_name", "last_name", "website"),
        ("full_name", "company_domain"),
        ("full_name", "website"),
    )
    assert cls.returns == {"email", "title", "linkedin_url"}


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        ({"name": "Bad Name"}, "name", "lower-case letters"),
        ({"kind": "verifier"}, "kind", "expected 'finder'"),
        ({"request": {"method": "FETCH"}}, "request.method", "GET, POST, PUT, PATCH"),
        ({"request": {"url": "ftp://x.example/a"}}, "request.url", "http(s) URL"),
        ({"request": {"url": "https://{domain}/a"}}, "request.url", "cannot be a template"),
        ({"request": {"url": "https://a.example/x?k=1"}}, "request.url", "request.query"),
        ({"request": {"query": {"q": "{nickname}"}}}, "request.query.q",
         "unknown field {nickname}"),
        ({"request": {"json": {"a": "{first_name}"}}}, "request.json", "a GET sends no body"),
        ({"request": {"headers": {"Authorization": "Bearer x"}}}, "request.headers.Authorization",
         "a key never goes in the file"),
        ({"request": {"bogus": 1}}, "request.bogus", "unknown key"),
        ({"auth": {"in": "cookie"}}, "auth.in", "header, query, bearer"),
        ({"auth": {"env": "sk-live-123"}}, "auth.env", "the key itself never goes in the spec"),
        ({"auth": {"env": 5}}, "auth.env", "expected a string"),
        ({"response": {"email": "data..email"}}, "response.email", "not a valid JMESPath"),
        ({"response": {"status_map": {"ok": "great"}}}, "response.status_map.ok",
         "valid, catch_all, risky, invalid, unknown"),
        ({"response": {"miss_http": [402]}}, "response.miss_http", "never misses"),
        ({"response": {"fields": {"salary": "x"}}}, "response.fields.salary", "unknown key"),
        ({"billing": {"rule": "per_row"}}, "billing.rule", "per_call, per_hit, refund_on_miss"),
        ({"billing": {"credits": -1}}, "billing.credits", "a finite number >= 0"),
        ({"billing": {"credits": 2, "max_credits": 1}}, "billing.max_credits", "at least"),
        ({"rate_limit": {"per_second": 0}}, "rate_limit.per_second", "> 0"),
        ({"rate_limit": {"max_in_flight": 0}}, "rate_limit.max_in_flight", "whole number >= 1"),
        ({"needs": [["first_name", "shoe_size"]]}, "needs[0]", "unknown field 'shoe_size'"),
        ({"respnse": {}}, "respnse", "unknown key; expected one of"),
    ],
)  # fmt: skip
def test_a_spec_error_names_the_field_and_what_is_expected(change, field, expected) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(spec(**change))
    assert caught.value.field == field
    label = "Bad Name" if field == "name" else "example_finder"
    assert str(caught.value).startswith(f"spec {label!r}: {field}: ")
    assert expected in str(caught.value)


def test_missing_sections_and_bad_toml_are_named(tmp_path: Path) -> None:
    data = spec()
    for section in ("request", "auth", "response"):
        broken = {k: v for k, v in data.items() if k != section}
        with pytest.raises(SpecError, match=rf": {section}: is required"):
            load_spec(broken)
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x\n', "utf-8")
    with pytest.raises(SpecError, match=r"spec 'bad.toml': toml: is not valid TOML"):
        load_spec(bad)
    assert isinstance(SpecError("s", "f", "e"), gtmkit.GtmkitError)


# -- the wire -------------------------------------------------------------------------------
def test_request_on_the_wire_and_a_hit_read_through_the_spec() -> None:
    cls = provider_from_spec(EXAMPLE)
    adapter, rec = make(cls, reply(200, HIT))
    finding = run(adapter.lookup(ADA))
    request = rec.last
    assert (request.method, request.url.host, request.url.path) == (
        "GET",
        "api.example-finder.com",
        "/v1/email/find",
    )
    assert dict(request.url.params) == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "full_name": "Ada Lovelace",
        "domain": "engines.example",
    }
    assert request.headers["X-Api-Key"] == FAKE_KEY and FAKE_KEY not in str(request.url)
    assert finding.outcome == "hit"
    assert finding.email == "ada.lovelace@engines.example"
    assert (finding.email_status, finding.provider_status) == ("valid", "verified")
    assert finding.confidence == pytest.approx(0.92)
    assert finding.fields["title"] == "Head of Engineering"
    assert finding.credits == 1.0 and finding.endpoint == "GET /v1/email/find"
    assert finding.raw == HIT


def test_misses_and_billing_rules() -> None:
    cls = provider_from_spec(EXAMPLE)
    for answer in (reply(200, MISS), reply(404, {"error": "not found"})):
        finding = run(make(cls, answer)[0].lookup(ADA))
        assert (finding.outcome, finding.credits, finding.error) == ("miss", 0.0, None)
    per_call = provider_from_spec(spec(billing={"rule": "per_call", "credits_from": "nothing"}))
    finding = run(make(per_call, reply(200, MISS))[0].lookup(ADA))
    assert (finding.outcome, finding.credits) == ("miss", 1.0)
    # the provider's own figure wins over the rule
    reported = {**HIT, "meta": {"credits_charged": 0}}
    finding = run(make(cls, reply(200, reported))[0].lookup(ADA))
    assert (finding.outcome, finding.credits) == ("hit", 0.0)


def test_post_json_template_bearer_and_path_fields() -> None:
    cls = provider_from_spec(
        spec(
            request={
                "method": "POST",
                "url": "https://api.example-finder.com/v2/people/{linkedin_handle}",
                "query": {},
                "json": {"person": {"name": "{full_name}", "company": "{company_name}"},
                         "options": {"verify": True}, "tags": ["{title}", "gtm"]},
            },
            auth={"in": "bearer", "name": "Authorization", "env": "EXAMPLE_FINDER_API_KEY"},
            needs=[["linkedin_handle"]],
        )
    )  # fmt: skip
    adapter, rec = make(cls, reply(200, HIT))
    record = {"full_name": "Ada Lovelace", "linkedin_url": "https://linkedin.com/in/ada-l/"}
    finding = run(adapter.lookup(record))
    assert finding.outcome == "hit"
    assert rec.last.url.path == "/v2/people/ada-l"
    assert rec.last.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    # a field the record lacks leaves its key out
    assert json.loads(rec.last.content) == {
        "person": {"name": "Ada Lovelace"},
        "options": {"verify": True},
        "tags": ["gtm"],
    }
    assert cls.needs == (("linkedin_url",),)


def test_query_auth_keeps_the_key_out_of_kept_bodies_messages_and_logs(caplog) -> None:
    cls = provider_from_spec(spec(auth={"in": "query", "name": "api_key"}))

    def echo(request: httpx.Request) -> httpx.Response:  # a hostile server echoing the URL
        return httpx.Response(500, json={"error": f"failed for {request.url}"})

    adapter, rec = make(cls, echo)
    with caplog.at_level(logging.DEBUG):
        finding = run(adapter.lookup(ADA))
    assert rec.last.url.params["api_key"] == FAKE_KEY
    assert isinstance(finding.error, errors.ProviderDown)
    assert FAKE_KEY not in json.dumps(finding.raw) and FAKE_KEY not in str(finding.error)
    assert caplog.records and FAKE_KEY not in caplog.text


def test_typed_errors_come_from_the_one_error_map() -> None:
    cls = provider_from_spec(EXAMPLE)
    cases = [
        (401, {"error": "bad key"}, None, errors.AuthError),
        (402, {"error": "no credits"}, None, errors.OutOfCredits),
        (429, {"error": "slow down"}, {"Retry-After": "2"}, errors.RateLimited),
        (500, {"error": "boom"}, None, errors.ProviderDown),
        (422, {"error": "bad domain"}, None, errors.BadRequest),
        (200, {"error": "You have no credits left", "data": {}}, None, errors.OutOfCredits),
        (200, {"error": "invalid domain", "data": {}}, None, errors.BadRequest),
    ]
    for status, body, headers, kind in cases:
        finding = run(make(cls, reply(status, body, headers))[0].lookup(ADA))
        assert type(finding.error) is kind, (status, body)
        assert finding.outcome == "error" and finding.http_status == status
    limited = run(make(cls, reply(429, {"error": "x"}, {"Retry-After": "2"}))[0].lookup(ADA))
    assert limited.error.retry_after == 2.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": {"email": {"value": "a@b.example"}}}, "response.email"),
        ({"data": {"email": "a@b.example", "score": "high"}}, "response.confidence"),
        ({"result": {"email": "a@b.example"}}, "response.require[0]"),
        ({"data": {"email": "a@b.example", "position": {"y": 1}}}, "response.fields.title"),
    ],
)  # fmt: skip
def test_an_answer_that_does_not_match_the_spec_is_typed_with_the_body_kept(body, field) -> None:
    cls = provider_from_spec(EXAMPLE)

    def answer(request: httpx.Request) -> httpx.Response:  # echoes the key into the body
        return httpx.Response(200, json={**body, "debug": request.headers["X-Api-Key"]})

    finding = run(make(cls, answer)[0].lookup(ADA))
    error = finding.error
    assert isinstance(error, SpecMismatch) and isinstance(error, errors.MalformedResponse)
    assert error.field == field and field in str(error)
    assert error.kind == "spec_mismatch"
    assert error.disables_provider and not error.retryable
    assert finding.charge_known is False  # the provider answered: it may have billed
    kept = json.dumps(finding.raw)
    assert FAKE_KEY not in kept and "debug" in kept  # raw body kept, key scrubbed
    assert {k: v for k, v in finding.raw.items() if k != "debug"} == body


def test_a_non_json_answer_is_malformed_with_its_text_kept() -> None:
    cls = provider_from_spec(EXAMPLE)
    finding = run(make(cls, reply(200, text="<html>oops</html>"))[0].lookup(ADA))
    assert isinstance(finding.error, errors.MalformedResponse)
    assert finding.raw == "<html>oops</html>"


def test_a_record_without_the_inputs_is_refused_unsent() -> None:
    cls = provider_from_spec(EXAMPLE)
    adapter, rec = make(cls, reply(200, HIT))
    finding = run(adapter.lookup({"first_name": "Ada"}))
    assert isinstance(finding.error, errors.BadRequest) and rec.requests == []


def test_template_values_derive_domain_and_handle() -> None:
    record = {"first_name": " Ada ", "last_name": "Lovelace"}
    values = template_values({**record, "linkedin_url": "in/x", "website": "http://x.io/"})
    assert "linkedin_handle" not in values  # not a profile URL
    values = template_values({**record, "linkedin_url": "linkedin.com/in/ada", "website": "x.io"})
    assert values["domain"] == "x.io" and values["linkedin_handle"] == "ada"
    assert values["full_name"] == "Ada Lovelace" and values["first_name"] == "Ada"


# -- the registry ---------------------------------------------------------------------------
def test_register_is_idempotent_for_the_same_spec_and_clear_otherwise(registered) -> None:
    assert provider_class("example_finder") is registered
    assert "example_finder" in provider_names()
    assert register_spec(EXAMPLE) is registered  # the same spec again: the same provider
    other = spec(billing={"price_per_credit": 0.5})
    with pytest.raises(errors.ProviderUsageError, match="already registered from another spec"):
        register_spec(other)
    replaced = register_spec(other, replace=True)
    assert provider_class("example_finder") is replaced and replaced.price_per_credit == 0.5
    with pytest.raises(errors.ProviderUsageError, match="built-in HunterProvider"):
        register_spec(spec(name="hunter"))
    with pytest.raises(errors.ProviderUsageError, match="built-in"):
        unregister_spec("hunter")


# -- the same engine, ledger, budget and comparison ---------------------------------------------
class _World:
    """A tiny Example Finder: knows some people, bills 1 per found email (as its spec says)."""

    KNOWN: ClassVar[dict[tuple[str, str], str]] = {
        ("ada", "lovelace"): "ada@engines.example",
        ("alan", "turing"): "alan@bletchley.example",
    }

    def __init__(self) -> None:
        self.calls = 0
        self.billed = 0
        self.lock = threading.Lock()

    def answer(self, params: dict[str, str], key: str | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.calls += 1
            if key != FAKE_KEY and key != "gtmkit-sandbox-key" and not key:
                return 401, {"error": "bad key"}
            email = self.KNOWN.get((params.get("first_name", "").lower(),
                                    params.get("last_name", "").lower()))  # fmt: skip
            if email is None:
                return 404, {"error": "no match"}
            self.billed += 1
            return 200, {"data": {"email": email, "verification": "verified", "score": 90},
                         "meta": {"credits_charged": 1}}  # fmt: skip

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            status, body = self.answer(dict(request.url.params), request.headers.get("x-api-key"))
            return httpx.Response(status, json=body)

        return httpx.MockTransport(handle)


LEADS = pl.DataFrame(
    {
        "row_id": [0, 1, 2, 3],
        "first_name": ["Ada", "Alan", "Grace", "Ada"],
        "last_name": ["Lovelace", "Turing", "Hopper", "Lovelace"],
        "company_domain": [f"{d}.example" for d in ("engines", "bletchley", "navy", "engines")],
    }
)  # fmt: skip


def test_runs_in_a_real_waterfall_with_ledger_and_budget(registered, tmp_path: Path) -> None:
    world = _World()
    options = {"transport": world.transport(), "api_keys": {"example_finder": FAKE_KEY}}
    ledger = tmp_path / "ledger.sqlite"
    wf = Waterfall([Step("example_finder")])
    result = wf.run(LEADS, mode="live", ledger=ledger, progress=False, connect_options=options)
    out = result.records.sort("row_id")
    assert out["email"].to_list() == [
        "ada@engines.example",
        "alan@bletchley.example",
        None,
        "ada@engines.example",
    ]
    assert set(out["email_source"].drop_nulls()) == {"example_finder"}
    # one lookup paid once (row 3 is row 0 asked again), every credit in the ledger
    assert world.calls == 3 and world.billed == 2
    assert result.totals["credits"] == pytest.approx(2.0)
    assert result.totals["cost_usd"] == pytest.approx(2 * 0.06)
    with Ledger(ledger) as led:
        assert led.total_credits(result.totals["run_id"]) == pytest.approx(2.0)
    # a re-run pays nothing
    again = wf.run(LEADS, mode="live", ledger=ledger, progress=False, connect_options=options)
    assert again.totals["calls"] == 0 and world.calls == 3
    # the budget: one credit allowed, one paid call
    capped = _World()
    options = {"transport": capped.transport(), "api_keys": {"example_finder": FAKE_KEY}}
    limited = wf.run(LEADS, mode="live", ledger=None, progress=False, budget_credits=1,
                     connect_options=options)  # fmt: skip
    assert limited.totals["credits"] <= 1.0 and capped.billed <= 1
    assert limited.totals["budget_exhausted"] >= 1


def test_runs_in_compare_beside_a_built_in_provider(registered) -> None:
    world = _World()
    options = {"transport": world.transport(), "api_keys": {"example_finder": FAKE_KEY}}
    comparison = gtmkit.compare(LEADS, ["example_finder", "pattern"], mode="live", ledger=None,
                                echo=False, connect_options=options)  # fmt: skip
    metrics = comparison.metrics
    row = metrics.filter(pl.col("provider") == "example_finder")
    assert (row["n"].item(), row["hits"].item(), row["billing"].item()) == (4, 3, "per_hit")
    assert row["credits_paid"].item() == pytest.approx(2.0)  # the repeated lookup paid once
    assert row["usd_paid"].item() == pytest.approx(0.12)
    assert set(metrics["provider"]) == {"example_finder", "pattern"}
    assert comparison.overlap.height > 0
    # the optimizer over orders and subsets sees it like any other provider
    frontier = comparison.frontier()
    assert frontier.height > 0 and "example_finder" in str(frontier.to_dicts())


# -- over a loopback server -----------------------------------------------------------------
class _Loopback(BaseHTTPRequestHandler):
    world: _World

    def do_GET(self) -> None:
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        status, body = self.world.answer(params, self.headers.get("X-Api-Key"))
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_runs_over_a_loopback_server_with_no_key(registered) -> None:
    world = _World()
    handler = type("Handler", (_Loopback,), {"world": world})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        result = Waterfall([Step("example_finder")]).run(
            LEADS, mode="sandbox", ledger=None, progress=False,
            connect_options={"base_urls": {"example_finder": base}},
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert result.totals["enriched"] == 3 and world.calls == 3


def test_sandbox_mode_without_a_server_says_so_instead_of_missing(registered) -> None:
    result = Waterfall([Step("example_finder")]).run(
        LEADS, mode="sandbox", ledger=None, progress=False
    )
    assert result.totals["enriched"] == 0
    assert result.totals["disabled"] == {"example_finder": "no_simulation"}
    assert set(result.attempts["error_kind"]) == {"no_simulation"}
    adapter = provider_from_spec(EXAMPLE)(None, api_key="sandbox-placeholder-key")
    finding = run(adapter.lookup(ADA))
    assert isinstance(finding.error, NoSimulation) and "base_urls" in str(finding.error)
