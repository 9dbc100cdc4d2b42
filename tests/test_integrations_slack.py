"""The incoming-webhook client through the Slack twin: every documented answer becomes its typed
error (saying what to do, never the URL), 429 is retried after Retry-After, and a run's summary
posted to the channel carries the run's own figures."""

from __future__ import annotations

from pathlib import Path

import httpx
import polars as pl
import pytest

import gtmkit
from gtmkit.integrations.slack import (
    SlackAuthError,
    SlackError,
    SlackNotConfigured,
    SlackPayloadError,
    SlackRateLimited,
    SlackUnavailable,
    SlackWebhook,
    SlackWebhookGone,
)
from gtmkit.integrations.slack_summary import summary_from_result, summary_payload
from gtmkit.sandbox.slack import SlackTwin
from gtmkit.waterfall import Step, Waterfall

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "leads_small.csv"


class Sleeps:
    """An async sleep that records instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def twin(monkeypatch: pytest.MonkeyPatch) -> tuple[SlackTwin, str]:
    twin = SlackTwin()
    url = twin.add_webhook("#gtm-runs")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    return twin, url


def _hook(twin: SlackTwin, sleeps: Sleeps | None = None, **kw: int) -> SlackWebhook:
    return SlackWebhook(transport=twin.transport(), sleep=sleeps or Sleeps(), **kw)


def test_a_message_is_posted_once_and_lands_in_the_channel(twin) -> None:  # type: ignore[no-untyped-def]
    slack, _ = twin
    posted = _hook(slack).post_sync({"text": "hello", "blocks": [{"type": "divider"}]})
    assert (posted.body, posted.attempts, posted.waited_s) == ("ok", 1, 0.0)
    assert slack.messages("#gtm-runs") == [{"text": "hello", "blocks": [{"type": "divider"}]}]
    request = slack.requests[0]
    assert request.method == "POST" and request.headers["content-type"].startswith(
        "application/json"
    )


@pytest.mark.parametrize(
    ("setup", "payload", "error", "status", "code", "advice"),
    [
        ("none", {"blocks": [{"type": "nonsense"}]}, SlackPayloadError, 400,
         "invalid_payload", "not valid Block Kit"),
        ("none", {"text": "   "}, SlackPayloadError, 400, "invalid_payload", "not valid"),
        ("bad_token", {"text": "x"}, SlackAuthError, 403, "invalid_token",
         "create a new incoming webhook"),
        ("removed", {"text": "x"}, SlackWebhookGone, 404, "no_service", "removed or disabled"),
        ("unknown", {"text": "x"}, SlackWebhookGone, 404, "no_service", "removed or disabled"),
        ("archived", {"text": "x"}, SlackWebhookGone, 410, "channel_is_archived",
         "unarchive it"),
    ],
)  # fmt: skip
def test_each_documented_error_is_its_typed_error(  # type: ignore[no-untyped-def]
    twin, monkeypatch, setup, payload, error, status, code, advice
) -> None:
    slack, url = twin
    if setup == "bad_token":
        monkeypatch.setenv("SLACK_WEBHOOK_URL", url[:-4] + "XXXX")
    elif setup == "removed":
        slack.remove_webhook(url)
    elif setup == "unknown":
        monkeypatch.setenv("SLACK_WEBHOOK_URL", url.replace("B0000000001", "B0000000999"))
    elif setup == "archived":
        slack.archive("#gtm-runs")
    with pytest.raises(error) as caught:
        _hook(slack).post_sync(payload)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert advice in str(caught.value) and "SLACK_WEBHOOK_URL" in str(caught.value)
    assert url.split("/")[-1] not in str(caught.value)  # the token is never repeated
    assert len(slack.requests) == 1  # a refusal is not retried
    assert slack.messages("#gtm-runs") == []


def test_429_is_retried_after_retry_after(twin) -> None:  # type: ignore[no-untyped-def]
    slack, _ = twin
    slack.throttle(2, retry_after=3)
    sleeps = Sleeps()
    posted = _hook(slack, sleeps).post_sync({"text": "after the limit"})
    assert (posted.attempts, posted.waited_s) == (3, 6.0)
    assert sleeps.calls == [3.0, 3.0]
    assert [m["text"] for m in slack.messages("#gtm-runs")] == ["after the limit"]


def test_429_past_the_last_attempt_says_when_to_retry(twin) -> None:  # type: ignore[no-untyped-def]
    slack, _ = twin
    slack.throttle(5, retry_after=2)
    with pytest.raises(SlackRateLimited) as caught:
        _hook(slack, max_attempts=3).post_sync({"text": "x"})
    assert caught.value.retry_after == 2.0 and "rate limited 3 times" in str(caught.value)
    assert len(slack.requests) == 3 and slack.messages("#gtm-runs") == []


def test_a_retry_after_too_long_is_not_waited_for(twin) -> None:  # type: ignore[no-untyped-def]
    slack, _ = twin
    slack.throttle(1, retry_after=3600)
    sleeps = Sleeps()
    with pytest.raises(SlackRateLimited) as caught:
        _hook(slack, sleeps).post_sync({"text": "x"})
    assert caught.value.retry_after == 3600 and sleeps.calls == []


def test_5xx_and_lost_connections_are_retried_then_reported(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = "https://hooks.slack.com/services/T1/B1/tok3n"
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    answers = iter([httpx.Response(500, text="rollup_error"), httpx.Response(200, text="ok")])
    flaky = httpx.MockTransport(lambda request: next(answers))
    assert SlackWebhook(transport=flaky, sleep=Sleeps()).post_sync({"text": "x"}).attempts == 2

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    with pytest.raises(SlackUnavailable) as caught:
        SlackWebhook(transport=httpx.MockTransport(refuse), sleep=Sleeps()).post_sync({"text": "x"})
    assert "ConnectError" in str(caught.value) and "tok3n" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is not None
    assert "tok3n" not in repr(caught.value)


def test_the_url_comes_from_the_environment_only(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    assert not SlackWebhook.configured()
    with pytest.raises(SlackNotConfigured, match="SLACK_WEBHOOK_URL is not set"):
        SlackWebhook().post_sync({"text": "x"})
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "http://hooks.slack.com/services/T/B/plain5ecret")
    with pytest.raises(SlackNotConfigured) as caught:
        SlackWebhook().post_sync({"text": "x"})
    assert "https://" in str(caught.value) and "plain5ecret" not in str(caught.value)
    assert isinstance(caught.value, SlackError)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    leads = gtmkit.load_list(SAMPLE)
    wf = Waterfall([Step("hunter"), Step("apollo")])
    ledger = tmp_path_factory.mktemp("run") / "ledger.sqlite"
    # a budget that cuts the run short, so failures are part of the summary
    return wf.run(leads, mode="sandbox", ledger=ledger, progress=False, budget_usd=12.0)


def test_the_posted_summary_carries_the_run_s_own_figures(twin, finished_run) -> None:  # type: ignore[no-untyped-def]
    slack, _ = twin
    result = finished_run
    summary = summary_from_result(result, report_path="reports/acme.html")
    _hook(slack).post_sync(summary_payload(summary))
    (message,) = slack.messages("#gtm-runs")
    # the figures, recounted independently from the records and the attempts
    records, attempts = result.records, result.attempts
    rows = records.height
    found = int(records["email"].is_not_null().sum())
    spend = float(attempts["cost_usd"].sum())
    failing = records.filter(
        pl.col("status").is_in(["failed", "budget_exhausted", "stopped", "rejected"])
    )
    assert failing.height > 0, "the budget should have cut some rows short"
    fields = [f["text"] for f in message["blocks"][1]["fields"]]
    assert fields == [
        f"*Rows*\n{rows}",
        f"*Coverage*\n{found / rows:.1%}",
        f"*Spend*\n${spend:.2f} of $12.00",
        f"*Failed*\n{failing.height}",
    ]
    assert message["text"].startswith(f"gtmkit run {result.totals['run_id']}: {found}/{rows}")
    listed = message["blocks"][2]["text"]["text"]
    out_of_budget = failing.filter(pl.col("status") == "budget_exhausted").height
    assert f"budget_exhausted ({out_of_budget} rows)" in listed
    assert "reports/acme.html" in message["blocks"][3]["elements"][0]["text"]
    assert spend <= 12.0 + 1e-9


def test_a_run_without_a_cap_says_so(finished_run) -> None:  # type: ignore[no-untyped-def]
    summary = summary_from_result(finished_run)
    uncapped = summary.__class__(**{**summary.__dict__, "budget_usd": None})
    assert "(no budget cap)" in summary_payload(uncapped)["text"]
    credits = summary.__class__(**{**summary.__dict__, "budget_credits": 500.0})
    assert f"({summary.credits:g} of 500 credits)" in summary_payload(credits)["text"]
