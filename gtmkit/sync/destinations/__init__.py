"""One module per CRM or sequencer destination (small httpx clients), and their shared base.

Example:
    >>> from gtmkit.sync.destinations import Item
    >>> Item("email:ada@x.io", 0, {"email": "ada@x.io"}).dest_id is None
    True
"""

from __future__ import annotations

from gtmkit.sync.destinations.base import Destination, Item, Outcome, Session

__all__ = ["Destination", "Item", "Outcome", "Session"]
