"""The column mapping as dropdowns a person can correct, and the counts it leads to.

Intake maps headers to canonical fields by itself (``gtmkit.lists.headers``); when it guesses
wrong ("Mail" is the assistant's address, "Company" is the parent company), the person picks
the right field. Only their corrections go back to ``load_list(mapping=...)``: every other
column keeps the automatic match, and a field given to a column by hand is taken from the
column that had it.

Example:
    >>> from gtmkit.lists import load_list
    >>> loaded = load_list(b"Mail,Name\\nann@acme.com,Ann\\n", filename="l.csv")
    >>> source_headers(loaded)
    ['Mail', 'Name']
    >>> full_mapping(loaded)
    {'Mail': 'email', 'Name': 'full_name'}
    >>> corrected({}, "Name", "first_name")
    {'Name': 'first_name'}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from gtmkit.lists.load import REASON, LoadedList
from gtmkit.lists.upload import intake_counts
from gtmkit.reports.wording import counted
from gtmkit.schema import CANONICAL_FIELDS, ROW_ID

__all__ = [
    "NOT_USED",
    "MappingEditor",
    "corrected",
    "counts_line",
    "full_mapping",
    "reject_reasons",
    "source_headers",
]

#: The dropdown value of a column that is not used.
NOT_USED = ""
_OVERFLOW = re.compile(r"^extra_field_\d+$")


def source_headers(loaded: LoadedList) -> list[str]:
    """The source's headers, in file order, as ``load_list(mapping=...)`` names them.

    ``rejected`` keeps every source column (renaming the two that clash with its own
    ``row_id``/``reason``), followed by any overflow columns of ragged rows.
    """
    clash = {f"{ROW_ID} (source)": ROW_ID, f"{REASON} (source)": REASON}
    columns = loaded.rejected.columns[2:]
    return [clash.get(c, c) for c in columns if not _OVERFLOW.match(c)]


def full_mapping(loaded: LoadedList) -> dict[str, str | None]:
    """Every source header → its canonical field, or ``None`` when it is not used."""
    return {h: loaded.mapping.get(h) for h in source_headers(loaded)}


def corrected(
    corrections: Mapping[str, str | None], header: str, field: str | None
) -> dict[str, str | None]:
    """The corrections after a person set ``header`` to ``field`` (``None``: not used).

    A field goes to one column: an earlier correction that gave it to another column is
    turned into "not used".

    Example:
        >>> corrected({"A": "email"}, "B", "email")
        {'A': None, 'B': 'email'}
    """
    out = dict(corrections)
    if field is not None:
        for other, value in out.items():
            if other != header and value == field:
                out[other] = None
    out[header] = field
    return out


def reject_reasons(loaded: LoadedList, *, top: int = 5) -> list[tuple[str, int]]:
    """The most common reasons rows were rejected, with their counts."""
    if loaded.rejected.height == 0:
        return []
    counts = loaded.rejected.group_by(REASON).len().sort(["len", REASON], descending=True)
    return [(str(reason), int(n)) for reason, n in counts.head(top).iter_rows()]


def counts_line(loaded: LoadedList) -> str:
    """``"300 rows: 290 accepted, 10 rejected, 4 duplicates"`` (the counts intake reports).

    Example:
        >>> from gtmkit.lists import load_list
        >>> counts_line(load_list(b"Email\\nann@acme.com\\n\\nann@acme.com\\n", filename="l.csv"))
        '3 rows: 2 accepted, 1 rejected, 1 duplicate'
    """
    c = intake_counts(loaded)
    return (
        f"{counted(c['rows'], 'row')}: {c['accepted']:,} accepted, {c['rejected']:,} rejected, "
        f"{counted(c['duplicates'], 'duplicate')}"
    )


class MappingEditor:
    """One dropdown per source column; a change calls ``on_change(corrections)``.

    The owner reloads the list with ``mapping=corrections`` and calls :meth:`show` with the
    result, which resets the dropdowns to what intake actually did (a correction that moved a
    field shows the column that lost it as "not used").
    """

    def __init__(self, on_change: Callable[[dict[str, str | None]], object]) -> None:
        import ipywidgets as w

        self._w = w
        self.on_change = on_change
        self.corrections: dict[str, str | None] = {}
        self.dropdowns: dict[str, Any] = {}
        self._quiet = False
        self.counts = w.HTML(layout=w.Layout(margin="4px 0"))
        self.grid = w.GridBox(
            layout=w.Layout(grid_template_columns="repeat(3, 300px)", grid_gap="4px 16px")
        )
        self.widget = w.VBox([self.grid, self.counts])

    def show(self, loaded: LoadedList) -> None:
        """Show ``loaded``'s mapping and counts (rebuilding the dropdowns for new headers)."""
        w = self._w
        mapping = full_mapping(loaded)
        options = [("(not used)", NOT_USED), *((f, f) for f in CANONICAL_FIELDS)]
        self._quiet = True
        try:
            if list(self.dropdowns) != list(mapping):
                self.dropdowns = {}
                for header in mapping:
                    dropdown = w.Dropdown(
                        options=options,
                        description=header,
                        style={"description_width": "120px"},
                        layout=w.Layout(width="290px"),
                    )
                    dropdown.add_class("gtmkit-mapping")
                    dropdown.observe(self._changed(header), names="value")
                    self.dropdowns[header] = dropdown
                self.grid.children = tuple(self.dropdowns.values())
            for header, field in mapping.items():
                self.dropdowns[header].value = field or NOT_USED
        finally:
            self._quiet = False
        self.counts.value = counts_html(loaded)

    def reset(self) -> None:
        """A new list: forget the corrections made to the previous one."""
        self.corrections = {}

    def set(self, header: str, field: str | None) -> None:
        """Correct ``header`` to ``field`` as the dropdown would (for code and tests)."""
        self.dropdowns[header].value = field or NOT_USED

    def _changed(self, header: str) -> Callable[[dict[str, Any]], None]:
        def handler(change: dict[str, Any]) -> None:
            if self._quiet:
                return
            field = change["new"] or None
            self.corrections = corrected(self.corrections, header, field)
            self.on_change(dict(self.corrections))

        return handler


def counts_html(loaded: LoadedList) -> str:
    """The counts line and the top reject reasons, as the panel shows them."""
    from html import escape

    reasons = "".join(f"<li>{n:,} × {escape(reason)}</li>" for reason, n in reject_reasons(loaded))
    more = f"<ul class='gtmkit-reasons'>{reasons}</ul>" if reasons else ""
    return f"<b class='gtmkit-counts'>{escape(counts_line(loaded))}</b>{more}"
