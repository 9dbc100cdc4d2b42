"""``gtmkit approve`` edits the Slack approval message the way a button click does: the request
is posted with ``chat.postMessage`` (its channel id and ``ts`` kept beside the approvals), and
the CLI's decision replaces the buttons through ``chat.update`` — checked on the requests the
twin received, not only on what the store says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gtmkit.integrations.slack import SlackWebhook
from gtmkit.integrations.slack_approvals import (
    APPROVE_ACTION,
    ApprovalError,
    ApprovalStore,
    Estimate,
    answer_interaction,
    approvals_path,
    main,
    request_approval,
)
from gtmkit.integrations.slack_web import SlackWebApi
from gtmkit.sandbox.slack import SlackTwin

EST = Estimate(rows=224, credits=168, cost_usd=14.0, worst_case_credits=336, worst_case_usd=28.0)
SECRET = "0d1c2b3a49586776a5b4c3d2e1f00f1e"


@pytest.fixture
def twin(monkeypatch: pytest.MonkeyPatch) -> SlackTwin:
    twin = SlackTwin()
    monkeypatch.setenv("SLACK_BOT_TOKEN", twin.add_bot_token("xoxb-test-bot-token-7"))
    return twin


def _ask(twin: SlackTwin, ledger: Path, run_id: str = "r-big") -> ApprovalStore:
    store = ApprovalStore(approvals_path(ledger))
    bot = SlackWebApi(transport=twin.transport())
    request_approval(run_id, EST, "100 credits", store=store, webhook=None, bot=bot,
                     channel="#gtm-runs", ledger_hint=str(ledger))  # fmt: skip
    return store


def _buttons(message: dict) -> list[str]:  # type: ignore[type-arg]
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions"
            for e in b["elements"]]  # fmt: skip


def test_the_cli_approval_replaces_the_posted_message_through_chat_update(
    twin: SlackTwin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    store = _ask(twin, ledger)
    (asked,) = twin.messages("#gtm-runs")
    assert APPROVE_ACTION in _buttons(asked)
    where = store.message("r-big")
    assert where is not None and where.channel == twin.channel_id("#gtm-runs") and where.ts

    status = main(["r-big", "--ledger", str(ledger), "--by", "cli:ana"],
                  bot=SlackWebApi(transport=twin.transport()))  # fmt: skip

    out, err = capsys.readouterr()
    assert status == 0 and out.strip() == "run r-big approved by cli:ana"
    assert "the Slack message now shows the decision" in err
    # on the wire: one chat.update, bearer token, the stored channel id and ts, no buttons
    update = twin.requests[-1]
    assert (update.method, str(update.url)) == ("POST", "https://slack.com/api/chat.update")
    assert update.headers["Authorization"] == "Bearer xoxb-test-bot-token-7"
    body = json.loads(update.content)
    assert (body["channel"], body["ts"]) == (where.channel, where.ts)
    assert "replace_original" not in body and "approved by cli:ana" in body["text"]
    # the channel now holds the decided message in place of the request, not a second one
    (shown,) = twin.messages("#gtm-runs")
    assert _buttons(shown) == [] and "approved by cli:ana" in shown["text"]
    assert "via cli" in json.dumps(shown["blocks"])
    # a click on the old message afterwards changes nothing
    body_, headers = twin.click(asked, APPROVE_ACTION, signing_secret=SECRET)
    status_, text = answer_interaction(SECRET, body_, headers, store)
    assert status_ == 200 and "already approved by cli:ana" in text


def test_a_cli_rejection_shows_rejected_and_the_store_agrees(
    twin: SlackTwin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    store = _ask(twin, ledger, "r-no")
    assert main(["r-no", "--reject", "--ledger", str(ledger), "--by", "cli:ben"],
                bot=SlackWebApi(transport=twin.transport())) == 0  # fmt: skip
    (shown,) = twin.messages("#gtm-runs")
    assert "r-no rejected by cli:ben" in shown["text"] and _buttons(shown) == []
    approval = store.get("r-no")
    assert approval is not None and approval.status == "rejected"


def test_a_failed_update_still_records_the_decision_and_says_why(
    twin: SlackTwin, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    ledger = tmp_path / "ledger.sqlite"
    store = _ask(twin, ledger)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked-token")
    assert main(["r-big", "--ledger", str(ledger)],
                bot=SlackWebApi(transport=twin.transport())) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "not updated" in err and "invalid_auth" in err and "xoxb-revoked" not in err
    approval = store.get("r-big")
    assert approval is not None and approval.status == "approved"
    (shown,) = twin.messages("#gtm-runs")
    assert APPROVE_ACTION in _buttons(shown)  # untouched, and the note said so


def test_without_a_bot_token_or_a_stored_message_the_cli_says_the_message_stays(
    twin: SlackTwin, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    ledger = tmp_path / "ledger.sqlite"
    _ask(twin, ledger, "r-a")
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    assert main(["r-a", "--ledger", str(ledger)]) == 0
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().err
    # a request posted through the incoming webhook has no ts: nothing to edit, and it says so
    monkeypatch.setenv("SLACK_WEBHOOK_URL", twin.add_webhook("#gtm-runs"))
    store = ApprovalStore(approvals_path(ledger))
    request_approval("r-b", EST, "100 credits", store=store,
                     webhook=SlackWebhook(transport=twin.transport()))  # fmt: skip
    assert store.message("r-b") is None
    assert main(["r-b", "--ledger", str(ledger)]) == 0
    assert "incoming webhook" in capsys.readouterr().err


def test_bot_without_a_channel_is_refused_before_anything_is_recorded(
    twin: SlackTwin, tmp_path: Path
) -> None:
    store = ApprovalStore(approvals_path(tmp_path / "ledger.sqlite"))
    with pytest.raises(ApprovalError, match="channel="):
        request_approval("r", EST, "x", store=store, webhook=None,
                         bot=SlackWebApi(transport=twin.transport()))  # fmt: skip
    assert store.get("r") is None


def test_the_twin_refuses_what_slack_refuses(twin: SlackTwin) -> None:
    api = SlackWebApi(transport=twin.transport())
    posted = api.post_message("#gtm-runs", {"text": "hi"})
    from gtmkit.integrations.slack import SlackError

    for channel, ts, code in ((posted.channel, "1.000001", "message_not_found"),
                              ("#gtm-runs", posted.ts, "channel_not_found")):  # fmt: skip
        with pytest.raises(SlackError) as caught:
            api.update_message(channel, ts, {"text": "edit"})
        assert caught.value.code == code
    with pytest.raises(SlackError) as caught:
        api.update_message(posted.channel, posted.ts, {"text": "  "})
    assert caught.value.code == "no_text"


def test_a_gated_run_asks_through_the_bot_so_the_cli_decision_edits_the_request(
    twin: SlackTwin, tmp_path: Path
) -> None:
    import threading
    import time

    import gtmkit
    from gtmkit.integrations.slack_approvals import gated_run
    from gtmkit.waterfall import Step, Waterfall

    ledger = tmp_path / "ledger.sqlite"
    bot = SlackWebApi(transport=twin.transport())

    def approve_from_the_cli() -> None:
        deadline = time.monotonic() + 30
        while not twin.messages("#gtm-runs") and time.monotonic() < deadline:
            time.sleep(0.02)
        main(["gate-1", "--ledger", str(ledger), "--by", "cli:ana"], bot=bot)

    approver = threading.Thread(target=approve_from_the_cli, daemon=True)
    approver.start()
    leads = gtmkit.load_list(Path(__file__).resolve().parents[1] / "data/samples/leads_small.csv")
    gated = gated_run(Waterfall([Step("hunter")]), leads, threshold_credits=10, run_id="gate-1",
                      bot=bot, channel="#gtm-runs", timeout_s=60, poll_s=0.05, mode="sandbox",
                      ledger=ledger, progress=False)  # fmt: skip
    approver.join(10)
    assert gated.status == "ran" and gated.reason == "approved by cli:ana"
    assert not any("SLACK_WEBHOOK_URL is not set" in n for n in gated.notes)
    decided, summary = twin.messages("#gtm-runs")  # the request, edited in place; the summary
    assert _buttons(decided) == [] and "approved by cli:ana" in decided["text"]
    assert gated.summary_posted and summary["text"].startswith("gtmkit run ")
    posts = [r for r in twin.requests if str(r.url).endswith("/chat.postMessage")]
    assert len(posts) == 2  # the request and the summary, both through the bot
    with pytest.raises(ApprovalError, match="pass channel="):
        gated_run(Waterfall([Step("hunter")]), leads, threshold_credits=10, bot=bot,
                  mode="sandbox", ledger=ledger, progress=False)  # fmt: skip
