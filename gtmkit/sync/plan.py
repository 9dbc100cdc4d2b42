"""The dry run: one row per record — create, update or skip, and what changes from what to
what — computed from the destination's current records, the merge policy and the sync ledger,
before anything is written.

:func:`plan` reads (schema, search) but never writes; :func:`gtmkit.sync.write` takes the plan
it returned. The plan's frame is what a person reviews:

``row_id, record_key, action, matched_by, destination_id, changes, n_changes, reason``

and ``plan.diff`` has one row per changed property (``row_id, record_key, property, from,
to``).

Example:
    >>> import polars as pl, tempfile, pathlib
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> from gtmkit.sync import destination
    >>> twin = CrmTransport()
    >>> _ = twin.app.apis["hubspot"].add("contacts", {"email": "ada@x.io", "firstname": "A"})
    >>> rows = pl.DataFrame({"email": ["ADA@x.io"], "first_name": ["Ada"]})
    >>> led = pathlib.Path(tempfile.mkdtemp()) / "s.sqlite"
    >>> p = plan(rows, destination("hubspot", transport=twin), ledger=led)
    >>> p.frame.select("action", "matched_by", "changes").row(0)
    ('update', 'email', "firstname: 'A' → 'Ada'")
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack

import polars as pl

from gtmkit.schema import ROW_ID
from gtmkit.sync.dedupe import Existing, Matcher, domain_of, record_keys
from gtmkit.sync.destinations.base import Destination, Item, Session
from gtmkit.sync.errors import MappingError
from gtmkit.sync.ledger import Synced, SyncLedger, sync_ledger_path
from gtmkit.sync.mapping import FieldMap
from gtmkit.sync.merge import is_empty, merge, same_value
from gtmkit.waterfall.options import DEFAULT_LEDGER_PATH
from gtmkit.waterfall.sync import run_sync

__all__ = ["DEFAULT_SYNC_LEDGER", "PLAN_SCHEMA", "PlanOptions", "SyncPlan", "aplan", "plan"]

Action = Literal["create", "update", "skip"]

#: Where syncs are recorded unless told otherwise: beside the default run ledger.
DEFAULT_SYNC_LEDGER = sync_ledger_path(DEFAULT_LEDGER_PATH)

PLAN_SCHEMA: dict[str, Any] = {
    ROW_ID: pl.Int64,
    "record_key": pl.String,
    "action": pl.String,
    "matched_by": pl.String,
    "destination_id": pl.String,
    "changes": pl.String,
    "n_changes": pl.Int64,
    "reason": pl.String,
}
DIFF_SCHEMA: dict[str, Any] = {
    ROW_ID: pl.Int64,
    "record_key": pl.String,
    "property": pl.String,
    "from": pl.String,
    "to": pl.String,
}
#: waterfall statuses whose rows are not people to sync
_NOT_SYNCED = {"rejected": "rejected at intake", "duplicate": "a duplicate row of the list"}


@dataclass
class SyncPlan:
    """A dry run's answer. Pass it to :func:`gtmkit.sync.write` to carry it out.

    Attributes:
        frame: one row per record (``PLAN_SCHEMA``).
        diff: one row per property that changes.
        destination, fields, ledger_path, overwrite: what it was planned with.
    """

    destination: Destination
    fields: FieldMap
    ledger_path: Path
    frame: pl.DataFrame
    diff: pl.DataFrame
    overwrite: bool = False
    items: dict[str, list[Item]] = field(default_factory=dict, repr=False)
    written: bool = False

    def __repr__(self) -> str:
        return f"SyncPlan({self.destination!r}, {self.counts()}, written={self.written})"

    def counts(self) -> dict[str, int]:
        """Records per action (``create``, ``update``, ``skip``)."""
        got = dict(self.frame.group_by("action").len().iter_rows())
        return {a: int(got.get(a, 0)) for a in ("create", "update", "skip")}

    def _repr_html_(self) -> str:
        from gtmkit.sync.view import Table, preview

        counts = ", ".join(f"{n} {a}" for a, n in self.counts().items())
        head = html.escape(f"Dry run for {self.destination.name} {self.destination.object_type}")
        columns = [ROW_ID, "action", "matched_by", "destination_id", "changes", "reason"]
        table = Table(
            preview(self.frame, first=("update", "skip")),  # what touches existing records first
            columns=columns,
            caption="A few records of each action:",
        )._repr_html_()
        return f"<p><b>{head}</b>: {html.escape(counts)}. Nothing written yet.</p>{table}"


def _frame_of(records: Any) -> pl.DataFrame:
    frame = getattr(records, "records", records)
    if not isinstance(frame, pl.DataFrame):
        raise MappingError(
            "sync takes a polars DataFrame, a LoadedList or a WaterfallResult (its .records), "
            f"not {type(records).__name__}"
        )
    if ROW_ID not in frame.columns:
        frame = frame.with_row_index(ROW_ID)
    return frame


def _fields_for(destination: Destination, fields: FieldMap | None, columns: list[str]) -> FieldMap:
    if fields is None:
        present = {c: p for c, p in destination.default_fields.items() if c in columns}
        if not present:
            raise MappingError(
                f"none of {destination.name}'s default columns "
                f"{sorted(destination.default_fields)} are in the records: pass a FieldMap"
            )
        return FieldMap(present)
    fields.check_columns(columns)
    return fields


def _show(value: Any) -> str:
    return "∅" if is_empty(value) else repr(str(value))


class PlanOptions(TypedDict, total=False):
    """How a dry run is made: the keyword options of :func:`plan`, :func:`aplan` and
    :func:`gtmkit.sync.run`.

    Attributes:
        ledger: the sync ledger (default beside the run ledger: ``data/ledger.sync.sqlite``).
        overwrite: let incoming values replace better-graded destination values.
        only_failed: plan only the records the ledger holds as failed (a retry).
    """

    ledger: str | Path
    overwrite: bool
    only_failed: bool


def plan(
    records: Any,
    destination: Destination,
    fields: FieldMap | None = None,
    **options: Unpack[PlanOptions],
) -> SyncPlan:
    """Dry-run a sync: read the destination, decide every record, write nothing.

    Args:
        records: a frame with canonical columns (or a ``LoadedList`` / ``WaterfallResult``).
        destination: where to (``gtmkit.sync.destination(...)``).
        fields: the mapping (default: the destination's ``default_fields`` present).
        **options: ``ledger``, ``overwrite``, ``only_failed`` (:class:`PlanOptions`).
    """
    return run_sync(aplan(records, destination, fields, **options))


async def aplan(
    records: Any,
    destination: Destination,
    fields: FieldMap | None = None,
    *,
    ledger: str | Path = DEFAULT_SYNC_LEDGER,
    overwrite: bool = False,
    only_failed: bool = False,
) -> SyncPlan:
    """:func:`plan` for code already in an event loop."""
    frame = _frame_of(records)
    fmap = _fields_for(destination, fields, frame.columns)
    ledger_path = Path(ledger)
    with SyncLedger(ledger_path) as led:
        synced = led.synced(destination.name, destination.object_type)
        failed_keys = led.failed_keys(destination.name, destination.object_type)
    rows = frame.to_dicts()
    async with destination.client() as client:
        session = destination.session(client)
        fmap.check_schema(await destination.schema(session), destination=destination.name)
        existing = await _find_existing(session, destination, fmap, rows)
    props = destination.match_properties(fmap.fields)
    matcher = Matcher(
        props["email_prop"],
        props["linkedin_prop"],
        props["first_prop"],
        props["last_prop"],
        props["domain_prop"],
    )
    matcher.add(existing)
    decided = _decide(rows, destination, fmap, matcher, synced, overwrite, only_failed, failed_keys)
    plan_rows, diff_rows, items = decided
    return SyncPlan(
        destination=destination,
        fields=fmap,
        ledger_path=ledger_path,
        frame=pl.DataFrame(plan_rows, schema=PLAN_SCHEMA, orient="row"),
        diff=pl.DataFrame(diff_rows, schema=DIFF_SCHEMA, orient="row"),
        overwrite=overwrite,
        items=items,
    )


async def _find_existing(
    session: Session, destination: Destination, fmap: FieldMap, rows: list[dict[str, Any]]
) -> list[Existing]:
    """Search the destination by every match key the records carry (batched by the client)."""
    props = destination.match_properties(fmap.fields)
    values: dict[str, list[str]] = {}

    def want(prop: str | None, value: Any) -> None:
        if prop and not is_empty(value):
            bucket = values.setdefault(prop, [])
            text = str(value).strip()
            if text not in bucket:
                bucket.append(text)

    for row in rows:
        want(props["email_prop"], str(row.get("email") or "").lower() or None)
        want(props["linkedin_prop"], row.get("linkedin_url"))
        if not is_empty(row.get("first_name")) and not is_empty(row.get("last_name")):
            want(props["domain_prop"], domain_of(row.get("company_domain")))
    wanted = sorted(set(fmap.fields.values()))
    return await destination.find(session, values, wanted) if values else []


def _decide(
    rows: list[dict[str, Any]],
    destination: Destination,
    fmap: FieldMap,
    matcher: Matcher,
    synced: Mapping[str, Synced],
    overwrite: bool,
    only_failed: bool,
    failed_keys: set[str],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], dict[str, list[Item]]]:
    plan_rows: list[tuple[Any, ...]] = []
    diff_rows: list[tuple[Any, ...]] = []
    items: dict[str, list[Item]] = {"create": [], "update": []}
    first_row_of: dict[str, Any] = {}

    def skip(
        row_id: Any,
        key: str | None,
        reason: str,
        matched: str | None = None,
        dest_id: str | None = None,
    ) -> None:
        plan_rows.append((row_id, key, "skip", matched, dest_id, "", 0, reason))

    for row in rows:
        row_id = row.get(ROW_ID)
        status = row.get("status")
        if isinstance(status, str) and status in _NOT_SYNCED:
            skip(row_id, None, _NOT_SYNCED[status])
            continue
        keys = record_keys(row)
        if not keys:
            skip(row_id, None, "no email, LinkedIn URL or name + company domain to match on")
            continue
        key = keys[0]
        dup = next((first_row_of[k] for k in keys if k in first_row_of), None)
        if dup is not None:
            skip(row_id, key, f"duplicate of row {dup} in these records")
            continue
        for k in keys:
            first_row_of.setdefault(k, row_id)
        if only_failed and failed_keys.isdisjoint(keys):
            skip(row_id, key, "not a failed record (retry of failures only)")
            continue
        found, matched_by = matcher.match(keys)
        if matched_by and matched_by.startswith("ambiguous"):
            skip(
                row_id,
                key,
                f"several {destination.name} records match its "
                f"{matched_by.split(':', 1)[1]}: merge them there first",
                matched_by,
            )
            continue
        known = synced.get(key)
        if found is None and known is not None:  # written by us before, not found by search
            found, matched_by = Existing(known.dest_id, dict(known.properties)), "ledger"
        note = destination.plan_notes(Item(key, row_id, {}, record=row), found)
        if note:
            skip(row_id, key, note, matched_by, found.id if found else None)
            continue
        result = merge(found.properties if found else None, row, fmap, overwrite=overwrite)
        result.changes.update(destination.followups(found))
        kept = "; ".join(f"{prop}: {why}" for prop, why in result.kept.items())
        if known is not None and found is not None and _already_written(known, result.changes):
            skip(row_id, key, "unchanged since the last sync (sync ledger)", matched_by, found.id)
            continue
        if not result.changes:
            why = f"nothing to change ({kept})" if kept else "nothing to change"
            skip(row_id, key, why, matched_by, found.id if found else None)
            continue
        action = "update" if found is not None else "create"
        shown = "; ".join(f"{p}: {_show(a)} → {_show(b)}" for p, (a, b) in result.changes.items())
        note = kept or None
        plan_rows.append(
            (
                row_id,
                key,
                action,
                matched_by,
                found.id if found else None,
                shown,
                len(result.changes),
                note,
            )
        )
        for prop, (old, new) in result.changes.items():
            diff_rows.append((row_id, key, prop, None if is_empty(old) else str(old), str(new)))
        items[action].append(
            Item(
                key,
                row_id,
                {p: new for p, (_, new) in result.changes.items()},
                dest_id=found.id if found else None,
                record=row,
            )
        )
    return plan_rows, diff_rows, items


def _already_written(known: Synced, changes: Mapping[str, tuple[Any, Any]]) -> bool:
    """Every change is a value the ledger says we already wrote (the destination has not been
    read back yet, or lags): nothing to send again."""
    return all(same_value(known.properties.get(p), new) for p, (_, new) in changes.items())
