"""The field mapping: which column of the records (a canonical field, or its ``_source``,
``email_status``, ``cost_usd``...) goes to which destination property, checked against the
destination's schema before anything is written.

An unknown property is a :class:`~gtmkit.sync.errors.MappingError` listing the close matches
(``difflib``), so a typo (``"firstnme"``) is caught at plan time, never half-way through a write.

Example:
    >>> fm = FieldMap({"email": "email", "first_name": "firstname"})
    >>> fm.check_schema({"email", "firstname", "lastname"}, destination="hubspot")
    >>> try:
    ...     FieldMap({"first_name": "firstnme"}).check_schema({"firstname"}, destination="x")
    ... except MappingError as exc:
    ...     print(str(exc)[:72])
    x has no property 'firstnme' (mapped from 'first_name'); did you mean: f
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gtmkit.sync.errors import MappingError

__all__ = ["FieldMap"]


@dataclass(frozen=True)
class FieldMap:
    """Records column → destination property, plus which columns grade which.

    Args:
        fields: records column → destination property (``{"email": "email"}``).
        quality: value column → the column grading it (``{"email": "email_status"}``): the
            merge policy never replaces a better-graded destination value with a worse one.
    """

    fields: Mapping[str, str]
    quality: Mapping[str, str] = field(default_factory=lambda: {"email": "email_status"})

    def __post_init__(self) -> None:
        if not self.fields:
            raise MappingError("a FieldMap needs at least one column → property pair")
        for column, prop in self.fields.items():
            if not (isinstance(column, str) and isinstance(prop, str) and column and prop):
                raise MappingError(
                    f"FieldMap entries must be non-empty strings, got {column!r} → {prop!r}"
                )
        props = list(self.fields.values())
        doubled = sorted({p for p in props if props.count(p) > 1})
        if doubled:
            raise MappingError(f"several columns map to the same property: {doubled}")

    def property_of(self, column: str) -> str | None:
        """The destination property ``column`` is written to, if it is mapped."""
        return self.fields.get(column)

    def check_columns(self, columns: Iterable[str]) -> None:
        """Every mapped column must be in the records (a missing one is a typo, not a blank)."""
        have = set(columns)
        missing = [c for c in self.fields if c not in have]
        if missing:
            hints = "; ".join(_suggest(c, have) for c in missing)
            raise MappingError(
                f"the records have no column {missing} named in the FieldMap ({hints})"
            )

    def check_schema(self, properties: Iterable[str], *, destination: str) -> None:
        """Every mapped property must exist in the destination (checked before any write)."""
        known = set(properties)
        for column, prop in self.fields.items():
            if prop not in known:
                close = difflib.get_close_matches(prop, sorted(known), n=3, cutoff=0.6)
                hint = f"did you mean: {', '.join(close)}?" if close else "no close match."
                raise MappingError(
                    f"{destination} has no property {prop!r} (mapped from {column!r}); {hint} "
                    f"Fix the FieldMap or create the property in {destination} first."
                )


def _suggest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    return f"{name!r}: did you mean {', '.join(close)}?" if close else f"{name!r}: no close match"
