"""``python -m gtmkit.patterns``: list, show, check and run library entries.

    python -m gtmkit.patterns list [--dir patterns]
    python -m gtmkit.patterns show NAME
    python -m gtmkit.patterns check NAME LIST [--substitute zoominfo=pdl] [--truth FILE]
    python -m gtmkit.patterns run NAME LIST [--substitute zoominfo=pdl] [--write-back]
                                            [--live --engagement ACME]
    python -m gtmkit.patterns regenerate     # the generated data-source-combinations entry

NAME is an entry's file name without ``.md`` (``enterprise-contact-enrichment``) or a path.
``check`` and ``run`` use the simulated world unless ``--live`` is given (then keys come from
the environment), and read ``<list>.truth.csv`` beside the list when it exists, for accuracy.
Exit status: 0 done, 2 bad input (the message says what to do).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl

from gtmkit.errors import GtmkitError
from gtmkit.patterns.errors import PatternError
from gtmkit.patterns.index import entry_paths, index
from gtmkit.patterns.model import Pattern, load
from gtmkit.patterns.target import refuse_climbing, write_target


def _find(name: str, patterns_dir: Path) -> Pattern:
    path = Path(name)
    refuse_climbing(path)  # an entry lives in the library; "../x.md" names a file outside it
    if path.suffix == ".md" and path.exists():
        return load(path)
    matches = [p for p in entry_paths(patterns_dir) if p.stem == name]
    if not matches:
        known = ", ".join(p.stem for p in entry_paths(patterns_dir))
        raise PatternError(f"no entry named {name!r} in {patterns_dir}; entries: {known}")
    if len(matches) > 1:
        raise PatternError(f"{name!r} names {len(matches)} entries; give the path instead")
    return load(matches[0])


def _substitute(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        documented, sep, used = pair.partition("=")
        if not sep or not documented.strip() or not used.strip():
            raise PatternError(f"--substitute takes DOCUMENTED=PROVIDER, got {pair!r}")
        out[documented.strip()] = used.strip()
    return out


def _truth(list_path: Path, given: str | None) -> pl.DataFrame | None:
    if given:
        return pl.read_csv(given)
    beside = list_path.with_name(list_path.name.rsplit(".", 1)[0] + ".truth.csv")
    return pl.read_csv(beside) if beside.exists() else None


def _table(frame: pl.DataFrame) -> str:
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=60):
        return str(frame)


def _run(args: argparse.Namespace, pattern: Pattern) -> tuple[Any, pl.DataFrame | None]:
    import gtmkit
    from gtmkit.waterfall import DEFAULT_LEDGER_PATH

    list_path = Path(args.list)
    leads = gtmkit.load_list(list_path)
    result = pattern.run(
        leads,
        substitute=_substitute(args.substitute) or None,
        mode="live" if args.live else "sandbox",
        # a live run keeps the engine's ledger (cache, resume: no paid lookup twice)
        ledger=args.ledger or (DEFAULT_LEDGER_PATH if args.live else None),
        budget_usd=args.budget_usd,
        progress=False,
    )
    return result, _truth(list_path, args.truth)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gtmkit.patterns", description=__doc__)
    parser.add_argument("--dir", default="patterns", help="the pattern library folder")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every entry, one line each")
    show = sub.add_parser("show", help="an entry's text")
    show.add_argument("name")
    for command in ("check", "run"):
        p = sub.add_parser(command, help=f"{command} an entry on a list")
        p.add_argument("name")
        p.add_argument("list", help="a lead list file (CSV, XLSX, ...)")
        p.add_argument("--substitute", action="append", default=[], metavar="DOC=PROVIDER")
        p.add_argument("--truth", help="row_id,true_email CSV (default: <list>.truth.csv)")
        p.add_argument(
            "--ledger", default=None, help="ledger path (default: none; --live: the engine's)"
        )
        p.add_argument("--budget-usd", type=float, default=None)
        p.add_argument("--live", action="store_true", help="real providers (keys from env)")
        if command == "run":
            p.add_argument("--write-back", action="store_true", help="record and save")
            p.add_argument("--engagement", help="the engagement of a --live run")
    sub.add_parser("regenerate", help="rewrite the generated data-source-combinations entry")
    args = parser.parse_args(argv)
    root = Path(args.dir)
    try:
        if args.command == "list":
            frame = index(root, on_error="report").select(
                "name", "category", "maturity", "coverage", "cost_per_record", "measured_on",
                "measured_live", "stale", "error",
            )  # fmt: skip
            print(_table(frame))
        elif args.command == "show":
            print(_find(args.name, root).text, end="")
        elif args.command == "regenerate":
            from gtmkit.patterns.bundled import ENTRY, sample_combinations

            changed = sample_combinations().save(ENTRY)
            print(f"{ENTRY}: {'rewritten' if changed else 'unchanged'}")
        else:
            pattern = _find(args.name, root)
            if getattr(args, "write_back", False) and pattern.path is not None:
                write_target(pattern.path)  # refuse a bad target before spending anything
            result, truth = _run(args, pattern)
            print(_table(pattern.check(result, truth=truth).drop("documented_text", "note")))
            if args.command == "run":
                tasks = result.manual_tasks()
                if tasks.height:
                    print(f"{tasks.height} row(s) handed to a person: result.manual_tasks()")
                if args.write_back:
                    source: Literal["simulated", "live"] = "live" if args.live else "simulated"
                    bench = pattern.record_benchmark(
                        result, source=source, engagement=args.engagement, truth=truth
                    )
                    changed = pattern.save()
                    print(
                        f"benchmark {bench.id} {'written to' if changed else 'already in'} "
                        f"{pattern.path}"
                    )
    except (GtmkitError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
