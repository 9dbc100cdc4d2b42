"""De-duplication before writing: which destination record each incoming record is.

Match order (the first key that finds exactly one record wins): the email (case-insensitive),
then the LinkedIn profile URL (normalized to ``linkedin.com/in/<handle>``), then first + last
name at the same company domain. Two incoming records with the same key are one record: the
later ones are planned as ``skip`` ("duplicate of row N").

The key that identifies a record in the sync ledger is the first of those the record has
(``email:ada@x.io``, ``linkedin:ada-l``, ``name:ada|lovelace|x.io``).

Example:
    >>> record_keys({"email": "Ada@X.io", "linkedin_url": "https://linkedin.com/in/ada-l/"})
    ['email:ada@x.io', 'linkedin:ada-l']
    >>> domain_of("https://www.Acme.com/about")
    'acme.com'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gtmkit.sync.merge import is_empty

__all__ = ["Existing", "Matcher", "domain_of", "linkedin_handle", "record_keys"]


def domain_of(value: Any) -> str | None:
    """``https://www.Acme.com/about`` or ``ada@acme.com`` → ``acme.com``."""
    if is_empty(value):
        return None
    text = str(value).strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    text = text.removeprefix("www.").strip(".")
    return text or None


def linkedin_handle(value: Any) -> str | None:
    """The ``/in/<handle>`` part of a LinkedIn profile URL (lower case), else ``None``."""
    if is_empty(value):
        return None
    text = str(value).strip().lower()
    if "/in/" not in text:
        return None
    handle = text.split("/in/", 1)[1].split("?", 1)[0].strip("/").split("/", 1)[0]
    return handle or None


def _name_key(first: Any, last: Any, domain: Any) -> str | None:
    if is_empty(first) or is_empty(last) or domain is None:
        return None
    return f"{str(first).strip().lower()}|{str(last).strip().lower()}|{domain}"


def record_keys(record: Mapping[str, Any]) -> list[str]:
    """Every match key of an incoming record (canonical columns), strongest first."""
    keys: list[str] = []
    if not is_empty(record.get("email")):
        keys.append(f"email:{str(record['email']).strip().lower()}")
    handle = linkedin_handle(record.get("linkedin_url"))
    if handle:
        keys.append(f"linkedin:{handle}")
    domain = domain_of(record.get("company_domain")) or domain_of(record.get("website"))
    name = _name_key(record.get("first_name"), record.get("last_name"), domain)
    if name:
        keys.append(f"name:{name}")
    return keys


@dataclass
class Existing:
    """One record already in the destination: its id and its properties (as the API gave them).

    Sequencers (Outreach, Salesloft) also say where the person has been: ``active_sequence``
    names the sequence or cadence they are in now, ``sequences`` every one they were ever added
    to (so a re-sync does not add them again to one they finished or were taken out of).
    """

    id: str
    properties: dict[str, Any]
    active_sequence: str | None = None
    sequences: set[str] = field(default_factory=set)


@dataclass
class Matcher:
    """Index of destination records by match key (built from the destination's properties).

    Args:
        email_prop / linkedin_prop / first_prop / last_prop / domain_prop: the destination
            properties holding each key part (``None`` when the destination has none).
    """

    email_prop: str | None
    linkedin_prop: str | None = None
    first_prop: str | None = None
    last_prop: str | None = None
    domain_prop: str | None = None
    _index: dict[str, list[Existing]] = field(default_factory=dict)

    def add(self, records: Iterable[Existing]) -> None:
        seen = {id(r) for rs in self._index.values() for r in rs}
        for rec in records:
            if id(rec) in seen:
                continue
            for key in self.keys_of(rec.properties):
                bucket = self._index.setdefault(key, [])
                if all(r.id != rec.id for r in bucket):
                    bucket.append(rec)

    def keys_of(self, props: Mapping[str, Any]) -> list[str]:
        incoming = {
            "email": props.get(self.email_prop) if self.email_prop else None,
            "linkedin_url": props.get(self.linkedin_prop) if self.linkedin_prop else None,
            "first_name": props.get(self.first_prop) if self.first_prop else None,
            "last_name": props.get(self.last_prop) if self.last_prop else None,
            "company_domain": props.get(self.domain_prop) if self.domain_prop else None,
        }
        return record_keys(incoming)

    def match(self, keys: Iterable[str]) -> tuple[Existing | None, str | None]:
        """The destination record for these keys, and the key kind that matched."""
        for key in keys:
            found = self._index.get(key, [])
            if len(found) == 1:
                return found[0], key.split(":", 1)[0]
            if len(found) > 1:  # ambiguous on this key: a weaker key will not be trusted more
                return None, f"ambiguous:{key.split(':', 1)[0]}"
        return None, None
