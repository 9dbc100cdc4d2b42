"""Calibration and speed of the simulated world.

Usage: python benchmarks/bench_world.py [--quick] [--sample N] [--http-lookups N]

Measures, on a sample of people from ``default_world()`` (seed 7, 3,000 companies), through the
oracle directly: each provider's hit rate (target 40–68 %), a three-provider waterfall's
coverage (80–90 %) and the independent-model prediction (at least 3 points higher), the
catch-all share of domains (30–55 %), the wrong/stale rate of hits (5–15 %), Apollo's hit rate
under 50 vs above 200 employees (gap at least 20 points); world generation time; oracle
answers per second (cold and memoized); and, when the HTTP layer is importable, in-process
lookups per second through ``SandboxTransport`` with raw httpx requests and latency off.

The second wave of providers (ZoomInfo, Lusha, Findymail, LeadMagic; issue 12) is checked
against its own published figures (``../shared/field-notes.md`` §4): each hit rate 40–65 %
and wrong/stale rate 5–15 %; Lusha on enterprise VP+ 52–58 % (±4 points of sampling slack);
ZoomInfo stronger on enterprise than on small companies; LeadMagic ``valid`` bounce under 1 %
and ``valid_catch_all`` 3–5 % (±2 points); Findymail under 5 % invalid; a waterfall of three
of them 80–90 % and at least 3 points below the independent model; and their coverage
correlated with the first five providers' (mean phi coefficient of hit indicators > 0.05).
Accuracy (right person, current address, among hits) is one minus the wrong/stale rate.

Phones (issue 12), for the five providers that sell them (Apollo's phone reveal, ZoomInfo,
Lusha, PDL, Prospeo's mobile) through the same oracle answers: each provider's mobile and
any-phone share of the list, its mobile share of the people it found, and its wrong-number
rate (returned numbers that do not reach the person asked for). Bands, from
``../shared/field-notes.md``: a waterfall over the phone sellers finds a mobile for 55–75 % of
the list ("Phones ~65 %, emails ~80 %", FullEnrich via leadbay, §4.1, ±10 points) and the
mobile-to-email coverage ratio of the same waterfall is 0.71–0.91 (65/80 = 0.81, ±0.10);
mobiles are scarcer than emails (each provider's mobile share 15–35 % of the list and 35–65 %
of the people it found, below its email hit rate — the sandbox's calibration of that figure,
``gtmkit/sandbox/phones.py``); wrong numbers 5–25 % of returned numbers (phone data turns over
~3.5 % a month, §4.3 / §4.5: 7–21 % for records two to six months old, plus the stale and
wrong-person records email data has too, well under the 42.9 % of a full year); and the
correlation kept — the mobile waterfall at least 3 points under the independent model, and
the mean phi of the sellers' mobile-hit indicators above 0.05.

ZoomInfo's batches through the engine (issue 12: 25 records a request): a waterfall with
zoominfo as first and as second step (hunter the other), run in the in-process sandbox with
latency off and on (100 ms median with ``--quick`` over 1,000 rows, 300 ms over 2,000 rows),
measuring the engine's fill figure (``result.totals["batches"]``: requests, mean records per
request, share of full requests). Targets: zoominfo first with latency, mean batch at least 22
and at least 80 % of requests full (before the batch layer lingered for about one request:
mean 4.2, 5 % full at 300 ms over 2,000 rows); second step with latency (rows trickle in as
hunter answers), mean at least 5 (before: 1.2); latency off, where the run is CPU-bound and
noisy on a shared machine, mean at least 17 (and half the requests full when first).

A missed check makes the script exit non-zero.

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gtmkit.sandbox.oracle import ProviderOracle, calibration_report
from gtmkit.sandbox.world import World, default_world

BANDS = {
    "hit_rate": (0.40, 0.68),
    "waterfall_coverage": (0.80, 0.90),
    "waterfall_gap_points_min": 3.0,
    "catch_all_share": (0.30, 0.55),
    "wrong_rate": (0.05, 0.15),
    "apollo_gap_points_min": 20.0,
}


#: The second wave of simulated providers and their published bands (field-notes §4).
NEW_PROVIDERS = ("zoominfo", "lusha", "findymail", "leadmagic")
NEW_BANDS = {
    "hit_rate": (0.40, 0.65),
    "wrong_rate": (0.05, 0.15),
    "lusha_enterprise_vp": (0.48, 0.62),  # "Enterprise business: Lusha 52-58%", ±4 points
    "leadmagic_valid_bounce_max": 0.01,  # "valid under 1%"
    "leadmagic_valid_catch_all_bounce": (0.01, 0.07),  # "valid_catch_all 3-5%", ±2 points
    "findymail_invalid_max": 0.05,  # "under 5% invalid"
    "waterfall_coverage": (0.80, 0.90),
    "waterfall_gap_points_min": 3.0,
    "mean_phi_min": 0.05,
}
NEW_WATERFALL = ("zoominfo", "leadmagic", "findymail")

#: The providers that sell phones, in the order a phone waterfall tries them (Lusha, the mobile
#: specialist, first; Apollo's asynchronous reveal after the databases).
PHONE_SELLERS = ("lusha", "zoominfo", "apollo", "pdl", "prospeo")
PHONE_BANDS = {
    "mobile_of_list": (0.15, 0.35),
    "mobile_of_found": (0.35, 0.65),
    "wrong_number": (0.05, 0.25),
    "mobile_waterfall": (0.55, 0.75),  # "Phones ~65%, emails ~80%", ±10 points
    "mobile_to_email_ratio": (0.71, 0.91),  # 65 / 80 = 0.81, ±0.10
    "waterfall_gap_points_min": 3.0,
    "mean_phi_min": 0.05,
}


def _sample_answers(
    oracle: ProviderOracle, sample_size: int
) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    """The people ``calibration_report`` samples, and every provider's answer for each."""
    world = oracle.world
    rng = random.Random("calibration-0")
    rows = [world._row(i) for i in rng.sample(range(world.people.height), sample_size)]
    queries = [{k: r[k] for k in ("first_name", "last_name", "company_domain")} for r in rows]
    return rows, {p: [oracle.person(p, q) for q in queries] for p in oracle.providers}


def _has_mobile(answer: Any) -> bool:
    return bool(answer.found) and any(ph.type == "mobile" for ph in answer.phones)


def _reaches_on_mobile(answer: Any) -> bool:
    return any(ph.type == "mobile" and ph.reaches_person for ph in answer.phones)


def _phones(oracle: ProviderOracle, sample_size: int) -> dict[str, Any]:
    """Phone coverage and wrong numbers of the phone sellers, on the same sample."""
    rows, found = _sample_answers(oracle, sample_size)
    n = len(rows)
    per: dict[str, dict[str, Any]] = {}
    for p in PHONE_SELLERS:
        hits = [a for a in found[p] if a.found]
        numbers = [ph for a in hits for ph in a.phones]
        mobiles = [ph for ph in numbers if ph.type == "mobile"]
        with_mobile = sum(_has_mobile(a) for a in hits)
        per[p] = {
            "email_hit": round(len(hits) / n, 4),
            "mobile_of_list": round(with_mobile / n, 4),
            "mobile_of_found": round(with_mobile / len(hits), 4) if hits else 0.0,
            "any_phone_of_list": round(sum(bool(a.phones) for a in hits) / n, 4),
            "right_mobile_of_list": round(sum(map(_reaches_on_mobile, hits)) / n, 4),
            "numbers_returned": len(numbers),
            "wrong_number": round(sum(not ph.reaches_person for ph in numbers) / len(numbers), 4)
            if numbers
            else 0.0,
            "wrong_mobile": round(sum(not ph.reaches_person for ph in mobiles) / len(mobiles), 4)
            if mobiles
            else 0.0,
        }
    mobile = sum(any(_has_mobile(found[p][i]) for p in PHONE_SELLERS) for i in range(n)) / n
    any_phone = sum(
        any(found[p][i].found and found[p][i].phones for p in PHONE_SELLERS) for i in range(n)
    )
    email = sum(any(found[p][i].found for p in PHONE_SELLERS) for i in range(n)) / n
    independent = 1.0 - math.prod(1.0 - per[p]["mobile_of_list"] for p in PHONE_SELLERS)
    flags = {p: [_has_mobile(a) for a in found[p]] for p in PHONE_SELLERS}
    phis = {
        f"{a}~{b}": round(_phi_flags(flags[a], flags[b]), 4)
        for i, a in enumerate(PHONE_SELLERS)
        for b in PHONE_SELLERS[i + 1 :]
    }
    return {
        "providers": per,
        "waterfall": {
            "providers": list(PHONE_SELLERS),
            "first_mobile_coverage": round(mobile, 4),
            "first_any_coverage": round(any_phone / n, 4),
            "email_coverage": round(email, 4),
            "mobile_to_email_ratio": round(mobile / email, 4),
            "independent_mobile_prediction": round(independent, 4),
            "gap_points": round(100 * (independent - mobile), 2),
        },
        "phi_mobile": phis,
        "mean_phi_mobile": round(sum(phis.values()) / len(phis), 4),
    }


def _check_phones(phones: dict[str, Any]) -> dict[str, bool]:
    def within(key: str, value: float) -> bool:
        lo, hi = PHONE_BANDS[key]
        return lo <= value <= hi

    per = phones["providers"].values()
    wf = phones["waterfall"]
    return {
        "mobile_of_list_in_band": all(within("mobile_of_list", p["mobile_of_list"]) for p in per),
        "mobile_of_found_in_band": all(
            within("mobile_of_found", p["mobile_of_found"]) for p in per
        ),
        "mobiles_scarcer_than_emails": all(p["mobile_of_list"] < p["email_hit"] for p in per),
        "wrong_numbers_in_band": all(within("wrong_number", p["wrong_number"]) for p in per),
        "mobile_waterfall_in_band": within("mobile_waterfall", wf["first_mobile_coverage"]),
        "mobile_to_email_ratio_in_band": within(
            "mobile_to_email_ratio", wf["mobile_to_email_ratio"]
        ),
        "mobile_waterfall_below_independent": wf["gap_points"]
        >= PHONE_BANDS["waterfall_gap_points_min"],
        "mobile_coverage_correlated": phones["mean_phi_mobile"] > PHONE_BANDS["mean_phi_min"],
    }


def _new_providers(oracle: ProviderOracle, sample_size: int) -> dict[str, Any]:
    """The second wave's figures on the same sample ``calibration_report`` draws."""
    rows, found = _sample_answers(oracle, sample_size)

    def share(flags: list[bool]) -> float | None:
        return round(sum(flags) / len(flags), 4) if flags else None

    vp = {"c_suite", "vp", "founder"}
    lusha_vp = [
        a.found
        for a, r in zip(found["lusha"], rows, strict=True)
        if r["employee_count"] > 1000 and r["seniority"] in vp
    ]
    zi_large = [a.found for a, r in zip(found["zoominfo"], rows, strict=True)
                if r["employee_count"] > 1000]  # fmt: skip
    zi_small = [a.found for a, r in zip(found["zoominfo"], rows, strict=True)
                if r["employee_count"] <= 50]  # fmt: skip
    lm = [a for a in found["leadmagic"] if a.found]
    fm = [a for a in found["findymail"] if a.found]
    covered = [any(found[p][i].found for p in NEW_WATERFALL) for i in range(len(rows))]
    hit = {p: sum(a.found for a in found[p]) / len(rows) for p in oracle.providers}
    independent = 1.0 - math.prod(1.0 - hit[p] for p in NEW_WATERFALL)
    old = [p for p in oracle.providers if p not in NEW_PROVIDERS]
    phis = {
        f"{new}~{other}": round(_phi(found[new], found[other]), 4)
        for new in NEW_PROVIDERS
        for other in old
    }
    return {
        "lusha_enterprise_vp_hit": share(lusha_vp),
        "lusha_enterprise_vp_n": len(lusha_vp),
        "zoominfo_hit_over_1000": share(zi_large),
        "zoominfo_hit_under_50": share(zi_small),
        "leadmagic_valid_bounce": share(
            [not a.email_current for a in lm if a.email_status == "valid"]
        ),
        "leadmagic_valid_catch_all_bounce": share(
            [not a.email_current for a in lm if a.email_status == "valid_catch_all"]
        ),
        "leadmagic_catch_all_bounce": share(
            [not a.email_current for a in lm if a.email_status == "catch_all"]
        ),
        "findymail_invalid": share([not a.email_current for a in fm]),
        "new_waterfall": {
            "providers": list(NEW_WATERFALL),
            "coverage": round(sum(covered) / len(rows), 4),
            "independent_prediction": round(independent, 4),
            "gap_points": round(100 * (independent - sum(covered) / len(rows)), 2),
        },
        "phi_new_vs_first_five": phis,
        "mean_phi": round(sum(phis.values()) / len(phis), 4),
        "accuracy": {p: round(1.0 - wrong, 4) for p, wrong in _wrong(found).items()},
    }


def _wrong(found: dict[str, list[Any]]) -> dict[str, float]:
    """Wrong person or not current, among each new provider's hits."""
    out = {}
    for p in NEW_PROVIDERS:
        hits = [a for a in found[p] if a.found]
        out[p] = sum(not (a.correct_person and a.email_current) for a in hits) / len(hits)
    return out


def _phi(a: list[Any], b: list[Any]) -> float:
    """Phi coefficient of two providers' hit indicators over the same people."""
    return _phi_flags([bool(v.found) for v in a], [bool(v.found) for v in b])


def _phi_flags(a: list[bool], b: list[bool]) -> float:
    """Phi coefficient of two indicator lists over the same people."""
    n = len(a)
    x = [1.0 if v else 0.0 for v in a]
    y = [1.0 if v else 0.0 for v in b]
    mx, my = sum(x) / n, sum(y) / n
    cov = sum((xi - mx) * (yi - my) for xi, yi in zip(x, y, strict=True)) / n
    sd = math.sqrt(mx * (1 - mx) * my * (1 - my))
    return cov / sd if sd else 0.0


def _check_new(report: dict[str, Any], new: dict[str, Any]) -> dict[str, bool]:
    lo, hi = NEW_BANDS["hit_rate"]
    wlo, whi = NEW_BANDS["wrong_rate"]
    vlo, vhi = NEW_BANDS["lusha_enterprise_vp"]
    blo, bhi = NEW_BANDS["leadmagic_valid_catch_all_bounce"]
    clo, chi = NEW_BANDS["waterfall_coverage"]
    wf = new["new_waterfall"]
    return {
        "new_hit_rates_in_band": all(lo <= report["hit_rate"][p] <= hi for p in NEW_PROVIDERS),
        "new_wrong_rates_in_band": all(
            wlo <= report["wrong_rate"][p] <= whi for p in NEW_PROVIDERS
        ),
        "lusha_enterprise_vp_in_band": vlo <= (new["lusha_enterprise_vp_hit"] or 0) <= vhi,
        "zoominfo_enterprise_turf": (new["zoominfo_hit_over_1000"] or 0)
        > (new["zoominfo_hit_under_50"] or 1) + 0.10,
        "leadmagic_valid_bounce_low": (new["leadmagic_valid_bounce"] or 0)
        < NEW_BANDS["leadmagic_valid_bounce_max"],
        "leadmagic_valid_catch_all_bounce_in_band": blo
        <= (new["leadmagic_valid_catch_all_bounce"] or 0)
        <= bhi,
        "findymail_invalid_low": (new["findymail_invalid"] or 0)
        < NEW_BANDS["findymail_invalid_max"],
        "new_waterfall_in_band": clo <= wf["coverage"] <= chi,
        "new_waterfall_below_independent": wf["gap_points"]
        >= NEW_BANDS["waterfall_gap_points_min"],
        "new_coverage_correlated": new["mean_phi"] > NEW_BANDS["mean_phi_min"],
    }


def _check(report: dict[str, Any]) -> dict[str, bool]:
    lo, hi = BANDS["hit_rate"]
    wlo, whi = BANDS["wrong_rate"]
    clo, chi = BANDS["waterfall_coverage"]
    alo, ahi = BANDS["catch_all_share"]
    wf = report["waterfall"]
    return {
        "hit_rates_in_band": all(lo <= v <= hi for v in report["hit_rate"].values()),
        "wrong_rates_in_band": all(wlo <= v <= whi for v in report["wrong_rate"].values()),
        "waterfall_in_band": clo <= wf["coverage"] <= chi,
        "waterfall_below_independent": wf["gap_points"] >= BANDS["waterfall_gap_points_min"],
        "catch_all_in_band": alo <= report["catch_all_domain_share"] <= ahi,
        "apollo_small_company_gap": report["apollo_gap_points"] >= BANDS["apollo_gap_points_min"],
    }


def _oracle_speed(world: World, sample: list[dict[str, Any]]) -> dict[str, float]:
    """Answers/s for a fresh oracle (every answer drawn) and again (memoized)."""
    oracle = ProviderOracle(world)
    queries = [
        {
            "first_name": r["first_name"],
            "last_name": r["last_name"],
            "company_domain": r["company_domain"],
        }
        for r in sample
    ]
    providers = oracle.providers
    start, cpu = time.perf_counter(), time.process_time()
    for provider in providers:
        for query in queries:
            oracle.person(provider, query)
    cold = len(providers) * len(queries) / (time.perf_counter() - start)
    # CPU-time rate too: on a shared 2-core box wall time also measures the neighbours.
    cold_cpu = len(providers) * len(queries) / (time.process_time() - cpu)
    start = time.perf_counter()
    for provider in providers:
        for query in queries:
            oracle.person(provider, query)
    warm = len(providers) * len(queries) / (time.perf_counter() - start)
    by_email = [{"email": r["email"]} for r in sample]
    start = time.perf_counter()
    for query in by_email:
        oracle.verify(query["email"])
    verify = len(by_email) / (time.perf_counter() - start)
    return {
        "oracle_answers_per_s_cold": round(cold),
        "oracle_answers_per_cpu_s_cold": round(cold_cpu),
        "oracle_answers_per_s_warm": round(warm),
        "oracle_verify_per_s_cold": round(verify),
    }


def _http_requests(sample: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, kwargs) per lookup, rotating over the providers' real endpoints."""
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for i, r in enumerate(sample):
        first, last, domain = r["first_name"], r["last_name"], r["company_domain"]
        kind = i % 4
        if kind == 0:
            calls.append(
                (
                    "GET",
                    "https://api.hunter.io/v2/email-finder",
                    {
                        "params": {"domain": domain, "first_name": first, "last_name": last},
                        "headers": {"X-API-KEY": "bench"},
                    },
                )
            )
        elif kind == 1:
            calls.append(
                (
                    "POST",
                    "https://api.apollo.io/api/v1/people/match",
                    {
                        "json": {"first_name": first, "last_name": last, "domain": domain},
                        "headers": {"x-api-key": "bench"},
                    },
                )
            )
        elif kind == 2:
            calls.append(
                (
                    "GET",
                    "https://api.peopledatalabs.com/v5/person/enrich",
                    {
                        "params": {"first_name": first, "last_name": last, "company": domain},
                        "headers": {"X-Api-Key": "bench"},
                    },
                )
            )
        else:
            calls.append(
                (
                    "POST",
                    "https://api.prospeo.io/enrich-person",
                    {
                        "json": {
                            "data": {
                                "first_name": first,
                                "last_name": last,
                                "company_website": domain,
                            }
                        },
                        "headers": {"X-KEY": "bench"},
                    },
                )
            )
    return calls


async def _http_speed(world: World, sample: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        import httpx

        from gtmkit.sandbox import SandboxTransport
    except (ImportError, AttributeError) as exc:  # the HTTP layer has not landed
        return {"http_lookups_per_s": None, "http_note": f"SandboxTransport unavailable: {exc}"}
    transport = SandboxTransport(world, latency_scale=0.0)
    calls = _http_requests(sample)
    statuses: dict[int, int] = {}
    async with httpx.AsyncClient(transport=transport) as client:
        # Warm-up request so one-time imports and route tables are not in the timing.
        method, url, kwargs = calls[0]
        await client.request(method, url, **kwargs)
        start = time.perf_counter()
        for i in range(0, len(calls), 64):  # 64 in flight, like a waterfall with concurrency
            batch = calls[i : i + 64]
            responses = await asyncio.gather(*(client.request(m, u, **kw) for m, u, kw in batch))
            for response in responses:
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        elapsed = time.perf_counter() - start
    return {
        "http_lookups": len(calls),
        "http_lookups_per_s": round(len(calls) / elapsed),
        "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


#: fill targets: (order, latency on) -> (least mean records per request, least full share)
FILL_TARGETS = {
    ("first", False): (17.0, 0.5),
    ("first", True): (22.0, 0.8),
    ("second", False): (17.0, 0.0),
    ("second", True): (5.0, 0.0),
}


def _batch_fill(rows: int, latency_ms: float) -> dict[str, Any]:
    """ZoomInfo's fill figure through the engine, first and second step, latency off and on."""
    from gtmkit.sandbox import simulate
    from gtmkit.waterfall import Step, Waterfall

    world = World.generate(seed=11, companies=max(300, rows * 3 // 4))
    records = world.sample_records(rows, seed=4)
    out: dict[str, Any] = {"rows": rows, "latency_ms": latency_ms}
    for order, steps in (("first", ("zoominfo", "hunter")), ("second", ("hunter", "zoominfo"))):
        for latency in (False, True):
            sim = simulate(world, latency_scale=1.0 if latency else 0.0,
                           latency_ms=latency_ms if latency else None)  # fmt: skip
            started = time.perf_counter()
            result = Waterfall([Step(p) for p in steps]).run(
                records, ledger=None, mode="sandbox", progress=False,
                connect_options=sim.connect_options,
            )  # fmt: skip
            fill = dict(result.totals["batches"]["zoominfo"])
            fill["wall_s"] = round(time.perf_counter() - started, 2)
            fill["http_requests"] = sim.requests().get("zoominfo", 0)  # token grants included
            out[f"{order}_{'latency' if latency else 'no_latency'}"] = fill
    return out


def _check_fill(fill: dict[str, Any]) -> dict[str, bool]:
    checks = {}
    for (order, latency), (mean, full) in FILL_TARGETS.items():
        got = fill[f"{order}_{'latency' if latency else 'no_latency'}"]
        key = f"zoominfo_fill_{order}_{'latency' if latency else 'no_latency'}"
        checks[key] = got["mean_batch"] >= mean and got["full_share"] >= full
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller HTTP run (under a minute)")
    parser.add_argument("--sample", type=int, default=5000, help="people sampled (5000)")
    parser.add_argument("--http-lookups", type=int, default=None, help="HTTP lookups to time")
    args = parser.parse_args(argv)
    http_lookups = args.http_lookups or (2000 if args.quick else 10000)

    start, cpu = time.perf_counter(), time.process_time()
    world = World.generate(seed=7, companies=3000)
    generate_s = time.perf_counter() - start
    generate_cpu_s = time.process_time() - cpu
    start = time.perf_counter()
    default = default_world()
    default_s = time.perf_counter() - start

    oracle = ProviderOracle(default)
    report = calibration_report(oracle, sample_size=args.sample, seed=0)
    checks = _check(report)
    new = _new_providers(oracle, min(args.sample, default.people.height))
    checks |= _check_new(report, new)
    phones = _phones(oracle, min(args.sample, default.people.height))
    checks |= _check_phones(phones)
    fill = _batch_fill(1000, 100.0) if args.quick else _batch_fill(2000, 300.0)
    checks |= _check_fill(fill)

    rng = random.Random(1)
    people = default.people.to_dicts()
    sample = [people[i] for i in rng.sample(range(len(people)), args.sample)]
    speed = _oracle_speed(world, sample)
    http_sample = [people[i] for i in rng.choices(range(len(people)), k=http_lookups)]
    http = asyncio.run(_http_speed(default, http_sample))

    print(
        f"world: {report['world']}, generated in {generate_s:.2f} s wall / "
        f"{generate_cpu_s:.2f} s CPU (default_world {default_s:.2f} s)"
    )
    print(f"sample: {report['sample_people']} people, looked up by name + current domain")
    header = ("provider", "hit", "wrong", "stale", "wrongp", "guess", "vbounce", "p50 s")
    print("{:12s} {:>6s} {:>6s} {:>6s} {:>6s} {:>6s} {:>8s} {:>6s}".format(*header))
    for provider, hit in report["hit_rate"].items():
        parts = report["wrong_rate_parts"][provider]
        bounce = report["verified_bounce"][provider]
        bounce_text = "-" if bounce is None else f"{bounce:.1%}"
        print(
            f"{provider:12s} {hit:6.1%} {report['wrong_rate'][provider]:6.1%} "
            f"{parts['stale']:6.1%} {parts['wrong_person']:6.1%} {parts['bad_guess']:6.1%} "
            f"{bounce_text:>8s} {report['latency_median_s'][provider]:6.2f}"
        )
    wf = report["waterfall"]
    print(
        f"waterfall {' -> '.join(wf['providers'])}: {wf['coverage']:.1%} "
        f"(independent model {wf['independent_prediction']:.1%}, gap {wf['gap_points']:.1f} pts; "
        f"right current email {wf['correct_current_email']:.1%})"
    )
    depth = report["coverage_by_depth"]
    steps = zip(depth["providers"], depth["coverage"], strict=True)
    print("coverage by depth: " + ", ".join(f"{p}: {c:.1%}" for p, c in steps))
    print(
        f"apollo: {report['apollo_hit_under_50']:.1%} under 50 employees vs "
        f"{report['apollo_hit_over_200']:.1%} above 200 ({report['apollo_gap_points']:.1f} pts)"
    )
    print(f"catch-all domains: {report['catch_all_domain_share']:.1%}")
    nwf = new["new_waterfall"]
    print(
        f"new providers: lusha enterprise VP+ {new['lusha_enterprise_vp_hit']:.1%} "
        f"(n={new['lusha_enterprise_vp_n']}); zoominfo >1000 employees "
        f"{new['zoominfo_hit_over_1000']:.1%} vs <=50 {new['zoominfo_hit_under_50']:.1%}; "
        f"leadmagic bounce valid {new['leadmagic_valid_bounce']:.1%}, valid_catch_all "
        f"{new['leadmagic_valid_catch_all_bounce']:.1%}, catch_all "
        f"{new['leadmagic_catch_all_bounce']:.1%}; findymail invalid {new['findymail_invalid']:.1%}"
    )
    print(
        f"waterfall {' -> '.join(nwf['providers'])}: {nwf['coverage']:.1%} (independent model "
        f"{nwf['independent_prediction']:.1%}, gap {nwf['gap_points']:.1f} pts); mean phi vs "
        f"the first five {new['mean_phi']:.3f}"
    )
    print("new providers' accuracy (right, current email among hits): " + ", ".join(
        f"{p} {v:.1%}" for p, v in new["accuracy"].items()
    ))  # fmt: skip
    print("{:10s} {:>6s} {:>7s} {:>7s} {:>6s} {:>7s} {:>7s}".format(
        "phones", "email", "mobile", "m|found", "any", "wrongn", "wrongm"
    ))  # fmt: skip
    for provider, f in phones["providers"].items():
        print(
            f"{provider:10s} {f['email_hit']:6.1%} {f['mobile_of_list']:7.1%} "
            f"{f['mobile_of_found']:7.1%} {f['any_phone_of_list']:6.1%} "
            f"{f['wrong_number']:7.1%} {f['wrong_mobile']:7.1%}"
        )
    pwf = phones["waterfall"]
    print(
        f"phone waterfall {' -> '.join(pwf['providers'])}: first mobile "
        f"{pwf['first_mobile_coverage']:.1%} (independent model "
        f"{pwf['independent_mobile_prediction']:.1%}, gap {pwf['gap_points']:.1f} pts), first "
        f"any {pwf['first_any_coverage']:.1%}, email {pwf['email_coverage']:.1%}, mobile/email "
        f"{pwf['mobile_to_email_ratio']:.2f}; mean phi of mobile hits "
        f"{phones['mean_phi_mobile']:.3f}"
    )
    print(
        f"oracle: {speed['oracle_answers_per_s_cold']:,} answers/s cold "
        f"({speed['oracle_answers_per_cpu_s_cold']:,} per CPU-second), "
        f"{speed['oracle_answers_per_s_warm']:,} warm, "
        f"verify {speed['oracle_verify_per_s_cold']:,}/s"
    )
    if http.get("http_lookups_per_s") is not None:
        print(
            f"SandboxTransport (in process, latency off): {http['http_lookups_per_s']:,} "
            f"lookups/s over {http['http_lookups']:,} requests, statuses {http['http_statuses']}"
        )
    else:
        print(f"SandboxTransport: not measured ({http.get('http_note')})")
    print(f"ZoomInfo batches, engine ({fill['rows']:,} rows, {fill['latency_ms']:g} ms latency):")
    for key, got in fill.items():
        if isinstance(got, dict):
            print(
                f"  {key:20s} {got['requests']:4d} requests, mean {got['mean_batch']:5.2f} of "
                f"{got['batch_size']}, {got['full_share']:.0%} full, {got['wall_s']:.1f} s"
            )
    print("checks: " + ", ".join(f"{k}={'ok' if v else 'FAIL'}" for k, v in checks.items()))

    figures = {
        "benchmark": "bench_world",
        "quick": args.quick,
        "world_generate_s": round(generate_s, 3),
        "world_generate_cpu_s": round(generate_cpu_s, 3),
        "world_people": default.people.height,
        "world_companies": default.companies.height,
        **{k: v for k, v in report.items() if k != "world"},
        "new_providers": new,
        "phones": phones,
        "zoominfo_batches": fill,
        **speed,
        **http,
        "checks": checks,
        "all_checks_pass": all(checks.values()),
    }
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
