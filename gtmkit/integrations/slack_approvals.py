"""Approve a costly run before it spends: the estimate goes to Slack with Approve / Reject
buttons, and the run waits for a person (a click, or ``gtmkit approve RUN``) or for its timeout.

The parts, one job each:

* :class:`ApprovalStore` — one SQLite file beside the run ledger (``ledger.approvals.sqlite``
  next to ``ledger.sqlite``). Every change is one ``BEGIN IMMEDIATE`` transaction whose
  ``UPDATE … WHERE status = 'pending'`` lets exactly one decision win, so two clicks, a click
  and the CLI, or a click and the timeout never both count; any number of processes may wait
  on it.
* :func:`request_approval` records the request, then posts :func:`approval_payload` through
  the incoming webhook (:class:`~gtmkit.integrations.slack.SlackWebhook`).
* :func:`wait_for_approval` polls the store until a decision or the timeout, which it records
  (``timed_out``, with the reason) so a late click cannot start a run nobody waits for.
* :func:`answer_interaction` answers Slack's request to the app's interactivity URL
  (framework-free: the webhook receiver mounts it at ``/slack/interactions``). It checks the
  signature on the raw body before reading anything (:mod:`gtmkit.integrations.
  slack_signature`: ``v0`` HMAC, 5-minute window), refuses a replay of a body already answered,
  reads the ``payload=`` form field (a ``block_actions`` payload: docs.slack.dev/reference/
  interaction-payloads/block_actions-payload) and records who decided. Slack wants an answer
  within 3 seconds (docs.slack.dev/tools/bolt-python/concepts/acknowledge); this one is a few
  SQLite statements.
* :func:`gated_run` wires it around ``Waterfall.run`` without touching the engine: estimate,
  ask when over the threshold, wait, then run (and post the run's summary) or return the
  reason it ended.

Buttons are Block Kit ``button`` elements in an ``actions`` block; each carries the run id in
its ``value`` (at most 2000 characters) and an ``action_id`` (at most 255) — docs.slack.dev/
reference/block-kit/block-elements/button-element.

Example:
    >>> import tempfile, pathlib
    >>> store = ApprovalStore(pathlib.Path(tempfile.mkdtemp()) / "a.approvals.sqlite")
    >>> _ = store.request("r1", Estimate(rows=10, credits=120, cost_usd=12.0), "100 credits")
    >>> store.decide("r1", approved=True, by="cli:ana", via="cli").approval.status
    'approved'
    >>> store.decide("r1", approved=False, by="cli:ben", via="cli").refused
    'run r1 was already approved by cli:ana'
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import hashlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs

from gtmkit.errors import GtmkitError
from gtmkit.integrations.slack import SIGNING_SECRET_ENV, SlackError, SlackWebhook
from gtmkit.integrations.slack_signature import SlackSignatureError, verify
from gtmkit.integrations.slack_summary import summary_from_result, summary_payload
from gtmkit.integrations.slack_web import BOT_TOKEN_ENV, SlackMessageRef, SlackWebApi

__all__ = [
    "APPROVE_ACTION",
    "REJECT_ACTION",
    "Approval",
    "ApprovalError",
    "ApprovalStore",
    "Decision",
    "Estimate",
    "GatedRun",
    "answer_interaction",
    "approval_payload",
    "approvals_path",
    "approvals_sentence",
    "decided_message",
    "gated_run",
    "main",
    "request_approval",
    "signing_secret",
    "update_decided_message",
    "wait_for_approval",
]

APPROVE_ACTION = "gtmkit_approve"
REJECT_ACTION = "gtmkit_reject"
#: How long a seen request signature is kept: past Slack's 5-minute window it is stale anyway.
_SEEN_KEEP_S = 600.0

Status = Literal["pending", "approved", "rejected", "timed_out", "cancelled"]


class ApprovalError(GtmkitError, ValueError):
    """A request that cannot be made (a run id already asked for, no place for the store)."""


@dataclass(frozen=True)
class Estimate:
    """What a run is expected to spend (from ``Waterfall.estimate``'s total row)."""

    rows: float
    credits: float
    cost_usd: float
    worst_case_credits: float = 0.0
    worst_case_usd: float = 0.0
    #: per step: (provider, expected credits, expected dollars)
    steps: tuple[tuple[str, float, float], ...] = ()

    @classmethod
    def from_frame(cls, frame: Any) -> Estimate:
        """From the frame of ``Waterfall.estimate`` (its step rows and its ``total`` row)."""
        rows = frame.to_dicts()
        total = next((r for r in rows if r["provider"] == "total"), None)
        if total is None:
            raise ApprovalError("the estimate frame has no 'total' row: pass wf.estimate(...)")
        return cls(
            rows=float(total["rows_in"]),
            credits=float(total["credits"]),
            cost_usd=float(total["cost_usd"]),
            worst_case_credits=float(total["worst_case_credits"]),
            worst_case_usd=float(total["worst_case_usd"]),
            steps=tuple(
                (str(r["provider"]), float(r["credits"]), float(r["cost_usd"]))
                for r in rows
                if r["provider"] != "total"
            ),
        )


@dataclass(frozen=True)
class Approval:
    """One approval request as stored."""

    run_id: str
    status: Status
    estimate: Estimate
    threshold: str
    requested_at: float
    expires_at: float | None
    approvers: tuple[str, ...] = ()
    decided_at: float | None = None
    decided_by: str = ""
    via: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Decision:
    """How a wait ended: ``approved``, ``rejected``, ``timed_out`` or ``cancelled``."""

    run_id: str
    status: Status
    by: str = ""
    reason: str = ""

    @property
    def approved(self) -> bool:
        return self.status == "approved"


@dataclass(frozen=True)
class Decided:
    """What :meth:`ApprovalStore.decide` did: the stored request after it, and why a decision
    was not taken (``None`` when it was)."""

    approval: Approval | None
    refused: str | None = None


def approvals_path(ledger: str | os.PathLike[str]) -> Path:
    """The approval store beside a run ledger: ``data/ledger.sqlite`` →
    ``data/ledger.approvals.sqlite``."""
    path = Path(ledger)
    return path.with_name(f"{path.stem}.approvals.sqlite")


def _utc(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    run_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    estimate TEXT NOT NULL,
    threshold TEXT NOT NULL,
    approvers TEXT NOT NULL,
    requested_at REAL NOT NULL,
    expires_at REAL,
    decided_at REAL,
    decided_by TEXT NOT NULL DEFAULT '',
    via TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS messages (
    run_id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen_requests (
    key TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
"""


class ApprovalStore:
    """Approval requests and decisions in one SQLite file, safe across processes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            raise ApprovalError(
                f"no folder {self.path.parent} for the approval store: create it, or pass "
                "the run's --ledger path"
            )
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            # WAL: waiting processes read while a decision is written (set once, it persists)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        finally:
            db.close()

    def __repr__(self) -> str:
        return f"ApprovalStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # one connection per operation: a store is shared by processes that come and go
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    @staticmethod
    def _row(row: tuple[Any, ...]) -> Approval:
        (run_id, status, estimate, threshold, approvers, requested_at, expires_at, decided_at,
         decided_by, via, reason) = row  # fmt: skip
        raw = json.loads(estimate)
        raw["steps"] = tuple(tuple(step) for step in raw.get("steps", ()))
        return Approval(
            run_id=run_id, status=status, estimate=Estimate(**raw), threshold=threshold,
            requested_at=requested_at, expires_at=expires_at,
            approvers=tuple(json.loads(approvers)), decided_at=decided_at,
            decided_by=decided_by, via=via, reason=reason,
        )  # fmt: skip

    def _get(self, db: sqlite3.Connection, run_id: str) -> Approval | None:
        row = db.execute("SELECT * FROM approvals WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else self._row(row)

    def get(self, run_id: str) -> Approval | None:
        """The request for ``run_id``, or ``None``."""
        with self._transaction() as db:
            return self._get(db, run_id)

    def pending(self) -> list[Approval]:
        """Requests still waiting, oldest first."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM approvals WHERE status = 'pending' ORDER BY requested_at"
            ).fetchall()
        return [self._row(r) for r in rows]

    def request(
        self,
        run_id: str,
        estimate: Estimate,
        threshold: str,
        *,
        approvers: Sequence[str] = (),
        timeout_s: float | None = None,
        now: float | None = None,
    ) -> Approval:
        """Record a new pending request; a run id already used is refused (a decision is
        never reused for another run)."""
        if not run_id or len(run_id) > 200 or not run_id.isprintable():
            raise ApprovalError(f"run id must be 1-200 printable characters, got {run_id!r}")
        at = time.time() if now is None else now
        expires = None if timeout_s is None else at + timeout_s
        body = {**estimate.__dict__, "steps": [list(s) for s in estimate.steps]}
        with self._transaction() as db:
            if self._get(db, run_id) is not None:
                raise ApprovalError(
                    f"run {run_id} already has an approval request: use a new run id"
                )
            db.execute(
                "INSERT INTO approvals (run_id, status, estimate, threshold, approvers, "
                "requested_at, expires_at) VALUES (?, 'pending', ?, ?, ?, ?, ?)",
                (run_id, json.dumps(body), threshold, json.dumps(list(approvers)), at, expires),
            )
            approval = self._get(db, run_id)
        assert approval is not None
        return approval

    def decide(
        self,
        run_id: str,
        *,
        approved: bool,
        by: str,
        via: str,
        user_id: str | None = None,
        reason: str = "",
        now: float | None = None,
    ) -> Decided:
        """Approve or reject a pending request; the first decision wins. Refused (with the
        reason) when the run is unknown, already decided, past its timeout, or ``user_id`` is
        not among the request's approvers."""
        at = time.time() if now is None else now
        status: Status = "approved" if approved else "rejected"
        with self._transaction() as db:
            current = self._get(db, run_id)
            if current is None:
                return Decided(None, f"no approval request for run {run_id}")
            expired = current.expires_at is not None and at > current.expires_at
            if current.status == "pending" and expired:
                self._expire(db, current, at)
                current = self._get(db, run_id)
                assert current is not None
            if current.status != "pending":
                word = current.status.replace("_", " ")
                who = f" by {current.decided_by}" if current.decided_by else ""
                return Decided(current, f"run {run_id} was already {word}{who}")
            if current.approvers and user_id is not None and user_id not in current.approvers:
                return Decided(current, f"{by} is not an approver of run {run_id}")
            db.execute(
                "UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, via = ?, "
                "reason = ? WHERE run_id = ? AND status = 'pending'",
                (status, at, by, via, reason, run_id),
            )
            return Decided(self._get(db, run_id))

    @staticmethod
    def _expire(db: sqlite3.Connection, current: Approval, at: float) -> None:
        waited = (current.expires_at or at) - current.requested_at
        reason = (
            f"nobody approved within {waited:g} s (estimate {current.estimate.credits:g} "
            f"credits, ${current.estimate.cost_usd:.2f}, over {current.threshold}); "
            "the run ended without spending"
        )
        db.execute(
            "UPDATE approvals SET status = 'timed_out', decided_at = ?, decided_by = '', "
            "via = 'timeout', reason = ? WHERE run_id = ? AND status = 'pending'",
            (at, reason, current.run_id),
        )

    def expire(self, run_id: str, *, now: float | None = None) -> Approval | None:
        """Mark a pending request timed out (no-op when it was decided meanwhile)."""
        at = time.time() if now is None else now
        with self._transaction() as db:
            current = self._get(db, run_id)
            if current is not None and current.status == "pending":
                self._expire(db, current, at)
            return self._get(db, run_id)

    def cancel(self, run_id: str, reason: str, *, now: float | None = None) -> None:
        """End a pending request that could not be asked (the post to Slack failed)."""
        at = time.time() if now is None else now
        with self._transaction() as db:
            db.execute(
                "UPDATE approvals SET status = 'cancelled', decided_at = ?, via = 'gtmkit', "
                "reason = ? WHERE run_id = ? AND status = 'pending'",
                (at, reason, run_id),
            )

    def remember_message(self, run_id: str, channel: str, ts: str) -> None:
        """Keep where the request was posted (channel id, ``ts``) so a decision made
        elsewhere (``gtmkit approve``) can edit that message."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO messages (run_id, channel, ts) VALUES (?, ?, ?)",
                (run_id, channel, ts),
            )

    def message(self, run_id: str) -> SlackMessageRef | None:
        """Where the request of ``run_id`` was posted, or ``None`` (posted through an
        incoming webhook, which cannot be edited, or not posted at all)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT channel, ts FROM messages WHERE run_id = ?", (run_id,)
            ).fetchone()
        return None if row is None else SlackMessageRef(row[0], row[1])

    def first_sight(self, key: str, *, now: float) -> bool:
        """True the first time ``key`` (a request signature's digest) is seen, False after:
        a replayed Slack request inside its 5-minute window is answered once only."""
        with self._transaction() as db:
            db.execute("DELETE FROM seen_requests WHERE seen_at < ?", (now - _SEEN_KEEP_S,))
            try:
                db.execute("INSERT INTO seen_requests (key, seen_at) VALUES (?, ?)", (key, now))
            except sqlite3.IntegrityError:
                return False
        return True


# -- the message --------------------------------------------------------------------------
def approval_payload(approval: Approval, *, ledger_hint: str = "") -> dict[str, Any]:
    """The Block Kit message asking for approval: the estimate, per-step figures, when it
    times out, the CLI alternative, and the two buttons (the run id in their ``value``)."""
    est, run_id = approval.estimate, approval.run_id
    text = (
        f"Approval needed: gtmkit run {run_id} is estimated at {est.credits:g} credits "
        f"(${est.cost_usd:.2f}), over {approval.threshold}"
    )
    body = (
        f"Estimated *{est.credits:g} credits* (*${est.cost_usd:.2f}*) for {est.rows:g} rows "
        f"to enrich, over the threshold of {approval.threshold}.\n"
        f"Worst case (every call billed at its maximum): {est.worst_case_credits:g} credits "
        f"(${est.worst_case_usd:.2f})."
    )
    fields = [
        {"type": "mrkdwn", "text": f"*{name}*\n{credits:g} credits, ${usd:.2f}"}
        for name, credits, usd in est.steps[:10]  # a section holds at most 10 fields
    ]
    cli = f"gtmkit approve {run_id}" + (f" --ledger {ledger_hint}" if ledger_hint else "")
    when = (
        f"Times out at {_utc(approval.expires_at)}: the run then ends without spending."
        if approval.expires_at is not None
        else "No timeout."
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Approve run {run_id}?"[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body}},
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    blocks += [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{when} Or: `{cli}`"}]},
        {
            "type": "actions",
            "block_id": "gtmkit_approval",
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE_ACTION,
                    "text": {"type": "plain_text", "text": "Approve"},
                    "style": "primary",
                    "value": run_id,
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Spend on this run?"},
                        "text": {
                            "type": "mrkdwn",
                            "text": f"About ${est.cost_usd:.2f} "
                            f"(at most ${est.worst_case_usd:.2f}).",
                        },
                        "confirm": {"type": "plain_text", "text": "Approve"},
                        "deny": {"type": "plain_text", "text": "Cancel"},
                    },
                },
                {
                    "type": "button",
                    "action_id": REJECT_ACTION,
                    "text": {"type": "plain_text", "text": "Reject"},
                    "style": "danger",
                    "value": run_id,
                },
            ],
        },
    ]
    return {"text": text, "blocks": blocks}


def decided_message(approval: Approval) -> dict[str, Any]:
    """The approval message once decided: what was decided, by whom, when; no buttons left
    (the same body for a click's ``response_url`` and for ``chat.update``)."""
    est, word = approval.estimate, approval.status.replace("_", " ")
    who = f" by {approval.decided_by}" if approval.decided_by else ""
    when = datetime.fromtimestamp(approval.decided_at or time.time(), UTC)
    text = (
        f"gtmkit run {approval.run_id} {word}{who}: estimated {est.credits:g} credits "
        f"(${est.cost_usd:.2f}), over {approval.threshold}"
    )
    outcome = {
        "approved": "The run goes ahead.",
        "rejected": "The run ended without spending.",
    }.get(approval.status, approval.reason or "The run ended without spending.")
    return {
        "replace_original": True,
        "text": text,
        "blocks": [
            {"type": "header",
             "text": {"type": "plain_text", "text": f"Run {approval.run_id} {word}"[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{text}. {outcome}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": (
                f"{word.capitalize()}{who} at {when:%Y-%m-%d %H:%M:%S} UTC"
                f" via {approval.via or 'gtmkit'}")}]},
        ],
    }  # fmt: skip


def request_approval(
    run_id: str,
    estimate: Estimate,
    threshold: str,
    *,
    store: ApprovalStore,
    webhook: SlackWebhook | None,
    approvers: Sequence[str] = (),
    timeout_s: float | None = 900.0,
    ledger_hint: str = "",
    now: float | None = None,
    bot: SlackWebApi | None = None,
    channel: str = "",
) -> Approval:
    """Record the request, then post it (``webhook=None``: not posted; the CLI still answers
    it). A post Slack refuses cancels the request and raises the
    :class:`~gtmkit.integrations.slack.SlackError`: nobody was asked, so nobody may answer.

    With ``bot`` (a :class:`~gtmkit.integrations.slack_web.SlackWebApi`) and ``channel`` the
    request goes through ``chat.postMessage`` instead of the webhook, and its channel id and
    ``ts`` are kept so ``gtmkit approve`` can replace the buttons with the decision."""
    if bot is not None and not channel:
        raise ApprovalError("pass channel= (e.g. '#gtm-runs') with bot=: where to post")
    approval = store.request(
        run_id, estimate, threshold, approvers=approvers, timeout_s=timeout_s, now=now
    )
    if bot is not None or webhook is not None:
        payload = approval_payload(approval, ledger_hint=ledger_hint)
        try:
            if bot is not None:
                posted = bot.post_message(channel, payload)
                store.remember_message(run_id, posted.channel, posted.ts)
            elif webhook is not None:
                webhook.post_sync(payload)
        except SlackError as exc:
            store.cancel(run_id, f"the approval request could not be posted: {exc}")
            raise
    return approval


def _ended(approval: Approval) -> Decision:
    return Decision(approval.run_id, approval.status, approval.decided_by, approval.reason)


def wait_for_approval(
    run_id: str,
    timeout_s: float,
    *,
    store: ApprovalStore,
    poll_s: float = 0.5,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Decision:
    """Block until ``run_id`` is approved or rejected, or ``timeout_s`` passes (then it is
    recorded ``timed_out`` with the reason, and a later click is refused)."""
    deadline = clock() + timeout_s
    while True:
        approval = store.get(run_id)
        if approval is None:
            raise ApprovalError(f"no approval request for run {run_id}: request_approval first")
        if approval.status != "pending":
            return _ended(approval)
        now = clock()
        if now >= deadline or (approval.expires_at is not None and now > approval.expires_at):
            ended = store.expire(run_id, now=now)
            assert ended is not None
            return _ended(ended)
        sleep(min(poll_s, max(0.0, deadline - now)))


# -- the interactivity endpoint -----------------------------------------------------------
def signing_secret() -> str:
    """``SLACK_SIGNING_SECRET`` from the environment (never an argument of a notebook)."""
    secret = os.environ.get(SIGNING_SECRET_ENV, "").strip()
    if not secret:
        raise ApprovalError(
            f"{SIGNING_SECRET_ENV} is not set: copy the signing secret from your Slack app's "
            "Basic Information page into the environment or .env"
        )
    return secret


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def answer_interaction(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    store: ApprovalStore,
    now: float | None = None,
) -> tuple[int, str]:
    """Answer Slack's POST to the interactivity URL: ``(status code, plain text)``.

    401 for a request not provably Slack's (bad or missing signature, stale timestamp), 409
    for a replay of a request already answered, 400 for a body that is not a
    ``block_actions`` payload, 200 otherwise — also when the decision is refused (already
    decided, timed out, not an approver): Slack shows the person an error for anything else,
    and the text says why.
    """
    at = time.time() if now is None else now
    try:
        verify(secret, body, headers, now=at)
    except SlackSignatureError as exc:
        return 401, f"refused: {exc}"
    digest = hashlib.sha256(_header(headers, "X-Slack-Signature").encode()).hexdigest()
    if not store.first_sight(digest, now=at):
        return 409, "refused: this request was already answered (a replay)"
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        payload = json.loads(form["payload"][0])
        kind = payload["type"]
        actions = payload.get("actions") or []
        user = payload["user"]
    except (UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError):
        return 400, "bad request: expected a form body with a payload field of Slack JSON"
    if kind != "block_actions" or not isinstance(user, dict):
        return 200, f"ignored: a {kind!s:.40} interaction is not a gtmkit approval"
    ours = [a for a in actions if isinstance(a, dict)
            and a.get("action_id") in (APPROVE_ACTION, REJECT_ACTION)]  # fmt: skip
    if not ours:
        return 200, "ignored: not a gtmkit approval button"
    action = ours[0]
    run_id = str(action.get("value", ""))
    user_id = str(user.get("id", ""))
    name = str(user.get("username") or user.get("name") or "")
    by = f"slack:{user_id}" + (f" ({name})" if name else "")
    approved = action["action_id"] == APPROVE_ACTION
    done = store.decide(run_id, approved=approved, by=by, via="slack", user_id=user_id, now=at)
    if done.refused is not None:
        return 200, f"not recorded: {done.refused}"
    return 200, f"run {run_id} {'approved' if approved else 'rejected'} by {by}"


# -- the gate around a waterfall run ------------------------------------------------------
@dataclass
class GatedRun:
    """How a gated run went: ``status`` is ``ran`` (under the threshold, or approved),
    ``rejected``, ``timed_out`` or ``cancelled``; ``result`` is the
    :class:`~gtmkit.waterfall.result.WaterfallResult` when it ran, else ``None`` and
    ``reason`` says why nothing was spent."""

    run_id: str
    status: Literal["ran", "rejected", "timed_out", "cancelled"]
    estimate: Estimate
    reason: str
    decision: Decision | None = None
    result: Any = None
    summary_posted: bool = False
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"GatedRun(run_id={self.run_id!r}, status={self.status!r}, "
            f"estimate_credits={self.estimate.credits:g}, reason={self.reason!r})"
        )


def gated_run(
    wf: Any,
    records: Any,
    *,
    threshold_credits: float | None = None,
    threshold_usd: float | None = None,
    basis: Literal["expected", "worst_case"] = "expected",
    timeout_s: float = 900.0,
    run_id: str | None = None,
    approvers: Sequence[str] = (),
    approvals: str | os.PathLike[str] | ApprovalStore | None = None,
    webhook: SlackWebhook | None = None,
    bot: SlackWebApi | None = None,
    channel: str = "",
    post_summary: bool = True,
    report_path: str = "",
    estimate_options: Mapping[str, Any] | None = None,
    poll_s: float = 0.5,
    **run_options: Any,
) -> GatedRun:
    """Estimate ``wf`` on ``records``; over a threshold, ask for approval and wait; then run
    it (``wf.run(records, **run_options)``) or end with the reason.

    Args:
        threshold_credits / threshold_usd: ask when the estimate (``basis``: the expected
            spend, or the worst case) is over either; at least one is required.
        timeout_s: how long to wait for a person before the run ends without spending.
        run_id: the id the buttons and ``gtmkit approve`` use (default: a new one).
        approvers: Slack user ids allowed to click (empty: anyone in the channel).
        approvals: the store (default: beside the run's ``ledger``).
        webhook: where to post (default: ``SLACK_WEBHOOK_URL`` when it is set; when it is
            not, the request is only answerable with ``gtmkit approve``, and ``notes`` says so).
        bot / channel: post through the bot (``chat.postMessage`` to ``channel``, the token
            from ``SLACK_BOT_TOKEN``) instead of the webhook, so ``gtmkit approve`` can edit
            the request into its decision; the summary goes to the same channel.
        post_summary: post the run's summary (rows, coverage, spend, failures) after it ran.
    """
    import uuid

    from gtmkit.waterfall.options import DEFAULT_LEDGER_PATH

    if threshold_credits is None and threshold_usd is None:
        raise ApprovalError(
            "pass threshold_credits= or threshold_usd= (the spend that needs a yes)"
        )
    if bot is not None and not channel:
        raise ApprovalError("pass channel= (e.g. '#gtm-runs') with bot=: where to post")
    estimate = Estimate.from_frame(wf.estimate(records, **dict(estimate_options or {})))
    credits = estimate.credits if basis == "expected" else estimate.worst_case_credits
    dollars = estimate.cost_usd if basis == "expected" else estimate.worst_case_usd
    over = []
    if threshold_credits is not None and credits > threshold_credits:
        over.append(f"{threshold_credits:g} credits")
    if threshold_usd is not None and dollars > threshold_usd:
        over.append(f"${threshold_usd:.2f}")
    run_id = run_id or uuid.uuid4().hex[:12]
    notes: list[str] = []
    hook = (
        webhook if webhook is not None else (SlackWebhook() if SlackWebhook.configured() else None)
    )
    decision: Decision | None = None
    if over:
        ledger = run_options.get("ledger", DEFAULT_LEDGER_PATH)
        if isinstance(approvals, ApprovalStore):
            store = approvals
        elif approvals is not None:
            store = ApprovalStore(approvals)
        elif ledger is None:
            raise ApprovalError("the run has no ledger (ledger=None): pass approvals=PATH")
        else:
            store = ApprovalStore(approvals_path(getattr(ledger, "path", ledger)))
        threshold = " and ".join(over) + ("" if basis == "expected" else " (worst case)")
        hint = str(getattr(ledger, "path", ledger) or "")
        if hook is None and bot is None:
            notes.append(
                f"SLACK_WEBHOOK_URL is not set: nothing was posted; approve with "
                f"`gtmkit approve {run_id} --ledger {hint}`"
            )
        try:
            request_approval(
                run_id, estimate, threshold, store=store, webhook=hook, approvers=approvers,
                timeout_s=timeout_s, ledger_hint=hint, bot=bot, channel=channel,
            )  # fmt: skip
        except SlackError as exc:
            return GatedRun(run_id, "cancelled", estimate,
                            f"could not ask for approval, so nothing was spent: {exc}",
                            notes=notes)  # fmt: skip
        decision = wait_for_approval(run_id, timeout_s, store=store, poll_s=poll_s)
        if not decision.approved:
            reason = decision.reason or f"run {run_id} was {decision.status} by {decision.by}"
            status: Literal["rejected", "timed_out", "cancelled"] = (
                decision.status if decision.status in ("rejected", "timed_out") else "cancelled"
            )
            return GatedRun(run_id, status, estimate, reason, decision, notes=notes)
        reason = f"approved by {decision.by}"
    else:
        reason = "estimate under the threshold: no approval needed"
    result = wf.run(records, **run_options)
    gated = GatedRun(run_id, "ran", estimate, reason, decision, result, notes=notes)
    if post_summary and (bot is not None or hook is not None):
        payload = summary_payload(summary_from_result(result, report_path=report_path))
        try:
            if bot is not None:
                bot.post_message(channel, payload)
            elif hook is not None:
                hook.post_sync(payload)
            gated.summary_posted = True
        except SlackError as exc:  # the run is done and paid for: say so, do not raise
            notes.append(f"the run summary was not posted: {exc}")
    return gated


def approvals_sentence(path: str | os.PathLike[str] | None) -> str:
    """One line for a report: what was sent to Slack for approval and what was decided, from
    the approval store at ``path``; ``""`` when there is no store or it holds no request."""
    if path is None or not Path(path).is_file():
        return ""
    store = ApprovalStore(path)
    with store._transaction() as db:
        rows = db.execute("SELECT * FROM approvals ORDER BY requested_at").fetchall()
        edited = {r[0] for r in db.execute("SELECT run_id FROM messages").fetchall()}
    if not rows:
        return ""
    parts = []
    for approval in (store._row(r) for r in rows):
        est = approval.estimate
        word = approval.status.replace("_", " ")
        who = f" by {approval.decided_by}" if approval.decided_by else ""
        via = f" via {approval.via}" if approval.via and approval.status != "timed_out" else ""
        parts.append(f"run {approval.run_id} (estimated ${est.cost_usd:.2f}) {word}{who}{via}")
    n = len(rows)
    posted = f"; {len(edited)} posted as an editable message" if edited else ""
    return (
        f"Sent to Slack for spend approval: {n} request{'s' if n != 1 else ''}{posted}: "
        + "; ".join(parts)
        + "."
    )


# -- gtmkit approve -----------------------------------------------------------------------
def update_decided_message(
    store: ApprovalStore, approval: Approval, *, bot: SlackWebApi | None = None
) -> str:
    """Replace the Slack request of a decided run with the decision (``chat.update`` on the
    stored channel and ``ts``), as a click's ``response_url`` does. Never raises: the
    decision is already recorded; the answer is one line saying what happened to the message."""
    where = store.message(approval.run_id)
    if where is None:
        return (
            "the Slack request was posted through an incoming webhook (or not at all), which "
            "cannot be edited: its buttons stay, and a click on them is refused"
        )
    bot = bot if bot is not None else SlackWebApi()
    if not bot.configured():
        return f"the Slack message was not updated: {BOT_TOKEN_ENV} is not set"
    body = {k: v for k, v in decided_message(approval).items() if k != "replace_original"}
    try:
        bot.update_message(where.channel, where.ts, body)
    except SlackError as exc:
        return f"the Slack message was not updated: {exc}"
    return "the Slack message now shows the decision"


def main(argv: Sequence[str] | None = None, *, bot: SlackWebApi | None = None) -> int:
    """``gtmkit approve RUN [--reject] [--ledger PATH]``: answer a pending approval request,
    then replace its Slack message's buttons with the decision (``bot``: the Web API client,
    default one reading ``SLACK_BOT_TOKEN``; tests pass one on the twin's transport)."""
    from gtmkit.waterfall.options import DEFAULT_LEDGER_PATH

    parser = argparse.ArgumentParser(
        prog="gtmkit approve",
        description="Approve (or --reject) a run waiting for approval of its estimated spend.",
    )
    parser.add_argument("run", metavar="RUN", help="the run id shown in the Slack message")
    parser.add_argument("--reject", action="store_true", help="reject instead of approving")
    parser.add_argument(
        "--ledger",
        default=str(DEFAULT_LEDGER_PATH),
        help="the run's ledger (the approvals sit beside it; default %(default)s)",
    )
    parser.add_argument("--by", default="", help="who decides (default: cli:<login name>)")
    parser.add_argument("--reason", default="", help="a note kept with the decision")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    path = approvals_path(args.ledger)
    if not path.is_file():
        print(f"gtmkit approve: no approval store at {path}: pass the run's --ledger PATH",
              file=sys.stderr)  # fmt: skip
        return 1
    store = ApprovalStore(path)
    by = args.by or f"cli:{getpass.getuser()}"
    done = store.decide(args.run, approved=not args.reject, by=by, via="cli", reason=args.reason)
    if done.refused is not None:
        waiting = ", ".join(a.run_id for a in store.pending()) or "none"
        print(f"gtmkit approve: {done.refused} (runs waiting: {waiting})", file=sys.stderr)
        return 1
    assert done.approval is not None
    print(f"run {args.run} {done.approval.status} by {by}")
    # stdout stays the decision alone (scripts read it); what became of the message is a note
    print(f"gtmkit approve: {update_decided_message(store, done.approval, bot=bot)}",
          file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
