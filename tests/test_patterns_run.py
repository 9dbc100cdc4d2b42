"""Deploy as documented, measure, write back: every waterfall entry on the simulated world."""

from __future__ import annotations

import polars as pl
import pytest
from _patterns_helpers import HAND_EDITED, LIBRARY, REPO, copy_library, fake_result

import gtmkit
from gtmkit.patterns import PatternError, from_text, load
from gtmkit.patterns.benchmark import parse_level
from gtmkit.patterns.index import entry_paths
from gtmkit.providers import PROVIDERS

SAMPLE = REPO / "data" / "samples" / "leads_small.csv"
TRUTH = REPO / "data" / "samples" / "leads_small.truth.csv"
RUNNABLE = [
    p for p in entry_paths(LIBRARY)
    if p.parent.name in {"enrichment-waterfalls", "data-source-combinations"}
]  # fmt: skip


@pytest.fixture(scope="module")
def leads():
    return gtmkit.load_list(SAMPLE)


@pytest.fixture(scope="module")
def truth():
    return pl.read_csv(TRUTH)


@pytest.mark.parametrize("entry", RUNNABLE, ids=lambda p: p.stem)
def test_every_waterfall_entry_runs_as_documented_records_and_reads_back(
    tmp_path, entry, leads, truth
):
    lib = copy_library(tmp_path)
    path = lib / entry.relative_to(LIBRARY)
    p = load(path)
    needs = {s.provider for s in p.sequence} - set(PROVIDERS)
    substitute = {"zoominfo": "pdl"} if needs else None
    wf = p.to_waterfall(substitute=substitute)
    documented = [s.provider for s in p.sequence if s.provider != "hunter_verifier"]
    ran = [s.provider for s in wf.steps]
    assert ran == [(substitute or {}).get(x, x) for x in documented], "in the documented order"
    result = wf.run(leads, mode="sandbox", ledger=None, progress=False)
    assert result.records.height == leads.records.height + leads.rejected.height
    before = len(p.history)
    bench = p.record_benchmark(result, truth=truth)
    assert p.save() is True
    back = load(path)
    assert len(back.history) == before + 1 and back.latest.id == bench.id
    assert back.latest.source == "simulated" and back.maturity == "Experimental"
    assert back.latest.measured("coverage") == pytest.approx(bench.measured("coverage"))
    assert f"gtmkit benchmark {bench.id}" in back.section("version history")
    check = back.check(result, truth=truth)
    assert check.filter(pl.col("figure") == "accuracy")["measured"][0] is not None
    steps = check.filter(pl.col("step").is_not_null())
    assert set(steps["step"].to_list()) == {s.number for s in p.sequence}
    if substitute:
        assert back.latest.substitutions == ({"step": 2, "documented": "ZoomInfo", "used": "pdl"},)
        assert "step 2 ZoomInfo ran as pdl" in back.text


def test_the_seed_enterprise_waterfall_runs_as_documented_with_zoominfo():
    p = load(LIBRARY / "enrichment-waterfalls" / "enterprise-contact-enrichment.md")
    assert [s.provider for s in p.to_waterfall().steps] == [
        "apollo",
        "zoominfo",
        "hunter",
        "manual",
    ]
    assert "zoominfo" in PROVIDERS
    # written as the entry names it, a substitute still works
    assert [s.provider for s in p.to_waterfall(substitute={"ZoomInfo": "PDL"}).steps][1] == "pdl"


def test_the_manual_step_hands_rows_off_and_never_drops_them(leads):
    p = load(LIBRARY / "enrichment-waterfalls" / "enterprise-contact-enrichment.md")
    result = p.run(
        leads, substitute={"zoominfo": "pdl"}, mode="sandbox", ledger=None, progress=False
    )
    manual = result.records.filter(pl.col("status") == "manual")
    assert manual.height > 0
    assert set(manual["status_reason"]) == {"handed off to Manual LinkedIn"}
    assert result.manual_tasks().height == manual.height
    check = p.check(result)
    worked = result.records.filter(~pl.col("status").is_in(["duplicate", "rejected"])).height
    share = check.filter(pl.col("figure") == "manual_share").row(0, named=True)
    assert share["measured"] == pytest.approx(manual.height / worked) and share["n"] == worked
    coverage = check.filter(pl.col("figure") == "coverage")["measured"][0]
    assert coverage + share["measured"] <= 1.0 + 1e-12, "manual rows are not covered"


def test_a_substitute_that_duplicates_a_step_is_refused():
    p = load(LIBRARY / "enrichment-waterfalls" / "enterprise-contact-enrichment.md")
    with pytest.raises(PatternError, match="both run apollo"):
        p.to_waterfall(substitute={"zoominfo": "apollo"})
    with pytest.raises(PatternError, match="not a provider gtmkit can run"):
        p.to_waterfall(substitute={"zoominfo": "clearbit"})


def test_non_waterfall_entries_say_they_do_not_run():
    p = load(LIBRARY / "integration-architectures" / "queue-based-pipeline.md")
    with pytest.raises(PatternError, match="documents no provider sequence"):
        p.to_waterfall()


def test_check_verdicts_follow_the_interval():
    text = HAND_EDITED.replace("~40%", "~30%")
    p = from_text(text, category="enrichment-waterfalls")
    # hunter finds 30% of all rows, pdl 10%: the documented 30% is inside hunter's interval,
    # the documented 20% for pdl lies above its interval
    result = fake_result(["hunter", "pdl", "manual"], n=600, hit_rates=[0.30, 0.143], seed=0)
    rows = {(r["figure"], r["step"]): r for r in p.check(result).iter_rows(named=True)}
    hunter = rows[("step_share", 1)]
    assert hunter["low"] <= 0.30 <= hunter["high"] and hunter["verdict"] == "consistent"
    pdl = rows[("step_share", 2)]
    assert pdl["high"] < 0.20 and pdl["verdict"] == "worse"
    assert rows[("step_cost_usd", 1)]["verdict"] == "consistent"  # $0.10 documented and billed
    assert rows[("accuracy", None)]["verdict"] == "not documented"
    assert rows[("coverage", None)]["documented"] == pytest.approx(0.65)


def test_accuracy_is_not_measured_without_truth_and_measured_with_it():
    p = from_text(HAND_EDITED.replace("- **Cost:**", "- **Quality:** 90% accuracy\r\n- **Cost:**"),
                  category="enrichment-waterfalls")  # fmt: skip
    result = fake_result(["hunter", "pdl", "manual"], seed=2)
    no_truth = p.check(result).filter(pl.col("figure") == "accuracy").row(0, named=True)
    assert no_truth["verdict"] == "not measured"
    found = result.records.filter(pl.col("email").is_not_null())
    truth = found.select("row_id", pl.col("email").alias("true_email"))
    truth = truth.with_columns(
        pl.when(pl.col("row_id") % 2 == 0).then(pl.col("true_email")).otherwise(pl.lit("x@y.z"))
    )
    measured = (
        p.check(result, truth=truth).filter(pl.col("figure") == "accuracy").row(0, named=True)
    )
    expected = (found["row_id"] % 2 == 0).mean()
    assert measured["measured"] == pytest.approx(expected) and measured["n"] == found.height


# -- maturity -----------------------------------------------------------------------------------
def _entry(tmp_path, maturity="🔬 Experimental (simulated world only)"):
    path = tmp_path / "enrichment-waterfalls" / "m.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HAND_EDITED.replace("🔬 Experimental", maturity))
    return path


def _record(path, seed, *, source="simulated", engagement=None):
    p = load(path)
    p.record_benchmark(fake_result(["hunter", "pdl", "manual"], seed=seed), source=source,
                       engagement=engagement)  # fmt: skip
    p.save()
    return load(path)


def test_maturity_moves_only_with_distinct_live_engagements(tmp_path):
    path = _entry(tmp_path)
    for seed in range(4):
        assert _record(path, seed).maturity == "Experimental", "simulated runs never promote"
    assert _record(path, 10, source="live", engagement="Acme").maturity == "Experimental"
    assert _record(path, 11, source="live", engagement="acme ").maturity == "Experimental"
    p = _record(path, 12, source="live", engagement="Globex")
    assert p.maturity == "Proven"
    assert p.document.field("maturity") == "✅ Proven (2 live engagements)"
    for seed, client in zip(range(13, 15), ["Initech", "Umbrella"], strict=True):
        assert _record(path, seed, source="live", engagement=client).maturity == "Proven"
    assert _record(path, 15, source="live", engagement="Hooli").maturity == "Battle-Tested"
    assert "💎 Battle-Tested" in load(path).document.field("maturity")


@pytest.mark.parametrize("level", ["🏆 Signature", "💎 Battle-Tested"])
def test_maturity_never_moves_down_and_signature_stays(tmp_path, level):
    path = _entry(tmp_path, level)
    p = _record(path, 1, source="live", engagement="Acme")
    p = _record(path, 2, source="live", engagement="Globex")
    assert p.maturity == parse_level(level)


def test_a_live_benchmark_needs_an_engagement(tmp_path):
    p = load(_entry(tmp_path))
    with pytest.raises(PatternError, match="engagement"):
        p.record_benchmark(fake_result(["hunter", "pdl", "manual"]), source="live")
    with pytest.raises(PatternError, match="source must be"):
        p.record_benchmark(fake_result(["hunter", "pdl", "manual"]), source="sandbox")  # type: ignore[arg-type]


def test_a_result_of_another_waterfall_is_refused():
    p = from_text(HAND_EDITED, category="enrichment-waterfalls")
    with pytest.raises(PatternError, match="ran 2 step"):
        p.check(fake_result(["hunter", "pdl"]))


def test_a_run_is_filed_as_what_it_was_simulated_or_live(tmp_path):
    """The engine records where each provider answered from (``totals["modes"]``); a
    write-back that says otherwise is refused (maturity counts live engagements only)."""
    from gtmkit import patterns

    source = REPO / "patterns/enrichment-waterfalls/smb-verified-guess-waterfall.md"
    path = tmp_path / "enrichment-waterfalls" / source.name  # the folder is the category
    path.parent.mkdir()
    path.write_bytes(source.read_bytes())
    entry = patterns.load(path)
    leads = gtmkit.load_list(REPO / "data/samples/leads_small.csv")
    result = entry.to_waterfall().run(leads, mode="sandbox", ledger=None, progress=False)
    assert set(result.totals["modes"].values()) <= {"sandbox", "local"}
    with pytest.raises(PatternError, match="simulated world"):
        entry.record_benchmark(result, source="live", engagement="Acme")
    result.totals["modes"] = {**result.totals["modes"], "hunter": "live"}
    with pytest.raises(PatternError, match="called hunter live"):
        entry.record_benchmark(result, source="simulated")
