"""``python -m gtmkit report NOTEBOOK -p NAME VALUE ...``: run a report notebook with papermill
and write what the client gets — the HTML document, its PDF, the executed notebook, the figures.

The rules are those of :func:`gtmkit.reports.run_notebook`, which this wraps, and one more:

* a parameter the notebook's ``parameters`` cell does not define is refused, with the names it
  does define; a parameter whose *name* says key, token, secret or password is refused;
* a parameter whose *value* looks like a key (a known key shape, or the value of a ``*_API_KEY``
  / ``*_TOKEN`` variable in the environment) is refused: papermill would write it into the
  notebook in plain text;
* papermill saves into memory, and its injected-parameters cell and metadata are scrubbed
  (then the notebook is checked for anything key-like) before any file is written.

Files go to ``reports/`` (git-ignored) as ``<client>-<date>.{html,pdf,ipynb,figures.json}``
for a notebook with a ``client`` parameter, ``<notebook>-<date>.*`` otherwise.

Example:
    >>> from gtmkit.reports.engagement.command import report_main
    >>> report_main(["notebooks/05-engagement-report.ipynb", "-p", "budget", "10"])
    2
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from gtmkit.errors import GtmkitError
from gtmkit.paths import display_path, resolve_path
from gtmkit.reports.engagement.export import report_html, report_pdf
from gtmkit.reports.engagement.naming import report_day, report_stem
from gtmkit.reports.engagement.numbers import count, money, percent
from gtmkit.reports.errors import ReportParameterError
from gtmkit.reports.leaks import find_leaks
from gtmkit.reports.notebook import find_notebook, read_notebook, write_text_atomic
from gtmkit.reports.parameters import check_parameters, notebook_parameters, parse_value
from gtmkit.reports.run import run_notebook

__all__ = ["DEFAULT_REPORTS_DIR", "ReportFiles", "headline", "report_main", "run_report"]

#: Where client reports go (the repository's git-ignored ``reports/`` folder).
DEFAULT_REPORTS_DIR = "reports"


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """What one report run wrote, and the figures its notebook recorded."""

    stem: str
    notebook: Path
    figures_path: Path
    figures: dict[str, Any]
    html: Path | None = None
    pdf: Path | None = None


def check_parameter_values(parameters: Mapping[str, Any]) -> None:
    """Refuse parameter values that look like a credential.

    Raises:
        ReportParameterError: naming the parameter (never echoing the value).

    Example:
        >>> check_parameter_values({"client": "Acme"})
        >>> check_parameter_values({"client": "sk-abcdefghijklmnopqrstuvwx"})
        Traceback (most recent call last):
        ...
        gtmkit.reports.errors.ReportParameterError: refusing the value of parameter 'client': ...
    """
    for name, value in parameters.items():
        probe = {"cells": [{"cell_type": "code", "source": f"{name} = {value!r}"}]}
        if any(leak.kind != "absolute_path" for leak in find_leaks(probe)):
            raise ReportParameterError(
                f"refusing the value of parameter {name!r}: it looks like an API key, and "
                "papermill writes parameter values in plain text into the output notebook. "
                "Keys belong in environment variables (e.g. HUNTER_API_KEY) or a git-ignored .env."
            )


def _default(known: Mapping[str, Any], name: str) -> Any:
    try:
        return ast.literal_eval(known[name].default)
    except (KeyError, ValueError, SyntaxError):
        return None


def run_report(
    notebook: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike[str] = DEFAULT_REPORTS_DIR,
    name: str | None = None,
    html: bool = True,
    pdf: bool = True,
    timeout: float = 600,
) -> ReportFiles:
    """Run a report notebook and write the client's files (see the module docstring).

    A notebook that defines ``report_date`` gets today's date unless one is given, so the file
    names and the report agree on its date; one that defines ``out_dir`` writes its delivered
    files (the enriched list) beside the report unless told otherwise.

    Raises:
        ReportParameterError: an unknown, credential-named or key-like parameter.
        NotebookNotFoundError, NotebookRunError, NotebookLeakError: as ``run_notebook``.
        ReportExportError: the PDF could not be printed (no Chromium).
    """
    params = dict(parameters or {})
    source = find_notebook(notebook)
    check_parameters(source, params)
    check_parameter_values(params)
    known = notebook_parameters(source)
    if "report_date" in known and not params.get("report_date"):
        params["report_date"] = _default(known, "report_date") or date.today().isoformat()
    day = report_day(params.get("report_date") or None)
    target = resolve_path(out_dir)
    if "out_dir" in known and "out_dir" not in params:
        params["out_dir"] = str(target)
    client = params.get("client", _default(known, "client"))
    stem = name or (report_stem(str(client), day) if client else f"{source.stem}-{day.isoformat()}")
    run = run_notebook(
        source, parameters=params, out_dir=target, name=stem, html=False, timeout=timeout
    )
    page = None
    printed = None
    if html or pdf:
        who = str(client) if client else source.stem
        text = report_html(read_notebook(run.notebook), title=f"{who} — report, {day.isoformat()}")
        if html:
            page = write_text_atomic(target / f"{stem}.html", text)
        if pdf:
            printed = report_pdf(text, target / f"{stem}.pdf")
    return ReportFiles(stem, run.notebook, run.figures_path, run.figures, page, printed)


def headline(figures: Mapping[str, Any]) -> list[str]:
    """The report's headline figures as lines for a terminal (an engagement report's, else
    every top-level number the notebook recorded).

    Example:
        >>> headline({"client": "Acme", "report_date": "2026-12-03", "data_source": "simulated",
        ...     "received": 20, "worked": 19, "with_email": 17, "coverage": 17 / 19,
        ...     "spend_usd": 1.5, "budget_usd": 5.0, "cost_per_record": 1.5 / 19,
        ...     "cost_per_usable": 0.15})[2]
        '  with a work email        17 (89.5%)'
    """
    if "with_email" not in figures:
        return [
            f"  {key:<24} {value}"
            for key, value in sorted(figures.items())
            if isinstance(value, (int, float, str)) and not isinstance(value, bool)
        ]
    budget = f" of {money(figures.get('budget_usd'))}" if figures.get("budget_usd") else ""
    return [
        f"{figures.get('client')}, {figures.get('report_date')} ({figures.get('data_source')})",
        f"  {'contacts received':<24} {count(figures.get('received'))}, "
        f"{count(figures.get('worked'))} looked up",
        f"  {'with a work email':<24} {count(figures.get('with_email'))} "
        f"({percent(figures.get('coverage'))})",
        f"  {'spend':<24} {money(figures.get('spend_usd'))}{budget}",
        f"  {'cost per record':<24} {money(figures.get('cost_per_record'))}",
        f"  {'cost per usable record':<24} {money(figures.get('cost_per_usable'))}",
    ]


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a report notebook with papermill; write its HTML, PDF, executed "
        "notebook and figures under reports/ (scrubbed, nothing secret kept).",
    )
    parser.add_argument("notebook", help="e.g. notebooks/05-engagement-report.ipynb")
    parser.add_argument(
        "-p",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a notebook parameter (values read as JSON when they parse: 200, true, [..])",
    )
    parser.add_argument("--out", default=DEFAULT_REPORTS_DIR, help="output folder (reports/)")
    parser.add_argument("--name", help="file stem (default: <client>-<date>)")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF")
    parser.add_argument("--no-html", action="store_true", help="skip the HTML document")
    return parser


def report_main(argv: Sequence[str] | None = None, *, prog: str = "gtmkit report") -> int:
    """The ``report`` command: parse ``argv``, run, print where the files are and the headline
    figures. Returns the exit code (0; 2 for a refused parameter or a failed run)."""
    args = _parser(prog).parse_args(argv)
    values = {name: parse_value(value) for name, value in args.p}
    try:
        files = run_report(
            args.notebook,
            parameters=values,
            out_dir=args.out,
            name=args.name,
            html=not args.no_html,
            pdf=not args.no_pdf,
        )
    except GtmkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for label, path in (("report", files.html), ("pdf", files.pdf), ("notebook", files.notebook)):
        if path is not None:
            print(f"{label + ':':<10} {display_path(path)}")
    print("\n".join(headline(files.figures)))
    return 0
