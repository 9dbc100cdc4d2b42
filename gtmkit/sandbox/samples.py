"""Sample lead lists drawn from the default world, messy the way client files are, each with a
truth file beside it.

``write_samples(out_dir)`` (or ``python -m gtmkit.sandbox samples --out data/samples``, which
``make samples`` runs) writes:

* ``leads_small.csv`` — 300 rows, CRM-style headers ("First Name", "Company", "Website"...).
* ``leads_demo.csv`` — 2,000 rows, export-style headers ("Given name", "E-mail",
  "Person Linkedin Url"...).
* ``leads_events.xlsx`` — 200 rows with a full-name column and phone/ZIP columns whose leading
  zeros are kept as text (the spreadsheet trap).
* ``leads_crm_export_fr.csv`` — 250 rows, semicolon-separated, cp1252, French headers.

Each has ``<name>.truth.csv``: ``row_id`` (0-based data row), ``person_id`` (empty for junk
rows), ``true_email`` (the person's *current* work address), segments, and notes on the mess
(``list_company_stale`` when the row names the employer the person left, ``duplicate_of``).

The mess: mixed header names, missing domains, websites as URLs, company-name variants ("ACME",
"Acme, Inc."), personal webmail addresses, stale work addresses, duplicates (exact and
re-typed), stray whitespace, ALL-CAPS and decomposed-Unicode names, LinkedIn URLs in several
shapes, and a few junk rows. Everything is derived from fixed seeds, so regenerating gives
byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gtmkit.sandbox.errors import SandboxServerError
from gtmkit.sandbox.world import (
    TRUNK_ZERO_COUNTRIES,
    World,
    ascii_fold,
    default_world,
    linkedin_key,
)

Format = Literal["csv", "xlsx"]

#: Country labels as lead lists write them (code, English name, local name, odd spelling).
_COUNTRY_LABELS: dict[str, tuple[str, ...]] = {
    "US": ("US", "United States", "USA", "United States of America"),
    "CA": ("CA", "Canada"),
    "GB": ("GB", "United Kingdom", "UK", "England"),
    "DE": ("DE", "Germany", "Deutschland"),
    "FR": ("FR", "France"),
    "NL": ("NL", "Netherlands", "Nederland", "The Netherlands"),
    "ES": ("ES", "Spain", "España"),
    "IT": ("IT", "Italy", "Italia"),
    "SE": ("SE", "Sweden", "Sverige"),
    "PL": ("PL", "Poland", "Polska"),
    "IE": ("IE", "Ireland"),
    "BR": ("BR", "Brazil", "Brasil"),
    "MX": ("MX", "Mexico", "México"),
    "IN": ("IN", "India"),
    "SG": ("SG", "Singapore"),
    "AU": ("AU", "Australia"),
}
_FRENCH_COUNTRIES: dict[str, str] = {
    "US": "États-Unis", "CA": "Canada", "GB": "Royaume-Uni", "DE": "Allemagne", "FR": "France",
    "NL": "Pays-Bas", "ES": "Espagne", "IT": "Italie", "SE": "Suède", "PL": "Pologne",
    "IE": "Irlande", "BR": "Brésil", "MX": "Mexique", "IN": "Inde", "SG": "Singapour",
    "AU": "Australie",
}  # fmt: skip

#: Columns of every truth file, in order.
TRUTH_COLUMNS: tuple[str, ...] = (
    "row_id",
    "person_id",
    "true_email",
    "company_domain",
    "employee_band",
    "industry",
    "region",
    "seniority",
    "department",
    "catch_all",
    "changed_job",
    "list_company_stale",
    "duplicate_of",
    "note",
)


@dataclass(frozen=True, slots=True)
class SampleSpec:
    """One sample list: its file name, size, layout and header names.

    ``headers`` maps a canonical field (or ``zip``) to the header this file uses for it.
    """

    name: str
    rows: int
    fmt: Format
    headers: dict[str, str]
    delimiter: str = ","
    encoding: str = "utf-8"
    full_name: bool = False
    french_countries: bool = False


SAMPLE_SPECS: tuple[SampleSpec, ...] = (
    SampleSpec(
        name="leads_small",
        rows=300,
        fmt="csv",
        headers={
            "first_name": "First Name",
            "last_name": "Last Name",
            "email": "Email",
            "company_name": "Company",
            "website": "Website",
            "title": "Job Title",
            "linkedin_url": "LinkedIn URL",
            "country": "Country",
        },
    ),
    SampleSpec(
        name="leads_demo",
        rows=2000,
        fmt="csv",
        headers={
            "first_name": "Given name",
            "last_name": "Surname",
            "title": "Title",
            "company_name": "Company Name",
            "company_domain": "Company Domain",
            "email": "E-mail",
            "linkedin_url": "Person Linkedin Url",
            "country": "Country",
        },
    ),
    SampleSpec(
        name="leads_events",
        rows=200,
        fmt="xlsx",
        full_name=True,
        headers={
            "full_name": "Full Name",
            "email": "Email Address",
            "company_name": "Organization",
            "website": "Website",
            "title": "Job title",
            "phone": "Phone",
            "zip": "ZIP",
            "country": "Country",
        },
    ),
    SampleSpec(
        name="leads_crm_export_fr",
        rows=250,
        fmt="csv",
        delimiter=";",
        encoding="cp1252",
        french_countries=True,
        headers={
            "first_name": "Prénom",
            "last_name": "Nom",
            "email": "E-mail",
            "company_name": "Société",
            "website": "Site web",
            "title": "Poste",
            "phone": "Téléphone",
            "zip": "Code postal",
            "country": "Pays",
        },
    ),
)


# --------------------------------------------------------------------------- row building
def _national_phone(e164: str, country: str) -> str:
    """How a person would type their number at home: trunk "0" kept where the country has one."""
    from gtmkit.sandbox import names as pools

    code = pools.COUNTRIES[country][3]
    national = e164[len(code) :]
    if country in {"US", "CA"}:
        return f"({national[:3]}) {national[3:6]}-{national[6:]}"
    if country in TRUNK_ZERO_COUNTRIES:
        digits = "0" + national
        return " ".join(digits[i : i + 3] for i in range(0, len(digits), 3)).strip()
    return f"{code} {national}"


def _website(rng: random.Random, domain: str) -> str:
    roll = rng.random()
    if roll < 0.4:
        return domain
    if roll < 0.65:
        return f"www.{domain}"
    if roll < 0.85:
        return f"https://{domain}/"
    return f"http://www.{domain}"


def _linkedin(rng: random.Random, url: str) -> str:
    handle = linkedin_key(url) or ""
    roll = rng.random()
    if roll < 0.5:
        return url
    if roll < 0.7:
        return f"linkedin.com/in/{handle}"
    if roll < 0.85:
        return f"https://linkedin.com/in/{handle}/"
    return f"http://www.linkedin.com/in/{handle}?utm_source=share"


def _company_label(rng: random.Random, company: dict[str, Any]) -> str:
    roll = rng.random()
    if roll < 0.5:
        return company["name"]
    if roll < 0.65:
        return company["legal_name"]
    return rng.choice(company["aliases"])


def _messy_name(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.04:
        return text.upper()
    if roll < 0.07:
        return text.lower()
    if roll < 0.12 and not text.isascii():
        return unicodedata.normalize("NFD", text)  # looks the same, compares different
    return text


def _padded(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.05:
        return f" {text}"
    if roll < 0.09:
        return f"{text}  "
    if roll < 0.11 and " " in text:
        return text.replace(" ", "  ", 1)
    return text


class _Builder:
    """Draws sample rows for one spec (one private random stream per file)."""

    def __init__(self, world: World, spec: SampleSpec) -> None:
        self.world = world
        self.spec = spec
        self.rng = random.Random(f"gtmkit-samples-{world.seed}-{spec.name}")

    def canonical(self, person: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]] | None:
        """A row for ``person`` in canonical fields plus its truth, or None if it would be
        ambiguous (a namesake at the same company would make the truth unknowable)."""
        rng, world = self.rng, self.world
        stale = bool(person["changed_job"]) and rng.random() < 0.4
        if stale:
            company = world.company_by_id(person["prev_company_id"])
            title = person["prev_title"]
        else:
            company = world.company_by_id(person["company_id"])
            title = person["title"]
        assert company is not None
        row: dict[str, str] = {
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "full_name": person["full_name"],
            "title": title if rng.random() < 0.85 else "",
            "company_name": _company_label(rng, company) if rng.random() < 0.93 else "",
            "country": rng.choice(_COUNTRY_LABELS[company["country"]])
            if rng.random() < 0.8
            else "",
        }
        if self.spec.french_countries and row["country"]:
            row["country"] = _FRENCH_COUNTRIES[company["country"]]
        has_domain = rng.random() < 0.78 or not row["company_name"]
        if "company_domain" in self.spec.headers:
            row["company_domain"] = company["domain"] if has_domain else ""
        else:
            row["website"] = _website(rng, company["domain"]) if has_domain else ""
        roll = rng.random()
        if roll < 0.14:
            row["email"] = person["personal_email"]
        elif roll < 0.20:
            row["email"] = person["prev_email"] if stale else person["email"]
        else:
            row["email"] = ""
        row["linkedin_url"] = _linkedin(rng, person["linkedin_url"]) if rng.random() < 0.3 else ""
        row["phone"] = _national_phone(person["phone"], company["country"])
        if rng.random() < 0.15:
            row["phone"] = ""
        row["zip"] = company["postal_code"]
        # The row must point at this person and nobody else, as a careful human would read it.
        shown = set(self.spec.headers) - {"phone", "zip", "country"}
        query = {k: v for k, v in row.items() if v and k in shown}
        if world.match(query) != person["person_id"]:
            return None
        truth = {
            "person_id": person["person_id"],
            "true_email": person["email"],
            "company_domain": person["company_domain"],
            "employee_band": person["employee_band"],
            "industry": person["industry"],
            "region": person["region"],
            "seniority": person["seniority"],
            "department": person["department"],
            "catch_all": person["catch_all"],
            "changed_job": person["changed_job"],
            "list_company_stale": stale,
            "duplicate_of": None,
            "note": "list names the previous employer" if stale else "",
        }
        return row, truth

    def mess(self, row: dict[str, str]) -> dict[str, str]:
        rng = self.rng
        messy = dict(row)
        for key in ("first_name", "last_name", "full_name"):
            messy[key] = _padded(rng, _messy_name(rng, messy[key]))
        for key in ("company_name", "title", "email"):
            if messy.get(key):
                messy[key] = _padded(rng, messy[key])
        if messy.get("email") and rng.random() < 0.1:
            messy["email"] = messy["email"].upper()
        return messy

    def junk(self, index: int) -> tuple[dict[str, str], dict[str, Any]]:
        """A row nobody can be found for (placeholders and test entries real lists contain)."""
        variants = (
            {"first_name": "Test", "last_name": "User", "email": "test@example.com"},
            {"first_name": "", "last_name": "", "company_name": "N/A"},
            {"first_name": "Info", "last_name": "", "email": "info@"},
            {"first_name": "asdf", "last_name": "asdf", "company_name": "asdf"},
        )
        row = {
            "first_name": "", "last_name": "", "full_name": "", "title": "", "company_name": "",
            "company_domain": "", "website": "", "email": "", "linkedin_url": "", "phone": "",
            "zip": "", "country": "",
        }  # fmt: skip
        row.update(variants[index % len(variants)])
        row["full_name"] = f"{row['first_name']} {row['last_name']}".strip()
        truth = {"person_id": None, "true_email": None, "note": "junk row"}
        return row, truth

    def build(self) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
        """Rows (canonical field → cell text, before header renaming) and their truth."""
        rng, world = self.rng, self.world
        people = world.people.height
        rows: list[dict[str, str]] = []
        truths: list[dict[str, Any]] = []
        used: set[int] = set()
        while len(rows) < self.spec.rows:
            roll = rng.random()
            if roll < 0.01:
                row, truth = self.junk(len(rows))
            elif roll < 0.04 and rows:
                source = rng.randrange(len(rows))
                if truths[source]["person_id"] is None:
                    continue
                original = rows[source]
                # Half exact copies, half the same person typed again differently.
                row = dict(original) if rng.random() < 0.5 else self.mess(dict(original))
                truth = dict(truths[source])
                truth["duplicate_of"] = source
                truth["note"] = "duplicate"
            else:
                index = rng.randrange(people)
                if index in used:
                    continue
                made = self.canonical(world._row(index))
                if made is None:
                    continue
                used.add(index)
                row, truth = made
                row = self.mess(row)
            truth["row_id"] = len(rows)
            rows.append(row)
            truths.append(truth)
        return rows, truths


# --------------------------------------------------------------------------- writers
def _cell_rows(spec: SampleSpec, rows: list[dict[str, str]]) -> list[list[str]]:
    fields = list(spec.headers)
    cells: list[list[str]] = []
    for row in rows:
        line = []
        for name in fields:
            value = row.get(name, "")
            if name == "full_name" and not value.strip():
                value = ""
            line.append(value)
        cells.append(line)
    return cells


def _cp1252_safe(text: str) -> str:
    """What a cp1252 CRM export does to letters it cannot encode: drops their accents."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        try:
            char.encode("cp1252")
            out.append(char)
        except UnicodeEncodeError:
            folded = ascii_fold(char) or "?"
            out.append(folded.upper() if char.isupper() else folded)
    return "".join(out).encode("cp1252", errors="replace").decode("cp1252")


def _write_csv(path: Path, spec: SampleSpec, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=spec.delimiter, lineterminator="\r\n")
    writer.writerow(list(spec.headers.values()))
    writer.writerows(_cell_rows(spec, rows))
    text = buffer.getvalue()
    if spec.encoding.lower() == "cp1252":
        text = _cp1252_safe(text)
    path.write_bytes(text.encode(spec.encoding))


def _write_xlsx(path: Path, spec: SampleSpec, rows: list[dict[str, str]]) -> None:
    try:
        import xlsxwriter
    except ImportError as exc:  # pragma: no cover - xlsxwriter ships with the test extras
        raise SandboxServerError(
            "writing the .xlsx sample needs xlsxwriter: "
            "pip install xlsxwriter (or `make samples`, which installs the test extras)"
        ) from exc
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    # A fixed creation date: the file must be byte-identical from one run to the next.
    workbook.set_properties({"created": dt.datetime(2026, 10, 1), "author": "gtmkit sandbox"})
    sheet = workbook.add_worksheet("Leads")
    text = workbook.add_format({"num_format": "@"})
    header = workbook.add_format({"bold": True})
    for col, title in enumerate(spec.headers.values()):
        sheet.write_string(0, col, title, header)
        sheet.set_column(col, col, 22, text)
    for r, line in enumerate(_cell_rows(spec, rows), start=1):
        for col, value in enumerate(line):
            if value:
                sheet.write_string(r, col, value, text)
    workbook.close()
    path.write_bytes(buffer.getvalue())


def _write_truth(path: Path, truths: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRUTH_COLUMNS)
    for truth in truths:
        line = []
        for column in TRUTH_COLUMNS:
            value = truth.get(column)
            if isinstance(value, bool):
                value = "true" if value else "false"
            line.append("" if value is None else str(value))
        writer.writerow(line)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def write_samples(
    out_dir: str | Path = "data/samples",
    world: World | None = None,
    *,
    specs: Sequence[SampleSpec] = SAMPLE_SPECS,
) -> list[Path]:
    """Write the sample lead lists and their truth files.

    Args:
        out_dir: Folder to write into (created if missing).
        world: World to draw people from (default: :func:`default_world`, the world the
            sandbox server and transport serve, so every sample person can be enriched).
        specs: Which lists to write (default: :data:`SAMPLE_SPECS`).

    Returns:
        The paths written, each list followed by its ``.truth.csv``.

    Example:
        >>> import tempfile
        >>> from gtmkit.sandbox.world import World
        >>> small = SampleSpec("tiny", rows=5, fmt="csv", headers={"full_name": "Name"})
        >>> paths = write_samples(tempfile.mkdtemp(), World.generate(seed=1, companies=30),
        ...                       specs=[small])
        >>> [p.name for p in paths]
        ['tiny.csv', 'tiny.truth.csv']
    """
    world = world if world is not None else default_world()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for spec in specs:
        rows, truths = _Builder(world, spec).build()
        path = out / f"{spec.name}.{spec.fmt}"
        if spec.fmt == "xlsx":
            _write_xlsx(path, spec, rows)
        else:
            _write_csv(path, spec, rows)
        truth_path = out / f"{spec.name}.truth.csv"
        _write_truth(truth_path, truths)
        written += [path, truth_path]
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m gtmkit.sandbox samples [--out DIR]``: regenerate the sample lists."""
    parser = argparse.ArgumentParser(
        prog="python -m gtmkit.sandbox samples",
        description="Write the sample lead lists (and their truth files) from the default world.",
    )
    parser.add_argument("--out", default="data/samples", help="output folder (data/samples)")
    args = parser.parse_args(argv)
    for path in write_samples(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0
