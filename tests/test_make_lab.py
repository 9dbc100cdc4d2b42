"""``make lab`` starts JupyterLab on loopback with a token, as root and as a normal user.

Each test runs ``make lab`` in a throwaway copy of the project (so the git filter it installs
goes into the copy's git config), waits for the printed URL, checks that the server answers
only with the token and listens only on 127.0.0.1, and stops it (the whole process group),
with a timeout on every step.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests._lab_helpers import free_port, listening_addresses, project_copy, stop, wait_for_lab
from tests._notebooks_helpers import ROOT

pytestmark = pytest.mark.slow

URL = re.compile(r"open (http://127\.0\.0\.1:(\d+)/lab\?token=([\w-]+))")
NOBODY = 65534
# a normal user keeps no capability of root
NO_CAPS = ("--inh-caps=-all", "--bounding-set=-all")


def _printed_url(process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = URL.search(log.read_text(errors="replace"))
        if found:
            return found
        if process.poll() is not None:
            pytest.fail(f"make lab exited ({process.returncode}): {log.read_text()[-3000:]}")
        time.sleep(0.1)
    pytest.fail(f"make lab printed no URL within {timeout:.0f} s: {log.read_text()}")


def _session_uids(session: int) -> set[int]:
    """The real user ids of the processes in a session (make, the shell, the server)."""
    uids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) != session:
                continue
            status = (entry / "status").read_text()
        except (ProcessLookupError, PermissionError, FileNotFoundError):
            continue
        uids.add(int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1)))  # type: ignore[union-attr]
    return uids


def _serve_and_check(
    project: Path, *, prefix: tuple[str, ...] = (), uid: int | None = None, **env: str
) -> str:
    """Run ``make lab`` in ``project``, check it, stop it; returns the server's log."""
    port = free_port()
    log = project.parent / "lab.log"
    jupyter = project / "jupyter"  # Jupyter's state for this run, writable by whoever runs it
    dirs = {
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_DATA_DIR": str(jupyter / "data"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
        "IPYTHONDIR": str(jupyter / "ipython"),
    }
    overrides = [f"{name}={value}" for name, value in dirs.items()]
    environ = {k: v for k, v in os.environ.items() if k != "JUPYTER_TOKEN"}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*prefix, "make", "--no-print-directory", "lab", f"LAB_PORT={port}", *overrides],
            cwd=project,
            env={**environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            found = _printed_url(server, log)
            url, printed_port, token = found.group(1), int(found.group(2)), found.group(3)
            assert printed_port == port and len(token) >= 24
            base = f"http://127.0.0.1:{port}"
            wait_for_lab(server, base, token, log)
            # The token is required: without it the API refuses, with it the server answers.
            assert httpx.get(f"{base}/api/status").status_code == 403
            assert httpx.get(f"{base}/api/contents").status_code == 403
            with_token = httpx.get(f"{base}/api/contents", params={"token": token})
            assert with_token.status_code == 200
            names = {item["name"] for item in with_token.json()["content"]}
            assert "01-list-intake.ipynb" in names  # it serves the notebooks folder
            assert httpx.get(url).status_code == 200  # the printed URL opens Lab
            # Loopback only: no socket on this port listens on another address.
            assert listening_addresses(port) == {"127.0.0.1"}
            assert _session_uids(server.pid) == {os.geteuid() if uid is None else uid}
        finally:
            stop(server)
    assert server.returncode is not None
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=2)
    return log.read_text(errors="replace")


def _filter_installed(project: Path) -> str:
    return subprocess.run(
        ["git", "config", "filter.nbstripout.clean"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def test_make_lab_serves_on_loopback_with_a_token_as_this_user(tmp_path: Path) -> None:
    """As root here (the machine's and CI's user): JupyterLab alone would exit at once."""
    project = project_copy(tmp_path)
    log = _serve_and_check(project)
    if os.geteuid() == 0:
        assert "Running as root is not recommended" not in log
    assert "git filter installed" in log  # make lab installs the notebook filter too
    assert _filter_installed(project) == ".venv/bin/python -m gtmkit.gitfilter"


def test_make_lab_takes_jupyter_token_from_the_environment(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    token = "a-token-chosen-by-the-user-0123456789"
    log = _serve_and_check(project, JUPYTER_TOKEN=token)
    assert f"token={token}" in log


def test_make_lab_refuses_an_empty_token(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    made = subprocess.run(
        ["make", "--no-print-directory", "lab", f"LAB_PORT={free_port()}"],
        cwd=project,
        env={**os.environ, "JUPYTER_TOKEN": " "},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode != 0
    assert "JUPYTER_TOKEN is empty" in made.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the test above already ran as a normal user")
def test_make_lab_serves_as_a_normal_user() -> None:
    """As root, run the same ``make lab`` as ``nobody`` (setpriv) in a copy ``nobody`` owns."""
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "setpriv (util-linux) is needed to drop to a normal user"
    prefix = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *NO_CAPS)
    python = ROOT / ".venv" / "bin" / "python"
    # through a shell, as make runs it (an exec straight from setpriv can still resolve paths
    # the user may not enter)
    shell = [*prefix, "sh", "-c", '"$0" -c "import gtmkit"', str(python)]
    probe = subprocess.run(shell, capture_output=True)
    if probe.returncode != 0:
        pytest.skip(
            f"{python.resolve()} cannot be run by a normal user on this machine (its folder "
            "is root's own), so no non-root process can run gtmkit here"
        )
    # pytest's tmp_path sits in a folder only root may enter: use one under /tmp instead.
    with tempfile.TemporaryDirectory(prefix="gtmkit-make-lab-") as where:
        base = Path(where)
        project = project_copy(base)
        (base / "home").mkdir()
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(base)], check=True)
        log = _serve_and_check(project, prefix=prefix, uid=NOBODY, HOME=str(base / "home"))
        assert "Running as root" not in log
        assert _filter_installed(project) == ".venv/bin/python -m gtmkit.gitfilter"
