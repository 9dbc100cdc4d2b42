"""Large lists are normalized in parts of rows (to bound intake's peak memory): taking the
rows in parts must give exactly what one pass over every row gives."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from _lists_helpers import csv_text, write

from gtmkit import LoadedList, load_list
from gtmkit.lists import load as load_module

HEADER = ["Full Name", "First Name", "Last Name", "E-mail", "Account Name", "Website",
          "LinkedIn", "Mobile", "Direct Phone", "Country", "Title", "Lead ID", "Notes"]  # fmt: skip


def _messy_rows(count: int, seed: int = 11) -> list[list[str]]:
    """Rows with duplicates far apart, rejected and blank rows everywhere, several phone
    columns, full names only, social websites, mixed-case emails."""
    rng = random.Random(seed)
    rows: list[list[str]] = []
    for n in range(count):
        person = rng.randrange(n) if n > 5 and rng.random() < 0.15 else n
        kind = rng.random()
        first, last = rng.choice(["Ann", "José", "Zoë", "Wei"]), rng.choice(["Lee", "Müller"])
        email = f"p{person}@acme{person % 7}.com"
        website = rng.choice(["", f"https://www.acme{person % 7}.com/x", "linkedin.com/in/x"])
        row = ["", first, last, email, f"Acme {person % 7}", website, "",
               rng.choice(["", "(415) 555-0134"]), rng.choice(["", "+44 20 7946 0958"]),
               rng.choice(["", "US", "UK"]), "  VP  Sales ", f"{n:08d}", ""]  # fmt: skip
        if kind < 0.08:  # nothing to look the person up by
            row[1:6] = [first, "", "", "", ""]
        elif kind < 0.12:  # an invalid email, nothing else
            row[1:6] = ["", "", f"p{person}@", "", ""]
        elif kind < 0.15:  # a blank row between filled ones
            row = [""] * len(HEADER)
        elif kind < 0.25:  # a full name only, found by name + company
            row[0:4] = [f"{last}, {first}", "", "", ""]
        elif kind < 0.30:  # a LinkedIn profile only
            row[1:7] = ["", "", "", "", "", f"https://de.linkedin.com/in/p{person}/"]
        elif kind < 0.32:
            row[3] = f"  P{person}@ACME{person % 7}.COM "
        rows.append(row)
    return rows


def _load(path: Path, part_rows: int, monkeypatch: pytest.MonkeyPatch) -> LoadedList:
    with monkeypatch.context() as patch:
        patch.setattr(load_module, "_PART_ROWS", part_rows)
        return load_list(path, default_country="US")


@pytest.mark.parametrize("part_rows", [7, 250])
def test_rows_taken_in_parts_load_exactly_as_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part_rows: int
) -> None:
    path = write(tmp_path / "leads.csv", csv_text([HEADER, *_messy_rows(600)]))
    whole = _load(path, 10_000, monkeypatch)
    parts = _load(path, part_rows, monkeypatch)
    # The fixture exercises what parts could break: links across parts, rejections in many.
    assert whole.duplicates > 30
    assert whole.rejected.height > 30
    assert whole.rejected.get_column("reason").n_unique() >= 3
    assert whole.records.get_column("phone_type").n_unique() >= 3
    assert parts.records.equals(whole.records)
    assert parts.rejected.equals(whole.rejected)
    assert parts.mapping == whole.mapping
    assert parts.source_info == whole.source_info
    assert parts.records.height + parts.rejected.height == parts.source_info.data_rows
    # A duplicate in a later part links to a first row in an earlier one.
    links = parts.records.filter(pl.col("duplicate_of").is_not_null())
    assert (
        links.get_column("row_id") // part_rows > links.get_column("duplicate_of") // part_rows
    ).any()


def test_parts_keep_every_column_in_one_chunk_per_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Columns chunked alike: polars copies a frame whose columns are chunked differently
    # before every expression over it, which is the copy the parts exist to avoid.
    path = write(tmp_path / "leads.csv", csv_text([HEADER, *_messy_rows(300)]))
    records = _load(path, 50, monkeypatch).records
    chunks = set(records.n_chunks("all"))
    assert len(chunks) == 1
    assert chunks.pop() <= 6
