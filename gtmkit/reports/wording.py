"""How a count is put into prose: "1 row", "2 rows", "1 answer was", "3 answers were".

One helper for every sentence, caption, chart title and summary that says how many of
something there are, so no reader ever sees "1 rows could not be looked up". English plurals
here are regular ("row" → "rows") unless the irregular form is given ("company", "companies").

Example:
    >>> from gtmkit.reports.wording import counted, plural
    >>> counted(1, "row"), counted(1921, "row"), counted(0, "email")
    ('1 row', '1,921 rows', '0 emails')
    >>> counted(2, "company", "companies"), plural(1, "was", "were"), plural(3, "was", "were")
    ('2 companies', 'was', 'were')
"""

from __future__ import annotations

__all__ = ["counted", "plural"]


def plural(n: float | int | None, singular: str, many: str | None = None) -> str:
    """``singular`` when ``n`` is exactly one, else ``many`` (default: ``singular + "s"``).

    A count that is unknown (``None``) reads as plural ("— rows").
    """
    if n is not None and abs(n) == 1:
        return singular
    return many if many is not None else f"{singular}s"


def counted(
    n: int | float, singular: str, many: str | None = None, *, number: str | None = None
) -> str:
    """``n`` with thousands separators and the right form of the noun (``1,921 rows``).

    Args:
        number: how ``n`` is written when not plain digits (a report's figure span, ``3.5k``).
    """
    text = number if number is not None else f"{round(n):,}"
    return f"{text} {plural(n, singular, many)}"
