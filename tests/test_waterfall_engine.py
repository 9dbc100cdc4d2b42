"""Behaviour of the waterfall engine against fake providers over httpx.MockTransport."""

from __future__ import annotations

import asyncio
import sqlite3
from types import SimpleNamespace

import httpx
import polars as pl
import pytest

from gtmkit.waterfall import Ledger, RetryPolicy, Step, Waterfall, WaterfallResult
from tests._waterfall_helpers import FakeService, FakeWorld, make_providers, make_records

FAST_RETRY = RetryPolicy(base_s=0.001, max_backoff_s=0.01)
WF = Waterfall(
    [Step("alpha"), Step("beta"), Step("gamma", fills=("email", "title"))], verify="verifier"
)


def run(
    wf: Waterfall, records, svc: FakeService | None = None, **options
) -> tuple[WaterfallResult, FakeService]:
    svc = svc or FakeService()
    options.setdefault("ledger", None)
    options.setdefault("retry", FAST_RETRY)

    async def go() -> WaterfallResult:
        async with httpx.AsyncClient(transport=svc.transport()) as client:
            providers = make_providers(client)
            return await wf.run_async(records, providers=providers, progress=False, **options)

    return asyncio.run(go()), svc


def person(i: int) -> dict:
    return {"row_id": i, "first_name": "ana", "last_name": f"x{i}", "company_domain": "a.example"}


def key(i: int) -> str:
    return f"ana|x{i}|a.example"


def frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(
        [{**r, "email": None} for r in rows],
        schema={
            "row_id": pl.Int64,
            "first_name": pl.String,
            "last_name": pl.String,
            "company_domain": pl.String,
            "email": pl.String,
        },
    )


def test_every_row_once_with_status_and_provenance():
    records = make_records(300, seed=1, dup_rate=0.1, same_key_rate=0.1)
    res, svc = run(WF, records)
    out = res.records
    assert out["row_id"].to_list() == sorted(records["row_id"].to_list())
    assert set(out["status"].unique()) <= {"enriched", "not_found", "duplicate"}
    dups = out.filter(pl.col("status") == "duplicate")
    assert dups.height == records["duplicate_of"].is_not_null().sum() > 0
    reps = out.select("row_id", pl.col("email").alias("rep_email"))
    joined = dups.join(reps, left_on="duplicate_of", right_on="row_id")
    assert (joined["email"].eq_missing(joined["rep_email"])).all()
    assert (dups["credits"] == 0).all()
    enriched = out.filter(pl.col("status") == "enriched")
    assert (enriched["email"].is_not_null() | enriched["title"].is_not_null()).all()
    assert set(enriched["email_source"].drop_nulls().unique()) <= {"alpha", "beta", "gamma"}
    assert (enriched["email"].is_null() == enriched["email_source"].is_null()).all()
    assert out.filter(pl.col("status") == "not_found")["email"].is_null().all()
    # email_verified is exactly "status valid"
    assert (out["email_verified"] == (out["email_status"] == "valid").fill_null(False)).all()
    # the columns the contract promises
    for column in (
        "email_source",
        "title",
        "title_source",
        "cost_usd",
        "attempts",
        "status_reason",
    ):
        assert column in out.columns
    titled = out.filter(pl.col("title").is_not_null())
    assert titled.height > 0 and (titled["title_source"] == "gamma").all()
    assert res.totals["credits"] == pytest.approx(sum(svc.billed.values()))


def test_identical_lookups_are_sent_once_and_fanned_out():
    rows = [person(i) for i in range(5)]
    # rows 5..9 repeat rows 0..4 without being marked duplicates by intake
    rows += [{**person(i), "row_id": i + 5} for i in range(5)]
    res, svc = run(Waterfall([Step("alpha")]), frame(*rows), concurrency=10)
    assert svc.calls["alpha"] == 5
    assert max(svc.billed_keys.values()) == 1
    out = res.records.sort("row_id")
    assert out["email"][:5].to_list() == out["email"][5:].to_list()
    cached = res.attempts.filter(pl.col("cached"))
    assert cached.height == 5 and (cached["credits"] == 0).all()


def test_cached_rerun_pays_nothing_and_matches(tmp_path):
    records = make_records(200, seed=2)
    ledger = tmp_path / "ledger.sqlite"
    first, svc = run(WF, records, ledger=ledger)
    calls_before = sum(svc.calls.values())
    second, svc = run(WF, records, svc=svc, ledger=ledger)
    assert sum(svc.calls.values()) == calls_before
    assert second.totals["credits"] == 0 and second.totals["calls"] == 0
    assert second.totals["cached"] > 0
    cols = ["row_id", "email", "email_source", "email_status", "status", "title"]
    assert first.records.select(cols).equals(second.records.select(cols))
    with Ledger(ledger) as led:
        assert led.total_credits(first.totals["run_id"]) == first.totals["credits"]
        assert led.total_credits(second.totals["run_id"]) == 0


def test_expired_cache_entries_are_enriched_again(tmp_path):
    records = make_records(40, seed=3)
    ledger = tmp_path / "ledger.sqlite"
    wf = Waterfall([Step("alpha")])
    first, svc = run(wf, records, ledger=ledger, cache_ttl_days=30)
    with sqlite3.connect(ledger) as conn:  # age every entry by 31 days
        conn.execute("UPDATE cache SET fetched_at = fetched_at - 31 * 86400")
    second, svc = run(wf, records, svc=svc, ledger=ledger, cache_ttl_days=30)
    assert second.totals["calls"] == first.totals["calls"] > 0
    third, _ = run(wf, records, svc=svc, ledger=ledger, cache_ttl_days=30)
    assert third.totals["calls"] == 0


def test_verified_value_replaces_unverified_guess_and_conflict_is_kept():
    world = FakeWorld(
        script={
            ("alpha", key(0)): {"email": "ax0@a.example", "status": "risky"},
            ("beta", key(0)): {"email": "ana.x0@a.example", "status": "valid"},
        }
    )
    wf = Waterfall([Step("alpha", stop="first_verified"), Step("beta")])
    res, _ = run(wf, frame(person(0)), FakeService(world=world))
    row = res.records.row(0, named=True)
    assert (row["email"], row["email_source"], row["email_verified"]) == (
        "ana.x0@a.example",
        "beta",
        True,
    )
    assert sorted(res.attempts["email"].to_list()) == ["ana.x0@a.example", "ax0@a.example"]


def test_first_hit_keeps_first_step_value_on_disagreement():
    world = FakeWorld(
        script={
            ("alpha", key(0)): {"email": "ax0@a.example", "status": "risky"},
            ("beta", key(0)): {"email": "ana.x0@a.example", "status": "valid"},
        }
    )
    # beta runs on every row ("always"): the earlier step's value wins unless beta's is verified
    wf = Waterfall([Step("alpha"), Step("beta", when="always")])
    res, _ = run(wf, frame(person(0)), FakeService(world=world))
    assert res.records["email_source"].to_list() == ["beta"]  # verified beats the guess
    world.script[("beta", key(0))] = {"email": "other@a.example", "status": "risky"}
    res, _ = run(wf, frame(person(0)), FakeService(world=world))
    assert res.records["email"].to_list() == ["ax0@a.example"]  # step order wins
    assert "other@a.example" in res.attempts["email"].to_list()


@pytest.mark.parametrize(
    ("stop", "status", "beta_called"),
    [
        ("first_hit", "risky", False),
        ("first_verified", "risky", True),
        ("first_verified", "valid", False),
    ],
)
def test_stop_rules(stop, status, beta_called):
    world = FakeWorld(
        script={
            ("alpha", key(0)): {"email": "ana.x0@a.example", "status": status},
            ("beta", key(0)): None,
        }
    )
    res, svc = run(
        Waterfall([Step("alpha", stop=stop), Step("beta")]),
        frame(person(0)),
        FakeService(world=world),
    )
    assert (svc.calls["beta"] == 1) is beta_called
    assert res.records["email"].to_list() == ["ana.x0@a.example"]


@pytest.mark.parametrize(
    ("policy", "confidence", "beta_called"),
    [
        ("accept", 0.1, False),
        ("continue", 0.99, True),
        ("accept_if_confident", 0.9, False),
        ("accept_if_confident", 0.5, True),
    ],
)
def test_catch_all_policies(policy, confidence, beta_called):
    world = FakeWorld(
        script={
            ("alpha", key(0)): {
                "email": "ana.x0@a.example",
                "status": "catch_all",
                "confidence": confidence,
            },
            ("beta", key(0)): None,
        }
    )
    wf = Waterfall([Step("alpha", stop="first_verified", catch_all=policy), Step("beta")])
    _, svc = run(wf, frame(person(0)), FakeService(world=world))
    assert (svc.calls["beta"] == 1) is beta_called


def test_verifier_runs_after_unverified_email_and_drops_invalid_guess():
    world = FakeWorld(
        script={
            ("alpha", key(0)): {"email": "ax0@a.example", "status": "risky"},
            ("beta", key(0)): {"email": "ana.x0@a.example", "status": "risky"},
            ("alpha", key(1)): {"email": "ana.x1@a.example", "status": "valid"},
        },
        verdicts={"ax0@a.example": "invalid", "ana.x0@a.example": "valid"},
    )
    wf = Waterfall([Step("alpha"), Step("beta")], verify="verifier")
    res, svc = run(wf, frame(person(0), person(1)), FakeService(world=world))
    out = res.records.sort("row_id")
    assert out["email"].to_list() == ["ana.x0@a.example", "ana.x1@a.example"]
    assert out["email_source"].to_list() == ["beta", "alpha"]
    assert out["email_verified"].to_list() == [True, True]
    assert svc.calls["verifier"] == 2  # row 1 was already valid: not verified again
    summary = res.summary
    assert summary["provider"].to_list() == ["alpha", "beta", "verifier"]
    assert summary.filter(pl.col("provider") == "verifier")["hits"].item() == 1


@pytest.mark.parametrize(("status", "kind"), [(401, "auth"), (402, "out_of_credits")])
def test_circuit_breaker_disables_provider_and_rows_continue(status, kind):
    records = make_records(120, seed=4)
    svc = FakeService(disabled={"alpha": status})
    res, svc = run(Waterfall([Step("alpha"), Step("beta")]), records, svc, max_in_flight=4)
    summary = res.summary.sort("step")
    assert summary["disabled"].to_list() == [True, False]
    assert summary["disabled_reason"][0] == f"{kind} (HTTP {status})"
    assert svc.calls["alpha"] <= 4  # only the calls already in flight when it opened
    assert svc.calls["beta"] == records.height  # every row went on down the waterfall
    assert res.totals["disabled"] == {"alpha": f"{kind} (HTTP {status})"}
    assert (res.records["status"] != "failed").all()


def test_bad_request_is_not_retried_and_row_fails_with_reason():
    records = frame(person(0), person(1)).with_columns(bad=pl.Series([True, False]))
    res, svc = run(Waterfall([Step("alpha")]), records)
    assert svc.calls["alpha"] == 2
    row = res.records.filter(pl.col("row_id") == 0).row(0, named=True)
    assert row["status"] == "failed"
    # the reason says what failed and why (the provider's own message follows)
    assert row["status_reason"].startswith("alpha: bad_request after 1 attempt(s): ")
    assert res.attempts.filter(pl.col("row_id") == 0)["http_status"].to_list() == [422]


def test_rate_limited_calls_are_retried_after_retry_after():
    records = make_records(60, seed=5)
    clean, _ = run(WF, records)
    svc = FakeService(fault_rate=0.3, fault_kinds=("429",), fault_seed=3)
    res, svc = run(WF, records, svc)
    assert svc.faults["429"] > 10
    assert res.totals["throttled"]["alpha"] > 0
    assert (res.attempts["attempt"] > 1).any()
    assert (res.attempts.filter(pl.col("http_status") == 429)["error_kind"] == "rate_limited").all()
    cols = ["row_id", "email", "email_source", "status"]
    assert res.records.select(cols).equals(clean.records.select(cols))


def test_budget_exhausted_rows_resume_with_more_budget(tmp_path):
    records = make_records(150, seed=6)
    full, _ = run(WF, records)
    ledger = tmp_path / "ledger.sqlite"
    svc = FakeService()
    capped, svc = run(WF, records, svc, ledger=ledger, budget_credits=25)
    assert capped.totals["credits"] <= 25
    assert capped.totals["budget_peak_committed_credits"] <= 25
    exhausted = capped.records.filter(pl.col("status") == "budget_exhausted")
    assert exhausted.height > 0
    assert exhausted["status_reason"].str.starts_with("budget exhausted").all()
    resumed, svc = run(WF, records, svc, ledger=ledger)
    assert (resumed.records["status"] != "budget_exhausted").all()
    cols = ["row_id", "email", "email_source", "email_status", "status"]
    assert resumed.records.select(cols).equals(full.records.select(cols))
    assert max(svc.billed_keys.values()) == 1  # nothing paid twice across the two runs
    assert capped.totals["credits"] + resumed.totals["credits"] == full.totals["credits"]


def test_budget_in_dollars_uses_prices():
    records = make_records(100, seed=7)
    wf = Waterfall([Step("alpha"), Step("beta")], prices={"alpha": 0.5, "beta": 0.25})
    res, _ = run(wf, records, budget_usd=3.0)
    assert res.totals["cost_usd"] <= 3.0
    assert res.totals["budget_peak_committed_usd"] <= 3.0 + 1e-9
    alpha = res.attempts.filter(pl.col("provider") == "alpha")
    assert (alpha["cost_usd"] == alpha["credits"] * 0.5).all()
    assert res.totals["budget_exhausted"] > 0


def test_per_row_cap():
    records = make_records(80, seed=8)
    res, _ = run(WF, records, per_row_cap_credits=1)
    assert res.records["credits"].max() <= 1
    blocked = res.records.filter(pl.col("status") == "budget_exhausted")
    assert blocked.height > 0
    assert blocked["status_reason"].str.starts_with("per-row cap").all()


def test_rejected_rows_from_a_loaded_list_are_kept():
    records = frame(person(0), person(2))
    loaded = SimpleNamespace(
        records=records, rejected=pl.DataFrame({"row_id": [1], "reason": ["no name or email"]})
    )
    res, _ = run(Waterfall([Step("alpha")]), loaded)
    assert res.records["row_id"].to_list() == [0, 1, 2]
    rejected = res.records.filter(pl.col("row_id") == 1).row(0, named=True)
    assert (rejected["status"], rejected["status_reason"]) == ("rejected", "no name or email")
    assert res.totals["rejected"] == 1


def test_route_by_segment_and_when_expression():
    records = make_records(60, seed=9).with_columns(
        band=pl.when(pl.col("row_id") % 2 == 0).then(pl.lit("small")).otherwise(pl.lit("large"))
    )
    wf = Waterfall(
        [
            Step("alpha"),
            Step("beta"),
            Step("gamma", when=pl.col("company_domain") == "co1.example"),
        ],
        route_by={"band": {"small": ["beta"]}},
    )
    res, _ = run(wf, records)
    small = set(records.filter(pl.col("band") == "small")["row_id"].to_list())
    att = res.attempts
    assert set(att.filter(pl.col("provider") == "alpha")["row_id"].to_list()).isdisjoint(small)
    gamma_rows = att.filter(pl.col("provider") == "gamma")["row_id"].to_list()
    domains = dict(
        zip(records["row_id"].to_list(), records["company_domain"].to_list(), strict=True)
    )
    assert all(domains[r] == "co1.example" for r in gamma_rows)


def test_no_api_key_reaches_the_ledger(tmp_path):
    ledger = tmp_path / "ledger.sqlite"
    res, svc = run(WF, make_records(50, seed=10), ledger=ledger)
    assert any(h.get("x-api-key") == "sk-test-0000" for h in svc.seen_headers)
    for path in tmp_path.iterdir():
        assert b"sk-test-0000" not in path.read_bytes()
    assert "sk-test-0000" not in repr(res.records) + res.attempts.write_csv()


def test_run_sync_works_inside_a_running_event_loop():
    svc = FakeService()
    records = make_records(30, seed=11)

    async def notebook_cell() -> WaterfallResult:
        # a Jupyter cell: the kernel's loop is running, and the user calls the sync API
        client = httpx.AsyncClient(transport=svc.transport())
        return WF.run(records, providers=make_providers(client), ledger=None, progress=True)

    res = asyncio.run(notebook_cell())
    assert res.records.height == 30 and res.totals["calls"] > 0


def test_estimate_before_running():
    records = make_records(100, seed=12)
    svc = FakeService()
    client = httpx.AsyncClient(transport=svc.transport())
    est = WF.estimate(records, providers=make_providers(client), priors={"alpha": 0.5, "beta": 0.4})
    assert est["provider"].to_list() == ["alpha", "beta", "gamma", "verifier", "total"]
    assert est["rows_in"][0] == 100 and est["calls"][1] == pytest.approx(50)
    total = est.filter(pl.col("provider") == "total").row(0, named=True)
    assert total["credits"] <= total["worst_case_credits"]
    assert svc.calls.total() == 0  # estimating sends nothing
    compare_frame = pl.DataFrame({"provider": ["alpha"], "hit_rate": [0.9]})
    est2 = WF.estimate(records, providers=make_providers(client), priors=compare_frame)
    assert est2["hits"][0] == pytest.approx(90)


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="row_id"):
        run(WF, pl.DataFrame({"first_name": ["a"]}))
    with pytest.raises(TypeError, match="polars DataFrame"):
        run(WF, [{"row_id": 1}])
    with pytest.raises(KeyError, match="delta"):
        run(Waterfall([Step("delta")]), make_records(3))
    with pytest.raises(ValueError, match="budget_credits"):
        run(WF, make_records(3), budget_credits=-1)


def test_progress_bar_closes_on_the_final_counts():
    from gtmkit.waterfall.progress import Progress

    bar = Progress(3, enabled=True, desc="t")
    for i in range(3):  # within 0.2 s: the throttled postfix only saw the first row
        bar.row_done(hit=i > 0, credits=float(i))
    bar.close()
    assert "hits=2" in bar._bar.postfix and "credits=2" in bar._bar.postfix
