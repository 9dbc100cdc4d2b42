"""Map the headers real exports use onto gtmkit's canonical fields.

Matching ignores case, spaces, punctuation and accents, so ``"E-mail"``, ``"Work Email"`` and
``"EMAIL ADDRESS"`` all land on ``email``. A user mapping always wins over the synonyms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from gtmkit.lists.errors import ListError
from gtmkit.schema import CANONICAL_FIELDS

# Synonyms per canonical field, best first: when two columns match one field, the one whose
# synonym comes first wins and the other is kept untouched as an extra column.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": (
        "first_name", "first name", "firstname", "given name", "forename", "first",
        "fname", "contact first name", "lead first name", "person first name", "prenom",
        "prénom", "vorname", "nombre",
    ),
    "last_name": (
        "last_name", "last name", "lastname", "surname", "family name", "last", "lname",
        "contact last name", "lead last name", "person last name", "nom de famille", "nom",
        "nachname", "apellido", "apellidos",
    ),
    "full_name": (
        "full_name", "full name", "name", "contact name", "contact", "person name",
        "lead name", "person", "display name", "contact full name", "nom complet",
    ),
    "email": (
        "email", "e-mail", "email address", "e-mail address", "work email", "business email",
        "work email address", "contact email", "primary email", "person email", "lead email",
        "corporate email", "professional email", "email 1", "mail", "courriel",
    ),
    "company_name": (
        "company_name", "company name", "company", "account name", "account",
        "organization", "organisation", "organization name", "organisation name", "employer",
        "current company", "company name for emails", "business name", "firm", "entreprise",
        "société", "firma", "unternehmen", "empresa", "company / account", "company account",
        "associated company", "primary company", "current company name", "account company",
        "company legal name",
    ),
    "company_domain": (
        "company_domain", "company domain", "domain", "company domain name", "account domain",
        "organization domain", "organisation domain", "website domain", "email domain",
        "primary domain",
    ),
    "website": (
        "website", "company website", "website url", "company url", "url", "web",
        "homepage", "home page", "site", "web site", "organization website", "account website",
        "company website url", "site web", "website address", "company homepage",
    ),
    "linkedin_url": (
        "linkedin_url", "linkedin url", "person linkedin url", "linkedin", "linkedin profile",
        "linkedin profile url", "contact linkedin url", "linkedin link", "li url",
        "profile url", "linkedin contact profile url", "linkedin profile link",
        "default profile url", "person linkedin", "linkedin person url", "contact linkedin",
        "linkedin contact url",
    ),
    "title": (
        "title", "job title", "jobtitle", "position", "role", "job role", "designation",
        "job position", "contact title", "person title", "titre", "poste", "job function",
    ),
    "phone": (
        "phone", "phone number", "mobile", "mobile phone", "mobile number", "cell",
        "cell phone", "telephone", "telephone number", "tel", "work phone", "direct phone",
        "direct dial", "work direct phone", "corporate phone", "contact phone", "phone 1",
        "primary phone", "téléphone", "telefon", "telefono", "first phone",
        "direct phone number", "mobile phone number", "home phone", "other phone",
        "company phone", "company hq phone", "hq phone", "office phone", "business phone",
        "phone 2", "phone 3", "cell number", "personal phone", "work direct phone number",
    ),
    "country": (
        "country", "country name", "country code", "person country", "contact country",
        "lead country", "country region", "country/region", "pays", "land", "país",
        "mailing country", "billing country", "country (billing)", "country (mailing)",
        "country/territory", "person country name", "company country",
    ),
}  # fmt: skip

#: Phone types, in the order a row's phone is chosen when a list has several phone columns
#: (Apollo: First, Work Direct, Mobile, Corporate, Home, Other; ZoomInfo: Direct Phone Number,
#: Mobile phone, Company HQ Phone): a direct dial reaches the person, then their mobile, then
#: a phone of unstated type (often the exporter's own best pick), then work lines, the
#: company's switchboard, anything else, and last a home number.
PHONE_PRECEDENCE: tuple[str, ...] = (
    "direct", "mobile", "phone", "work", "corporate", "other", "home",
)  # fmt: skip
_PHONE_TYPE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("direct", ("direct",)),
    ("mobile", ("mobile", "cell")),
    ("home", ("home", "personal")),
    ("corporate", ("corporate", "company", "hq", "office", "switchboard")),
    ("other", ("other",)),
    ("work", ("work", "business")),
)


def phone_type(header: str) -> str:
    """The phone type a phone column's header names (see :data:`PHONE_PRECEDENCE`).

    Example:
        >>> phone_type("Work Direct Phone"), phone_type("Mobile"), phone_type("First Phone")
        ('direct', 'mobile', 'phone')
        >>> phone_type("Company HQ Phone"), phone_type("Home Phone")
        ('corporate', 'home')
    """
    key = header_key(header)
    for kind, words in _PHONE_TYPE_WORDS:
        if any(word in key for word in words):
            return kind
    return "phone"


_KEY_STRIP = re.compile(r"[^0-9a-z]+")


def header_key(header: str) -> str:
    """Fold a header for matching: no accents, case, spaces or punctuation.

    Example:
        >>> header_key("  Person LinkedIn-URL ")
        'personlinkedinurl'
        >>> header_key("Prénom")
        'prenom'
    """
    decomposed = unicodedata.normalize("NFKD", header)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _KEY_STRIP.sub("", ascii_only.casefold())


_RANK: dict[str, tuple[str, int]] = {}
for _field, _names in SYNONYMS.items():
    for _rank, _name in enumerate(_names):
        _RANK.setdefault(header_key(_name), (_field, _rank))


def is_known_header(key: str) -> bool:
    """Whether a folded header (:func:`header_key`) is a synonym of a canonical field."""
    return key in _RANK


def unique_headers(raw: Sequence[str | None]) -> list[str]:
    """Make header names usable as column names: trimmed, non-empty and unique.

    Blank headers become ``column_<n>`` (1-based position); repeats get `` (2)``, `` (3)``...

    Example:
        >>> unique_headers(["Email", " Email ", None, "Name"])
        ['Email', 'Email (2)', 'column_3', 'Name']
    """
    cleaned = [" ".join((h or "").split()) for h in raw]
    taken: set[str] = set()
    result: list[str] = []
    for position, name in enumerate(cleaned, start=1):
        base = name or f"column_{position}"
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base} ({n})"
        taken.add(candidate)
        result.append(candidate)
    return result


def map_headers(
    headers: Sequence[str], mapping: Mapping[str, str | None] | None = None
) -> dict[str, str]:
    """Return ``{source header: canonical field}`` for the headers that map.

    Args:
        headers: Unique source headers, in source order.
        mapping: User overrides, ``{source header: canonical field}``; ``None`` as the value
            keeps that column unmapped. Overrides win over synonyms, and a field claimed by
            an override is not given to any other column.

    Each field goes to one column, except ``phone``: every phone column (Mobile, Work Direct
    Phone, Home Phone...) maps to it, and ``load_list`` picks each row's phone from them by
    :data:`PHONE_PRECEDENCE`, unless ``mapping=`` names the phone column.

    Raises:
        ListError: An override names a header that is not in the file or a field that is not
            canonical.

    Example:
        >>> map_headers(["Given Name", "Surname", "E-Mail", "Notes"])
        {'Given Name': 'first_name', 'Surname': 'last_name', 'E-Mail': 'email'}
        >>> map_headers(["Mail", "Work Email"], {"Mail": None})
        {'Work Email': 'email'}
    """
    overrides = dict(mapping or {})
    unknown_headers = [h for h in overrides if h not in headers]
    if unknown_headers:
        raise ListError(
            f"mapping= names column(s) {unknown_headers} that are not in the file. "
            f"The file's columns are {list(headers)}."
        )
    bad_fields = sorted(
        {f for f in overrides.values() if f is not None and f not in CANONICAL_FIELDS}
    )
    if bad_fields:
        raise ListError(
            f"mapping= targets {bad_fields}, which are not canonical fields. "
            f"Use one of {list(CANONICAL_FIELDS)} (or None to leave a column unmapped)."
        )
    claimed = [f for f in overrides.values() if f is not None]
    doubled = sorted({f for f in claimed if claimed.count(f) > 1})
    if doubled:
        raise ListError(f"mapping= sends several columns to the same field(s) {doubled}.")

    result: dict[str, str] = {h: f for h, f in overrides.items() if f is not None}
    best: dict[str, tuple[int, int, str]] = {}
    for position, header in enumerate(headers):
        if header in overrides:
            continue
        hit = _RANK.get(header_key(header))
        if hit is None:
            continue
        field, rank = hit
        if field in result.values():
            continue
        if field not in best or (rank, position) < best[field][:2]:
            best[field] = (rank, position, header)
    for field, (_, _, header) in best.items():
        result[header] = field
    if "phone" not in overrides.values():
        # Every phone column maps to ``phone``: the phone is chosen per row (load_list).
        for header in headers:
            if header not in overrides and header not in result:
                hit = _RANK.get(header_key(header))
                if hit is not None and hit[0] == "phone":
                    result[header] = "phone"
    order = {h: i for i, h in enumerate(headers)}
    return dict(sorted(result.items(), key=lambda item: order[item[0]]))
