"""Write-backs are atomic (SIGKILL leaves the old file or the new one) and two at once both land."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _patterns_helpers import HAND_EDITED, REPO, assert_person_text_kept

from gtmkit.patterns import from_text, load
from gtmkit.patterns.write import lock_path, locked, write_atomic

# A child process that writes benchmarks back one after another, seeds from argv, forever or
# until done; it waits for a start file so two children begin at the same moment.
CHILD = """
import sys, time
from pathlib import Path
sys.path[:0] = [{tests!r}, {repo!r}]
from _patterns_helpers import fake_result
from gtmkit.patterns import load
path, start, first, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
Path(str(path) + f".ready{{first}}").touch()
while not start.exists():
    time.sleep(0.001)
for seed in range(first, first + count):
    p = load(path)
    p.record_benchmark(fake_result(["hunter", "pdl", "manual"], seed=seed, n=40))
    p.save()
"""


def _child(tmp_path: Path) -> Path:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(REPO / "tests"), repo=str(REPO)))
    return script


def _entry(tmp_path: Path, *, padding: int = 0) -> Path:
    path = tmp_path / "enrichment-waterfalls" / "entry.md"
    path.parent.mkdir(parents=True)
    # a big person-written section makes each write take long enough to be interrupted
    extra = "".join(f"- a person's line {i} 🚀 {'x' * 10_000}  \r\n" for i in range(padding))
    path.write_bytes(HAND_EDITED.replace("## Notes", f"## Big\r\n{extra}\r\n## Notes").encode())
    return path


class _States:
    """The file after 0, 1, 2... write-backs of seeds 0, 1, 2..., computed in memory."""

    def __init__(self, path: Path) -> None:
        from _patterns_helpers import fake_result

        self._fake = fake_result
        self._pattern = from_text(path.read_bytes(), path=path)
        self._states = [self._pattern.to_bytes()]

    def __getitem__(self, k: int) -> bytes:
        while len(self._states) <= k:
            seed = len(self._states) - 1
            self._pattern.record_benchmark(self._fake(["hunter", "pdl", "manual"], seed=seed, n=40))
            self._states.append(self._pattern.to_bytes())
        return self._states[k]


def _one_write_back_s(tmp_path: Path) -> float:
    """How long one write-back of the test's entry takes here, now (a copy, in process): a
    fixed kill window lets none complete on a loaded machine and all of them on a fast one."""
    from _patterns_helpers import fake_result

    copy = _entry(tmp_path / "timing", padding=200)
    started = time.perf_counter()
    p = load(copy)
    p.record_benchmark(fake_result(["hunter", "pdl", "manual"], seed=0, n=40))
    p.save()
    return time.perf_counter() - started


@pytest.mark.slow
def test_sigkill_during_write_back_leaves_old_or_new(tmp_path):
    path = _entry(tmp_path, padding=200)  # about 2 MB
    original = path.read_bytes()
    states = _States(path)
    start = tmp_path / "go"
    start.touch()
    script = _child(tmp_path)
    rng = random.Random(20251202)
    window = 2.5 * _one_write_back_s(tmp_path)  # kill windows scale with this machine's pace
    kills = 0
    for _ in range(12):
        done = len(load(path).history)
        ready = Path(f"{path}.ready{done}")
        ready.unlink(missing_ok=True)
        child = subprocess.Popen(
            [sys.executable, str(script), str(path), str(start), str(done), "1000"]
        )
        while not ready.exists() and child.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, window))  # somewhere inside one of the first write-backs
        child.send_signal(signal.SIGKILL)
        child.wait()
        kills += child.returncode == -signal.SIGKILL
        data = path.read_bytes()
        k = len(from_text(data, path=path).history)  # a torn file would not even parse
        assert data == states[k], "a killed write-back left a file that is neither old nor new"
    assert kills >= 10
    assert len(load(path).history) >= 2, "write-backs completed between the kills"
    # whatever a killed writer left (a temp file, its lock) is cleaned up by the next one
    p = load(path)
    p.record_benchmark(states._fake(["hunter", "pdl", "manual"], seed=10_000, n=40))
    p.save()
    leftovers = [
        x.name for x in path.parent.iterdir()
        if x.name != path.name and not x.name.startswith(f"{path.name}.ready")
    ]  # fmt: skip
    assert leftovers == []
    assert_person_text_kept(original.decode(), path.read_bytes().decode())


@pytest.mark.slow
def test_two_concurrent_write_backs_lose_neither(tmp_path):
    path = _entry(tmp_path, padding=2_000)
    original = path.read_bytes().decode()
    start = tmp_path / "go"
    script = _child(tmp_path)
    children = [
        subprocess.Popen([sys.executable, str(script), str(path), str(start), str(first), "6"])
        for first in (0, 100)
    ]
    time.sleep(1.5)  # both children imported and waiting
    start.touch()
    assert [c.wait(timeout=120) for c in children] == [0, 0]
    final = load(path)
    assert len(final.history) == 12
    written = path.read_bytes().decode()
    assert written.count("gtmkit benchmark ") == 12
    assert_person_text_kept(original, written)
    versions = [line.split()[1] for line in written.splitlines() if "gtmkit benchmark " in line]
    assert len(set(versions)) == 12, "every write-back got its own version number"
    assert not lock_path(path).exists()


def test_write_atomic_keeps_mode_and_leaves_no_temp(tmp_path):
    path = tmp_path / "e.md"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    with locked(path):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and (path.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.md"]
