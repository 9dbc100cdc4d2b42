"""Canary: a recognisable Slack webhook URL (the URL is the secret) and signing secret go through
every path — posts that succeed, each documented refusal, 429 past the retries, a connection
error that names the URL, the approval gate (ran, timed out, cancelled), a signed click and the
CLI — and none of the values appears in any exception, repr, log line, message posted, CLI
output or file written (approval store, ledger)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import gtmkit
from gtmkit import integrations
from gtmkit.integrations import slack_approvals as gate
from gtmkit.integrations.slack import SlackError, SlackWebhook
from gtmkit.sandbox.slack import SlackTwin
from gtmkit.waterfall import Step, Waterfall
from tests._notebooks_helpers import ROOT
from tests.test_canary_secrets import CANARIES, _spellings

TOKEN = "canarySLACKtok3nx7f3k9q2w8"
SAMPLE = ROOT / "data" / "samples" / "leads_small.csv"


def test_the_slack_variables_are_in_the_canary_machinery() -> None:
    assert {"SLACK_WEBHOOK_URL", "SLACK_SIGNING_SECRET"} <= set(integrations.SECRET_ENV_VARS)
    assert set(integrations.SECRET_ENV_VARS) <= set(CANARIES)
    from gtmkit.providers._redact import secret_env_vars

    assert set(integrations.SECRET_ENV_VARS) <= set(secret_env_vars())


async def _no_wait(seconds: float) -> None:
    return None


def _leaks(text: str, url: str, secret: str) -> list[str]:
    found = []
    for name, value in (("webhook URL", url), ("webhook token", TOKEN), ("signing secret", secret)):
        found += [name for spelling in _spellings(value) if spelling and spelling in text]
    return found


def test_no_slack_secret_in_anything_gtmkit_produces(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    twin = SlackTwin()
    url = twin.add_webhook("#gtm-runs", token=TOKEN)
    secret = CANARIES["SLACK_SIGNING_SECRET"]  # quotes, backslashes or a newline in it
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", secret)
    caplog.set_level(logging.DEBUG)
    texts: dict[str, str] = {}
    hook = SlackWebhook(transport=twin.transport(), sleep=_no_wait, max_attempts=2)
    texts["repr"] = repr(hook)

    def attempt(where: str, payload: dict[str, object]) -> None:
        try:
            texts[where] = repr(hook.post_sync(payload))
        except SlackError as exc:
            texts[where] = f"{exc!r}\n{exc}\n{exc.__cause__!r}\n{exc.__context__!r}"

    attempt("ok", {"text": "hello"})
    attempt("400", {"blocks": [{"type": "bogus"}]})
    twin.throttle(5, retry_after=1)
    attempt("429", {"text": "x"})
    twin._throttles.clear()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url.replace(TOKEN, TOKEN[:-1] + "Z"))
    attempt("403", {"text": "x"})  # a near-miss token: its spellings overlap the canary's
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    down = SlackWebhook(transport=httpx.MockTransport(refuse), sleep=_no_wait, max_attempts=1)
    try:
        down.post_sync({"text": "x"})
    except SlackError as exc:
        texts["down"] = f"{exc!r}\n{exc}\n{exc.__cause__!r}"

    # the approval gate, through every ending
    ledger = tmp_path / "ledger.sqlite"
    store = gate.ApprovalStore(gate.approvals_path(ledger))
    est = gate.Estimate(rows=10, credits=200, cost_usd=20.0)
    gate.request_approval("canary-1", est, "100 credits", store=store, webhook=hook)
    body, headers = twin.click(twin.messages("#gtm-runs")[-1], gate.APPROVE_ACTION,
                               signing_secret=gate.signing_secret())  # fmt: skip
    texts["click"] = repr(gate.answer_interaction(gate.signing_secret(), body, headers, store))
    texts["forged"] = repr(gate.answer_interaction("wrong", body, headers, store))
    texts["replay"] = repr(gate.answer_interaction(gate.signing_secret(), body, headers, store))
    leads = gtmkit.load_list(SAMPLE)
    wf = Waterfall([Step("hunter")])
    run = {"mode": "sandbox", "ledger": ledger, "progress": False}
    timed = gate.gated_run(wf, leads, threshold_credits=1, webhook=hook, timeout_s=0.1,
                           poll_s=0.02, **run)  # fmt: skip
    ran = gate.gated_run(wf, leads, threshold_credits=10_000, webhook=hook, **run)
    twin.archive("#gtm-runs")
    cancelled = gate.gated_run(wf, leads, threshold_credits=1, webhook=hook, **run)
    texts["gated"] = "\n".join(f"{g!r} {g.reason} {g.notes}" for g in (timed, ran, cancelled))
    assert (timed.status, ran.status, cancelled.status) == ("timed_out", "ran", "cancelled")
    assert ran.summary_posted

    store.request("canary-2", est, "100 credits")
    cli = subprocess.run(
        [sys.executable, "-m", "gtmkit", "approve", "canary-2", "--ledger", str(ledger)],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    texts["cli"] = cli.stdout + cli.stderr

    # honesty: the secret really went out, so a leak had every chance to happen
    assert any(TOKEN in str(r.url) for r in twin.requests)
    # httpx logged every post, its URL masked by the log filter
    assert any("HTTP Request: POST ***" in r.getMessage() for r in caplog.records)
    texts["log"] = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    texts["messages"] = repr(twin.messages("#gtm-runs"))
    for path in tmp_path.rglob("*"):
        if path.is_file():
            texts[path.name] = path.read_bytes().decode("utf-8", "replace")
    for where, text in texts.items():
        assert _leaks(text, url, secret) == [], f"Slack secret found in {where}"
