"""The ``gtmkit`` command (``python -m gtmkit``): one dispatcher for gtmkit's programs.

Each sub-command is a program that lives with the code it runs and takes its own arguments
(``gtmkit demo --budget 50`` is ``gtmkit.demo.main(["--budget", "50"])``); this module only
finds it. Every target is imported on use, so ``gtmkit --help`` stays fast and a command whose
module is not installed yet says so instead of breaking the others. Adding a command (a queue
``worker``, ``serve-webhooks``) is one :class:`Command` in :data:`COMMANDS`.

Example:
    >>> from gtmkit.cli import COMMANDS, main
    >>> list(COMMANDS)  # doctest: +NORMALIZE_WHITESPACE
    ['demo', 'report', 'lab', 'serve', 'worker', 'consume', 'serve-webhooks', 'approve', 'dlq',
     'hubspot-leads']
    >>> main(["--version"])
    gtmkit 0.1.0
    0
    >>> import contextlib, sys
    >>> with contextlib.redirect_stderr(sys.stdout):  # the error goes to stderr
    ...     status = main(["frobnicate"])  # doctest: +NORMALIZE_WHITESPACE
    gtmkit: unknown command 'frobnicate'; known commands: demo, report, lab, serve, worker, consume,
    serve-webhooks,
    approve, dlq, hubspot-leads
    (gtmkit --help describes them)
    >>> status
    2
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gtmkit import __version__

__all__ = ["COMMANDS", "Command", "main", "usage"]


@dataclass(frozen=True)
class Command:
    """A sub-command: the ``main(argv) -> int`` it runs, found by module and function name."""

    name: str
    module: str
    function: str
    summary: str

    def load(self) -> Callable[[list[str]], int | None]:
        """The sub-command's entry point (imports its module now)."""
        entry: Callable[[list[str]], int | None] = getattr(
            importlib.import_module(self.module), self.function
        )
        return entry


#: Every sub-command, in the order ``gtmkit --help`` lists them.
COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command(
            "demo",
            "gtmkit.demo",
            "main",
            "run the main job on the bundled sample (simulated providers, no key, no spend)",
        ),
        Command(
            "report",
            "gtmkit.reports.engagement",
            "report_main",
            "run a report notebook with papermill and export it (-p NAME VALUE ...)",
        ),
        Command(
            "lab",
            "gtmkit.lab",
            "main",
            "JupyterLab on the notebooks: loopback only, with a token, as root or not",
        ),
        Command(
            "serve",
            "gtmkit.sandbox.http.server",
            "main",
            "serve the simulated providers on loopback (prints their base URLs as JSON)",
        ),
        Command(
            "worker",
            "gtmkit.queue.worker",
            "main",
            "an RQ worker for queued waterfall runs (--redis URL; needs the `queue` extra)",
        ),
        Command(
            "consume",
            "gtmkit.events.consumer",
            "main",
            "an enrichment consumer of an event pipeline on Redis Streams (--redis URL)",
        ),
        Command(
            "serve-webhooks",
            "gtmkit.webhooks.serve",
            "main",
            "the webhook receiver (uvicorn): signed leads, HubSpot, Clay, Apollo → Redis Streams",
        ),
        Command(
            "approve",
            "gtmkit.integrations.slack_approvals",
            "main",
            "approve (or --reject) a run waiting for approval of its estimated spend",
        ),
        Command(
            "dlq",
            "gtmkit.events.replay",
            "main",
            "list an event pipeline's dead letters, or replay them to leads.new once each",
        ),
        Command(
            "hubspot-leads",
            "gtmkit.events.hubspot_leads",
            "main",
            "turn HubSpot contact.creation events (crm.hubspot) into leads on leads.new",
        ),
    )
}


def usage() -> str:
    """The text of ``gtmkit --help``."""
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: gtmkit <command> [options]   (also: python -m gtmkit <command> ...)",
        "",
        "commands:",
        *(f"  {c.name:<{width}}  {c.summary}" for c in COMMANDS.values()),
        "",
        "`gtmkit <command> --help` shows a command's options.",
    ]
    return "\n".join(lines)


def _unknown(name: str) -> int:
    known = ", ".join(COMMANDS)
    print(f"gtmkit: unknown command {name!r}; known commands: {known}", file=sys.stderr)
    print("(gtmkit --help describes them)", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gtmkit <command> [args...]``; returns the exit status.

    Args:
        argv: the arguments after the program name (default ``sys.argv[1:]``).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"gtmkit {__version__}")
        return 0
    name, rest = args[0], args[1:]
    command = COMMANDS.get(name)
    if command is None:
        return _unknown(name)
    try:
        entry = command.load()
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if not (command.module == missing or command.module.startswith(missing + ".")):
            raise  # a dependency of the command is missing: that is a real error, show it
        print(
            f"gtmkit {name}: not available in this installation ({command.module} is missing); "
            "update gtmkit to a version that has it",
            file=sys.stderr,
        )
        return 2
    try:
        status = entry(rest)
    except SystemExit as exc:  # argparse's --help and usage errors: an exit status, not a crash
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    return int(status or 0)
