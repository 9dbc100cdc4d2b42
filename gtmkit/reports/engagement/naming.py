"""What a report is called: its date, and the file stem ``<client>-<date>`` its files share.

Example:
    >>> from datetime import date
    >>> from gtmkit.reports.engagement.naming import report_day, report_stem
    >>> report_stem("Acme Analytics, Inc.", date(2026, 12, 3))
    'acme-analytics-inc-2026-12-03'
    >>> report_stem("Société Générale", date(2026, 12, 3))
    'societe-generale-2026-12-03'
    >>> report_day("2026-12-03")
    datetime.date(2026, 12, 3)
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from gtmkit.reports.engagement.errors import ReportInputError

__all__ = ["client_slug", "report_day", "report_stem", "segment_label"]

#: How the truth file's and lists' segment columns read in a report.
SEGMENT_NAMES = {
    "employee_band": "Company size (employees)",
    "industry": "Industry",
    "region": "Region",
    "seniority": "Seniority",
    "department": "Department",
    "country_code": "Country",
}


def client_slug(client: str) -> str:
    """The client's name as a file-name part: lowercase ASCII words joined by ``-``."""
    folded = unicodedata.normalize("NFKD", client).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:60].rstrip("-") or "client"


def report_day(text: str | date | None = None) -> date:
    """The report's date: an ISO date (``YYYY-MM-DD``), or today when empty.

    Raises:
        ReportInputError: the text is not an ISO date.
    """
    if isinstance(text, date):
        return text
    if not text:
        return date.today()
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ReportInputError(
            f"report_date must be a date like 2026-12-03 (or empty for today), got {text!r}"
        ) from None


def report_stem(client: str, day: date) -> str:
    """``<client>-<YYYY-MM-DD>``: the name every file of one report starts with."""
    return f"{client_slug(client)}-{day.isoformat()}"


def segment_label(column: str | None) -> str:
    """How a segment column reads in the report (``employee_band`` → company size).

    Example:
        >>> segment_label("employee_band"), segment_label("deal_stage")
        ('Company size (employees)', 'Deal stage')
    """
    name = column or "segment"
    return SEGMENT_NAMES.get(name, name.replace("_", " ").capitalize())
