"""``python -m gtmkit.reports``: run a notebook as a report, list its parameters, or re-store
the outputs nbval checks.

Example:
    $ python -m gtmkit.reports run notebooks/02-run-waterfall.ipynb -p budget_credits 200 --html
    $ python -m gtmkit.reports params notebooks/02-run-waterfall.ipynb
    $ python -m gtmkit.reports refresh notebooks/*.ipynb
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from gtmkit.errors import GtmkitError
from gtmkit.paths import display_path, resolve_path
from gtmkit.reports.notebook import find_notebook
from gtmkit.reports.parameters import notebook_parameters, parse_value
from gtmkit.reports.run import DEFAULT_OUT_DIR, refresh_checked_outputs, run_notebook


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gtmkit.reports")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a notebook as a scrubbed report under data/runs/")
    run.add_argument("notebook")
    run.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    run.add_argument("--out", default=DEFAULT_OUT_DIR)
    run.add_argument("--name", help="output file stem (default: the notebook's)")
    run.add_argument("--html", action="store_true", help="also write an HTML report")
    params = commands.add_parser("params", help="list the parameters a notebook accepts")
    params.add_argument("notebook")
    refresh = commands.add_parser("refresh", help="re-store the NBVAL_CHECK_OUTPUT outputs")
    refresh.add_argument("notebooks", nargs="+")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "refresh":
            for notebook in args.notebooks:
                outputs = refresh_checked_outputs(notebook)
                print(f"{display_path(resolve_path(notebook))}: {len(outputs)} checked cell(s)")
                for text in outputs:
                    print("  " + text.rstrip().replace("\n", "\n  "))
        elif args.command == "params":
            for parameter in notebook_parameters(find_notebook(args.notebook)).values():
                note = f"  # {parameter.help}" if parameter.help else ""
                print(f"{parameter.name} = {parameter.default}{note}")
        else:
            values = {name: parse_value(value) for name, value in args.p}
            result = run_notebook(
                args.notebook, parameters=values, out_dir=args.out, name=args.name, html=args.html
            )
            print(f"report: {display_path(result.notebook)}")
            if result.html is not None:
                print(f"html: {display_path(result.html)}")
            print(json.dumps(result.figures, indent=2, sort_keys=True))
    except GtmkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
