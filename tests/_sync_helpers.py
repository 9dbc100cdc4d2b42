"""Shared set-up of the sync tests: a small lead list, and no destination token in the
environment (the twins accept any non-empty one)."""

from __future__ import annotations

import polars as pl
import pytest

from gtmkit import sync


def clear_destination_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (*sync.SECRET_ENV_VARS, "SALESFORCE_INSTANCE_URL"):
        monkeypatch.delenv(var, raising=False)


def people(n: int, *, bad: frozenset[int] | set[int] = frozenset()) -> pl.DataFrame:
    """``n`` verified people at three companies; rows in ``bad`` carry an invalid email."""
    return pl.DataFrame(
        {
            "row_id": list(range(n)),
            "email": [f"bad-email-{i}" if i in bad else f"p{i}@acme{i % 3}.io" for i in range(n)],
            "first_name": [f"First{i}" for i in range(n)],
            "last_name": [f"Last{i}" for i in range(n)],
            "company_name": [f"Acme {i % 3}" for i in range(n)],
            "company_domain": [f"acme{i % 3}.io" for i in range(n)],
            "email_status": ["valid"] * n,
            "email_source": ["hunter"] * n,
        }
    )
