"""``python -m gtmkit.patterns list | show | check | run [--write-back] | regenerate``."""

from __future__ import annotations

import subprocess
import sys

from _patterns_helpers import REPO, copy_library

from gtmkit.patterns import load
from gtmkit.patterns.__main__ import main

SAMPLE = str(REPO / "data" / "samples" / "leads_small.csv")


def test_list_and_show(capsys):
    assert main(["--dir", str(REPO / "patterns"), "list"]) == 0
    out = capsys.readouterr().out
    assert "enterprise-contact-enrichment" in out and "queue-based-pipeline" in out
    assert main(["--dir", str(REPO / "patterns"), "show", "queue-based-pipeline"]) == 0
    shown = capsys.readouterr().out
    assert (
        shown == (REPO / "patterns/integration-architectures/queue-based-pipeline.md").read_text()
    )


def test_check_runs_the_enterprise_entry_as_documented_or_substituted(capsys):
    args = ["--dir", str(REPO / "patterns"), "check", "enterprise-contact-enrichment", SAMPLE]
    assert main(args) == 0  # ZoomInfo has an adapter: no substitute needed
    capsys.readouterr()
    assert main([*args, "--substitute", "ZoomInfo=pdl"]) == 0
    out = capsys.readouterr().out
    assert ("coverage" in out and "consistent" in out) or "worse" in out


def test_run_write_back_records_once(tmp_path, capsys):
    lib = copy_library(tmp_path)
    args = ["--dir", str(lib), "run", "smb-verified-guess-waterfall", SAMPLE, "--write-back"]
    path = lib / "enrichment-waterfalls" / "smb-verified-guess-waterfall.md"
    before = len(load(path).history)
    assert main(args) == 0
    assert "written to" in capsys.readouterr().out
    after = load(path)
    assert len(after.history) == before + 1 and after.latest.source == "simulated"
    accuracy = after.latest.figure("accuracy")
    assert accuracy["measured"] is not None, "the list's .truth.csv was used"


def test_unknown_entry_and_bad_substitute_are_clear_errors(capsys):
    assert main(["--dir", str(REPO / "patterns"), "show", "nope"]) == 2
    assert "no entry named 'nope'" in capsys.readouterr().err
    args = ["--dir", str(REPO / "patterns"), "check", "enterprise-contact-enrichment", SAMPLE]
    assert main([*args, "--substitute", "zoominfo"]) == 2
    assert "DOCUMENTED=PROVIDER" in capsys.readouterr().err


def test_the_module_runs_as_a_command():
    done = subprocess.run(
        [sys.executable, "-m", "gtmkit.patterns", "list"], cwd=REPO, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "smb-verified-guess-waterfall" in done.stdout
