"""Apollo's asynchronous phone reveal: the request on the wire, the delivery arriving later in
the inbox (in process, or POSTed over loopback HTTP to a receiver running the handler), a row
waiting until it arrives or a timeout ends it with a reason, and billing counted by the
simulated Apollo itself."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest

from gtmkit.providers.apollo_phone import PhoneInbox, phone_reveal_handler
from gtmkit.sandbox import default_world, simulate
from gtmkit.waterfall import Step, Waterfall


@pytest.fixture(scope="module")
def records() -> pl.DataFrame:
    return default_world().sample_records(40, seed=11)


def _run(sim, records, steps, **options):
    return Waterfall(steps).run(
        records, ledger=None, progress=False, rate_limits="off",
        connect_options=sim.connect_options, **options,
    )  # fmt: skip


def test_reveal_is_asked_with_a_webhook_and_numbers_arrive_later_billed_as_apollo_bills(records):
    sim = simulate()
    result = _run(sim, records, [Step("apollo", fills=("email", "phone"))])
    apollo = sim.app.apis["apollo"]
    apollo.wait_for_deliveries()
    out = result.records
    found = out.filter(pl.col("email_source") == "apollo").height
    mobiles = out.filter(pl.col("phone_type") == "mobile").height
    assert found > 10 and mobiles > 0
    assert out.filter(pl.col("phone").is_not_null())["phone"].str.starts_with("+").all()
    # every match got its delivery, through the in-process webhook into the inbox
    assert apollo.phone_deliveries["in_process"] == found == sim.phone_inbox.count()
    # Apollo's own meter: 1 per match, +8 per delivered mobile; the engine's books agree
    assert sim.billed()["apollo"] == found + 8 * mobiles == result.totals["credits"]


def test_the_wire_carries_reveal_phone_number_and_the_webhook_url(records):
    sim = simulate()
    sent: list[dict] = []
    respond = sim.app.respond

    def spy(provider, method, path, query, headers, body, *args, **kwargs):
        if provider == "apollo" and path.endswith("people/match"):
            sent.append(json.loads(body))
        return respond(provider, method, path, query, headers, body, *args, **kwargs)

    sim.app.respond = spy  # type: ignore[method-assign]
    _run(sim, records.head(5), [Step("apollo", fills=("phone",))])
    assert sent and all(b["reveal_phone_number"] is True for b in sent)
    assert all(b["webhook_url"].startswith("https://webhooks.gtmkit.invalid/") for b in sent)
    email_only = simulate()
    sent.clear()
    respond = email_only.app.respond
    email_only.app.respond = spy  # type: ignore[method-assign]
    _run(email_only, records.head(5), [Step("apollo")])
    assert sent and all(b["reveal_phone_number"] is False and "webhook_url" not in b for b in sent)


def test_a_reveal_never_delivered_ends_the_wait_with_a_reason_and_a_held_charge(records):
    sim = simulate()
    apollo = sim.app.apis["apollo"]
    apollo.phone_drop_rate = 1.0  # Apollo never calls back
    sim.adapter_options["apollo"]["phone_timeout_s"] = 0.3
    result = _run(sim, records.head(12), [Step("apollo", fills=("email", "phone"))])
    out = result.records
    matched = out.filter(pl.col("email_source") == "apollo")
    assert matched.height > 0 and out["phone"].is_null().all()
    reasons = matched["status_reason"].to_list()
    assert all("phone reveal not delivered within 0.3 s" in r for r in reasons)
    assert apollo.phone_deliveries["dropped"] == matched.height
    # the reveal may still be billed: the engine holds each such call at its worst case (9)
    assert sim.billed()["apollo"] == matched.height == result.totals["credits"]
    assert result.totals["credits_held"] == pytest.approx(8 * matched.height)


def test_a_slow_delivery_keeps_the_row_pending_until_it_arrives(records):
    sim = simulate()
    apollo = sim.app.apis["apollo"]
    apollo.phone_delay_s = 0.4  # Apollo calls back after 0.4 s
    result = _run(sim, records.head(6), [Step("apollo", fills=("phone",))])
    delivered = result.records.filter(pl.col("phone").is_not_null())
    assert delivered.height > 0  # the rows waited for the late numbers
    assert result.records["status_reason"].drop_nulls().str.contains("not delivered").sum() == 0


def test_one_step_filling_email_and_phone_pays_apollo_once_per_person(records):
    both = simulate()
    _run(both, records, [Step("apollo", fills=("email", "phone"))])
    both.app.apis["apollo"].wait_for_deliveries()
    phone_only = simulate()
    _run(phone_only, records, [Step("apollo", fills=("phone",))])
    phone_only.app.apis["apollo"].wait_for_deliveries()
    # the email came with the reveal's answer: the same people, the same credits
    assert both.billed()["apollo"] == phone_only.billed()["apollo"] > 0
    assert both.repeated_lookups() == 0


def test_the_handler_stores_once_refuses_junk_and_a_receiver_can_serve_it(tmp_path):
    inbox = PhoneInbox(tmp_path / "inbox.sqlite")
    handler = phone_reveal_handler(inbox)
    person = {"id": "64a0", "phone_numbers": [{"sanitized_number": "+14155550111",
                                                "type_cd": "mobile"}]}  # fmt: skip
    body = json.dumps({"people": [person]}).encode()
    assert asyncio.run(handler(body, {})) == (200, {"stored": 1, "duplicates": 0})
    assert asyncio.run(handler(body, {})) == (200, {"stored": 0, "duplicates": 1})
    assert asyncio.run(handler(b"{not json", {}))[0] == 400
    assert asyncio.run(handler(b'{"people": [{"no_id": 1}]}', {}))[0] == 400
    assert asyncio.run(handler(b"x" * 1_000_001, {}))[0] == 413
    assert PhoneInbox(tmp_path / "inbox.sqlite").delivery("64a0") == person  # durable

    # a loopback receiver running the handler (what `gtmkit serve-webhooks` mounts)
    received = PhoneInbox(tmp_path / "received.sqlite")
    serve = phone_reveal_handler(received)

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers["content-length"]))
            status, answer = asyncio.run(serve(data, dict(self.headers)))
            self.send_response(status)
            self.end_headers()
            self.wfile.write(json.dumps(answer).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/webhooks/apollo/phones"
        sim = simulate()
        sim.adapter_options["apollo"] |= {"webhook_url": url, "phone_inbox": received}
        records = default_world().sample_records(8, seed=2)
        result = _run(sim, records, [Step("apollo", fills=("phone",))])
        assert sim.app.apis["apollo"].phone_deliveries["http"] == received.count() > 0
        assert result.records["phone"].is_not_null().sum() > 0
    finally:
        server.shutdown()


def test_a_connection_outlives_its_simulation_and_still_gets_its_reveals(records):
    """``simulate().connect(...)`` with the simulation not kept: its inbox folder used to go with
    the simulation, and every reveal then failed on a missing SQLite file."""
    import gc

    conn = simulate().connect(["apollo"])
    gc.collect()  # the simulation is gone; its adapters (and their inbox) are not
    apollo = conn["apollo"]
    assert apollo.inbox.path.parent.is_dir()
    apollo.want_fields(frozenset({"email", "phone"}))
    finding = asyncio.run(apollo.lookup(records.row(0, named=True)))
    assert finding.error is None, finding.error
