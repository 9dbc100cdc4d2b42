"""Slack approval clicks and Clay callbacks through a real uvicorn server on a free loopback
port: a signed click approves a waiting ``gated_run`` and the Slack message is replaced through
the click's ``response_url`` (the Slack twin's, in process: nothing leaves loopback); forged,
stale and replayed clicks are refused and change nothing; a Clay callback lands matched to its
``row_id``; ``gtmkit serve-webhooks`` serves both and says which are off; no secret in any log
line or response."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import polars as pl
import pytest

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")

import gtmkit  # noqa: E402
from gtmkit.integrations.clay import collect, push  # noqa: E402
from gtmkit.integrations.clay_callback import CALLBACK_TOKEN_HEADER  # noqa: E402
from gtmkit.integrations.clay_store import ClayStore  # noqa: E402
from gtmkit.integrations.slack import SlackWebhook  # noqa: E402
from gtmkit.integrations.slack_approvals import (  # noqa: E402
    APPROVE_ACTION,
    REJECT_ACTION,
    ApprovalStore,
    Estimate,
    GatedRun,
    approvals_path,
    gated_run,
    request_approval,
)
from gtmkit.sandbox.clay import ClayTwin  # noqa: E402
from gtmkit.sandbox.slack import SlackTwin  # noqa: E402
from gtmkit.waterfall import Step, Waterfall  # noqa: E402
from gtmkit.webhooks.integration_routes import IntegrationConfig, integration_routes  # noqa: E402
from gtmkit.webhooks.receiver import ReceiverConfig, create_app  # noqa: E402
from tests._redis_helpers import ROOT, free_port  # noqa: E402
from tests.test_canary_secrets import CANARIES, _spellings  # noqa: E402

SIGNING = CANARIES["SLACK_SIGNING_SECRET"].strip()
CLAY_TOKEN = CANARIES["CLAY_CALLBACK_TOKEN"].strip()
PUSH_TOKEN = "push-token-9c1e"  # Clay's own webhook token: must not open the callback
SAMPLE = ROOT / "data" / "samples" / "leads_small.csv"
EST = Estimate(rows=224, credits=168, cost_usd=14.0, worst_case_credits=336, worst_case_usd=28.0)


async def _no_wait(seconds: float) -> None:
    return None


@contextlib.contextmanager
def _uvicorn(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, in a thread of this process (so the
    app can be handed the Slack twin's transport)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False,
                            log_level="warning", lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def _until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return found


class Setup:
    """One receiver with the integration routes, the Slack twin, and the stores behind it."""

    def __init__(self, tmp_path: Path, url: str, twin: SlackTwin, clay_store: ClayStore) -> None:
        self.url, self.twin, self.clay_store = url, twin, clay_store
        self.ledger = tmp_path / "ledger.sqlite"
        self.approvals = ApprovalStore(approvals_path(self.ledger))
        self.hook = SlackWebhook(transport=twin.transport(), sleep=_no_wait)
        self.answers: list[httpx.Response] = []

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        answer = httpx.post(f"{self.url}{path}", content=body, headers=headers, timeout=10)
        self.answers.append(answer)
        return answer

    def ask(self, run_id: str, **options: Any) -> dict[str, Any]:
        request_approval(run_id, EST, "100 credits", store=self.approvals, webhook=self.hook,
                         timeout_s=600, **options)  # fmt: skip
        return next(m for m in self.twin.messages("#gtm-runs") if run_id in m["text"])


@pytest.fixture
def setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[Setup]:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("CLAY_WEBHOOK_TOKEN", PUSH_TOKEN)
    twin = SlackTwin()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", twin.add_webhook("#gtm-runs"))
    clay_store = ClayStore(tmp_path / "clay.sqlite")
    config = IntegrationConfig(
        slack_signing_secret=SIGNING, approvals=approvals_path(tmp_path / "ledger.sqlite"),
        clay_callback_token=CLAY_TOKEN, clay_store=clay_store.path, transport=twin.transport(),
    )  # fmt: skip
    mounted = integration_routes(config)
    assert mounted.off == {}, mounted.off
    # Redis is never reached by these routes: a port nothing listens on proves it
    receiver = ReceiverConfig(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                              clay_token=PUSH_TOKEN)  # fmt: skip
    with _uvicorn(create_app(receiver, extra_routes=mounted.routes)) as url:
        made = Setup(tmp_path, url, twin, clay_store)
        yield made
    # no secret, in any spelling, in a log line or an answer of the whole test
    logged = "\n".join(r.getMessage() for r in caplog.records)
    answered = "\n".join(a.text for a in made.answers)
    for secret in (SIGNING, CLAY_TOKEN):
        for spelling in _spellings(secret):
            assert spelling not in logged and spelling not in answered
    for body in twin.responses():
        assert SIGNING not in str(body)


def _payload_of(body: bytes) -> dict[str, Any]:
    """The block_actions payload of a click's form body."""
    payload: dict[str, Any] = json.loads(parse_qs(body.decode())["payload"][0])
    return payload


def test_a_signed_click_approves_the_waiting_run_and_replaces_the_message(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    leads = gtmkit.load_list(SAMPLE)
    wf = Waterfall([Step("hunter"), Step("apollo")])
    gated: list[GatedRun] = []
    runner = threading.Thread(target=lambda: gated.append(gated_run(
        wf, leads, threshold_credits=100, run_id="big-1", webhook=setup.hook, timeout_s=60,
        poll_s=0.05, mode="sandbox", ledger=setup.ledger, progress=False,
        post_summary=False)), daemon=True)  # fmt: skip
    runner.start()
    asked = _until(lambda: setup.twin.messages("#gtm-runs"), "the approval request")[0]
    body, headers = setup.twin.click(asked, APPROVE_ACTION, signing_secret=SIGNING,
                                     user_id="U9", user_name="lea")  # fmt: skip
    answer = setup.post("/slack/interactions", body, headers)
    assert answer.status_code == 200, answer.text
    assert answer.text == "run big-1 approved by slack:U9 (lea)"
    runner.join(60)
    (done,) = gated
    assert done.status == "ran" and done.reason == "approved by slack:U9 (lea)"
    assert done.result is not None and done.result.totals["run_id"]
    stored = setup.approvals.get("big-1")
    assert stored is not None and stored.status == "approved" and stored.via == "slack"

    # after the answer, the message the button was on is replaced: no buttons, who decided
    (update,) = _until(setup.twin.responses, "the response_url post")
    assert update["replace_original"] is True
    (message,) = setup.twin.messages("#gtm-runs")
    assert message["text"].startswith("gtmkit run big-1 approved by slack:U9 (lea)")
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "context"]
    assert "The run goes ahead." in str(message) and "via slack" in str(message)
    # the response_url is a credential: its token is in no log line (httpx's is masked)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "hooks.slack.com/actions/***" in logged
    token = _payload_of(body)["response_url"].rsplit("/", 1)[-1]
    assert len(token) >= 20 and token not in logged


def test_a_bad_signature_or_a_stale_timestamp_is_401_and_changes_nothing(setup: Setup) -> None:
    asked = setup.ask("run-f")
    forged = setup.twin.click(asked, APPROVE_ACTION, signing_secret="not-the-secret")
    stale = setup.twin.click(asked, APPROVE_ACTION, signing_secret=SIGNING,
                             now=time.time() - 600)  # fmt: skip
    body, headers = setup.twin.click(asked, APPROVE_ACTION, signing_secret=SIGNING)
    tampered = body.replace(b"run-f", b"run-g")  # signed body, changed after signing
    unsigned = {"Content-Type": headers["Content-Type"]}
    for sent_body, sent_headers, why in [
        (*forged, "bad signature"), (*stale, "stale"), (tampered, headers, "bad signature"),
        (body, unsigned, "missing"),
    ]:  # fmt: skip
        answer = setup.post("/slack/interactions", sent_body, sent_headers)
        assert answer.status_code == 401, answer.text
        assert why in answer.text
    approval = setup.approvals.get("run-f")
    assert approval is not None and approval.status == "pending" and approval.decided_by == ""
    time.sleep(0.3)  # a background post would have been made by now
    assert setup.twin.responses() == []
    assert len(setup.twin.messages("#gtm-runs")[0]["blocks"]) == len(asked["blocks"])


def test_a_replayed_click_is_refused_and_a_second_click_does_not_change_the_decision(
    setup: Setup,
) -> None:
    asked = setup.ask("run-r")
    body, headers = setup.twin.click(asked, REJECT_ACTION, signing_secret=SIGNING,
                                     user_id="U1", user_name="ana")  # fmt: skip
    assert setup.post("/slack/interactions", body, headers).status_code == 200
    replay = setup.post("/slack/interactions", body, headers)
    assert replay.status_code == 409 and "replay" in replay.text
    _until(setup.twin.responses, "the response_url post")
    time.sleep(0.3)
    assert len(setup.twin.responses()) == 1  # the decision's update; the replay made none
    later = setup.twin.click(setup.twin.messages("#gtm-runs")[0] | {"blocks": asked["blocks"]},
                             APPROVE_ACTION, signing_secret=SIGNING, user_id="U2")  # fmt: skip
    answer = setup.post("/slack/interactions", *later)
    assert answer.status_code == 200
    assert answer.text == "not recorded: run run-r was already rejected by slack:U1 (ana)"
    approval = setup.approvals.get("run-r")
    assert approval is not None and approval.status == "rejected"
    assert approval.decided_by == "slack:U1 (ana)"
    # the late click's message is brought up to date too: still the first decision, no buttons
    _until(lambda: len(setup.twin.responses()) == 2, "the late click's update")
    for update in setup.twin.responses():
        assert update["replace_original"] is True
        assert update["text"].startswith("gtmkit run run-r rejected by slack:U1 (ana)")
        assert "actions" not in [b["type"] for b in update["blocks"]]


def test_a_response_url_not_on_slack_is_not_followed(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    from gtmkit.integrations.slack_signature import sign

    asked = setup.ask("run-x")
    body, headers = setup.twin.click(asked, APPROVE_ACTION, signing_secret=SIGNING)
    payload = _payload_of(body)
    payload["response_url"] = "https://collector.example/actions/T1/1/x"
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = headers["X-Slack-Request-Timestamp"]
    headers = {**headers, "X-Slack-Signature": sign(SIGNING, stamp, body)}
    assert setup.post("/slack/interactions", body, headers).status_code == 200
    _until(lambda: "not on hooks.slack.com" in caplog.text, "the refusal's log line")
    assert setup.approvals.get("run-x").status == "approved"  # type: ignore[union-attr]
    assert all(r.url.host == "hooks.slack.com" for r in setup.twin.requests)
    assert setup.twin.responses() == []


def test_the_twin_takes_a_response_url_five_times_and_only_one_it_issued() -> None:
    twin = SlackTwin()
    url = twin.add_webhook("#gtm-runs")
    with httpx.Client(transport=twin.transport()) as client:
        client.post(url, json={"text": "x", "blocks": [{"type": "actions", "elements": [
            {"type": "button", "action_id": "a", "value": "v"}]}]})  # fmt: skip
        body, _ = twin.click(twin.messages()[0], "a", signing_secret="s")
        response_url = _payload_of(body)["response_url"]
        assert client.post(response_url + "x", json={"text": "y"}).text == "no_service"
        assert client.post(response_url, content=b"{not json").status_code == 400
        answers = [client.post(response_url, json={"replace_original": True, "text": f"t{i}"})
                   for i in range(6)]  # fmt: skip
    assert [a.text for a in answers] == ["ok"] * 5 + ["expired_url"]
    assert [m["text"] for m in twin.messages()] == ["t4"]  # replaced in place, five times


def test_someone_not_an_approver_gets_a_note_and_the_buttons_stay(setup: Setup) -> None:
    asked = setup.ask("run-a", approvers=["U7"])
    body, headers = setup.twin.click(asked, APPROVE_ACTION, signing_secret=SIGNING,
                                     user_id="U8", user_name="max")  # fmt: skip
    answer = setup.post("/slack/interactions", body, headers)
    assert answer.status_code == 200 and "not an approver" in answer.text
    (note,) = _until(setup.twin.responses, "the ephemeral note")
    assert note["response_type"] == "ephemeral" and note["replace_original"] is False
    assert setup.twin.messages("#gtm-runs") == [asked]  # the buttons are still there
    approval = setup.approvals.get("run-a")
    assert approval is not None and approval.status == "pending"


def test_a_clay_callback_lands_matched_to_its_row_id(setup: Setup) -> None:
    clay = ClayTwin()
    webhook = clay.create_webhook(token="t0k")
    rows = pl.DataFrame({"row_id": [0, 1, 2], "full_name": ["Ada L", "Alan T", "Grace H"],
                         "company_domain": ["acme.io", "bletchley.uk", "navy.mil"]})  # fmt: skip
    report = push(rows, setup.clay_store, webhook_url=webhook, token="t0k", transport=clay,
                  sleep=None)  # fmt: skip
    assert report.sent == 3
    url = f"{setup.url}/webhooks/clay"
    with httpx.Client(timeout=10) as client:
        wrong = clay.post_callbacks(url, token=PUSH_TOKEN, client=client)  # the push token
        assert wrong == [401, 401, 401]
        assert collect(setup.clay_store).height == 0
        assert clay.post_callbacks(url, token=CLAY_TOKEN, client=client) == [200, 200, 200]
        assert clay.post_callbacks(url, token=CLAY_TOKEN, client=client) == [200, 200, 200]
        stranger = client.post(url, content=b'{"row_id": 99, "Work Email": "x@y.io"}',
                               headers={CALLBACK_TOKEN_HEADER: CLAY_TOKEN})  # fmt: skip
    assert stranger.status_code == 404 and "kept" in stranger.json()["message"]
    back = collect(setup.clay_store)
    assert sorted(back["row_id"].to_list()) == [0, 1, 2]  # each row once, duplicates stored once
    assert setup.clay_store.unmatched() == [("99", "row_id never pushed from this store")]
    for answer in (wrong, stranger.text):
        assert CLAY_TOKEN not in str(answer)


def _serve(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gtmkit", "serve-webhooks", "--port", str(port),
         "--redis", f"redis://127.0.0.1:{free_port()}/0", *args],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=1)  # 503 (no Redis) still means it is up
            return proc, url
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> str:
    proc.terminate()
    return proc.communicate(timeout=15)[0].decode()


def test_serve_webhooks_serves_both_routes_when_their_secrets_are_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clay_store = ClayStore(tmp_path / "clay.sqlite")
    clay = ClayTwin()
    push(pl.DataFrame({"row_id": [5], "full_name": ["Ada L"], "company_domain": ["acme.io"]}),
         clay_store, webhook_url=clay.create_webhook(), transport=clay, sleep=None)  # fmt: skip
    ledger = tmp_path / "ledger.sqlite"
    env = {"SLACK_SIGNING_SECRET": SIGNING, "CLAY_CALLBACK_TOKEN": CLAY_TOKEN}
    proc, url = _serve(env, "--ledger", str(ledger), "--clay-store", str(clay_store.path))
    try:
        twin = SlackTwin()
        store = ApprovalStore(approvals_path(ledger))
        hook = SlackWebhook(transport=twin.transport())
        monkeypatch.setenv("SLACK_WEBHOOK_URL", twin.add_webhook())
        request_approval("run-s", EST, "100 credits", store=store, webhook=hook)
        # a stale click: refused before anything is read (so no response_url is followed)
        stale = twin.click(twin.messages()[0], APPROVE_ACTION, signing_secret=SIGNING,
                           now=time.time() - 3600)  # fmt: skip
        refused = httpx.post(f"{url}/slack/interactions", content=stale[0], headers=stale[1])
        row = {"row_id": "5", "Work Email": "a@acme.io"}
        callback = httpx.post(f"{url}/webhooks/clay", json=row,
                              headers={CALLBACK_TOKEN_HEADER: CLAY_TOKEN})  # fmt: skip
    finally:
        out = _stop(proc)
    assert refused.status_code == 401 and "stale" in refused.text
    assert store.get("run-s").status == "pending"  # type: ignore[union-attr]
    assert callback.status_code == 200 and callback.json()["row_id"] == 5
    assert collect(clay_store)["clay_email"].to_list() == ["a@acme.io"]
    assert "route POST /slack/interactions on: approvals in" in out
    assert "route POST /webhooks/clay on: callbacks into" in out
    assert "webhook clay 200 stored row_id=5" in out
    for secret in (SIGNING, CLAY_TOKEN):
        assert all(spelling not in out for spelling in _spellings(secret))


def test_serve_webhooks_says_at_start_up_which_routes_are_off_and_why(tmp_path: Path) -> None:
    proc, url = _serve({"CLAY_WEBHOOK_TOKEN": PUSH_TOKEN}, "--ledger", str(tmp_path / "l.sqlite"))
    try:
        slack = httpx.post(f"{url}/slack/interactions", content=b"payload=%7B%7D")
        clay = httpx.post(f"{url}/webhooks/clay", json={"id": "row-7"},
                          headers={"authorization": f"Bearer {PUSH_TOKEN}"})  # fmt: skip
    finally:
        out = _stop(proc)
    assert "route POST /slack/interactions off: SLACK_SIGNING_SECRET is not set" in out
    assert "route POST /webhooks/clay off: CLAY_CALLBACK_TOKEN is not set" in out
    assert "CLAY_WEBHOOK_TOKEN is the push token and does not open it" in out
    # off routes say what to set; the built-in Bearer-token Clay route is not served beside it
    assert slack.status_code == 404 and "SLACK_SIGNING_SECRET" in slack.json()["error"]
    assert clay.status_code == 404 and "CLAY_CALLBACK_TOKEN" in clay.json()["error"]
    assert PUSH_TOKEN not in out
