"""``RowPolicy``: the merge rules of a waterfall, as plain functions of a row's state.

Which step a row tries next, how an answer merges into it, when an email is settled, when the
verifier runs, what a catch-all counts as, and where the row ends — all here, synchronous and
without I/O: each method takes a :class:`RowState` and returns a new one, so the rules can be
tested with tables of cases and the engine's layers never decide anything about a row.

Final status (``outcome``): the email decides. A row that ends with an email a provider found
is ``enriched`` even if an earlier step failed; a row whose walk was cut short (budget, row cap,
deadline, cancel) is ``budget_exhausted`` / ``stopped``, whatever it holds so far; a row
handed to a person is ``manual``; a row whose lookups failed is ``failed``; else ``not_found``.

Example:
    >>> from gtmkit.waterfall.spec import Step, Waterfall
    >>> from gtmkit.waterfall.lookup import Answer
    >>> policy = RowPolicy(Waterfall([Step("hunter"), Step("apollo")]))
    >>> row = policy.start({"row_id": 1, "first_name": "Ada"}, index=0)
    >>> row, changed = policy.merge(row, 0, Answer("hit", {"email": "ada@x.io"}, "valid"))
    >>> policy.wants(row, 1), policy.outcome(row).status
    (False, 'enriched')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gtmkit.schema import ROW_ID
from gtmkit.waterfall.lookup import Answer, Failure
from gtmkit.waterfall.result import RowOutcome
from gtmkit.waterfall.spec import Step, Waterfall

_STATUS_RANK = {"valid": 4, "catch_all": 3, "risky": 2, "unknown": 1, None: 0}
_UNVERIFIED = frozenset({None, "risky", "unknown"})


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(frozen=True, slots=True)
class RowState:
    """Where one row stands. ``ended``: why its walk stopped early (``budget``, ``row_cap``,
    ``stopped``, ``manual``), with ``end_reason``."""

    row_id: int
    index: int
    record: Mapping[str, Any]
    values: Mapping[str, Any]
    sources: Mapping[str, str]
    settled: frozenset[str]
    email_status: str | None = None
    confidence: float | None = None
    email_step: int | None = None
    weak_input_email: bool = False
    ended: str | None = None
    end_reason: str | None = None
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def evolve(self, **changes: Any) -> RowState:
        """A copy with ``changes`` (``dataclasses.replace`` without the ``__init__`` pass: the
        policy makes a few of these per row, tens of thousands per run)."""
        new = object.__new__(RowState)
        for name in _ROW_FIELDS:
            object.__setattr__(new, name, changes[name] if name in changes else getattr(self, name))
        return new

    def current(self) -> dict[str, Any]:
        """The record as a provider should see it: input plus what was found so far."""
        merged = dict(self.record)
        merged.update(self.values)
        return merged

    @property
    def has_email(self) -> bool:
        return not missing(self.values.get("email"))


_ROW_FIELDS = tuple(f.name for f in dataclasses.fields(RowState))


class RowPolicy:
    """The rules of one waterfall spec. ``conditions[i]`` is step ``i``'s ``when`` expression
    evaluated on the input rows (one bool per row), when it has one."""

    def __init__(self, wf: Waterfall, conditions: Mapping[int, Sequence[bool]] | None = None):
        self.wf = wf
        self.steps: tuple[Step, ...] = tuple(wf.steps)
        self.conditions = dict(conditions or {})
        fills = dict.fromkeys(f for s in self.steps for f in s.fills if f != "email")
        if "phone" in fills:
            fills["phone_type"] = None  # a phone travels with its type (mobile, direct...)
        self.fill_fields = ("email", *fills)

    # -- the start and the route -------------------------------------------------------
    def start(self, record: Mapping[str, Any], *, index: int) -> RowState:
        values = {f: record[f] for f in self.fill_fields if f in record and not missing(record[f])}
        settled = set(values)
        weak = "email" in values and (
            record.get("email_is_personal") is True or record.get("email_valid") is False
        )
        if weak:  # intake flagged it (webmail or undeliverable): keep it, look for a work email
            settled.discard("email")
        status = record.get("email_status") if "email" in values else None
        return RowState(
            row_id=record[ROW_ID],
            index=index,
            record=record,
            values=values,
            sources=dict.fromkeys(values, "input"),
            settled=frozenset(settled),
            email_status=status or None,
            weak_input_email=weak,
        )

    def order(self, row: RowState) -> list[int]:
        return self.wf.order_for(row.record)

    def wants(self, row: RowState, index: int) -> bool:
        """Whether step ``index`` applies to the row now."""
        if row.ended:
            return False
        step = self.steps[index]
        if isinstance(step.when, str) and step.when == "always":
            return True
        if index in self.conditions and not self.conditions[index][row.index]:
            return False
        return not all(_done(row, name, step) for name in step.fills)

    # -- answers ------------------------------------------------------------------------
    def merge(self, row: RowState, index: int, answer: Answer) -> tuple[RowState, bool]:
        """Fold step ``index``'s answer into the row; returns the row and whether its email
        changed (a new email may need verifying).

        A phone that did not arrive in time (an asynchronous reveal) leaves its reason on the
        row (the answer's ``phone_pending`` field), hit or miss.
        """
        step = self.steps[index]
        pending = answer.fields.get("phone_pending")
        if pending and "phone" in step.fills:
            row = row.evolve(notes=(*row.notes, str(pending)))
        if answer.outcome != "hit":
            return row, False
        values, sources = dict(row.values), dict(row.sources)
        email: dict[str, Any] = {}
        for name in step.fills:
            value = answer.fields.get(name)
            if missing(value):
                continue
            if name == "email":
                email = _email_change(row, index, value, answer)
            elif name == "phone":
                _phone_change(values, sources, step, value, answer)
            elif missing(values.get(name)):
                values[name], sources[name] = value, step.provider
        if email.pop("_replace", False):
            values["email"], sources["email"] = email.pop("value"), step.provider
        row = row.evolve(values=values, sources=sources, **email)
        changed = "email_step" in email
        return self._settle(row), changed

    def needs_verification(self, row: RowState, changed: bool) -> bool:
        return bool(self.wf.verify) and changed and row.email_status in _UNVERIFIED

    def verified(self, row: RowState, answer: Answer) -> RowState:
        """Fold the verifier's verdict on the row's email."""
        verdict = answer.email_status
        if verdict == "invalid":
            # the guess does not deliver: drop it (it stays in the attempts) and fall through
            values = {k: v for k, v in row.values.items() if k != "email"}
            sources = {k: v for k, v in row.sources.items() if k != "email"}
            note = f"{self.wf.verify}: candidate email invalid"
            row = row.evolve(
                values=values, sources=sources, email_status=None, confidence=None,
                email_step=None, notes=(*row.notes, note),
            )  # fmt: skip
        elif verdict in ("valid", "catch_all", "risky", "unknown"):
            row = row.evolve(email_status=verdict)
        return self._settle(row)

    def _settle(self, row: RowState) -> RowState:
        settled = set(row.settled)
        if _email_settled(row, self.steps):
            settled.add("email")
        else:
            settled.discard("email")
        for name in self.fill_fields:
            if name != "email" and not missing(row.values.get(name)):
                settled.add(name)
        return row.evolve(settled=frozenset(settled))

    # -- everything that is not an answer ----------------------------------------------
    def failed(self, row: RowState, failure: Failure) -> RowState:
        """A lookup gave no answer: the walk ends (budget, cap, stop) or goes on, noted."""
        if failure.stops_row:
            ended = "stopped" if failure.kind == "stopped" else failure.kind
            return row.evolve(ended=ended, end_reason=failure.reason)
        if failure.kind == "error":
            return row.evolve(errors=(*row.errors, failure.reason))
        return row.evolve(notes=(*row.notes, failure.reason))

    def skipped(self, row: RowState, note: str) -> RowState:
        return row.evolve(notes=(*row.notes, note))

    def handed_off(self, row: RowState, step: Step) -> RowState:
        """A ``manual`` step: a person takes the row from here."""
        label = step.label or "manual research"
        return row.evolve(ended="manual", end_reason=f"handed off to {label}")

    # -- where it ends ------------------------------------------------------------------
    def outcome(self, row: RowState) -> RowOutcome:
        """The row's final status and reason (see the module docstring)."""
        return final_outcome(row)


def _email_change(row: RowState, index: int, value: Any, answer: Answer) -> dict[str, Any]:
    """How an email found by step ``index`` changes the row (fields to replace)."""
    if answer.email_status == "invalid":
        return {}
    current = row.values.get("email")
    from_input = row.sources.get("email") == "input"
    new = {"_replace": True, "value": value, "email_status": answer.email_status}
    new |= {"confidence": answer.confidence, "email_step": index}
    if missing(current) or (from_input and "email" not in row.settled):
        return new
    if str(current).lower() == str(value).lower():
        if _STATUS_RANK.get(answer.email_status, 0) > _STATUS_RANK.get(row.email_status, 0):
            return {"email_status": answer.email_status, "confidence": answer.confidence}
        return {}
    if answer.email_status == "valid" and row.email_status != "valid" and not from_input:
        return new  # a verified value replaces an unverified guess (kept in attempts)
    return {}


def _done(row: RowState, name: str, step: Step) -> bool:
    """Whether ``name`` needs nothing more from ``step``: the email under its stop rule, a
    phone under the step's ``phone_stop``, any other field once it is there."""
    if name == "email":
        return "email" in row.settled
    if name == "phone":
        if missing(row.values.get("phone")):
            return False
        return step.phone_stop == "first_any" or row.values.get("phone_type") == "mobile"
    return name in row.settled


def _phone_change(
    values: dict[str, Any], sources: dict[str, str], step: Step, value: Any, answer: Answer
) -> None:
    """A found number fills an empty phone; a mobile replaces another kind of line when the
    step is looking for a mobile (the first number stays in the attempts)."""
    kind = answer.fields.get("phone_type")
    current = values.get("phone")
    wants_mobile = step.phone_stop == "first_mobile" and values.get("phone_type") != "mobile"
    if missing(current) or (wants_mobile and kind == "mobile"):
        values["phone"], sources["phone"] = value, step.provider
        values["phone_type"] = kind
        sources["phone_type"] = step.provider


def _email_settled(row: RowState, steps: Sequence[Step]) -> bool:
    """Whether the row's email ends the search for one, under its step's rules."""
    if not row.has_email:
        return False
    if row.sources.get("email") == "input" or row.email_step is None:
        return not row.weak_input_email
    step = steps[row.email_step]
    if row.email_status == "valid":
        return True
    if row.email_status == "catch_all":
        if step.catch_all == "accept":
            return True
        if step.catch_all == "accept_if_confident":
            return (row.confidence or 0.0) >= step.min_confidence
        return False
    return step.stop == "first_hit"


def final_outcome(row: RowState) -> RowOutcome:
    """Where a row ends: status and reason (the email decides; see the module docstring)."""
    found = any(src != "input" for src in row.sources.values())
    notes = list(dict.fromkeys((*row.errors, *row.notes)))
    if row.ended in ("budget", "row_cap", "stopped"):
        # cut short: a resume continues it (its email, if any, is kept in the record)
        status = "stopped" if row.ended == "stopped" else "budget_exhausted"
        reason = row.end_reason
    elif found and (row.has_email or row.ended != "manual"):
        status, reason = "enriched", "; ".join(notes) or None
    elif row.has_email and not row.weak_input_email:
        status, reason = "enriched", "already complete in the input"
    elif row.ended == "manual":
        status, reason = "manual", row.end_reason
    elif row.errors:
        status, reason = "failed", "; ".join(notes)
    else:
        status = "not_found"
        if row.weak_input_email:
            notes.append("only the input email, flagged personal or invalid at intake")
        reason = "; ".join(notes) or "no provider found it"
    return RowOutcome(
        values=dict(row.values),
        sources=dict(row.sources),
        email_status=row.email_status if row.has_email else None,
        credits=0.0,
        cost_usd=0.0,
        attempts=0,
        status=status,
        reason=reason,
    )
