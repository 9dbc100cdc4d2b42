"""A free local step first (the pattern guess) is worth something whatever the timing: it
learns from the list's own emails before the run, and a row it could not guess for asks it
again, for free, before paying the next step once the row's domain has been learned."""

from __future__ import annotations

import polars as pl

import gtmkit
from gtmkit.waterfall import Step, Waterfall

WF = Waterfall([Step("pattern"), Step("hunter"), Step("apollo")], verify="hunter_verifier")


def test_the_guess_pays_off_with_a_ledger_too(tmp_path):
    leads = gtmkit.load_list("data/samples/leads_demo.csv")
    result = WF.run(leads, mode="sandbox", ledger=tmp_path / "l.sqlite", progress=False)
    pattern = result.summary.row(0, named=True)
    assert pattern["provider"] == "pattern" and pattern["hits"] > 100
    guessed = result.records.filter(pl.col("email_source") == "pattern")["row_id"]
    assert guessed.len() > 100
    attempts = result.attempts.filter(pl.col("row_id").is_in(guessed.implode()))
    # a guess kept is never followed by a paid finder: found at the first ask, no finder was
    # called; re-asked after Hunter missed (its domain learned meanwhile), Apollo was not
    assert attempts.filter(pl.col("provider") == "apollo").height == 0
    reasked = attempts.filter(pl.col("provider") == "hunter")["row_id"].unique()
    assert 0 < reasked.len() < guessed.len()
