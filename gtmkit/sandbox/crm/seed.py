"""A simulated CRM that already knows some of the list: what makes a dry run worth reading.

:func:`seed_crm` puts part of an enriched list into a twin before the first sync, each person
in one of a few states a real portal or org is found in:

* ``stale``: the same email, an older title and no phone (→ an ``update`` of those);
* ``verified`` (CRMs only): the same person under another email the CRM holds as verified
  (matched by name and company domain → the merge policy keeps the CRM's email; only the
  empty fields are filled);
* ``current``: the same values the list has (→ ``skip``, nothing to change);
* ``in_sequence`` (sequencers only): in another, active sequence (→ ``skip``, left to the
  rep working them).

Deterministic for a seed: the same list gives the same CRM.

Example:
    >>> import polars as pl
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> twin = CrmTransport()
    >>> rows = pl.DataFrame({"row_id": [0, 1], "email": ["a@x.io", "b@x.io"],
    ...                      "title": ["CTO", "VP"], "status": ["enriched"] * 2})
    >>> seed_crm(twin, "hubspot", rows, share=1.0)["state"].to_list()
    ['stale', 'verified']
    >>> len(twin.app.apis["hubspot"].objects["contacts"])
    2
"""

from __future__ import annotations

import random
from typing import Any

import polars as pl

from gtmkit.sandbox.crm.app import CrmTransport

__all__ = ["OTHER_SEQUENCE", "seed_crm"]

#: the sequence (cadence) a rep already has some of the list in
OTHER_SEQUENCE = 4
_CRM_STATES = ("stale", "verified", "current")
# a sequencer is searched by email (and LinkedIn URL), not by name: a person under another
# email would be someone new there, so sequencers get no "verified" state
_SEQUENCER_STATES = ("stale", "current", "in_sequence")


def seed_crm(
    twin: CrmTransport,
    destination: str,
    records: pl.DataFrame,
    *,
    share: float = 0.2,
    seed: int = 7,
    object_type: str | None = None,
) -> pl.DataFrame:
    """Store ``share`` of the records that have an email in ``twin``'s ``destination``.

    Returns one row per stored person: ``row_id``, ``state``, ``destination_id``.
    """
    from gtmkit.sync import destination as make_destination

    options = {"object_type": object_type} if object_type else {}
    dest = make_destination(destination, transport=twin, **options)
    fields = dest.default_fields
    sequencer = destination in ("outreach", "salesloft")
    states = _SEQUENCER_STATES if sequencer else _CRM_STATES
    usable = records.filter(pl.col("email").is_not_null())
    if "status" in usable.columns:
        usable = usable.filter(pl.col("status") == "enriched")
    rows = usable.to_dicts()
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(len(rows)), round(len(rows) * share)))
    out = []
    for n, index in enumerate(chosen):
        row, state = rows[index], states[n % len(states)]
        props = {fields[c]: v for c, v in row.items() if c in fields and v is not None}
        if state == "stale":
            props.pop(fields.get("phone", ""), None)
            if "title" in fields:
                props[fields["title"]] = "Analyst"  # the job they had before
        elif state == "verified":
            local, _, domain = str(row["email"]).partition("@")
            props[fields["email"]] = f"{local}.work@{domain}"
            if "email_status" in fields:
                props[fields["email_status"]] = "valid"
            props.pop(fields.get("title", ""), None)
        out.append((row.get("row_id"), state, _store(twin, destination, dest, props, state)))
    schema = {"row_id": pl.Int64, "state": pl.String, "destination_id": pl.String}
    return pl.DataFrame(out, schema=schema, orient="row")


def _store(twin: CrmTransport, name: str, dest: Any, props: dict[str, Any], state: str) -> str:
    api: Any = twin.app.apis[name]
    if name == "hubspot":
        return str(api.add("contacts", props))
    if name == "salesforce":
        return str(api.add(dest.object_type, {"Company": "(unknown)", **props}))
    if name == "outreach":
        lists = {"emails", "workPhones", "mobilePhones", "tags"}
        pid = api.add({k: [v] if k in lists else v for k, v in props.items()})
        if state == "in_sequence":
            api.add_state(pid, OTHER_SEQUENCE, "active")
        return str(pid)
    pid = api.add(props)  # salesloft
    if state == "in_sequence":
        api.add_membership(pid, OTHER_SEQUENCE, True)
    return str(pid)
