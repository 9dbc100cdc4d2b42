"""The merge policy: what one incoming record may change in the destination's copy of it.

Rules (``overwrite=False``, the default):

* an empty incoming value never replaces a non-empty destination value;
* a value graded worse than the destination's (``FieldMap.quality``: an email whose status is
  ``risky`` over one the destination holds as ``valid``) is kept out, and so is its grade;
* equal values are not changes (compared as text, trimmed; emails case-insensitively).

``overwrite=True`` lets every non-empty incoming value through (empties still never blank a
field: clearing a CRM field is not something a sync should do by accident).

Example:
    >>> from gtmkit.sync.mapping import FieldMap
    >>> fm = FieldMap({"email": "email", "email_status": "gtm_status", "title": "jobtitle"})
    >>> existing = {"email": "ada@x.io", "gtm_status": "valid", "jobtitle": "CTO"}
    >>> incoming = {"email": "a.lovelace@x.io", "email_status": "risky", "title": ""}
    >>> merge(existing, incoming, fm).changes
    {}
    >>> merge(existing, incoming, fm, overwrite=True).changes
    {'email': ('ada@x.io', 'a.lovelace@x.io'), 'gtm_status': ('valid', 'risky')}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gtmkit.sync.mapping import FieldMap

__all__ = ["EMAIL_STATUS_RANK", "Merge", "is_empty", "merge", "same_value"]

#: Grade of an email status (higher is better); an unknown or missing grade is 1.
EMAIL_STATUS_RANK: dict[str, int] = {
    "valid": 4,
    "verified": 4,
    "catch_all": 3,
    "accept_all": 3,
    "risky": 2,
    "unknown": 1,
    "unverified": 1,
    "invalid": 0,
}


def is_empty(value: Any) -> bool:
    """``None``, blank text, or an empty container."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float) and value != value:  # NaN
        return True
    if isinstance(value, (list, tuple, dict, set)):
        return not value
    return False


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def same_value(a: Any, b: Any, *, case_insensitive: bool = False) -> bool:
    """Whether two values are the same as a CRM stores them (text, trimmed)."""
    if is_empty(a) and is_empty(b):
        return True
    if is_empty(a) or is_empty(b):
        return False
    left, right = _text(a), _text(b)
    return left.lower() == right.lower() if case_insensitive else left == right


def _rank(value: Any) -> int:
    return EMAIL_STATUS_RANK.get(str(value).strip().lower(), 1) if not is_empty(value) else 1


@dataclass
class Merge:
    """What a record changes: property → (from, to); and what the policy kept out and why."""

    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)


def merge(
    existing: Mapping[str, Any] | None,
    incoming: Mapping[str, Any],
    fields: FieldMap,
    *,
    overwrite: bool = False,
) -> Merge:
    """The changes ``incoming`` (records columns) makes to ``existing`` (destination properties).

    ``existing=None`` is a new record: every non-empty mapped value is a change from ``None``.
    """
    current: Mapping[str, Any] = existing or {}
    out = Merge()
    guarded: set[str] = set()  # grade columns whose value was kept out: their grade stays too
    if existing is not None and not overwrite:
        for value_col, grade_col in fields.quality.items():
            prop = fields.property_of(value_col)
            grade_prop = fields.property_of(grade_col)
            if prop is None or is_empty(current.get(prop)):
                continue
            their_grade = current.get(grade_prop) if grade_prop else None
            theirs = _rank(their_grade) if grade_prop else 1
            ours = _rank(incoming.get(grade_col))
            same = same_value(current.get(prop), incoming.get(value_col), case_insensitive=True)
            if same and ours < theirs:
                # the same value graded worse here: its better grade there stands
                out.kept[grade_prop or grade_col] = (
                    f"kept grade {their_grade!r} (graded {incoming.get(grade_col)!r} here)"
                )
                guarded.add(grade_col)
            elif (
                not same
                and not is_empty(incoming.get(value_col))
                and (ours < theirs or (ours == theirs and grade_prop is not None))
            ):
                # a different value, not better graded: the destination's (maybe set by hand)
                # stands, and so does its grade
                out.kept[prop] = (
                    f"kept {current.get(prop)!r}: graded {their_grade!r} there, "
                    f"{incoming.get(grade_col)!r} here"
                )
                guarded.update((value_col, grade_col))
    for column, prop in fields.fields.items():
        if column in guarded:
            continue
        new = incoming.get(column)
        old = current.get(prop)
        if is_empty(new):
            if not is_empty(old):
                out.kept.setdefault(prop, "empty here: the destination's value stands")
            continue
        if same_value(old, new, case_insensitive=column == "email"):
            continue
        out.changes[prop] = (None if is_empty(old) else old, new)
    return out
