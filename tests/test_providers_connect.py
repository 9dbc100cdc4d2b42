"""Registry and ``connect``: names, modes, shared client, base URLs, options."""

from __future__ import annotations

import pkgutil
from typing import ClassVar

import httpx
import pytest
from _providers_helpers import FAKE_KEY, HUNTER_VERIFIER_HIT, Recorder, reply, run

import gtmkit
import gtmkit.providers as providers_pkg
from gtmkit.providers import (
    PROVIDERS,
    Finding,
    Provider,
    connect,
    provider_class,
    provider_names,
    register,
)
from gtmkit.providers import registry as registry_module
from gtmkit.schema import BILLING_MODELS, CANONICAL_FIELDS


def test_registered_names_match_the_contract() -> None:
    assert PROVIDERS == (
        "apollo",
        "hunter",
        "hunter_verifier",
        "pdl",
        "prospeo",
        "dropcontact",
        "zoominfo",
        "lusha",
        "findymail",
        "leadmagic",
        "pattern",
        "manual",
    )
    assert gtmkit.Provider is Provider and gtmkit.Finding is Finding


def test_every_adapter_module_registers_a_class() -> None:
    infra = registry_module._INFRASTRUCTURE
    modules = {
        m.name
        for m in pkgutil.iter_modules(providers_pkg.__path__)
        if not m.name.startswith("_") and m.name not in infra
    }
    defining = {provider_class(n).__module__.rsplit(".", 1)[1] for n in PROVIDERS}
    assert modules == defining


@pytest.mark.parametrize("name", PROVIDERS)
def test_each_adapter_declares_the_interface(name: str) -> None:
    cls = provider_class(name)
    assert cls.name == name
    assert cls.kind in ("finder", "verifier", "local", "manual")
    assert cls.billing in BILLING_MODELS
    assert cls.needs and all(set(group) <= set(CANONICAL_FIELDS) for group in cls.needs)
    assert "email" in cls.returns
    assert cls.max_credits >= cls.credits_per_lookup >= 0
    assert cls.price_per_credit >= 0
    assert cls.rate_limit.per_second > 0 and cls.rate_limit.max_in_flight >= 1
    if cls.kind not in ("local", "manual"):
        # an OAuth client-credentials provider's key is its client secret (ZoomInfo)
        assert cls.env_var and cls.env_var.endswith(("_API_KEY", "_CLIENT_SECRET"))
        assert cls.default_base_url.startswith("https://")


def test_unknown_names_and_modes_are_clear_errors() -> None:
    with pytest.raises(KeyError, match="known providers: apollo"):
        provider_class("clearbit")
    with pytest.raises(KeyError, match="clearbit"):
        connect(["clearbit"], mode="sandbox")
    with pytest.raises(ValueError, match="mode must be"):
        connect(["hunter"], mode="offline")  # type: ignore[arg-type]


def test_connection_shares_one_client_and_closes_it() -> None:
    async def main():
        transport = httpx.MockTransport(reply(200, HUNTER_VERIFIER_HIT))
        conn = connect(
            ["hunter", "hunter_verifier", "pattern"], mode="sandbox", transport=transport
        )
        async with conn:
            assert conn.names == ("hunter", "hunter_verifier", "pattern")
            assert conn["hunter"].client is conn["hunter_verifier"].client is conn.client
            assert conn.mode_of("hunter") == "sandbox"
            assert conn.mode_of("pattern") == "local"
            assert "hunter" in conn and len(conn) == 3 and list(conn) == list(conn.names)
            with pytest.raises(KeyError, match="not connected"):
                conn["apollo"]
            finding = await conn["hunter_verifier"].lookup({"email": "patrick@stripe.com"})
        return conn, finding

    conn, finding = run(main())
    assert finding.outcome == "hit"
    assert conn.client.is_closed


def test_adapters_keep_their_real_urls_in_sandbox_mode() -> None:
    recorder = Recorder(reply(200, HUNTER_VERIFIER_HIT))

    async def main():
        transport = httpx.MockTransport(recorder)
        async with connect(["hunter_verifier"], mode="sandbox", transport=transport) as c:
            await c["hunter_verifier"].lookup({"email": "patrick@stripe.com"})

    run(main())
    assert str(recorder.last.url).startswith("https://api.hunter.io/v2/email-verifier?")


def test_base_urls_override_and_verifier_falls_back_to_hunter() -> None:
    async def main():
        async with connect(
            ["hunter", "hunter_verifier", "pdl"],
            mode="sandbox",
            base_urls={
                "hunter": "http://127.0.0.1:9/hunter/v2/",
                "pdl": "http://127.0.0.1:9/pdl/v5",
            },
        ) as conn:
            return {n: conn[n].base_url for n in conn.names}, conn.sandbox_transport

    urls, transport = run(main())
    assert urls == {
        "hunter": "http://127.0.0.1:9/hunter/v2",
        "hunter_verifier": "http://127.0.0.1:9/hunter/v2",
        "pdl": "http://127.0.0.1:9/pdl/v5",
    }
    assert transport is None  # nothing served in process: no world was loaded


def test_options_and_explicit_keys_reach_the_adapters() -> None:
    async def main():
        async with connect(
            ["dropcontact", "pattern", "prospeo"],
            mode="live",
            api_keys={"dropcontact": FAKE_KEY, "prospeo": FAKE_KEY},
            options={"dropcontact": {"max_polls": 3}, "pattern": {"unseen": "guess"}},
        ) as conn:
            return conn

    conn = run(main())
    assert conn["dropcontact"].max_polls == 3
    assert conn["pattern"].unseen == "guess"
    assert conn.mode_of("dropcontact") == "live" and conn["dropcontact"].has_key
    assert conn["dropcontact"].base_url == "https://api.dropcontact.com/v1"


def test_sandbox_polling_does_not_sleep_real_seconds_without_latency() -> None:
    async def main():
        async with connect(["dropcontact", "hunter_verifier"], mode="sandbox") as conn:
            return conn["dropcontact"], conn["hunter_verifier"]

    dropcontact, verifier = run(main())
    assert dropcontact.poll_interval_s == 0.0 and dropcontact.max_poll_wait_s == 0.0
    assert verifier.pending_wait_s == 0.0


def test_a_provider_from_outside_the_package_can_be_registered() -> None:
    class Echo(Provider):
        name: ClassVar[str] = "echo_test"
        kind = "local"
        endpoint: ClassVar[str] = "echo"
        default_base_url: ClassVar[str] = "local://echo"
        needs: ClassVar[tuple[tuple[str, ...], ...]] = (("email",),)
        returns: ClassVar[frozenset[str]] = frozenset({"email"})

        def lookup_key(self, record):
            return str(record.get("email"))

        async def _lookup(self, record):
            return Finding(self.name, self.endpoint, "hit", fields={"email": record["email"]})

    register(Echo)
    try:
        assert "echo_test" in provider_names()
        with pytest.raises(ValueError, match="already used"):
            register(type("Other", (Echo,), {}))

        async def main():
            async with connect(["echo_test"], mode="sandbox") as conn:
                return await conn["echo_test"].lookup({"email": "a@b.co"})

        assert run(main()).email == "a@b.co"
    finally:
        registry_module._REGISTRY.pop("echo_test", None)
    assert "echo_test" not in provider_names()


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_record_without_the_needed_inputs_is_not_sent(name: str) -> None:
    recorder = Recorder(reply(500))

    async def main():
        transport = httpx.MockTransport(recorder)
        async with connect([name], mode="sandbox", transport=transport) as conn:
            return await conn[name].lookup({"country": "France", "title": "CEO"})

    finding = run(main())
    assert finding.outcome == "error"
    assert finding.error.kind == "bad_request" and not finding.error.retryable
    assert "needs" in str(finding.error)
    assert recorder.requests == []


def test_a_sandbox_connection_can_never_reach_a_real_provider() -> None:
    async def main():
        # A base URL pointing at the real host must not escape the simulation.
        async with connect(
            ["apollo"], mode="sandbox", base_urls={"apollo": "https://api.apollo.io/api/v1"}
        ) as conn:
            return await conn["apollo"].lookup(
                {"first_name": "Ada", "last_name": "Lovelace", "company_domain": "acme.io"}
            )

    finding = run(main())
    assert finding.outcome == "error"
    assert finding.error.kind == "provider_down"
    assert "refusing to contact the real provider host api.apollo.io" in str(finding.error)
