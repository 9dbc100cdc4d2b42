"""Each provider's email-status vocabulary mapped onto the common scale.

The common scale (:data:`gtmkit.schema.EmailStatus`): ``valid`` (mailbox confirmed on a domain
that is not catch-all), ``catch_all`` (domain accepts everything, cannot be confirmed),
``risky`` (found but unverified or low confidence), ``invalid`` (known not to deliver),
``unknown`` (nothing could be said).

A finder that returns an email *without* any status word (PDL, which only reports a match
``likelihood``; Hunter when ``verification.status`` is null) is ``risky``: the address was
found but nobody checked it. Words not in a table map to ``unknown``.

Example:
    >>> common_status("apollo", "verified"), common_status("hunter", "accept_all")
    ('valid', 'catch_all')
    >>> common_status("dropcontact", "nominative@pro"), common_status("prospeo", "UNVERIFIED")
    ('valid', 'risky')
"""

from __future__ import annotations

from collections.abc import Mapping

from gtmkit.schema import EmailStatus

#: Apollo ``person.email_status`` (the search filter enum, plus ``extrapolated`` seen in
#: ``extrapolated_email_confidence`` answers). ``guessed``: Apollo inferred the address from
#: the company pattern without confirming it.
APOLLO: Mapping[str, EmailStatus] = {
    "verified": "valid",
    "guessed": "risky",
    "extrapolated": "risky",
    "likely_to_engage": "risky",
    "unavailable": "unknown",
    "pending_manual_fulfillment": "unknown",
    "bounced": "invalid",
}

#: Hunter finder ``data.verification.status`` and verifier ``data.status`` (plus the
#: deprecated verifier ``result`` words). ``webmail``: a free-mail address, never a work email.
HUNTER: Mapping[str, EmailStatus] = {
    "valid": "valid",
    "accept_all": "catch_all",
    "invalid": "invalid",
    "disposable": "invalid",
    "webmail": "risky",
    "unknown": "unknown",
    "deliverable": "valid",
    "undeliverable": "invalid",
    "risky": "risky",
}

#: Prospeo ``person.email.status``.
PROSPEO: Mapping[str, EmailStatus] = {
    "VERIFIED": "valid",
    "UNVERIFIED": "risky",
    "CATCH_ALL": "catch_all",
    "INVALID": "invalid",
}

#: Dropcontact ``qualification`` is ``<address>@<domain>`` (developer.dropcontact.io, "we
#: qualify the local part and the domain to form a string such as
#: local_qualification@domain_qualification"; support.dropcontact.com/article/225), localised
#: by the request language (``nominative``/``nominatif``...). The address half: ``nominative``
#: (one person), ``non_confirm`` (catch-all, unverifiable), ``generic`` (a role mailbox such as
#: contact@, not the person: ``risky``), ``random`` (fake or test), ``invalid`` (does not
#: exist). The domain half: ``pro`` (a company), ``perso`` (gmail...), ``invalid`` ("this
#: domain is not a valid domain"). Both halves are read (:func:`dropcontact_status`): an
#: ``@invalid`` domain makes any address ``invalid``.
DROPCONTACT_KINDS: Mapping[str, EmailStatus] = {
    "nominative": "valid",
    "nominatif": "valid",
    "catch_all": "catch_all",
    "catch-all": "catch_all",
    "catchall": "catch_all",
    "generic": "risky",
    "générique": "risky",
    "generique": "risky",
    "invalid": "invalid",
    "invalide": "invalid",
    "non_confirm": "catch_all",
    "non_confirme": "catch_all",
    "no_validated": "risky",
    "random": "invalid",
    "aleatoire": "invalid",
    "aléatoire": "invalid",
    "disposable": "invalid",
}

#: Dropcontact domain halves that say the address cannot deliver whatever its local part.
DROPCONTACT_BAD_DOMAINS = frozenset({"invalid", "invalide"})


def dropcontact_status(word: str) -> EmailStatus:
    """Both halves of a Dropcontact qualification on the common scale.

    Example:
        >>> dropcontact_status("nominative@pro"), dropcontact_status("nominative@invalid")
        ('valid', 'invalid')
    """
    kind, _, domain = word.strip().lower().partition("@")
    if domain.strip() in DROPCONTACT_BAD_DOMAINS:
        return "invalid"
    return DROPCONTACT_KINDS.get(kind.strip(), "unknown")


#: PDL has no email status; any email it returns is an unverified database email.
PDL_FOUND: EmailStatus = "risky"

#: Lusha ``emailConfidence`` grades: ``A+`` read as valid, lower grades as risky.
LUSHA: Mapping[str, EmailStatus] = {"A+": "valid", "A": "risky", "B": "risky", "C": "risky"}

#: LeadMagic ``status``: ``valid_catch_all`` is a catch-all address with engagement evidence.
LEADMAGIC: Mapping[str, EmailStatus] = {
    "valid": "valid",
    "valid_catch_all": "catch_all",
    "catch_all": "catch_all",
    "not_found": "unknown",
}

TABLES: Mapping[str, Mapping[str, EmailStatus]] = {
    "apollo": APOLLO,
    "hunter": HUNTER,
    "hunter_verifier": HUNTER,
    "prospeo": PROSPEO,
    "lusha": LUSHA,
    "leadmagic": LEADMAGIC,
}


def common_status(
    provider: str, status: str | None, *, table: Mapping[str, EmailStatus] | None = None
) -> EmailStatus:
    """Map one provider's own status word to the common scale (``unknown`` if unmapped).

    Args:
        provider: adapter name (``apollo``, ``hunter``, ``hunter_verifier``, ``pdl``,
            ``prospeo``, ``dropcontact``, ``pattern``).
        status: the provider's word, verbatim (``None`` for no word).
        table: the provider's own word → status table, for adapters that keep it in their
            module instead of here.
    """
    if status is None or not str(status).strip():
        return "unknown"
    word = str(status).strip()
    if provider == "dropcontact":
        return dropcontact_status(word)
    if provider == "pdl":
        return PDL_FOUND
    table = table if table is not None else TABLES.get(provider, {})
    return table.get(word, table.get(word.lower(), table.get(word.upper(), "unknown")))


def found_status(
    provider: str, status: str | None, *, table: Mapping[str, EmailStatus] | None = None
) -> EmailStatus:
    """Status of an email a finder *returned*: the mapped word, or ``risky`` with no word."""
    if status is None or not str(status).strip():
        return "risky"
    return common_status(provider, status, table=table)
