"""Attacks on the pattern library's write-back (issue 11, "Patterns"): a writer SIGKILLed at each
moment of a save, several processes writing one entry at once, and hostile paths and values.

The kill tests are deterministic: the child process pauses at a named moment of the save (by
wrapping the OS calls the writer makes, so the library itself carries no test hook), tells the
parent it is there, and the parent SIGKILLs it. Expected file states are computed in memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gtmkit.patterns import from_text, index, load
from gtmkit.patterns.write import lock_path
from tests._patterns_helpers import HAND_EDITED, REPO, assert_person_text_kept, fake_result

PROVIDERS = ["hunter", "pdl", "manual"]

# A writer that pauses at one moment of its save so the parent can SIGKILL it there.
#   locked        holding the lock, nothing written yet
#   half_temp     half of the new bytes written to the temporary file
#   before_replace  the temporary file complete and fsynced, not yet renamed over the entry
#   after_replace   renamed over the entry, the folder not yet fsynced, the lock still held
PAUSING_CHILD = """
import os, sys, time
from pathlib import Path
sys.path[:0] = [{repo!r}]
from tests._patterns_helpers import fake_result
from gtmkit.patterns import load
import gtmkit.patterns.model as model

path, moment, seed, ready = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])

def pause():
    ready.touch()
    time.sleep(120)

if moment == "locked":
    real_remove = model.remove_stale_temps
    def remove_stale_temps(p):
        pause()
        return real_remove(p)
    model.remove_stale_temps = remove_stale_temps
elif moment == "half_temp":
    real_fdopen = os.fdopen
    class Half:
        def __init__(self, handle):
            self.handle = handle
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)
        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            pause()
            return self.handle.write(data[len(data) // 2 :])
        def __getattr__(self, name):
            return getattr(self.handle, name)
    os.fdopen = lambda fd, *a, **k: Half(real_fdopen(fd, *a, **k))
elif moment in ("before_replace", "after_replace"):
    real_replace = os.replace
    def replace(src, dst):
        if moment == "before_replace":
            pause()
        real_replace(src, dst)
        pause()
    os.replace = replace
else:
    raise SystemExit("unknown moment " + moment)

p = load(path)
p.record_benchmark(fake_result({providers!r}, seed=seed, n=40))
p.save()
"""

# A writer that records ``count`` benchmarks one save at a time, starting together with the
# others when the start file appears.
LOOPING_CHILD = """
import sys, time
from pathlib import Path
sys.path[:0] = [{repo!r}]
from tests._patterns_helpers import fake_result
from gtmkit.patterns import load
path, start, first, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
Path(sys.argv[5]).touch()
while not start.exists():
    time.sleep(0.001)
for seed in range(first, first + count):
    p = load(path)
    p.record_benchmark(fake_result({providers!r}, seed=seed, n=40))
    p.save()
"""


def _script(tmp_path: Path, name: str, source: str) -> Path:
    script = tmp_path / name
    script.write_text(source.format(repo=str(REPO), providers=PROVIDERS))
    return script


def _library(tmp_path: Path, *, padding: int = 0) -> Path:
    """A one-entry library; ``padding`` person-written lines of 10 kB make the file larger."""
    entry = tmp_path / "lib" / "enrichment-waterfalls" / "entry.md"
    entry.parent.mkdir(parents=True)
    extra = "".join(f"- a person's line {i} 🚀 {'x' * 10_000}  \r\n" for i in range(padding))
    entry.write_bytes(HAND_EDITED.replace("## Notes", f"## Big\r\n{extra}\r\n## Notes").encode())
    return entry


def _after(data: bytes, path: Path, seeds: list[int]) -> bytes:
    """The entry's bytes once the benchmarks of ``seeds`` are written back, in memory."""
    p = from_text(data, path=path)
    for seed in seeds:
        p.record_benchmark(fake_result(PROVIDERS, seed=seed, n=40))
    return p.to_bytes()


def _kill_at(script: Path, path: Path, moment: str, seed: int, tmp_path: Path) -> None:
    ready = tmp_path / f"ready-{moment}-{seed}"
    child = subprocess.Popen(
        [sys.executable, str(script), str(path), moment, str(seed), str(ready)]
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert child.poll() is None, f"the writer exited before reaching {moment!r}"
        assert time.monotonic() < deadline, f"the writer never reached {moment!r}"
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL


MOMENTS = ["locked", "half_temp", "before_replace", "after_replace"]


@pytest.mark.slow
@pytest.mark.parametrize("moment", MOMENTS)
def test_sigkill_at_each_moment_of_a_save_leaves_old_or_new(moment: str, tmp_path: Path) -> None:
    path = _library(tmp_path, padding=50)
    library = path.parent.parent
    old = path.read_bytes()
    new = _after(old, path, [7])
    script = _script(tmp_path, "pausing.py", PAUSING_CHILD)
    before = index(library)

    _kill_at(script, path, moment, 7, tmp_path)

    data = path.read_bytes()
    expected = new if moment == "after_replace" else old
    assert data == expected, f"killed at {moment!r}: the entry is neither the old nor the new file"
    assert len(load(path).history) == (1 if moment == "after_replace" else 0)
    # what the killed writer left (a temporary file, its lock file) is never read as an entry
    after = index(library)
    assert after["path"].to_list() == before["path"].to_list()
    assert after["error"].to_list() == [None]
    # and the next write-back cleans it up and lands
    p = load(path)
    p.record_benchmark(fake_result(PROVIDERS, seed=8, n=40))
    assert p.save()
    assert path.read_bytes() == _after(expected, path, [8])
    assert sorted(x.name for x in path.parent.iterdir()) == ["entry.md"]
    assert_person_text_kept(old.decode(), path.read_bytes().decode())


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["locked", "half_temp", "before_replace"])
def test_sigkill_while_saving_a_new_entry_leaves_no_entry(moment: str, tmp_path: Path) -> None:
    source = _library(tmp_path)
    old = source.read_bytes()
    target = source.with_name("brand-new.md")
    # a child that saves a copy of the entry to a new file: load + save(path) of the text
    script = _script(
        tmp_path,
        "pausing_new.py",
        PAUSING_CHILD.replace("p.save()", f"p.save({str(target)!r})"),
    )
    _kill_at(script, source, moment, 3, tmp_path)
    assert not target.exists(), "a killed save of a new entry left a partial entry behind"
    assert source.read_bytes() == old
    assert index(source.parent.parent)["path"].to_list() == [str(source)]


def _run_writers(
    tmp_path: Path, addresses: list[Path], *, count: int, cwd: Path | None = None
) -> list[int]:
    """Start one looping writer per address at the same moment; their exit codes."""
    script = _script(tmp_path, "looping.py", LOOPING_CHILD)
    start = tmp_path / "go"
    readies = [tmp_path / f"ready{i}" for i in range(len(addresses))]
    children = [
        subprocess.Popen(
            [sys.executable, str(script), str(a), str(start), str(100 * i), str(count), str(r)],
            cwd=cwd,
        )
        for i, (a, r) in enumerate(zip(addresses, readies, strict=True))
    ]
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in readies) and time.monotonic() < deadline:
        time.sleep(0.01)
    start.touch()
    return [c.wait(timeout=180) for c in children]


def _assert_all_landed(path: Path, original: str, writers: int, count: int) -> None:
    final = load(path)
    seeds = [100 * i + k for i in range(writers) for k in range(count)]
    expected_ids = {
        from_text(original, path=path).record_benchmark(fake_result(PROVIDERS, seed=s, n=40)).id
        for s in seeds
    }
    assert {b.id for b in final.history} == expected_ids, "a write-back was lost"
    written = path.read_bytes().decode()
    assert written.count("gtmkit benchmark ") == len(seeds)
    versions = [line.split()[1] for line in written.splitlines() if "gtmkit benchmark " in line]
    assert len(set(versions)) == len(seeds), "two write-backs took the same version number"
    assert_person_text_kept(original, written)
    assert not lock_path(path).exists()
    assert [x.name for x in path.parent.iterdir() if x.name.endswith(".tmp")] == []


@pytest.mark.slow
@pytest.mark.parametrize("writers", [2, 4])
def test_concurrent_write_backs_to_one_entry_lose_none(writers: int, tmp_path: Path) -> None:
    path = _library(tmp_path, padding=100)
    original = path.read_bytes().decode()
    assert _run_writers(tmp_path, [path] * writers, count=4) == [0] * writers
    _assert_all_landed(path, original, writers, 4)


@pytest.mark.slow
def test_concurrent_write_backs_through_other_names_of_one_entry_lose_none(
    tmp_path: Path,
) -> None:
    """The same file reached as a symlink inside the library, a relative path and a path with
    ``.`` in it: one file, so one lock — every write-back lands and the alias stays an alias."""
    path = _library(tmp_path, padding=100)
    original = path.read_bytes().decode()
    alias = path.with_name("entry-alias.md")
    alias.symlink_to(path.name)
    relative = Path("enrichment-waterfalls") / "entry.md"
    dotted = path.parent / "." / "entry.md"
    library = path.parent.parent
    codes = _run_writers(tmp_path, [path, alias, relative, dotted], count=4, cwd=library)
    assert codes == [0, 0, 0, 0]
    assert alias.is_symlink() and alias.resolve() == path.resolve()
    _assert_all_landed(path, original, 4, 4)
    assert not lock_path(alias).exists()


def test_a_stale_temp_of_another_entry_is_never_removed(tmp_path: Path) -> None:
    """Cleaning up after a killed writer removes that entry's temporary files only — not the
    in-flight temporary file of an entry whose name a glob pattern would also match."""
    folder = tmp_path / "lib" / "enrichment-waterfalls"
    folder.mkdir(parents=True)
    bracketed = folder / "[ab].md"
    bracketed.write_text(HAND_EDITED)
    in_flight = folder / ".a.md.k3j9.tmp"  # another writer's, about to be renamed over a.md
    in_flight.write_bytes(b"another writer's bytes")
    p = load(bracketed)
    p.record_benchmark(fake_result(PROVIDERS, seed=1, n=40))
    assert p.save()
    assert in_flight.read_bytes() == b"another writer's bytes"
    assert len(load(bracketed).history) == 1


def test_kill_points_cover_the_whole_save(tmp_path: Path) -> None:
    """The moments above are the save's real steps: a save that is not interrupted passes
    through each of them (so a pause hook that never fires cannot make a kill test vacuous)."""
    path = _library(tmp_path)
    script = _script(tmp_path, "pausing.py", PAUSING_CHILD.replace("time.sleep(120)", "pass"))
    for seed, moment in enumerate(MOMENTS):
        ready = tmp_path / f"ready-{moment}"
        done = subprocess.run(
            [sys.executable, str(script), str(path), moment, str(seed), str(ready)], timeout=120
        )
        assert done.returncode == 0 and ready.exists(), moment
    assert len(load(path).history) == len(MOMENTS)
    assert os.listdir(path.parent) == ["entry.md"]
