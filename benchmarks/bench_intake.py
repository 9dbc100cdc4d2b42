"""Benchmark list intake: ``load_list`` on a generated messy CSV.

Usage:
    python benchmarks/bench_intake.py            # 1,000,000 rows (target: <= 4 s, <= 1 GB)
    python benchmarks/bench_intake.py --quick    # 100,000 rows
    python benchmarks/bench_intake.py --rows 250000

The file is generated into a temporary folder (deterministic, seeded). ``load_list`` (read +
map + normalize + dedupe) and a bare ``pl.read_csv`` of the same file each run in a fresh
subprocess, so every peak RSS (``resource.getrusage`` high-water mark) is that call's own;
wall times exclude interpreter start-up and the import of polars/gtmkit. The last line
printed is one JSON object with the figures; the exit status is 1 when the median wall time
or the peak memory misses its target (the machine's load average is printed with each run:
wall times on a shared machine rise with it, CPU seconds much less).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]

FIRST = [
    "José", "Zoë", "François", "Søren", "Łukasz", "Anna", "John", "Mary", "Ahmed", "Wei",
    "Priya", "Olga", "Jürgen", "Siobhán", "Chloé", "Mohammed", "Yuki", "Carlos", "Fatima",
    "Liam", "Noah", "Emma", "Olivia", "Ava", "Lucas", "Mia", "Ethan", "Sofia", "Mateo", "Léa",
]  # fmt: skip
LAST = [
    "van der Berg", "O'Neil", "McDonald", "García", "Müller", "Smith", "Johnson", "Nguyen",
    "de la Cruz", "Kowalski", "Rossi", "Dubois", "Andersson", "Ó Briain", "Chen", "Patel",
    "Schmidt", "Silva", "Kim", "MacLeod", "D'Angelo", "Lefèvre", "Novák", "Yılmaz", "Brown",
]  # fmt: skip
TLDS = ["com", "com", "com", "io", "co.uk", "de", "fr", "com.au", "net", "ai"]
PERSONAL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.co.uk", "icloud.com", "gmx.de"]
COUNTRIES = ["United States", "US", "USA", "UK", "United Kingdom", "Germany", "DE", "France"]
TITLES = ["VP Sales", "Head of Growth", "  RevOps   Manager ", "CEO", "Account Executive"]
HEADERS = {
    "first": "First Name",
    "last": "last name",
    "email": "E-mail",
    "company": "Account Name",
    "website": "Company Website",
    "linkedin": "Person Linkedin Url",
    "phone": "Mobile",
    "country": "Country",
    "title": "Job Title",
    "id": "Lead ID",
    "notes": "Notes",
}


def _pick(options: list[str], index: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(options)).gather(index % len(options))


def generate(rows: int, path: Path, seed: int = 7) -> None:
    """Write a messy lead CSV with ``rows`` data rows to ``path`` (vectorized, seeded)."""
    i = pl.int_range(0, rows, dtype=pl.Int64)
    h = i.hash(seed)  # stable pseudo-random draws per row
    draw = [(h // (7**k)) % 1000 for k in range(1, 12)]
    # 8% of rows repeat an earlier person (the duplicates to find).
    person = pl.when((draw[0] < 80) & (i > 10)).then(h % pl.max_horizontal(i, 1)).otherwise(i)
    ph = person.hash(seed + 1)
    company = ph % 60_000
    first = _pick(FIRST, ph)
    last = _pick(LAST, ph // 31)
    slug_last = last.str.to_lowercase().str.replace_all(r"[^a-z]", "")
    domain = pl.format("company{}.{}", company, _pick(TLDS, company))
    local = pl.format(
        "{}.{}{}", _pick(["john", "mary", "ana", "li", "omar"], ph), slug_last, person
    )
    work_email = local + "@" + domain
    email = (
        pl.when(draw[1] < 120)
        .then(local + "@" + _pick(PERSONAL, ph))
        .when(draw[1] < 140)
        .then(local + "@")  # broken
        .when(draw[1] < 250)
        .then(pl.lit("  ") + work_email.str.to_uppercase() + " ")
        .when(draw[1] < 850)
        .then(work_email)
    )
    website = (
        pl.when(draw[2] < 200)
        .then(pl.format("https://www.{}/about?utm=x", domain))
        .when(draw[2] < 400)
        .then(pl.format("http://{}:8080", domain))
        .when(draw[2] < 600)
        .then(pl.format("WWW.{}", domain.str.to_uppercase()))
        .when(draw[2] < 750)
        .then(domain)
    )
    slug = pl.format("{}-{}-{}", first.str.to_lowercase(), slug_last, person)
    linkedin = (
        pl.when(draw[3] < 250)
        .then(pl.format("https://www.linkedin.com/in/{}", slug))
        .when(draw[3] < 450)
        .then(pl.format("linkedin.com/in/{}/", slug))
        .when(draw[3] < 600)
        .then(pl.format("http://de.linkedin.com/in/{}?trk=public", slug.str.to_uppercase()))
    )
    digits = pl.format("{}", 2_000_000 + ph % 7_000_000).str.zfill(7)
    phone = (
        pl.when(draw[4] < 200)
        .then(pl.format("(415) {}-{}", digits.str.slice(0, 3), digits.str.slice(3, 4)))
        .when(draw[4] < 330)
        .then(pl.format("+1 212.{}.{}", digits.str.slice(0, 3), digits.str.slice(3, 4)))
        .when(draw[4] < 400)
        .then(pl.format("+44 20 79{} {}", digits.str.slice(0, 2), digits.str.slice(2, 4)))
        .when(draw[4] < 450)
        .then(pl.format("030 {}", digits))
    )
    country = pl.when(draw[4] < 330).then(_pick(COUNTRIES[:3], ph))
    country = (
        country.when(draw[4] < 400)
        .then(_pick(COUNTRIES[3:5], ph))
        .when(draw[4] < 450)
        .then(_pick(COUNTRIES[5:7], ph))
        .when(draw[5] < 500)
        .then(_pick(COUNTRIES, ph))
    )
    notes = (
        pl.when(draw[6] < 50)
        .then(pl.lit('said "call me", maybe\nnext quarter'))
        .when(draw[6] < 80)
        .then(pl.lit('=HYPERLINK("http://x")'))
    )
    # 1.5% of rows carry nothing to look anyone up by.
    empty = draw[7] < 15
    blank = pl.lit(None, dtype=pl.String)
    columns = {
        "first": pl.when(empty).then(blank).otherwise(pl.lit(" ") + first),
        "last": pl.when(empty).then(blank).otherwise(last),
        "email": pl.when(empty).then(blank).otherwise(email),
        "company": pl.when(empty).then(blank).otherwise(pl.format("Company {} Ltd", company)),
        "website": pl.when(empty).then(blank).otherwise(website),
        "linkedin": pl.when(empty).then(blank).otherwise(linkedin),
        "phone": phone,
        "country": country,
        "title": _pick(TITLES, ph),
        "id": pl.format("{}", i).str.zfill(8),
        "notes": notes,
    }
    frame = pl.select(**{HEADERS[k]: v for k, v in columns.items()})
    frame.write_csv(path)


_LOAD = """
import json, resource, sys, time
import gtmkit.lists
t0 = time.perf_counter()
leads = gtmkit.lists.load_list(sys.argv[1])
wall = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_SELF)
workers = resource.getrusage(resource.RUSAGE_CHILDREN)
peak = usage.ru_maxrss * 1024
cpu = usage.ru_utime + usage.ru_stime + workers.ru_utime + workers.ru_stime
print(json.dumps({"seconds": wall, "peak_bytes": peak, "cpu_seconds": cpu,
                  "records": leads.records.height,
                  "rejected": leads.rejected.height, "duplicates": leads.duplicates,
                  "data_rows": leads.source_info.data_rows}))
"""

_BARE = """
import json, resource, sys, time
import polars as pl
t0 = time.perf_counter()
frame = pl.read_csv(sys.argv[1], infer_schema=False)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": wall, "peak_bytes": peak, "rows": frame.height}))
"""


def _run(code: str, path: Path) -> dict[str, float]:
    # Run from the repo root so the editable install resolves gtmkit to this work tree.
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows (under a minute)")
    parser.add_argument("--rows", type=int, default=None, help="rows to generate")
    parser.add_argument(
        "--repeat", type=int, default=3, help="load_list runs (each in a fresh process)"
    )
    args = parser.parse_args(argv)
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    target_s, target_mb = (1.0, 300) if args.quick else (4.0, 1000)
    with tempfile.TemporaryDirectory(prefix="gtmkit-bench-") as tmp:
        path = Path(tmp) / "leads.csv"
        t0 = time.perf_counter()
        generate(rows, path)
        print(f"generated {rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) "
              f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        bare = _run(_BARE, path)
        print(f"pl.read_csv: {bare['seconds']:.2f} s, peak {bare['peak_bytes'] / 1e6:.0f} MB")
        runs = []
        for _ in range(max(args.repeat, 1)):
            load = _run(_LOAD, path)
            runs.append(load)
            print(
                f"load_list:   {load['seconds']:.2f} s (cpu {load['cpu_seconds']:.1f} s), "
                f"peak {load['peak_bytes'] / 1e6:.0f} MB "
                f"({load['records']:,} records, {load['rejected']:,} rejected, "
                f"{load['duplicates']:,} duplicates), load average {os.getloadavg()[0]:.1f}"
            )
        size = path.stat().st_size
    walls = sorted(run["seconds"] for run in runs)
    median = walls[len(walls) // 2]
    peak = max(run["peak_bytes"] for run in runs)
    figures: dict[str, object] = {
        "benchmark": "intake",
        "rows": rows,
        "file_mb": round(size / 1e6, 1),
        "cpus": os.cpu_count(),
        "runs": len(runs),
        "load_list_seconds_median": round(median, 2),
        "load_list_seconds_best": round(walls[0], 2),
        "load_list_peak_mb": round(peak / 1e6),
        "load_list_cpu_seconds_median": round(
            sorted(run["cpu_seconds"] for run in runs)[len(runs) // 2], 2
        ),
        # other sessions share this machine's cores; wall times rise with the load average
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "read_csv_seconds": round(bare["seconds"], 2),
        "read_csv_peak_mb": round(bare["peak_bytes"] / 1e6),
        "ratio_to_read_csv": round(median / bare["seconds"], 1),
        "records": load["records"],
        "rejected": load["rejected"],
        "duplicates": load["duplicates"],
        # the full-size target (issue 11: 1M rows <= 4 s, <= 1 GB on 2 cores); a --quick run
        # (a tenth of the rows) is held to a quarter of the time and 30% of the memory: fixed
        # costs (imports, phone and suffix metadata, worker start-up) weigh more there
        "target_seconds": target_s,
        "target_peak_mb": target_mb,
        "meets_target_median": median <= target_s and peak <= target_mb * 1e6,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    raise SystemExit(0 if main()["meets_target_median"] else 1)
