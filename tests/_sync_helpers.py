"""Shared bits of the sync tests (not a conftest: the lead owns that)."""

from __future__ import annotations

import polars as pl


def people(n: int, *, bad: frozenset[int] | set[int] = frozenset()) -> pl.DataFrame:
    """``n`` enriched people at three companies; rows in ``bad`` carry an invalid email."""
    return pl.DataFrame(
        {
            "row_id": list(range(n)),
            "email": [f"bad-email-{i}" if i in bad else f"p{i}@acme{i % 3}.io" for i in range(n)],
            "first_name": [f"First{i}" for i in range(n)],
            "last_name": [f"Last{i}" for i in range(n)],
            "title": [f"Title {i}" for i in range(n)],
            "company_name": [f"Acme {i % 3}" for i in range(n)],
            "company_domain": [f"acme{i % 3}.io" for i in range(n)],
            "email_status": ["valid"] * n,
            "email_source": ["hunter"] * n,
        }
    )
