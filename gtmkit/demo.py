"""``python -m gtmkit.demo`` (what ``make demo`` runs): the engagement report on bundled data.

Runs ``notebooks/05-engagement-report.ipynb`` with papermill on the bundled sample list
(``data/samples/leads_demo.csv``, with its ground truth) against gtmkit's simulated providers,
and writes the client's files under ``reports/`` (git-ignored):

* ``<client>-<date>.html`` — the report, self-contained (opens offline, fits in an email);
* ``<client>-<date>.pdf`` — the same report printed by headless Chromium;
* ``<client>-<date>.ipynb`` — the executed notebook, scrubbed of what papermill injects;
* ``<client>-<date>.figures.json``, ``.enriched.csv``, ``.ledger.sqlite`` (every call and
  credit) and ``.log`` (what this command printed).

Then it prints the report's path and its headline figures.

No API key, no network, no spend: the notebook runs in ``sandbox`` mode whatever keys the
environment holds, and the demo refuses anything else. Each run starts a fresh ledger, so a
second run prints the same figures.

Example:
    $ python -m gtmkit.demo --client "Acme Analytics" --date 2026-12-03 --out reports
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from gtmkit.errors import GtmkitError
from gtmkit.paths import display_path, resolve_path
from gtmkit.reports.engagement.command import DEFAULT_REPORTS_DIR, headline, run_report
from gtmkit.reports.engagement.naming import report_day, report_stem
from gtmkit.reports.notebook import write_text_atomic

__all__ = ["DEMO", "REPORT_NOTEBOOK", "main"]

REPORT_NOTEBOOK = "notebooks/05-engagement-report.ipynb"
#: The demo's engagement: the bundled sample, the SMB pattern, a budget that holds.
DEMO: dict[str, object] = {
    "client": "Acme Analytics",
    "list_path": "data/samples/leads_demo.csv",
    "truth_path": "data/samples/leads_demo.truth.csv",
    "pattern": "smb-verified-guess-waterfall",
    "budget_usd": 200.0,
    "segment_by": "employee_band",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the exit code (0, or 2 with a message on stderr)."""
    parser = argparse.ArgumentParser(
        prog="python -m gtmkit.demo",
        description="The engagement report on the bundled sample, against simulated providers.",
    )
    parser.add_argument("--client", default=str(DEMO["client"]), help="client name on the report")
    parser.add_argument("--date", default="", help="report date, YYYY-MM-DD (default: today)")
    parser.add_argument("--list", default=str(DEMO["list_path"]), help="lead list to run")
    parser.add_argument(
        "--truth", default=str(DEMO["truth_path"]), help="its truth file, or '' for none"
    )
    parser.add_argument("--pattern", default=str(DEMO["pattern"]), help="pattern to run")
    parser.add_argument("--budget", type=float, default=float(str(DEMO["budget_usd"])))
    parser.add_argument("--out", default=DEFAULT_REPORTS_DIR, help="output folder (reports/)")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    lines: list[str] = []

    def say(text: str = "", *, err: bool = False) -> None:
        print(text, file=sys.stderr if err else sys.stdout, flush=True)
        lines.append(text)

    try:
        if not resolve_path(args.list).is_file():
            raise FileNotFoundError(args.list)
        day = report_day(args.date or None)
        stem = report_stem(args.client, day)
        out = resolve_path(args.out)
        ledger = out / f"{stem}.ledger.sqlite"
        for stale in (ledger, *ledger.parent.glob(f"{ledger.name}-*")):
            stale.unlink(missing_ok=True)  # a fresh ledger: the demo's figures reproduce
        say("gtmkit demo: simulated providers only (no API key used, no network, no spend)")
        say(f"running {REPORT_NOTEBOOK} on {args.list} for {args.client} ...")
        files = run_report(
            REPORT_NOTEBOOK,
            parameters={
                **DEMO,
                "client": args.client,
                "list_path": args.list,
                "truth_path": args.truth,
                "pattern": args.pattern,
                "budget_usd": args.budget,
                "segment_by": str(DEMO["segment_by"]) if args.truth else "",
                "mode": "sandbox",  # never live, whatever keys the environment holds
                "ledger": str(ledger),
                "report_date": day.isoformat(),
            },
            out_dir=out,
            pdf=not args.no_pdf,
        )
    except FileNotFoundError:
        say(f"error: lead list not found: {args.list} (paths are relative to the repo)", err=True)
        return 2
    except GtmkitError as exc:
        say(f"error: {exc}", err=True)
        return 2
    say()
    for label, path in (("report", files.html), ("pdf", files.pdf), ("notebook", files.notebook)):
        if path is not None:
            say(f"{label + ':':<10} {display_path(path)}")
    say()
    for line in headline(files.figures):
        say(line)
    say(f"\ndone in {time.perf_counter() - started:.1f} s")
    write_text_atomic(Path(out) / f"{stem}.log", "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
