"""Carry out a dry-run plan: batches of creates and updates, per-record outcomes into the sync
ledger as each batch answers, follow-ups (associations, sequence enrollment), and a result
frame where every planned record is accounted for (written, failed with its reason, skipped).

The write requires the plan: :func:`write` takes the :class:`~gtmkit.sync.plan.SyncPlan` that
:func:`gtmkit.sync.plan` returned (a plan is written once); batch runs that nobody reviews
call :func:`run` with ``confirm=True``.

Example:
    >>> import polars as pl
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> from gtmkit.sync import destination
    >>> hubspot = destination("hubspot", transport=CrmTransport())
    >>> try:
    ...     run(pl.DataFrame({"email": ["a@x.io"]}), hubspot)
    ... except PlanNotSeen as exc:
    ...     print(str(exc)[:39])
    sync.run writes without showing the dry
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Unpack

import polars as pl

from gtmkit.schema import ROW_ID
from gtmkit.sync.dedupe import record_keys
from gtmkit.sync.destinations.base import Destination, Item, Outcome, Session
from gtmkit.sync.errors import DestinationError, PlanNotSeen
from gtmkit.sync.ledger import SyncLedger
from gtmkit.sync.mapping import FieldMap
from gtmkit.sync.plan import PlanOptions, SyncPlan, aplan
from gtmkit.waterfall.sync import run_sync

__all__ = ["RESULT_SCHEMA", "SyncResult", "run", "write"]

RESULT_SCHEMA: dict[str, Any] = {
    ROW_ID: pl.Int64,
    "record_key": pl.String,
    "action": pl.String,
    "status": pl.String,
    "destination_id": pl.String,
    "reason": pl.String,
}


@dataclass
class SyncResult:
    """What a write did.

    Attributes:
        frame: one row per planned record: ``status`` is ``written``, ``failed`` or
            ``skipped`` (``RESULT_SCHEMA``).
        stopped: why the write stopped early (a daily limit, a refused credential), if it did;
            the records it did not reach are ``failed`` with that reason, kept for retry.
        calls: HTTP calls made; retries: of those, retries after 429/5xx; waited_s: pacing.
    """

    destination: str
    object_type: str
    frame: pl.DataFrame
    stopped: str | None
    calls: int
    retries: int
    waited_s: float

    def counts(self) -> dict[str, int]:
        """``created``, ``updated``, ``failed``, ``skipped`` records."""
        f = self.frame
        written = f.filter(pl.col("status") == "written")
        return {
            "created": written.filter(pl.col("action") == "create").height,
            "updated": written.filter(pl.col("action") == "update").height,
            "failed": f.filter(pl.col("status") == "failed").height,
            "skipped": f.filter(pl.col("status") == "skipped").height,
        }

    def failures(self) -> pl.DataFrame:
        """The failed records and why (they are in the sync ledger's failed table too)."""
        return self.frame.filter(pl.col("status") == "failed")

    def __repr__(self) -> str:
        return f"SyncResult({self.destination!r}, {self.counts()}, stopped={self.stopped!r})"

    def _repr_html_(self) -> str:
        from gtmkit.sync.view import Table, preview

        counts = ", ".join(f"{n} {k}" for k, n in self.counts().items())
        head = f"Synced to {self.destination} {self.object_type}: {counts}"
        if self.stopped:
            head += f" (stopped: {self.stopped})"
        # the failures first (each with its reason), then a few of the rest
        rest = self.frame.filter(pl.col("status") != "failed")
        shown = pl.concat([self.failures(), preview(rest, by="status")])
        columns = [ROW_ID, "action", "status", "destination_id", "reason"]
        table = Table(shown, columns=columns, caption="Failures first, then a few of each:")
        return f"<p><b>{html.escape(head)}</b></p>{table._repr_html_()}"


def write(plan: SyncPlan) -> SyncResult:
    """Write what ``plan`` (from :func:`gtmkit.sync.plan`) says; each plan once."""
    if not isinstance(plan, SyncPlan):
        raise PlanNotSeen(
            "write() takes the SyncPlan that sync.plan(...) returned (review its .frame "
            "first); for unattended batch runs use sync.run(..., confirm=True)"
        )
    if plan.written:
        raise PlanNotSeen(
            "this plan was already written; make a new one with sync.plan(...) (it will show "
            "what is left to do)"
        )
    plan.written = True
    return run_sync(_awrite(plan))


def run(
    records: Any,
    destination: Destination,
    fields: FieldMap | None = None,
    *,
    confirm: bool = False,
    **options: Unpack[PlanOptions],
) -> SyncResult:
    """Plan and write in one go, for batch runs: ``confirm=True`` says nobody reviews the plan.

    The plan is still made (and its outcome is in the result), it is just not shown first.
    ``options`` are :func:`gtmkit.sync.plan`'s (``ledger``, ``overwrite``, ``only_failed``).
    """
    if confirm is not True:
        raise PlanNotSeen(
            "sync.run writes without showing the dry run: pass confirm=True for a batch run, "
            "or call sync.plan(...) and sync.write(plan) to review it first"
        )

    async def main() -> SyncResult:
        planned = await aplan(records, destination, fields, **options)
        planned.written = True
        return await _awrite(planned)

    return run_sync(main())


async def _awrite(plan: SyncPlan) -> SyncResult:
    dest = plan.destination
    outcomes: dict[str, Outcome] = {}
    stopped: str | None = None
    with SyncLedger(plan.ledger_path) as led:
        async with dest.client() as client:
            session = dest.session(client)
            for action in ("create", "update"):
                items = plan.items.get(action, [])
                bulk = dest.use_bulk(len(items))
                size = max(1, len(items)) if bulk else dest.batch_size
                for start in range(0, len(items), size):
                    batch = items[start : start + size]
                    if stopped is not None:
                        got = [
                            Outcome(i.record_key, False, kind="not_sent", reason=stopped)
                            for i in batch
                        ]
                    else:
                        try:
                            got, halted = await _send(session, dest, action, batch, bulk=bulk)
                        except DestinationError as exc:
                            got, halted = (
                                [
                                    Outcome(i.record_key, False, kind=exc.kind, reason=str(exc))
                                    for i in batch
                                ],
                                exc,
                            )
                        if halted is not None:
                            stopped = str(halted)
                    _record(led, dest, action, batch, got)
                    outcomes.update({o.record_key: o for o in got})
            calls, retries, waited = session.calls, session.retries, session.waited_s
    rows = []
    for row in plan.frame.iter_rows(named=True):
        key = row["record_key"]
        if row["action"] == "skip":
            rows.append((row[ROW_ID], key, "skip", "skipped", row["destination_id"], row["reason"]))
            continue
        done = outcomes[key]
        rows.append(
            (
                row[ROW_ID],
                key,
                row["action"],
                "written" if done.ok else "failed",
                done.dest_id or row["destination_id"],
                done.reason or None,
            )
        )
    return SyncResult(
        destination=dest.name,
        object_type=dest.object_type,
        frame=pl.DataFrame(rows, schema=RESULT_SCHEMA, orient="row"),
        stopped=stopped,
        calls=calls,
        retries=retries,
        waited_s=waited,
    )


async def _send(
    session: Session, dest: Destination, action: str, batch: list[Item], *, bulk: bool = False
) -> tuple[list[Outcome], DestinationError | None]:
    """One batch's outcomes, and the error that stopped its follow-ups, if one did (the
    records themselves are written: they keep their outcome, noted)."""
    if bulk:
        got = await dest.bulk(session, action, batch)
    elif action == "create":
        got = await dest.create(session, batch)
    else:
        got = await dest.update(session, batch)
    if len(got) != len(batch):  # a client bug must not lose a record silently
        raise DestinationError(
            f"{dest.name} client returned {len(got)} outcomes for {len(batch)} records",
            destination=dest.name,
            kind="client_bug",
        )
    written = [(item, out) for item, out in zip(batch, got, strict=True) if out.ok]
    halted: DestinationError | None = None
    if written:
        try:
            await dest.after_write(session, written)
        except DestinationError as exc:
            halted = exc
            for _, out in written:
                if out.ok and not out.reason:
                    out.reason = f"written; its follow-up was not done: {exc}"
    for out in got:  # a vendor's message may quote the request back, credential included
        out.reason = dest.redact(out.reason)
    return got, halted


def _record(
    led: SyncLedger, dest: Destination, action: str, batch: list[Item], got: list[Outcome]
) -> None:
    ok = [
        (i.record_key, o.dest_id or "", i.properties, action)
        for i, o in zip(batch, got, strict=True)
        if o.ok
    ]
    # a failure after part of the write landed: the part is recorded with its id as well
    ok += [
        (i.record_key, o.dest_id, o.landed, action)
        for i, o in zip(batch, got, strict=True)
        if not o.ok and o.dest_id and o.landed is not None
    ]
    bad = [
        (i.record_key, o.kind or "failed", o.reason or "failed", i.properties)
        for i, o in zip(batch, got, strict=True)
        if not o.ok
    ]
    # every match key of each record: a failure left under an old key (the email HubSpot
    # refused, fixed since) is found and cleared when the record is written under its new one
    keys = {i.record_key: record_keys(i.record) for i in batch if i.record}
    if ok:
        led.record_success(dest.name, dest.object_type, ok, match_keys=keys)
    if bad:
        led.record_failure(dest.name, dest.object_type, bad, match_keys=keys)
