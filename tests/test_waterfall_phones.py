"""The phone waterfall through the engine: ``fills=("phone",)`` with its type, ``phone_stop``
("first_any" / "first_mobile"), and one call that fills both an email and a phone, charged
once — counted by the fake providers themselves."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

import polars as pl

from gtmkit.providers.base import Finding, Provider, Record
from gtmkit.waterfall import Step, Waterfall
from tests._waterfall_helpers import make_records

CALLS: Counter[str] = Counter()


class Lines(Provider):
    """A local fake: every even row has a direct line and an email; one call, one credit."""

    name: ClassVar[str] = "lines"
    endpoint: ClassVar[str] = "person"
    default_base_url: ClassVar[str] = "local://lines"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (("first_name", "last_name"),)
    returns: ClassVar[frozenset[str]] = frozenset({"email", "phone"})
    max_credits: ClassVar[float] = 1.0

    def lookup_key(self, record: Record) -> str:
        return str(record["row_id"])

    async def _lookup(self, record: Record) -> Finding:
        CALLS[self.name] += 1
        if record["row_id"] % 2:
            return Finding(self.name, self.endpoint, "miss")
        fields = {"email": f"p{record['row_id']}@acme.io", "phone": "+14155550100"}
        fields["phone_type"] = "direct"
        return Finding(self.name, self.endpoint, "hit", fields=fields, email_status="valid",
                       credits=1.0)  # fmt: skip


class Mobiles(Lines):
    """Has a mobile for every row divisible by 4 (and for no odd one)."""

    name: ClassVar[str] = "mobiles"
    returns: ClassVar[frozenset[str]] = frozenset({"phone"})
    max_credits: ClassVar[float] = 2.0  # mobiles are dearer

    async def _lookup(self, record: Record) -> Finding:
        CALLS[self.name] += 1
        if record["row_id"] % 4:
            return Finding(self.name, self.endpoint, "miss")
        fields = {"phone": "+14155550111", "phone_type": "mobile"}
        return Finding(self.name, self.endpoint, "hit", fields=fields, credits=2.0)


def run(phone_stop):
    CALLS.clear()
    wf = Waterfall(
        [Step("lines", fills=("email", "phone")),
         Step("mobiles", fills=("phone",), phone_stop=phone_stop)]
    )  # fmt: skip
    providers = {"lines": Lines(), "mobiles": Mobiles()}
    return wf.run(
        make_records(40), providers=providers, ledger=None, progress=False, rate_limits="off"
    )


def test_first_any_stops_at_the_direct_line_and_one_call_fills_both():
    result = run("first_any")
    out = result.records
    even = out.filter(pl.col("row_id") % 2 == 0)
    assert (even["phone_type"] == "direct").all() and (even["phone_source"] == "lines").all()
    assert even["email"].is_not_null().all()  # the same call filled the email
    assert CALLS["lines"] == 40  # one call per row for both fields
    assert CALLS["mobiles"] == 20  # only the odd rows (no phone yet) went on
    assert result.totals["credits"] == 20  # 20 hits of one credit: both fields, one charge


def test_first_mobile_looks_past_a_direct_line_for_a_mobile():
    result = run("first_mobile")
    out = result.records
    by_four = out.filter(pl.col("row_id") % 4 == 0)
    assert (by_four["phone_type"] == "mobile").all() and (
        by_four["phone_source"] == "mobiles"
    ).all()
    two_mod_four = out.filter(pl.col("row_id") % 4 == 2)
    assert (two_mod_four["phone_type"] == "direct").all()  # kept: no mobile was found
    assert CALLS["mobiles"] == 40  # every row looked for a mobile
    assert result.totals["credits"] == 20 + 2 * 10


class Reveals(Lines):
    """Sells the phone separately, like Apollo's phone reveal: asked for only when a step wants
    it, at 8 credits on top of the email's 1, and keyed apart from an email-only lookup."""

    name: ClassVar[str] = "reveals"

    def __init__(self) -> None:
        super().__init__()
        self.reveal = False

    def want_fields(self, fields: frozenset[str]) -> None:
        self.reveal = "phone" in fields
        self.max_credits = 9.0 if self.reveal else 1.0  # type: ignore[misc]

    def lookup_key(self, record: Record) -> str:
        return f"{record['row_id']}|phone" if self.reveal else str(record["row_id"])

    async def _lookup(self, record: Record) -> Finding:
        CALLS[self.name] += 1
        if record["row_id"] % 2:
            return Finding(self.name, self.endpoint, "miss")
        fields = {"email": f"p{record['row_id']}@acme.io"}
        if self.reveal:
            fields |= {"phone": "+14155550100", "phone_type": "mobile"}
        return Finding(self.name, self.endpoint, "hit", fields=fields, email_status="valid",
                       credits=9.0 if self.reveal else 1.0)  # fmt: skip


def test_the_engine_tells_an_adapter_which_fields_its_steps_want():
    def run_with(fills):
        CALLS.clear()
        wf = Waterfall([Step("reveals", fills=fills)])
        return wf.run(make_records(10), providers={"reveals": Reveals()}, ledger=None,
                      progress=False, rate_limits="off")  # fmt: skip

    email_only = run_with(("email",))
    phones = email_only.records.get_column("phone", default=None)
    assert phones is None or phones.is_null().all()  # no reveal was asked for
    assert email_only.totals["credits"] == 5  # five hits at the email's price
    both = run_with(("email", "phone"))
    assert both.records.filter(pl.col("row_id") % 2 == 0)["phone_type"].to_list() == ["mobile"] * 5
    assert both.totals["credits"] == 5 * 9  # the reveal billed, and reserved at 9 (budget held)
    capped = Waterfall([Step("reveals", fills=("email", "phone"))]).run(
        make_records(10), providers={"reveals": Reveals()}, ledger=None, progress=False,
        rate_limits="off", budget_credits=20)  # fmt: skip
    assert capped.totals["credits"] <= 20
