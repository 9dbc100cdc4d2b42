"""The ``gtmkit`` command (``python -m gtmkit`` and the console script): every sub-command is
found and handed its arguments, has ``--help``, and an unknown one gets the list of known ones.
``gtmkit lab``'s own checks (folder, port, token) are here too; starting it is in
``test_make_lab.py``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import httpx
import pytest

from gtmkit import cli, lab
from gtmkit.cli import COMMANDS, Command, main
from tests._lab_helpers import stop
from tests._notebooks_helpers import ROOT, python_m


def _python_m(*args: str) -> subprocess.CompletedProcess[str]:
    done: subprocess.CompletedProcess[str] = python_m("gtmkit", *args)
    return done


def test_python_dash_m_gtmkit_lists_the_commands() -> None:
    done = _python_m("--help")
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("  ")]
    assert listed == [
        "demo", "report", "lab", "serve", "worker", "consume", "serve-webhooks", "approve",
        "dlq", "hubspot-leads",
    ] == list(COMMANDS)  # fmt: skip


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("gtmkit")
    assert script.is_file(), "no gtmkit script next to python: run `make install`"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "gtmkit 0.1.0"


def test_no_command_prints_the_usage_and_fails() -> None:
    done = _python_m()
    assert done.returncode == 2 and "commands:" in done.stdout


def test_an_unknown_command_lists_the_known_ones() -> None:
    done = _python_m("reprot", "notebooks/05-engagement-report.ipynb")
    assert done.returncode == 2
    assert "unknown command 'reprot'; known commands: demo, report, lab, serve" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("name", "module", "function"),
    [
        ("demo", "gtmkit.demo", "main"),
        ("report", "gtmkit.reports.engagement", "report_main"),
        ("lab", "gtmkit.lab", "main"),
        ("serve", "gtmkit.sandbox.http.server", "main"),
    ],
)
def test_each_command_gets_exactly_its_arguments(
    monkeypatch: pytest.MonkeyPatch, name: str, module: str, function: str
) -> None:
    """The dispatcher hands the rest of the line over untouched and returns the status."""
    seen: list[list[str]] = []

    def fake(argv: list[str]) -> int:
        seen.append(list(argv))
        return 7

    fake_module = types.ModuleType(module)
    setattr(fake_module, function, fake)
    monkeypatch.setitem(sys.modules, module, fake_module)
    args = ["notebooks/05-engagement-report.ipynb", "-p", "client", "Acme Corp", "--", "-x"]
    assert main([name, *args]) == 7
    assert seen == [args]


@pytest.mark.parametrize("name", ["demo", "lab", "serve", "dlq"])
def test_each_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([name, "--help"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage:") and "--help" in shown


def test_report_help_comes_from_the_report_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """``gtmkit report --help`` is the report program's own (argparse exits 0 for it)."""
    import argparse

    def report_main(argv: list[str]) -> int:
        parser = argparse.ArgumentParser(prog="gtmkit report")
        parser.add_argument("notebook")
        parser.parse_args(argv)
        return 0

    fake = types.ModuleType("gtmkit.reports.engagement")
    fake.report_main = report_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gtmkit.reports.engagement", fake)
    assert main(["report", "--help"]) == 0
    assert main(["report"]) == 2  # argparse's usage error is an exit status, not a crash


def test_a_command_not_in_this_installation_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "gtmkit.reports.engagement", None)  # import fails
    assert main(["report", "notebooks/05-engagement-report.ipynb"]) == 2
    said = capsys.readouterr().err
    assert "gtmkit report: not available" in said and "gtmkit.reports.engagement" in said


def test_a_missing_dependency_of_a_command_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Only the command's own module missing means "not available"; anything else is a bug."""
    (tmp_path / "gtmkit_cli_probe.py").write_text("import gtmkit_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    probe = Command("probe", "gtmkit_cli_probe", "main", "imports a missing dependency")
    monkeypatch.setitem(cli.COMMANDS, "probe", probe)
    with pytest.raises(ModuleNotFoundError, match="gtmkit_no_such_dependency"):
        main(["probe"])


def test_serve_runs_the_sandbox_server_through_the_dispatcher() -> None:
    """``gtmkit serve`` is the loopback sandbox: it prints its base URLs and answers there."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gtmkit", "serve", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None
        urls = json.loads(server.stdout.readline())
        assert {"apollo", "hunter"} <= set(urls)
        assert all(url.startswith("http://127.0.0.1:") for url in urls.values())
        answer = httpx.get(urls["hunter"] + "/account", timeout=10)
        # the simulated Hunter, answering a request without a key as the real one does
        assert answer.status_code == 401
        assert answer.json()["errors"][0]["id"] == "authentication_failed"
    finally:
        stop(server)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ gtmkit lab


def test_lab_refuses_a_folder_that_is_not_there(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "no-such-folder-here"]) == 2
    assert "no folder 'no-such-folder-here' to serve" in capsys.readouterr().err


def test_lab_says_when_its_port_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind((lab.LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["lab", "notebooks", "--port", str(port)]) == 2
    said = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in said and f"LAB_PORT={port + 1}" in said


def test_lab_token_comes_from_the_environment_or_is_made() -> None:
    env, token = lab.lab_environment(environ={"JUPYTER_TOKEN": "chosen-token", "PATH": "/bin"})
    assert token == "chosen-token" and env["JUPYTER_TOKEN"] == token and env["PATH"] == "/bin"
    env, made = lab.lab_environment(environ={})
    other = lab.lab_environment(environ={})[1]
    assert len(made) >= 24 and made != other and env["JUPYTER_TOKEN"] == made
    with pytest.raises(lab.LabError, match="JUPYTER_TOKEN is empty"):
        lab.lab_environment(environ={"JUPYTER_TOKEN": "  "})


def test_lab_command_is_loopback_with_room_for_large_uploads() -> None:
    command = lab.lab_command(ROOT / "notebooks", port=8899, as_root=True, extra=["--debug"])
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in command and "--ServerApp.port=8899" in command
    assert "--ServerApp.port_retries=0" in command  # never a silent move to another port
    assert "--allow-root" in command and command[-1] == "--debug"
    (settings,) = [a for a in command if a.startswith("--ServerApp.tornado_settings=")]
    limit = json.loads(settings.split("=", 1)[1])["websocket_max_message_size"]
    from gtmkit.lists.upload import UPLOAD_LIMIT_BYTES

    assert limit == lab.WEBSOCKET_LIMIT_BYTES > 10 * UPLOAD_LIMIT_BYTES
    assert not any("token" in a.lower() for a in command)  # the token never goes on argv
    assert "--allow-root" not in lab.lab_command(ROOT / "notebooks", as_root=False)
    assert ("--allow-root" in lab.lab_command(ROOT)) == (os.geteuid() == 0)
