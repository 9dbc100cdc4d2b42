"""Attacks on the pattern library's write-back (issue 11, "Patterns"): a writer SIGKILLed at each
moment of a save, several processes writing one entry at once, and hostile paths and values.

The kill tests are deterministic: the child process pauses at a named moment of the save (by
wrapping the OS calls the writer makes, so the library itself carries no test hook), tells the
parent it is there, and the parent SIGKILLs it. Expected file states are computed in memory."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gtmkit.patterns import Pattern, PatternError, from_comparison, from_text, index, load
from gtmkit.patterns.__main__ import main
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


@pytest.mark.slow
def test_writers_queued_behind_a_writer_killed_holding_the_lock_all_land(tmp_path: Path) -> None:
    """A writer SIGKILLed while it holds the lock: the ones waiting on it were really waiting
    (none finished while it held the lock), then all land; the killed one's benchmark is not
    in the file, and nothing of it is left behind."""
    path = _library(tmp_path, padding=20)
    original = path.read_bytes().decode()
    pausing = _script(tmp_path, "pausing.py", PAUSING_CHILD)
    ready = tmp_path / "ready-holder"
    holder = subprocess.Popen(
        [sys.executable, str(pausing), str(path), "locked", "999", str(ready)]
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert holder.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    looping = _script(tmp_path, "looping.py", LOOPING_CHILD)
    start = tmp_path / "go"
    start.touch()
    readies = [tmp_path / f"ready{i}" for i in range(3)]
    waiting = [
        subprocess.Popen(
            [sys.executable, str(looping), str(path), str(start), str(100 * i), "3", str(r)]
        )
        for i, r in enumerate(readies)
    ]
    while not all(r.exists() for r in readies):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(1.0)  # time enough to write, were the lock not held
    assert [w.poll() for w in waiting] == [None] * 3, "a writer did not wait for the lock"
    assert load(path).history == ()
    holder.send_signal(signal.SIGKILL)
    assert holder.wait(timeout=30) == -signal.SIGKILL
    assert [w.wait(timeout=180) for w in waiting] == [0, 0, 0]
    _assert_all_landed(path, original, 3, 3)  # exactly theirs: the killed writer's is absent


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


# -- hostile paths -------------------------------------------------------------------------------


def _recorded(path: Path, *, seed: int = 5) -> Pattern:
    p = load(path)
    p.record_benchmark(fake_result(PROVIDERS, seed=seed, n=40))
    return p


def test_a_symlinked_entry_leading_out_of_the_library_is_refused(tmp_path: Path) -> None:
    entry = _library(tmp_path)
    outside = tmp_path / "home" / "notes.md"
    outside.parent.mkdir()
    outside.write_bytes(HAND_EDITED.encode())  # a file that reads as an entry, outside patterns/
    link = entry.with_name("linked.md")
    link.symlink_to(outside)
    with pytest.raises(PatternError, match="does not read through it"):
        load(link)  # nor read: see tests/adversarial/test_pattern_reads.py
    p = from_text(outside.read_bytes(), path=link)  # an entry that claims the link's path
    with pytest.raises(PatternError, match="leads outside the pattern library"):
        p.save()
    with pytest.raises(PatternError, match="leads outside the pattern library"):
        _recorded(entry).save(link)
    assert outside.read_bytes() == HAND_EDITED.encode() and link.is_symlink()
    assert sorted(x.name for x in outside.parent.iterdir()) == ["notes.md"]  # no temp, no lock
    assert not lock_path(link).exists()


def test_a_linked_category_folder_leading_out_of_the_library_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "entry.md").write_bytes(HAND_EDITED.encode())
    library = tmp_path / "lib"
    library.mkdir()
    (library / "enrichment-waterfalls").symlink_to(elsewhere, target_is_directory=True)
    linked = library / "enrichment-waterfalls" / "entry.md"
    with pytest.raises(PatternError, match="does not read through it"):
        load(linked)
    with pytest.raises(PatternError, match="leads outside the pattern library"):
        from_text(HAND_EDITED.encode(), path=linked).save()
    assert (elsewhere / "entry.md").read_bytes() == HAND_EDITED.encode()
    assert sorted(x.name for x in elsewhere.iterdir()) == ["entry.md"]


@pytest.mark.parametrize(
    "name",
    [
        "enrichment-waterfalls/../../escaped.md",
        "../escaped.md",
        "enrichment-waterfalls/../enrichment-waterfalls/entry.md",  # even when it lands inside
    ],
)
def test_a_path_climbing_with_dotdot_is_refused(name: str, tmp_path: Path) -> None:
    entry = _library(tmp_path)
    library = entry.parent.parent
    before = entry.read_bytes()
    with pytest.raises(PatternError, match=r"climbs out with '\.\.'"):
        _recorded(entry).save(library / name)
    assert entry.read_bytes() == before
    assert not (tmp_path / "escaped.md").exists() and not (library / "escaped.md").exists()


def test_the_command_refuses_a_dotdot_name_before_running_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = _library(tmp_path)
    outside = tmp_path / "other" / "enrichment-waterfalls" / "escaped.md"
    outside.parent.mkdir(parents=True)
    outside.write_bytes(HAND_EDITED.encode())  # a runnable entry, outside the library
    sample = str(REPO / "data" / "samples" / "leads_small.csv")
    name = str(entry.parent / ".." / ".." / "other" / "enrichment-waterfalls" / "escaped.md")
    args = ["--dir", str(entry.parent.parent), "run", name, sample, "--write-back"]
    assert main(args) == 2
    err = capsys.readouterr()
    assert "climbs out with '..'" in err.err and "coverage" not in err.out  # nothing ran
    assert outside.read_bytes() == HAND_EDITED.encode()


@pytest.mark.parametrize("name", ["entry.txt", "entry", ".bashrc"])
def test_saving_to_a_file_that_is_not_an_entry_is_refused(name: str, tmp_path: Path) -> None:
    entry = _library(tmp_path)
    with pytest.raises(PatternError, match=r"a pattern entry is a \.md file"):
        _recorded(entry).save(entry.parent / name)
    assert sorted(x.name for x in entry.parent.iterdir()) == ["entry.md"]


# -- hostile values ------------------------------------------------------------------------------

_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_CELL_BAR = re.compile(r"(?<!\\)\|")  # a table cell's border: a bar not escaped as \|


def _shape(text: str) -> list[str]:
    """What each line is to a markdown reader: heading, table row, comment, fence, rule, text."""
    kinds = []
    for line in text.split("\n"):
        s = line.strip()
        if _HEADING.match(line):
            kinds.append("heading")
        elif s.startswith("|"):
            kinds.append(f"row of {len(_CELL_BAR.split(s)) - 2} cells")
        elif "<!--" in s or "-->" in s:
            kinds.append("comment")
        elif s.startswith(("```", "~~~")):
            kinds.append("fence")
        elif s and set(s) <= set("-=*_ "):
            kinds.append("rule")
        else:
            kinds.append("blank" if not s else "text")
    return kinds


def _written(tmp_path: Path, engagement: str) -> tuple[Path, str]:
    entry = _library(tmp_path / engagement.encode().hex()[:40])
    p = load(entry)
    p.record_benchmark(fake_result(PROVIDERS, seed=5, n=40), source="live", engagement=engagement)
    p.save()
    return entry, entry.read_bytes().decode()


LINE_BREAKS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1e", "\x00"]


@pytest.mark.parametrize("brk", LINE_BREAKS, ids=[f"U+{ord(c[-1]):04X}" for c in LINE_BREAKS])
def test_an_engagement_with_a_line_break_is_refused(brk: str, tmp_path: Path) -> None:
    entry = _library(tmp_path)
    before = entry.read_bytes()
    p = load(entry)
    hostile = f"Acme{brk}## Injected heading{brk}| a | b |{brk}---"
    with pytest.raises(PatternError, match="engagement must be one line"):
        p.record_benchmark(fake_result(PROVIDERS, seed=5, n=40), source="live", engagement=hostile)
    assert p.save() is False and entry.read_bytes() == before


@pytest.mark.parametrize(
    "engagement",
    [
        "Acme | Inc | extra cell",
        "Acme <!-- hidden from here",
        "Acme --> <!-- gtmkit:benchmarks:end -->",
        "# Acme",
        "Acme `code` **bold** [link](http://x) <script>alert(1)</script>",
        "---",
    ],
)
def test_markdown_in_an_engagement_leaves_the_file_structure_unchanged(
    engagement: str, tmp_path: Path
) -> None:
    _, plain = _written(tmp_path, "Acme")
    entry, hostile = _written(tmp_path, engagement)
    assert _shape(hostile) == _shape(plain), "the engagement changed the file's structure"
    p = load(entry)  # and it reads back as written
    assert [b.engagement for b in p.history] == [engagement]
    assert [s[0] for s in p.sections] == [s[0] for s in from_text(plain).sections]


def _with_history_line(entry: Path, edit: dict[str, object]) -> None:
    """The entry with one benchmark written back, its history line then edited on disk."""
    p = load(entry)
    p.record_benchmark(fake_result(PROVIDERS, seed=5, n=40))
    p.save()
    text = entry.read_bytes().decode()
    (index_, line), *_ = load(entry).document.block.history  # type: ignore[union-attr]
    data = json.loads(line)
    for key, value in edit.items():
        if key.startswith("figure."):
            data["figures"][0][key.split(".", 1)[1]] = value
        else:
            data[key] = value
    lines = text.split("\n")
    lines[index_] = json.dumps(data)
    entry.write_bytes("\n".join(lines).encode())


@pytest.mark.parametrize(
    "edit",
    [
        {"figure.measured": "0.5 | injected | row"},
        {"figure.n": "many"},
        {"figure.low": [1, 2]},
        {"rows": "12\n## x"},
        {"date": "2025-01-01\n## Injected"},
        {"figures": "not a list"},
        {"providers": [["nested"]]},
    ],
    ids=lambda e: next(iter(e)),
)
def test_a_history_line_with_wrongly_typed_values_is_a_clear_error(
    edit: dict[str, object], tmp_path: Path
) -> None:
    entry = _library(tmp_path)
    _with_history_line(entry, edit)
    before = entry.read_bytes()
    with pytest.raises(PatternError, match="benchmark history line is not readable"):
        _recorded(entry).save()
    assert entry.read_bytes() == before


@pytest.mark.parametrize(
    "edit",
    [
        {"engagement": "Acme\n## Injected\n| a | b |", "source": "live"},
        {"dataset": "abc`\r\n# Injected"},
        {"kind": "waterfall\n---\ntitle: injected front matter\n---"},
        {"figure.label": "Coverage\n## Injected | x |"},
        {"figure.unit": "share\n## Injected"},
        {"figure.provider": "hunter\n## Injected", "figure.step": 1},
        {"substitutions": [{"step": 2, "documented": "Zoom\n## Injected", "used": "pdl\n# x"}]},
    ],
    ids=lambda e: next(iter(e)),
)
def test_line_breaks_in_a_stored_history_are_escaped_on_the_next_write_back(
    edit: dict[str, object], tmp_path: Path
) -> None:
    plain_entry = _library(tmp_path / "plain")
    # the same edit without its line breaks: what the file must look like
    benign = json.loads(json.dumps(edit).replace("\\r", " ").replace("\\n", " "))
    _with_history_line(plain_entry, {**benign, "date": "2099-01-01"})
    assert _recorded(plain_entry, seed=6).save()
    entry = _library(tmp_path / "hostile")
    # dated last, so the block's summary (rendered from the latest benchmark) shows its values
    _with_history_line(entry, {**edit, "date": "2099-01-01"})
    assert _recorded(entry, seed=6).save()  # re-renders the block from the stored history
    assert len(load(entry).history) == 2
    hostile = entry.read_bytes().decode()
    plain = plain_entry.read_bytes().decode()
    assert _shape(hostile) == _shape(plain), "a stored value changed the file's structure"
    assert [s[0] for s in load(entry).sections] == [s[0] for s in load(plain_entry).sections]


@pytest.mark.parametrize("field", ["name", "use_case", "industry", "company_stage"])
def test_a_new_entry_with_a_line_break_in_a_header_value_is_refused(field: str) -> None:
    kwargs: dict[str, str] = {"name": "Fine"}
    kwargs[field] = "Fine\n## Injected\n---"
    with pytest.raises(PatternError, match="must be one line"):
        from_comparison(object(), object(), **kwargs)  # type: ignore[arg-type]


# -- a disk that refuses the write ---------------------------------------------------------------


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS, errno.EDQUOT], ids=errno.errorcode.get)
def test_a_disk_that_refuses_the_write_is_a_clear_error_and_the_entry_is_intact(
    err: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = _library(tmp_path)
    before = entry.read_bytes()
    p = _recorded(entry)

    def refuse(fd: int) -> None:
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(os, "fsync", refuse)  # the temporary file's data never reaches disk
    with pytest.raises(PatternError, match=r"could not write the entry .*the file is unchanged"):
        p.save()
    monkeypatch.undo()
    assert entry.read_bytes() == before
    assert sorted(x.name for x in entry.parent.iterdir()) == ["entry.md"]
    assert p.save() and len(load(entry).history) == 1  # the benchmark was kept: saving again lands


def test_saving_into_a_missing_folder_says_to_create_it(tmp_path: Path) -> None:
    entry = _library(tmp_path)
    target = entry.parent.parent / "data-source-combinations" / "new.md"
    with pytest.raises(PatternError, match="does not exist; create it"):
        _recorded(entry).save(target)
    assert not target.parent.exists()
