"""One pricing function for everyone, prices validated, and each adapter's billing signal.

``price_per_credit`` / ``worst_case_credits`` refuse an unknown provider (with the known
names) and any price that is not a finite number ≥ 0; ``compare`` prices through them. Each
adapter reports what the provider's own signal says a call cost, never more than its
``max_credits`` for the documented answers, and the sandbox's credit counter agrees.
"""

from __future__ import annotations

import json
import math

import httpx
import polars as pl
import pytest
from _providers_helpers import HIT_BODIES, PROSPEO_HIT, RECORD, make, run

from gtmkit.errors import GtmkitError
from gtmkit.providers import PROVIDERS, PDLProvider, connect, provider_class
from gtmkit.providers.pricing import (
    InvalidPrice,
    UnknownProvider,
    check_prices,
    price_per_credit,
    valid_amount,
    worst_case_credits,
)

BAD_PRICES = [math.nan, math.inf, -math.inf, -0.01, True, False, "0.1", None, [0.1]]


@pytest.mark.parametrize("name", PROVIDERS)
def test_list_prices_and_worst_cases_come_from_the_adapters(name: str) -> None:
    cls = provider_class(name)
    assert price_per_credit(name) == cls.price_per_credit
    assert worst_case_credits(name) == cls.max_credits
    assert price_per_credit(name, prices={name: 0.5}) == 0.5
    assert price_per_credit(name, prices={"someone_else": 0.5}) == cls.price_per_credit
    assert price_per_credit(name, prices={name: 3}) == 3.0  # an int is a price


@pytest.mark.parametrize(
    "call",
    [
        lambda: price_per_credit("huntr"),
        lambda: price_per_credit("huntr", prices={"huntr": 0.1}),  # a priced typo is a typo
        lambda: worst_case_credits("huntr"),
        lambda: check_prices({"huntr": 0.1}),
        lambda: provider_class("huntr"),
        lambda: connect(["huntr"], mode="sandbox"),
    ],
)
def test_an_unknown_provider_is_an_error_listing_the_known_ones(call) -> None:
    with pytest.raises(UnknownProvider) as caught:
        call()
    exc = caught.value
    assert isinstance(exc, KeyError) and isinstance(exc, GtmkitError)
    text = str(exc)
    assert text.startswith("unknown provider 'huntr'; known providers: apollo, hunter")
    assert all(name in text for name in PROVIDERS)
    assert exc.name == "huntr" and exc.known == PROVIDERS


def test_an_unhashable_name_is_an_unknown_provider_too() -> None:
    with pytest.raises(UnknownProvider):
        price_per_credit(["hunter"])  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", BAD_PRICES, ids=repr)
def test_a_price_must_be_a_finite_number_at_least_zero(bad) -> None:
    with pytest.raises(InvalidPrice, match=r"prices\['pdl'\] must be a finite number >= 0"):
        price_per_credit("pdl", prices={"pdl": bad})
    with pytest.raises(InvalidPrice):
        check_prices({"hunter": 0.1, "pdl": bad})
    assert issubclass(InvalidPrice, GtmkitError) and issubclass(InvalidPrice, ValueError)


def test_zero_is_a_valid_price() -> None:
    assert price_per_credit("pdl", prices={"pdl": 0}) == 0.0
    assert valid_amount(0.0, source="x") == 0.0


def test_check_prices_validates_every_entry() -> None:
    assert check_prices(None) == {}
    assert check_prices({"pdl": 1, "hunter": 0.25}) == {"pdl": 1.0, "hunter": 0.25}
    with pytest.raises(InvalidPrice, match="must be a mapping"):
        check_prices([("pdl", 1.0)])  # type: ignore[arg-type]


def test_adapters_given_by_the_caller_win_and_are_validated() -> None:
    class Cheap(PDLProvider):
        price_per_credit = 0.01
        max_credits = 2.0

    class Broken(PDLProvider):
        price_per_credit = math.nan
        max_credits = -1.0

    providers = {"pdl": Cheap(None, api_key="k"), "custom": Cheap}
    assert price_per_credit("pdl", providers=providers) == 0.01
    assert worst_case_credits("pdl", providers=providers) == 2.0
    assert price_per_credit("custom", providers=providers) == 0.01  # unregistered, but given
    assert price_per_credit("hunter", providers=providers) == 0.10  # not given: the registry
    with pytest.raises(InvalidPrice, match=r"Broken\.price_per_credit"):
        price_per_credit("pdl", providers={"pdl": Broken})
    with pytest.raises(InvalidPrice, match=r"Broken\.max_credits"):
        worst_case_credits("pdl", providers={"pdl": Broken})


def test_compare_prices_through_the_one_function() -> None:
    from gtmkit.comparison import provider_costs

    costs = provider_costs(["hunter", "pdl"], prices={"pdl": 0.2})
    assert (costs["hunter"].usd_per_credit, costs["pdl"].usd_per_credit) == (0.10, 0.2)
    with pytest.raises(UnknownProvider):
        provider_costs(["huntr"])
    with pytest.raises(InvalidPrice):
        provider_costs(["pdl"], prices={"pdl": math.nan})


def test_compare_refuses_a_nan_price_before_spending() -> None:
    import gtmkit

    frame = pl.DataFrame({"row_id": [0], "first_name": ["Ada"], "last_name": ["L"]})
    with pytest.raises(InvalidPrice):
        gtmkit.compare(frame, ["pdl"], prices={"pdl": math.nan}, ledger=None, echo=False)


# -- each adapter's billing signal ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "credits"),
    [("1", 1.0), ("5", 5.0), ("0", 0.0), ("nan", 1.0), ("-3", 1.0), ("inf", 1.0), ("lots", 1.0)],
)
def test_pdl_reports_its_credit_header_when_it_is_a_real_count(header: str, credits: float) -> None:
    answer = lambda r: httpx.Response(  # noqa: E731
        200, json=HIT_BODIES["pdl"], headers={"x-call-credits-spent": header}
    )
    pdl, _ = make(provider_class("pdl"), answer)
    finding = run(pdl.lookup(RECORD))
    assert finding.credits == credits  # 5: more than max_credits, reported as PDL billed it


@pytest.mark.parametrize(
    ("mobile", "free", "credits"),
    [
        ({"status": None, "revealed": False}, False, 1.0),
        ({"status": "VERIFIED", "revealed": True, "mobile": "+33 6 12 34 56 78"}, False, 10.0),
        ({"status": "VERIFIED", "revealed": True, "mobile": "+33 6 12 34 56 78"}, True, 0.0),
    ],
)
def test_prospeo_bills_a_revealed_mobile_at_ten_and_a_free_enrichment_at_zero(
    mobile, free, credits
) -> None:
    body = json.loads(json.dumps(PROSPEO_HIT))
    body["person"]["mobile"] = mobile
    body["free_enrichment"] = free
    prospeo, _ = make(provider_class("prospeo"), lambda r: httpx.Response(200, json=body))
    assert run(prospeo.lookup(RECORD)).credits == credits


@pytest.mark.parametrize("name", sorted(HIT_BODIES))
def test_the_documented_answers_never_cost_more_than_max_credits(name: str) -> None:
    cls = provider_class(name)
    adapter, _ = make(cls, lambda r: httpx.Response(200, json=HIT_BODIES[name]))
    finding = run(adapter.lookup(dict(RECORD, email="olivia.martin@acme.com")))
    assert finding.outcome == "hit" and 0 < finding.credits <= cls.max_credits


def test_the_findings_add_up_to_what_the_sandbox_billed() -> None:
    """The sandbox's own credit counter is the meter: every adapter reports what it charged."""
    from gtmkit.sandbox import SandboxTransport, default_world

    fields = ("first_name", "last_name", "company_domain", "company_name", "email")
    people = default_world().people.head(60).to_dicts()
    records = [{k: p[k] for k in fields} for p in people]
    names = ("apollo", "hunter", "hunter_verifier", "pdl", "prospeo", "dropcontact")
    transport = SandboxTransport(verifier_pending_rate=0.0)
    fast = {"dropcontact": {"poll_interval_s": 0.0, "max_poll_wait_s": 0.0}}

    async def main():
        async with httpx.AsyncClient(transport=transport) as client:
            reported: dict[str, float] = {}
            for name in names:
                adapter = provider_class(name)(client, api_key="sandbox", **fast.get(name, {}))
                for record in records:
                    finding = await adapter.lookup(record)
                    assert finding.error is None, (name, finding.error)
                    assert finding.charge_known
                    api = adapter.api_name
                    reported[api] = reported.get(api, 0.0) + finding.credits
            return reported

    reported = run(main())
    billed = transport.app.ledger.totals()
    assert reported == {api: billed.get(api, 0.0) for api in reported}
    assert all(billed[api] > 0 for api in reported)  # something was billed everywhere
