"""compare(field="phone") on the simulated world, through the real engine, adapters and sandbox,
and its chart (``charts.phone_quality``) drawn in headless Chromium (screenshot in
``artifacts/phone-quality.png``).

Every figure is checked against something computed here without gtmkit.comparison: the
phones the engine wrote into each provider's records, the world's true numbers
(``World.truth``), the simulated providers' own billing meter, and a brute force over every
order of the providers walked row by row in plain Python.
"""

from __future__ import annotations

import itertools
import json
import math
from urllib.parse import unquote

import polars as pl
import pytest
import vl_convert as vlc
from _compare_helpers import connected, world_records

import gtmkit
from gtmkit import charts
from gtmkit.comparison import CompareError, Comparison, best_order
from gtmkit.providers import provider_class
from gtmkit.sandbox import default_world, simulate
from gtmkit.waterfall import Waterfall
from tests._lab_helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    only_local_files,
    require_chromium,
)

SELLERS = ["apollo", "lusha", "zoominfo", "pdl", "prospeo"]
ENGINE = {"progress": False, "rate_limits": "off"}
RUN = {**ENGINE, "echo": False, "ledger": None}  # no cache: every lookup sent and billed
N_ROWS = 150


@pytest.fixture(scope="module")
def world():
    return default_world()


@pytest.fixture(scope="module")
def records(world) -> pl.DataFrame:
    return world_records(world, N_ROWS, seed=21)


@pytest.fixture(scope="module")
def truth(world, records) -> pl.DataFrame:
    return world.truth(records)


@pytest.fixture(scope="module")
def compared(world, records, truth):
    # the simulation is kept for the whole module: Apollo's phone deliveries land in an inbox
    # it owns, and its meter is what the providers billed
    sim = simulate(world)
    with connected(sim, SELLERS) as providers:
        cmp = gtmkit.compare(records, providers, truth=truth, field="phone", **RUN)
        yield sim, cmp


@pytest.fixture(scope="module")
def cmp(compared) -> Comparison:
    return compared[1]


def _price(name: str) -> float:
    return float(provider_class(name).price_per_credit)


def _true_numbers(truth: pl.DataFrame) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for row in truth.iter_rows(named=True):
        out[row["row_id"]] = {
            row[c] for c in ("true_mobile", "true_direct", "true_office") if row[c] is not None
        }
    return out


def _lookups(cmp: Comparison) -> dict[tuple[int, str], dict]:
    """(row, provider) → the number found, its type and the credits paid, read from the raw
    engine attempts (ledger=None: each lookup was sent; retries are summed)."""
    out: dict[tuple[int, str], dict] = {}
    assert cmp.attempts is not None
    for a in cmp.attempts.sort("attempt").iter_rows(named=True):
        key = (a["row_id"], a["provider"])
        fields = json.loads(a["fields_json"] or "{}")
        entry = out.setdefault(key, {"credits": 0.0})
        entry["credits"] += a["credits"]
        entry["phone"] = fields.get("phone") if a["outcome"] == "hit" else None
        entry["type"] = fields.get("phone_type") if entry["phone"] else None
    return out


def test_every_seller_is_asked_about_every_row_for_a_phone(cmp: Comparison, records) -> None:
    obs = cmp.observations
    assert cmp.field == "phone" and "phones" in repr(cmp)
    assert obs.height == records.height * len(SELLERS) and obs["called"].all()
    assert {"phone", "phone_type", "mobile", "list_credits"} <= set(obs.columns)
    found = obs.filter(pl.col("hit"))
    assert found["phone"].str.starts_with("+").all()  # E.164
    assert set(found["phone_type"].unique()) <= {"mobile", "direct", "office"}


def test_phone_hit_rate_accuracy_and_cost_per_usable_phone_match_the_worlds_truth(
    compared, records, truth
) -> None:
    sim, cmp = compared
    true = _true_numbers(truth)
    billed = sim.billed()
    metrics = {row["provider"]: row for row in cmp.metrics.iter_rows(named=True)}
    for name in SELLERS:
        # what the engine wrote into this provider's own run, not the observations
        out = cmp.result[name].records.filter(pl.col("row_id").is_in(records["row_id"].implode()))
        got = {r["row_id"]: (r["phone"], r["phone_type"]) for r in out.iter_rows(named=True)}
        hits = [rid for rid, (phone, _) in got.items() if phone]
        right = [rid for rid in hits if got[rid][0] in true[rid]]
        mobiles = [rid for rid in hits if got[rid][1] == "mobile"]
        m = metrics[name]
        assert m["n"] == records.height
        assert m["hits"] == len(hits) and m["hit_rate"] == pytest.approx(len(hits) / N_ROWS)
        assert m["judged"] == len(hits) and m["correct"] == len(right)
        assert m["accuracy"] == pytest.approx(len(right) / len(hits))
        assert m["usable"] == len(right)
        assert m["mobiles"] == len(mobiles)
        assert m["usable_mobiles"] == len([r for r in mobiles if r in right])
        # money: the simulated provider's own meter at its list price
        usd = billed.get(name, 0.0) * _price(name)
        assert m["credits_paid"] == pytest.approx(billed.get(name, 0.0))
        assert m["usd_paid"] == pytest.approx(usd)
        assert m["usd_per_usable"] == pytest.approx(usd / len(right))
        # the simulated world is calibrated (field-notes §4): phones are found for fewer
        # people than emails and 8-18 % of numbers no longer reach the person
        assert 0.05 <= m["hit_rate"] <= 0.75, name
        assert 0.6 <= m["accuracy"] < 1.0, name


def test_a_mobile_is_billed_as_the_vendor_bills_it(compared) -> None:
    sim, cmp = compared
    obs = cmp.observations
    apollo = obs.filter(pl.col("provider") == "apollo")
    # Apollo: 1 credit for the match, +8 when a mobile comes back (its reveal)
    assert apollo.filter(pl.col("mobile"))["list_credits"].unique().to_list() == [9.0]
    assert set(apollo.filter(pl.col("hit") & ~pl.col("mobile"))["list_credits"]) <= {1.0}
    prospeo = obs.filter((pl.col("provider") == "prospeo") & pl.col("mobile"))
    assert prospeo.height > 0 and (prospeo["list_credits"] == 10.0).all()
    assert obs["list_credits"].sum() == pytest.approx(sum(sim.billed().values()))


def _walk(order, rows, lookups, stop_on_mobile: bool) -> tuple[int, int, float]:
    """Replay ``order`` row by row: (rows covered, rows with a right number, usd spent)."""
    covered = usable = 0
    usd = 0.0
    for rid, numbers in rows.items():
        for name in order:
            seen = lookups[(rid, name)]
            usd += seen["credits"] * _price(name)
            stops = seen["phone"] and (not stop_on_mobile or seen["type"] == "mobile")
            if stops:
                covered += 1
                usable += seen["phone"] in numbers
                break
    return covered, usable, usd


@pytest.mark.parametrize("phone_stop", ["first_any", "first_mobile"])
def test_the_optimizers_best_order_for_phones_is_the_brute_forces(
    cmp: Comparison, truth, phone_stop
) -> None:
    lookups = _lookups(cmp)
    rows = _true_numbers(truth)
    mobile = phone_stop == "first_mobile"
    walked = {
        order: _walk(order, rows, lookups, mobile) for order in itertools.permutations(SELLERS)
    }
    cheapest = min(usd for _, _, usd in walked.values())
    best = best_order(cmp.pattern(phone_stop=phone_stop))
    covered, usable, usd = walked[tuple(best.order)]
    assert usd == pytest.approx(cheapest)
    assert best.cost_per_row_usd == pytest.approx(usd / N_ROWS)
    assert best.coverage == pytest.approx(covered / N_ROWS)
    assert best.usable_coverage == pytest.approx(usable / N_ROWS)

    # the recommendation for a coverage target: the cheapest order of any subset reaching it
    target = 0.4 if mobile else 0.5
    rec = cmp.recommend(target_coverage=target, phone_stop=phone_stop)
    reaching = [
        (usd, order)
        for k in range(1, len(SELLERS) + 1)
        for subset in itertools.combinations(SELLERS, k)
        for order in itertools.permutations(subset)
        for covered, _, usd in [_walk(order, rows, lookups, mobile)]
        if covered / N_ROWS >= target - 1e-12
    ]
    assert reaching, "the target must be reachable for this check to mean anything"
    assert rec.target_met
    cheapest_usd, _ = min(reaching)
    got_covered, got_usable, got_usd = _walk(rec.order, rows, lookups, mobile)
    assert got_usd == pytest.approx(cheapest_usd)
    assert rec.predicted_cost_per_row_usd == pytest.approx(got_usd / N_ROWS, abs=1e-4)
    assert rec.predicted_coverage == pytest.approx(got_covered / N_ROWS, abs=1e-4)
    assert rec.predicted_usable_coverage == pytest.approx(got_usable / N_ROWS, abs=1e-4)
    assert all(s.fills == ("phone",) and s.phone_stop == phone_stop for s in rec.waterfall.steps)


def test_first_mobile_and_first_any_differ_where_a_direct_line_comes_first(
    cmp: Comparison,
) -> None:
    order = list(SELLERS)
    any_stats = best_order(cmp.pattern(order, phone_stop="first_any"))
    mobile_stats = best_order(cmp.pattern(order, phone_stop="first_mobile"))
    # only mobiles cover a row under first_mobile, and looking past a direct line costs more
    assert mobile_stats.coverage < any_stats.coverage
    assert mobile_stats.cost_per_row_usd > any_stats.cost_per_row_usd


@pytest.mark.parametrize(("phone_stop", "target"), [("first_any", 0.5), ("first_mobile", 0.4)])
def test_the_recommended_phone_waterfall_replays_as_predicted(
    world, records, cmp, phone_stop, target
) -> None:
    rec = cmp.recommend(target_coverage=target, phone_stop=phone_stop)
    assert len(rec.order) > 1  # a real waterfall, where the stop rule decides who is called
    sim = simulate(world)  # a fresh simulated world: same people, same answers, new meter
    with connected(sim, list(rec.order)) as providers:
        wf = Waterfall(rec.waterfall.steps, name="replay")
        result = wf.run(records, providers=providers, ledger=None, **ENGINE)
    out = result.records
    # under first_mobile only a mobile covers a row (a direct line found on the way is kept)
    covered = out["phone"].is_not_null() & (
        (out["phone_type"] == "mobile") if phone_stop == "first_mobile" else True
    )
    assert covered.sum() / N_ROWS == pytest.approx(rec.predicted_coverage, abs=1e-4)
    usd = sum(credits * _price(name) for name, credits in sim.billed().items())
    assert usd / N_ROWS == pytest.approx(rec.predicted_cost_per_row_usd, abs=1e-4)


def test_phone_conflicts_are_different_numbers_of_the_same_type(cmp: Comparison) -> None:
    conflicts = cmp.conflicts
    assert {"phone", "phone_type", "n_phones"} <= set(conflicts.columns)
    assert conflicts.height > 0  # wrong numbers make some
    per = conflicts.group_by("row_id", "phone_type").agg(pl.col("phone").n_unique())
    assert (per["phone"] > 1).all()
    pair = cmp.overlap.filter((pl.col("provider_a") == "lusha") & (pl.col("provider_b") == "pdl"))
    assert pair["conflicts"][0] <= pair["both_hit"][0]


def test_a_rerun_answered_from_the_ledger_prices_phones_as_they_were_bought(
    world, records, truth, tmp_path
) -> None:
    sim = simulate(world)
    names = ["apollo", "lusha", "prospeo"]
    options = {**RUN, "ledger": str(tmp_path / "ledger.sqlite"), "truth": truth}
    with connected(sim, names) as providers:
        first = gtmkit.compare(records, providers, field="phone", **options)
        bought = dict(sim.billed())
        again = gtmkit.compare(records, providers, field="phone", **options)
    assert sim.billed() == bought  # the re-run sent nothing and paid nothing
    assert again.observations["cached"].all() and again.metrics["credits_paid"].sum() == 0
    priced = ["provider", "hits", "usable", "credits_per_call", "usd_per_usable"]
    assert again.metrics.select(priced).equals(first.metrics.select(priced))
    # a cached Apollo mobile still costs the 9 credits it was bought at, not a 1-credit match
    apollo = again.observations.filter((pl.col("provider") == "apollo") & pl.col("mobile"))
    assert apollo.height > 0 and (apollo["list_credits"] == 9.0).all()
    a = first.recommend(target_coverage=0.4, phone_stop="first_mobile")
    b = again.recommend(target_coverage=0.4, phone_stop="first_mobile")
    assert (a.order, a.predicted_cost_per_row_usd) == (b.order, b.predicted_cost_per_row_usd)


def test_without_truth_a_usable_phone_is_a_found_number(cmp: Comparison, truth) -> None:
    assert cmp.attempts is not None
    blind = Comparison.from_attempts(cmp.attempts, cmp.costs, field="phone")
    m = blind.metrics
    assert (m["usable"] == m["hits"]).all() and m["judged"].sum() == 0
    assert m["accuracy"].is_null().all()
    # judged later (dialled outcomes joined back): the same verdicts as judged up front
    later = blind.with_truth(truth).metrics.select("provider", "correct", "usable")
    assert later.equals(cmp.metrics.select("provider", "correct", "usable"))


def test_a_provider_without_phones_is_refused_before_anything_is_spent(world, records) -> None:
    sim = simulate(world)
    with (
        connected(sim, ["findymail", "lusha"]) as providers,
        pytest.raises(CompareError, match=r"\[.findymail.\] return no phone numbers"),
    ):
        gtmkit.compare(records, providers, field="phone", **RUN)
    assert sim.requests() == {} or sum(sim.requests().values()) == 0


def test_the_phone_estimate_and_budget_use_the_phone_worst_case(world, records) -> None:
    seen = []

    def decline(estimate: pl.DataFrame) -> bool:
        seen.append(estimate)
        return False

    sim = simulate(world)
    with connected(sim, ["apollo", "prospeo"]) as providers:
        with pytest.raises(CompareError, match="declined"):
            gtmkit.compare(records, providers, field="phone", confirm=decline, **RUN)
        worst = {r["provider"]: r["usd_worst_case"] for r in seen[0].iter_rows(named=True)}
        assert worst["apollo"] == pytest.approx(N_ROWS * 9 * _price("apollo"))
        assert worst["prospeo"] == pytest.approx(N_ROWS * 10 * _price("prospeo"))
        # the list price of an email lookup would pass this budget; a phone's worst case not
        email_price = N_ROWS * (_price("apollo") + _price("prospeo"))
        with pytest.raises(CompareError, match="over budget_usd"):
            gtmkit.compare(records, providers, field="phone", budget_usd=email_price * 1.5, **RUN)
    assert sum(sim.billed().values()) == 0


def test_phone_stop_is_refused_on_an_email_comparison_and_a_bad_field_is_named(
    world, records
) -> None:
    with pytest.raises(CompareError, match="field must be one of"):
        gtmkit.compare(records, ["lusha"], field="fax", **RUN)  # type: ignore[arg-type]
    sim = simulate(world)
    with connected(sim, ["lusha"]) as providers:
        email = gtmkit.compare(records.head(10), providers, **RUN)
    assert "mobile" not in email.metrics.columns and email.field == "email"
    with pytest.raises(CompareError, match="phone_stop applies to a phone comparison"):
        email.pattern(phone_stop="first_mobile")
    assert not math.isnan(email.metrics["hit_rate"][0])


# -- the phone chart -----------------------------------------------------------------------
def _chart_data(chart) -> tuple[pl.DataFrame, pl.DataFrame]:
    spec = chart.to_dict()
    frames = [pl.DataFrame(spec["datasets"][layer["data"]["name"]]) for layer in spec["layer"]]
    return frames[0], frames[1]


def test_the_phone_chart_draws_the_metrics(cmp: Comparison) -> None:
    bars, labels = _chart_data(charts.phone_quality(cmp))
    for m in cmp.metrics.iter_rows(named=True):
        mine = bars.filter(pl.col("provider") == m["provider"])
        share = dict(zip(mine["part"], mine["share"], strict=True))
        reach = share.get("Mobile that reaches them", 0) + share.get(
            "Other line that reaches them", 0
        )
        assert reach == pytest.approx(m["usable"] / m["n"])
        assert share.get("Wrong number", 0) == pytest.approx((m["hits"] - m["correct"]) / m["n"])
        assert share.get("Mobile that reaches them", 0) == pytest.approx(
            m["usable_mobiles"] / m["n"]
        )
        label = labels.filter(pl.col("provider") == m["provider"])["label"][0]
        assert label == f"${m['usd_per_usable']:,.3f} per usable phone"
    assert "Number not checked" not in set(bars["part"])  # every row has truth here
    png = vlc.vegalite_to_png(charts.phone_quality(cmp).to_dict(), scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 8_000


@pytest.mark.browser
@pytest.mark.slow
def test_the_phone_chart_in_chromium(cmp: Comparison, tmp_path) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "phones.html"
    charts.phone_quality(cmp).save(str(page_file), inline=True, embed_options={"renderer": "svg"})
    ARTIFACTS.mkdir(exist_ok=True)
    refused: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 600})
            page.route("**/*", only_local_files(refused))
            page.goto(page_file.as_uri(), wait_until="load")
            page.wait_for_selector("svg.marks", timeout=15_000)
            texts = page.eval_on_selector_all(
                "svg.marks text", "els => els.map(e => e.textContent)"
            )
            bars = page.locator("svg.marks path[aria-roledescription='bar']").count()
            box = page.locator("svg.marks").bounding_box()
            page.screenshot(path=str(ARTIFACTS / "phone-quality.png"), full_page=True)
        finally:
            browser.close()
    assert refused == []
    assert "Phones found, and how many reach the person" in texts
    for m in cmp.metrics.iter_rows(named=True):
        assert m["provider"] in texts
        assert f"${m['usd_per_usable']:,.3f} per usable phone" in texts
    parts = set(pl.DataFrame(_chart_data(charts.phone_quality(cmp))[0])["part"])
    assert {"Mobile that reaches them", "Wrong number"} <= parts and "Wrong number" in texts
    assert bars >= len(SELLERS) * 2  # a mobile and a wrong-number segment at least per bar
    assert box is not None and box["width"] > 400 and box["height"] > 200


def test_phone_segments_add_up_and_route_phone_steps(cmp: Comparison, records, truth) -> None:
    assert cmp.attempts is not None
    by_band = Comparison.from_attempts(
        cmp.attempts, cmp.costs, rows=records, truth=truth, segment_by="employee_band",
        field="phone",
    )  # fmt: skip
    seg = by_band.segment_metrics
    assert {"mobiles", "usable_mobiles", "usd_per_usable_mobile"} <= set(seg.columns)
    summed = seg.group_by("provider").agg(pl.col("hits", "usable", "mobiles", "n").sum())
    whole = cmp.metrics.select("provider", "hits", "usable", "mobiles", "n")
    assert summed.sort("provider").equals(whole.sort("provider"), null_equal=True)
    rec = by_band.recommend(target_coverage=0.4, by_segment=True, phone_stop="first_mobile")
    assert all(
        s.fills == ("phone",) and s.phone_stop == "first_mobile" for s in rec.waterfall.steps
    )


def test_an_apollo_reveal_never_delivered_is_a_miss_with_its_charge_on_the_books(
    world, records
) -> None:
    sim = simulate(world)
    sim.app.apis["apollo"].phone_drop_rate = 1.0  # Apollo never calls back
    sim.adapter_options["apollo"]["phone_timeout_s"] = 0.3
    with connected(sim, ["apollo"]) as providers:
        cmp = gtmkit.compare(records.head(12), providers, field="phone", **RUN)
    m = cmp.metrics.row(0, named=True)
    assert m["hits"] == 0 and m["usd_per_usable"] is None  # no number ever arrived
    billed = sim.billed().get("apollo", 0.0)
    assert billed > 0 and m["credits_paid"] == pytest.approx(billed)
    reasons = cmp.result["apollo"].records["status_reason"].drop_nulls().to_list()
    pending = [r for r in reasons if "phone reveal not delivered within 0.3 s" in r]
    assert len(pending) == billed  # each match: 1 credit for the person, its phone never came
    assert set(reasons) - set(pending) == {"no provider found it"}
    # the reveal may still be billed later: the engine holds each at its worst case (+8)
    assert cmp.attempts is not None
    assert cmp.attempts["credits_held"].sum() == pytest.approx(8 * billed)
    assert m["credits_held"] == pytest.approx(8 * billed)  # and the comparison says so


def test_the_frontier_chart_of_a_phone_comparison_says_phone(cmp: Comparison) -> None:
    front = cmp.frontier(phone_stop="first_mobile")
    rec = cmp.recommend(target_coverage=0.4, phone_stop="first_mobile")
    for metric, words in (("coverage", "Rows with a phone"), ("usable_coverage", "usable phone")):
        spec = charts.pareto_frontier(front, recommendation=rec, metric=metric, field="phone")
        titles = json.dumps(spec.to_dict())
        assert words in titles and "email" not in titles
    email_axis = json.dumps(charts.pareto_frontier(front).to_dict())
    assert "Rows with an email" in email_axis  # the email chart keeps its words


@pytest.mark.parametrize(("hide", "shown"), [(None, True), (True, False)])
def test_a_phone_comparison_hands_providers_the_lists_email_unless_told(
    world, records, truth, hide, shown
) -> None:
    with_email = records.head(6).join(
        truth.select("row_id", pl.col("true_email").alias("email")), on="row_id"
    )
    sim = simulate(world)
    asked: list[str] = []
    respond = sim.app.respond

    def spy(provider, method, path, query, headers, body, *args, **kwargs):
        if provider == "lusha":
            asked.append(unquote(str(query)))
        return respond(provider, method, path, query, headers, body, *args, **kwargs)

    sim.app.respond = spy  # type: ignore[method-assign]
    with connected(sim, ["lusha"]) as providers:
        options = {**RUN, "hide_input_email": hide}
        gtmkit.compare(with_email, providers, field="phone", **options)
    assert len(asked) == 6
    # in a phone waterfall the email is an input (Lusha looks a person up by it), not the answer
    emails = [e for e in with_email["email"].to_list() if e]
    assert emails and any(e in q for q in asked for e in emails) is shown
