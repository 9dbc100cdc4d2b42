"""Lead-list intake: read a messy client list, map it to canonical fields, normalize it,
reject rows nobody could look up (with the reason), link duplicates, and export safely.

Example:
    >>> from gtmkit.lists import load_list
    >>> leads = load_list(b"Email\\nann@acme.com\\n", filename="leads.csv")
    >>> leads.records["email"].to_list()
    ['ann@acme.com']
"""

from __future__ import annotations

from gtmkit.lists.errors import ListError
from gtmkit.lists.export import export_csv, neutralize_formulas
from gtmkit.lists.load import LoadedList, load_list
from gtmkit.lists.read import SourceInfo

__all__ = [
    "ListError",
    "LoadedList",
    "SourceInfo",
    "export_csv",
    "load_list",
    "neutralize_formulas",
]
