"""``gtmkit lab`` (what ``make lab`` runs): JupyterLab on the notebooks, safely by default.

* **Loopback only.** The server listens on 127.0.0.1: lead lists and provider spend are not
  served to the network. There is deliberately no option to bind another interface.
* **Always a token.** ``JUPYTER_TOKEN`` from the environment, else a fresh random one; it is
  handed to the server through its environment (never on the command line, where ``ps`` shows
  it) and printed once, in the URL to open.
* **Root or not.** As root (a container, a CI box) ``--allow-root`` is passed; JupyterLab
  otherwise exits at once with "Running as root is not recommended".
* **Uploads up to** :data:`WEBSOCKET_LIMIT_BYTES`. An ipywidgets upload travels as one
  websocket message, and Tornado's default limit (10 MiB) drops a larger one without an error:
  the notebook never learns the file came, so it cannot say it is too large. With the limit
  raised, the intake panel receives the file and answers with its size message.
* **Offline.** JupyterLab's news feed and update check (both fetch from the internet) are off.

Example:
    >>> from pathlib import Path
    >>> command = lab_command(Path("notebooks"), port=8890, as_root=False)
    >>> command[1:3], "--ServerApp.ip=127.0.0.1" in command, "--allow-root" in command
    (['-m', 'jupyterlab'], True, False)
    >>> lab_url(8890, "abc")
    'http://127.0.0.1:8890/lab?token=abc'
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from gtmkit.errors import GtmkitError
from gtmkit.paths import display_path, resolve_path

__all__ = [
    "DEFAULT_PORT",
    "LOOPBACK",
    "WEBSOCKET_LIMIT_BYTES",
    "LabError",
    "lab_command",
    "lab_environment",
    "lab_url",
    "main",
]

#: The only interface the server listens on.
LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8888
#: Largest websocket message the server accepts (Tornado's default is 10 MiB): room for an
#: upload well above the intake panel's own limit, so the panel sees it and says what to do.
WEBSOCKET_LIMIT_BYTES = 512 * 1024 * 1024


class LabError(GtmkitError, RuntimeError):
    """JupyterLab cannot be started as asked (no such folder, port taken, empty token)."""


def lab_url(port: int, token: str, *, path: str = "lab") -> str:
    """The address to open: loopback, the port, and the token."""
    return f"http://{LOOPBACK}:{port}/{path}?token={token}"


def lab_command(
    directory: Path,
    *,
    port: int = DEFAULT_PORT,
    as_root: bool | None = None,
    open_browser: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``python -m jupyterlab`` command line serving ``directory`` on loopback.

    Args:
        directory: the folder the server shows (its root; notebooks run with it as their
            working directory).
        port: TCP port; taken is an error, not a silent move to another port (the printed URL
            would be wrong).
        as_root: pass ``--allow-root``; default: whether this process runs as root.
        open_browser: ask the server to open a browser.
        extra: more JupyterLab options, appended as given.
    """
    if as_root is None:
        as_root = os.geteuid() == 0
    settings = {"websocket_max_message_size": WEBSOCKET_LIMIT_BYTES}
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={directory}",
        f"--ServerApp.ip={LOOPBACK}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.open_browser={open_browser}",
        f"--ServerApp.tornado_settings={json.dumps(settings)}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if as_root:
        command.append("--allow-root")
    return [*command, *extra]


def lab_environment(
    token: str | None = None, *, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], str]:
    """The server's environment (with ``JUPYTER_TOKEN`` set) and the token.

    The token is ``token``, else ``JUPYTER_TOKEN`` from ``environ``, else a new random one.

    Raises:
        LabError: the token is empty (a server without one would let any local program in).
    """
    env = dict(os.environ if environ is None else environ)
    chosen = token if token is not None else env.get("JUPYTER_TOKEN")
    if chosen is None:
        chosen = secrets.token_urlsafe(24)
    if not chosen.strip():
        raise LabError(
            "JUPYTER_TOKEN is empty: JupyterLab would accept any local program. Unset it (a "
            "random token is made) or set it to a long random string."
        )
    env["JUPYTER_TOKEN"] = chosen
    return env, chosen


def _check_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            raise LabError(
                f"port {port} on {LOOPBACK} is in use (another JupyterLab?): stop it, or pick "
                f"another port: gtmkit lab --port {port + 1} (make lab LAB_PORT={port + 1})"
            ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gtmkit lab",
        description="JupyterLab on the notebooks: loopback only, with a token (JUPYTER_TOKEN "
        "or a random one), as root or as a normal user. Stop it with Ctrl-C.",
    )
    parser.add_argument(
        "directory", nargs="?", default="notebooks", help="folder to serve (default: notebooks)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (default 8888)")
    parser.add_argument("--browser", action="store_true", help="open a browser on the URL")
    parser.epilog = "Options after -- go to JupyterLab as given."
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Start JupyterLab (this process becomes the server); returns only on an error."""
    given = list(sys.argv[1:] if argv is None else argv)
    cut = given.index("--") if "--" in given else len(given)
    args = _parser().parse_args(given[:cut])
    extra = given[cut + 1 :]
    directory = resolve_path(args.directory)
    try:
        if not directory.is_dir():
            raise LabError(f"no folder {args.directory!r} to serve (run from the project)")
        if not 0 < args.port < 65536:
            raise LabError(f"--port must be between 1 and 65535, got {args.port}")
        _check_port(args.port)
        env, token = lab_environment()
    except LabError as exc:
        print(f"gtmkit lab: {exc}", file=sys.stderr)
        return 2
    command = lab_command(
        directory.resolve(), port=args.port, open_browser=args.browser, extra=extra
    )
    print(
        f"gtmkit lab: serving {display_path(directory)}/ on loopback only\n"
        f"  open {lab_url(args.port, token)}\n"
        "  stop with Ctrl-C",
        flush=True,
    )
    os.execve(command[0], command, env)  # the server takes this process: signals reach it
    return 0  # pragma: no cover - execve does not return
