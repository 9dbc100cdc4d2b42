"""``RowPolicy``: the merge rules and final statuses, as plain tables of cases."""

from __future__ import annotations

import pytest

from gtmkit.waterfall import Step, Waterfall
from gtmkit.waterfall.lookup import Answer, Failure
from gtmkit.waterfall.policy import RowPolicy

WF = Waterfall(
    [
        Step("a"),
        Step("b", stop="first_verified"),
        Step("c", catch_all="accept_if_confident", min_confidence=0.8),
        Step("d", catch_all="continue"),
    ],
    verify="v",
)
POLICY = RowPolicy(WF)


def row(**record):
    return POLICY.start({"row_id": 1, "first_name": "Ada", **record}, index=0)


def found(email="ada@acme.io", status="risky", confidence=None):
    return Answer("hit", {"email": email}, status, confidence=confidence)


MISS = Answer("miss", {})


# step, answer status, confidence -> is the email settled (no later step wanted)?
SETTLED = [
    (0, "risky", None, True),  # first_hit: any email ends the search
    (1, "risky", None, False),  # first_verified: an unverified one does not
    (1, "valid", None, True),
    (2, "catch_all", 0.9, True),  # accept_if_confident, confident
    (2, "catch_all", 0.5, False),  # ...not confident
    (3, "catch_all", None, False),  # continue: keep it, try the next steps
    (0, "catch_all", None, True),  # accept (the default)
]


@pytest.mark.parametrize(("step", "status", "confidence", "settled"), SETTLED)
def test_when_an_email_is_settled(step, status, confidence, settled):
    state, changed = POLICY.merge(row(), step, found(status=status, confidence=confidence))
    assert changed and state.values["email"] == "ada@acme.io"
    assert ("email" in state.settled) is settled
    later = [i for i in range(step + 1, 4) if POLICY.wants(state, i)]
    if step < 3:  # the last step has no later one to want
        assert (later == []) is settled


# current email (source, status), new answer -> email after, source after
MERGES = [
    ((None, None), found("x@acme.io", "risky"), "x@acme.io", "a"),
    (("b", "risky"), found("y@acme.io", "valid"), "y@acme.io", "a"),  # verified beats a guess
    (("b", "valid"), found("y@acme.io", "valid"), "ada@old.io", "b"),  # first valid stays
    (("b", "risky"), found("y@acme.io", "risky"), "ada@old.io", "b"),  # first guess stays
    (("input", None), found("y@acme.io", "valid"), "ada@old.io", "input"),  # input kept
    ((None, None), found("x@acme.io", "invalid"), None, None),  # an invalid find is dropped
    ((None, None), MISS, None, None),
]


@pytest.mark.parametrize(("current", "answer", "email", "source"), MERGES)
def test_how_a_find_merges(current, answer, email, source):
    source_before, status_before = current
    state = row() if source_before is None else row(email="ada@old.io")
    if source_before not in (None, "input"):
        state, _ = POLICY.merge(row(), 1, found("ada@old.io", status_before))
    state, _ = POLICY.merge(state, 0, answer)
    assert state.values.get("email") == email
    assert state.sources.get("email") == source


# verifier verdict -> email kept?, status after, needs a later step?
VERDICTS = [
    ("valid", True, "valid", False),
    ("invalid", False, None, True),  # the guess does not deliver: fall through
    ("catch_all", True, "catch_all", False),  # step a accepts catch-alls
    ("unknown", True, "unknown", False),
]


@pytest.mark.parametrize(("verdict", "kept", "status", "later"), VERDICTS)
def test_the_verifier_verdict(verdict, kept, status, later):
    state, changed = POLICY.merge(row(), 0, found(status="risky"))
    assert POLICY.needs_verification(state, changed)
    state = POLICY.verified(state, Answer("hit", {}, verdict))
    assert state.has_email is kept and state.email_status == status
    assert POLICY.wants(state, 1) is later


def test_a_verified_find_needs_no_verifier():
    state, changed = POLICY.merge(row(), 0, found(status="valid"))
    assert not POLICY.needs_verification(state, changed)


# what happened to the row -> final status (the email decides)
def _error(state):
    return POLICY.failed(state, Failure("error", "a: provider_down after 6 attempt(s)"))


OUTCOMES = [
    ("nothing found", lambda s: s, "not_found"),
    ("found", lambda s: POLICY.merge(s, 0, found())[0], "enriched"),
    ("error only", _error, "failed"),
    # issue 8 #8: an error at one step, the email found at a later one: enriched
    (
        "error then found",
        lambda s: POLICY.merge(_error(s), 1, found(status="valid"))[0],
        "enriched",
    ),
    (
        "budget",
        lambda s: POLICY.failed(s, Failure("budget", "budget exhausted")),
        "budget_exhausted",
    ),
    (
        "row cap",
        lambda s: POLICY.failed(s, Failure("row_cap", "per-row cap")),
        "budget_exhausted",
    ),
    ("deadline", lambda s: POLICY.failed(s, Failure("stopped", "deadline")), "stopped"),
    (
        "handed off",
        lambda s: POLICY.handed_off(s, Step("manual", label="Manual LinkedIn")),
        "manual",
    ),
    (
        "disabled provider",
        lambda s: POLICY.failed(s, Failure("disabled", "a disabled")),
        "not_found",
    ),
]


@pytest.mark.parametrize(("case", "events", "status"), OUTCOMES, ids=[c[0] for c in OUTCOMES])
def test_final_status(case, events, status):
    outcome = POLICY.outcome(events(row()))
    assert outcome.status == status
    if status not in ("enriched",):
        assert outcome.reason  # every row that is not enriched says why
    if case == "handed off":
        assert outcome.reason == "handed off to Manual LinkedIn"


def test_input_emails_and_weak_ones():
    complete = row(email="ada@acme.io")
    assert not POLICY.wants(complete, 0)
    assert POLICY.outcome(complete).reason == "already complete in the input"
    weak = row(email="ada@gmail.com", email_is_personal=True)
    assert POLICY.wants(weak, 0)  # a webmail address: look for a work email
    replaced, _ = POLICY.merge(weak, 0, found("ada@acme.io", "valid"))
    assert replaced.values["email"] == "ada@acme.io"
    assert "personal or invalid" in POLICY.outcome(weak).reason


def test_a_when_condition_and_routing_choose_the_steps():
    wf = Waterfall([Step("a"), Step("b"), Step("c")], route_by={"band": {"1-10": ["c", "a"]}})
    policy = RowPolicy(wf, conditions={0: [False]})
    state = policy.start({"row_id": 1, "band": "1-10"}, index=0)
    assert policy.order(state) == [2, 0]
    assert not policy.wants(state, 0)  # its when-expression is false for this row
    assert policy.wants(state, 2)


def test_policy_functions_do_not_change_their_input():
    before = row()
    after, _ = POLICY.merge(before, 0, found())
    assert before.values == {} and "email" not in before.settled
    assert after.values == {"email": "ada@acme.io"}
    assert after is not before


# -- phones --------------------------------------------------------------------------------
PHONES = RowPolicy(
    Waterfall(
        [
            Step("a", fills=("email", "phone")),  # one call, both fields
            Step("b", fills=("phone",), phone_stop="first_mobile"),
            Step("c", fills=("phone",)),
        ]
    )
)


def phone(number, kind, email=None):
    fields = {"phone": number, "phone_type": kind}
    if email:
        fields["email"] = email
    return Answer("hit", fields, "valid" if email else None)


# the phone the row holds, then step b's find -> the phone after, its type, a later step wanted
PHONE_CASES = [
    (None, phone("+14155550100", "mobile"), "+14155550100", "mobile", False),
    (("+14155550199", "direct"), phone("+14155550100", "mobile"), "+14155550100", "mobile", False),
    (("+14155550199", "mobile"), phone("+14155550100", "mobile"), "+14155550199", "mobile", False),
    (("+14155550199", "direct"), phone("+14155550101", "office"), "+14155550199", "direct", True),
]


@pytest.mark.parametrize(("before", "answer", "number", "kind", "still_wanted"), PHONE_CASES)
def test_first_mobile_keeps_looking_past_other_lines(before, answer, number, kind, still_wanted):
    state = PHONES.start({"row_id": 1, "first_name": "Ada"}, index=0)
    if before is not None:
        state, _ = PHONES.merge(state, 0, phone(*before, email="ada@acme.io"))
    state, _ = PHONES.merge(state, 1, answer)
    assert (state.values.get("phone"), state.values.get("phone_type")) == (number, kind)
    assert PHONES.wants(state, 1) is still_wanted
    assert not PHONES.wants(state, 2) or state.values.get("phone") is None  # first_any: done


def test_one_call_fills_email_and_phone():
    state = PHONES.start({"row_id": 1, "first_name": "Ada"}, index=0)
    state, changed = PHONES.merge(state, 0, phone("+14155550199", "direct", email="ada@acme.io"))
    assert changed and state.values["email"] == "ada@acme.io"
    assert state.sources["phone"] == "a" and state.values["phone_type"] == "direct"
    assert not PHONES.wants(state, 0)  # both filled by the one call
    assert PHONES.wants(state, 1)  # b still looks for a mobile
